# Paper Table 11 (maps): scale map only (B = 0), shift map only (A = 1), both (TR2M).
#   python tools/ablate.py configs/grids/table11_maps.py   (demo: table11_maps_demo.py)
base = '../tr2m_da_s.py'
mode = 'zip'
_HEAD = dict(type='RescaleHead', channels=256, num_stages=2)
grid = {
    'model.shift_head': {'scale_only': None, 'shift_only': _HEAD, 'both': _HEAD},
    'model.scale_head': [_HEAD, None, _HEAD],
}
