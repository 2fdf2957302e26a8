# Paper Table 9 (relative-depth models): Depth Anything v1/v2 S/B/L, DPT-Hybrid (MiDaS 3.0),
# DPT-Large, MiDaS 3.1 Swin2-L 384 and BEiT-L 512 under the same TR2M (each preset carries its
# own input rule; configs/tr2m/tr2m_*.py are the same rows as single configs).
#   python tools/ablate.py configs/grids/table9_backbones.py   (demo: table9_backbones_demo.py)
base = '../tr2m_da_s.py'
grid = {
    'model.relative_depth.arch': ['da_v1_s', 'da_v1_b', 'da_v1_l', 'da_v2_s', 'da_v2_b',
                                  'da_v2_l', 'dpt_hybrid', 'dpt_large', 'midas_swin2_l384',
                                  'midas_beit_l512'],
}
