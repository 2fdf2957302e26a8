# RSA (Zeng et al., NeurIPS 2024) as released, the language-only baseline: frozen CLIP RN50
# text tower (unnormalised 1024-d encode_text) -> GlobalScaleShiftHead (RSA's LanScaleModel:
# scene net 1024-512-512-512-256-256, scale and shift nets 256-256-128-128-64-1, LeakyReLU
# between the linears, exp on both outputs, PyTorch's default init; 1,494,274 parameters) ->
# one scale s and shift t per image; D = 1 / (s * Dr + t) on frozen Depth Anything Small.
# Loss: Huber (delta 1 m) on metric depth per dataset, each dataset's loss divided by its
# detached norm except KITTI's (the release's typo; loss_norm='as_intended' normalises all).
model = dict(
    type='RSA',
    data_preprocessor=dict(type='DepthDataPreprocessor', mixed_sizes='list'),
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_v1_s', pretrained='default'),
    text_encoder=dict(type='CLIPTextEncoder', arch='RN50', pretrained='default'),
    head=dict(type='GlobalScaleShiftHead', arch='rsa'),
    loss=dict(type='HuberDepthLoss', delta=1.0, reduction='released'),
    loss_norm='as_released',
    unnormalised_datasets=('kitti', ),
)
