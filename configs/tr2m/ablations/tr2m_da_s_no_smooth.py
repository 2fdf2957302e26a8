# Table 4: without the edge-aware smoothness loss L_es.
_base_ = '../../tr2m_da_s.py'
model = dict(loss_smooth=None)
