# SOC on and off on the offline demo set (the paper's Table 4 SOC row and Figure 5 as numbers):
# AbsRel and the depth-class separability of the neck's output F_out (what the scale and shift
# heads read), three seeds, the quickstart config (its defaults: LeakyReLU decoders, the zoedepth
# SI-log form, SOC momentum 0.999). 'paper' is eq. 8 as printed (S_n sums the other classes);
# 'mean' pools the negatives as a mean (negative_reduction='mean').
#   python tools/ablate.py configs/grids/soc_demo.py
#   python tools/analysis_tools/soc_grid_report.py work_dirs/ablations/soc_demo
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.soc': {
        'none': None,
        'paper': dict(type='ScaleOrientedContrast'),
        'mean': dict(type='ScaleOrientedContrast', negative_reduction='mean'),
    },
    'randomness.seed': [0, 1, 2],
}
