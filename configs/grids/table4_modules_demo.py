# Paper Table 4 (modules) on the offline demo set, cumulative: global factors with L_si,
# pixel-wise maps with L_si, + L_tp-si, + L_soc, + L_es (= TR2M).
#   python tools/ablate.py configs/grids/table4_modules_demo.py
# The first key's labels name the rows.
base = '../quickstart/tr2m_synthetic.py'
mode = 'zip'
_PSEUDO = dict(type='ThresholdedPseudoDepthLoss')  # merges into the base's settings
_SOC = dict(type='ScaleOrientedContrast')
_SMOOTH = dict(type='EdgeAwareSmoothnessLoss')
grid = {
    'model.scale_head.global_pool': {'global_si': True, 'pixel_si': False, 'tpsi': False,
                                     'soc': False, 'es_tr2m': False},
    'model.shift_head.global_pool': [True, False, False, False, False],
    'model.loss_pseudo': [None, None, _PSEUDO, _PSEUDO, _PSEUDO],
    'model.soc': [None, None, None, _SOC, _SOC],
    'model.loss_smooth': [None, None, None, None, _SMOOTH],
}
