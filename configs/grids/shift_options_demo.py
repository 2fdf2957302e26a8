# The shift map's options on the offline demo set: the paper's exp ('exp_st'), the softplus
# default, a signed shift (the denominator kept positive by the 1e-8 floor, its hits logged as
# nonpos_denom_px; starting at B = 0, and at B = 1 as the others do), a bounded pre-activation
# (softplus of 6 tanh(x / 6)), and a shift relative to the scale (B = A * b, b softplus).
# Logged per step: scale_dead_frac and shift_dead_frac (pixels whose slope through the map is
# below 1e-6). Seeds 0, 1 and 2 listed; the runs measured so far: docs/results.md.
# Scaled down to fit a shared 2-core machine: 15 epochs instead of the quickstart's 30, with the
# learning-rate decay compressed to end at the same rate (0.95^30 = 0.9025^15).
#   python tools/ablate.py configs/grids/shift_options_demo.py
# Results (AbsRel per option and seed, dead at the end): docs/results.md, "Shift map".
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model': {  # bias_init set in each: the quickstart config's own shift head starts at B = 1
        'exp': dict(shift_head=dict(activation='exp_st', bias_init=0.0)),
        'softplus': dict(shift_head=dict(activation='softplus', bias_init=0.0)),
        'signed': dict(shift_head=dict(activation='signed', bias_init=0.0)),
        # the same, starting at B = 1 as the positive forms do (the demo config's default)
        'signed_init1': dict(shift_head=dict(activation='signed', bias_init=1.0)),
        'bounded': dict(shift_head=dict(activation='bounded', bias_init=0.0)),
        'relative': dict(shift_form='relative',
                         shift_head=dict(activation='softplus', bias_init=0.0)),
    },
    'randomness.seed': [0, 1, 2],
}
options = {
    'train_cfg.max_epochs': 15,
    'train_cfg.val_interval': 15,
    'param_scheduler': [dict(type='ExponentialLR', gamma=0.9025, by_epoch=True)],
}
