# RSA (Zeng et al., NeurIPS 2024), the language-only baseline: frozen CLIP RN50 text tower ->
# GlobalScaleShiftHead (shared MLP 1024 -> 512 -> 256 -> 256, two MLPs 256 -> 128 -> 64 -> 1,
# exp) -> one scale s and shift t per image; D = 1 / (s * Dr + t) on frozen Depth Anything
# Small. Trained with an L1 depth loss over valid GT (RSA's released code; Huber via
# huber_delta, SI-log via loss=dict(type='SiLogLoss')).
model = dict(
    type='RSA',
    data_preprocessor=dict(type='DepthDataPreprocessor'),
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_v1_s', pretrained='default'),
    text_encoder=dict(type='CLIPTextEncoder', arch='RN50', pretrained='default'),
    head=dict(type='GlobalScaleShiftHead', channels=(512, 256, 256), head_channels=(128, 64),
              scale_act='exp', init_scale=1.0, init_shift=1.0),
    loss=dict(type='L1DepthLoss', relative=False, huber_delta=None),
)
