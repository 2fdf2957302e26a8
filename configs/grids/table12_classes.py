# Paper Table 12: the number of depth classes C of the scale-oriented contrast (eq. 7).
#   python tools/ablate.py configs/grids/table12_classes.py   (demo: table12_classes_demo.py)
base = '../tr2m_da_s.py'
grid = {
    'model.soc.num_classes': [5, 10, 20, 40],
}
