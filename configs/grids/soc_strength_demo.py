# Can SOC shape the neck's features on the demo set at all? soc_demo.py measured the paper's
# weight 0.1: SOC's gradient is 0.3-0.6% of the depth losses' on the parameters they share
# (gratio_soc) and the neck's depth-class separability does not rise. Here the mean-pooled
# negatives (the form that contrasts classes in the projector, soc_terms.py) with a 10x weight,
# and with a momentum sized to the demo's 540 steps (0.99: an EMA time constant of 100 steps;
# the paper's 0.999 is 1000 steps, for ~125k steps of training). Same base, seeds, schedule.
#   python tools/ablate.py configs/grids/soc_strength_demo.py
#   python tools/analysis_tools/soc_grid_report.py work_dirs/ablations/soc_strength_demo
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.soc': {
        'mean_w1': dict(type='ScaleOrientedContrast', negative_reduction='mean',
                        loss_weight=1.0),
        'mean_m0.99': dict(type='ScaleOrientedContrast', negative_reduction='mean',
                           momentum=0.99),
    },
    'randomness.seed': [0, 1, 2],
}
