# Table 5: text only. The neck adds Attn^L alone (queries still come from the image tokens).
_base_ = '../../tr2m_da_s.py'
model = dict(neck=dict(modalities=('text',)))
