# Paper Table 9 on the offline demo set. The demo has no relative-depth network to swap (its
# relative depth is simulated from the GT), so the analogue varies the quality of the relative
# input instead: the amplitude of the simulated smooth distortion (0 = a perfect relative model
# up to its affine; the default is 0.05).
#   python tools/ablate.py configs/grids/table9_backbones_demo.py
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.relative_depth.distortion': [0.0, 0.05, 0.1, 0.2],
}
