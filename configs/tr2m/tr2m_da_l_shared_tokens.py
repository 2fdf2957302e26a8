# TR2M with shared tokens on Depth Anything Large: the neck reads DA-L's own encoder tokens (its
# DINOv2 ViT-L/14, 1024 wide, the same architecture as the paper's separate image encoder, from
# the forward that gives Dr) through a learnt 1x1 projection (1024 -> 1024); no second ViT.
# Everything else is tr2m_da_l.py (paper Table 9). See tr2m_da_s_shared_tokens.py.
_base_ = 'tr2m_da_l.py'
model = dict(image_encoder=None, image_tokens='relative_depth', token_channels=1024)
