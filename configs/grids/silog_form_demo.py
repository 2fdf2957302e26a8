# Which SI-log form (eq. 4) the paper config uses, measured on the offline demo set: eq. 4 as
# printed (mean(e^2) - 0.15 mean(e)^2) or the ZoeDepth / Depth Anything v1 form
# (10 sqrt(var(e) + 0.15 mean(e)^2)), for L_si and L_tp-si together, with and without SOC.
#   python tools/ablate.py configs/grids/silog_form_demo.py
base = '../quickstart/tr2m_synthetic.py'
mode = 'zip'
_SOC = dict(type='ScaleOrientedContrast')
grid = {
    'model.loss_silog.form': ['paper', 'paper', 'zoedepth', 'zoedepth'],
    'model.loss_pseudo.form': ['paper', 'paper', 'zoedepth', 'zoedepth'],
    'model.soc': [_SOC, None, _SOC, None],
}
