# Attend over every caption token instead of the one pooled embedding (K_L and V_L read CLIP's
# per-token width).
_base_ = '../../tr2m_da_s.py'
model = dict(neck=dict(text_tokens='all'))
