# Table 4: without the scale-oriented contrast L_soc (no projector, no momentum branch).
_base_ = '../../tr2m_da_s.py'
model = dict(soc=None)
