# TR2M with MiDaS 3.1 Swin2-L 384 as the frozen relative-depth model (paper Table 9);
# the network sees 384x384; everything else as in tr2m_da_s.py.
_base_ = '../tr2m_da_s.py'
model = dict(relative_depth=dict(arch='midas_swin2_l384'))
