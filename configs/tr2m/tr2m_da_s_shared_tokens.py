# TR2M with shared tokens: the neck reads Depth Anything Small's own encoder tokens (its DINOv2
# ViT-S/14, 384 wide, final layer-normed patch tokens, from the forward that gives Dr) through
# a learnt 1x1 projection to the paper neck's width (1024 = 16 heads x 64); no second ViT (the
# paper's DINOv2 ViT-L/14, 304M parameters, 75% of the paper model's inference time) is built.
# Everything else is the paper config. Not a paper setting: the fast variant to evaluate
# against it (docs/user_guides/speed.md, "Shared tokens", has the measured cost).
_base_ = '../tr2m_da_s.py'
model = dict(image_encoder=None, image_tokens='relative_depth', token_channels=1024)
