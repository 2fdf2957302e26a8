# Paper Table 12 on the offline demo set: the number of depth classes C of the scale-oriented
# contrast (eq. 7).
#   python tools/ablate.py configs/grids/table12_classes_demo.py
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.soc.num_classes': [5, 10, 20, 40],
}
