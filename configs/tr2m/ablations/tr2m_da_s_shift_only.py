# Table 11: shift map only (A = 1): D = 1 / (Dr + B).
_base_ = '../../tr2m_da_s.py'
model = dict(scale_head=None)
