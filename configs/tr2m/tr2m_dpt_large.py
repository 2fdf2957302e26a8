# TR2M with DPT-Large (MiDaS 3.0) as the frozen relative-depth model (paper Table 9);
# the network sees 384x384; everything else as in tr2m_da_s.py.
_base_ = '../tr2m_da_s.py'
model = dict(relative_depth=dict(arch='dpt_large'))
