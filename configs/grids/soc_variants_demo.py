# The SOC variants of the controlled experiment (docs/results.md#soc-mechanism) on the demo set:
# mean negatives with a linear projector, and with no projector (the neck's output itself,
# L2-normalised). soc_demo.py has no SOC, the paper's form and mean negatives with the paper's
# projector on the same base, seeds and schedule.
#   python tools/ablate.py configs/grids/soc_variants_demo.py
#   python tools/analysis_tools/soc_grid_report.py work_dirs/ablations/soc_variants_demo
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.soc': {
        # _delete_: the base's projector dict (SOCProjector widths) is replaced, not merged
        'linear_mean': dict(type='ScaleOrientedContrast', negative_reduction='mean',
                            projector=dict(_delete_=True, type='LinearSOCProjector')),
        'none_mean': dict(type='ScaleOrientedContrast', negative_reduction='mean',
                          projector=None),
    },
    'randomness.seed': [0, 1, 2],
}
