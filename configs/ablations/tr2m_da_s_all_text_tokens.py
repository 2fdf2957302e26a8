# Attend over every caption token instead of the one pooled embedding (the text linear maps
# CLIP's per-token width to DINOv2's).
_base_ = '../tr2m_da_s.py'
model = dict(neck=dict(text_tokens='all'))
