# The activation inside the decoders' 1-channel projection (RescaleHead act_cfg), on the offline
# demo set, three seeds. With DPT's ReLU, 6 of 18 quickstart-config runs (6 SOC / SI-log variants
# of silog_form_demo.py, soc_negatives_demo.py, soc_momentum_demo.py x 3 seeds) collapsed: every
# ReLU unit of the scale head off on the indoor and outdoor images (alive fraction 0.000 against
# 0.99 on the endoscopic ones, in the run inspected), so A is one constant (0.686) on every pixel
# of both domains, B sits at its floor, and the model predicts one global scale for them
# (AbsRel 0.50 indoor, 0.86 outdoor, SILog equal to the relative input's) from epoch 10 on, with
# no gradient to leave it. Hence the default LeakyReLU(0.1) (docs/results.md, "Heads that
# cannot die").
# Measured: the 'relu' rows are silog_form_demo.py's form=zoedepth/soc runs (the same config).
#   python tools/ablate.py configs/grids/head_act_demo.py
base = '../quickstart/tr2m_synthetic.py'
_RELU = dict(type='ReLU')
_LEAKY = dict(type='LeakyReLU', negative_slope=0.1)
_GELU = dict(type='GELU')
grid = {
    'model': {
        'relu': dict(scale_head=dict(act_cfg=_RELU), shift_head=dict(act_cfg=_RELU)),
        'leaky_relu': dict(scale_head=dict(act_cfg=_LEAKY), shift_head=dict(act_cfg=_LEAKY)),
        'gelu': dict(scale_head=dict(act_cfg=_GELU), shift_head=dict(act_cfg=_GELU)),
    },
    'randomness.seed': [0, 1, 2],
}
