# The parameter-free neck (Q = K = V = the features, eq. 1-2 read literally; a linear maps the
# caption to the image width). Measured: SOC's gradient then reaches only that text linear, which
# adds one vector per image, so the contrast cannot change the depth (see CrossModalAttentionNeck).
_base_ = '../../tr2m_da_s.py'
model = dict(neck=dict(_delete_=True, type='CrossModalAttentionNeck', num_heads=1,
                       qkv_proj=False, text_tokens='pooled', modalities=('image', 'text')))
