# TR2M with MiDaS 3.1 BEiT-L 512 as the frozen relative-depth model (paper Table 9);
# sides rounded to 32; everything else as in tr2m_da_s.py.
_base_ = '../tr2m_da_s.py'
model = dict(relative_depth=dict(arch='midas_beit_l512'))
