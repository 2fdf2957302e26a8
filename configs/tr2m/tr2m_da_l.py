# TR2M with Depth Anything v1 Large as the frozen relative-depth model (paper Table 9);
# everything else as in tr2m_da_s.py.
_base_ = '../tr2m_da_s.py'
model = dict(relative_depth=dict(arch='da_v1_l'))
