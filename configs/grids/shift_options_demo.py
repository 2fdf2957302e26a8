# The shift map's options on the offline demo set, three seeds: the paper's exp ('exp_st'), the
# softplus default, a signed shift (the denominator kept positive by the 1e-8 floor, its hits
# logged as nonpos_denom_px), a bounded pre-activation (softplus of 6 tanh(x / 6)), and a shift
# relative to the scale (B = A * b, b softplus). Logged per step: scale_dead_frac and
# shift_dead_frac (pixels whose slope through the map is below 1e-6).
# Scaled down to fit a shared 2-core machine: 15 epochs instead of the quickstart's 30, with the
# learning-rate decay compressed to end at the same rate (0.95^30 = 0.9025^15).
#   python tools/ablate.py configs/grids/shift_options_demo.py
# Results (AbsRel per option and seed, dead at the end): docs/results.md, "Shift map".
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model': {
        'exp': dict(shift_head=dict(activation='exp_st')),
        'softplus': dict(shift_head=dict(activation='softplus')),
        'signed': dict(shift_head=dict(activation='signed')),
        'bounded': dict(shift_head=dict(activation='bounded')),
        'relative': dict(shift_form='relative', shift_head=dict(activation='softplus')),
    },
    'randomness.seed': [0, 1, 2],
}
options = {
    'train_cfg.max_epochs': 15,
    'train_cfg.val_interval': 15,
    'param_scheduler': [dict(type='ExponentialLR', gamma=0.9025, by_epoch=True)],
}
