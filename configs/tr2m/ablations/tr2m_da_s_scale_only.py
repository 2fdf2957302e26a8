# Table 11: scale map only (B = 0): D = 1 / (A * Dr).
_base_ = '../../tr2m_da_s.py'
model = dict(shift_head=None)
