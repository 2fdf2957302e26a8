# Table 5: image only. No caption: F_out = F_I + Attn^I, no text encoder.
_base_ = '../../tr2m_da_s.py'
model = dict(neck=dict(modalities=('image',)), text_encoder=None)
