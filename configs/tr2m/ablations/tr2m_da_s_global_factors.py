# Table 4, row 1: one global scale and shift per image instead of pixel-wise maps (the
# decoders' features are averaged over the image before the 1-channel projection).
_base_ = '../../tr2m_da_s.py'
model = dict(scale_head=dict(global_pool=True), shift_head=dict(global_pool=True))
