# TR2M as in the paper: frozen Depth Anything Small (relative inverse depth), frozen DINOv2
# ViT-L/14 patch tokens, frozen CLIP ViT-L/14 text tower, cross-modality attention neck, two
# RescaleHeads (exp) for the scale map A and shift map B; D = 1 / (A * Dr + B).
# Losses: 1.0 SI-log + 0.5 thresholded pseudo depth + 0.1 SOC + 0.01 edge-aware smoothness.
# Trainable: 19.3M = two decoders 2 x 9.17M (width 288, see RescaleHead) + the neck's text
# linear 768 -> 1024 (0.79M) + the SOC projector (0.19M); the attention itself is
# parameter-free (eq. 1-2 as written). Frozen: DA-S 24.8M, DINOv2-L 304.4M, CLIP-L text 123.7M.
# `python tools/analysis_tools/count_params.py configs/tr2m_da_s.py` prints the breakdown.
model = dict(
    type='TR2M',
    data_preprocessor=dict(type='DepthDataPreprocessor'),
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_v1_s', pretrained='default'),
    image_encoder=dict(type='DINOv2Encoder', arch='vitl14', pretrained='default'),
    text_encoder=dict(type='CLIPTextEncoder', arch='ViT-L-14', pretrained='default'),
    neck=dict(type='CrossModalAttentionNeck', num_heads=1, qkv_proj=False, text_tokens='pooled',
              modalities=('image', 'text')),
    scale_head=dict(type='RescaleHead', channels=288, num_stages=2),
    shift_head=dict(type='RescaleHead', channels=288, num_stages=2),
    loss_silog=dict(type='SiLogLoss', lambd=0.15, loss_weight=1.0),
    loss_pseudo=dict(type='ThresholdedPseudoDepthLoss', rho=0.9, space='inverse',
                     loss_weight=0.5),
    loss_soc=dict(type='ScaleOrientedContrastiveLoss', num_classes=20, loss_weight=0.1),
    loss_smooth=dict(type='EdgeAwareSmoothnessLoss', loss_weight=0.01),
    soc_projector=dict(type='SOCProjector'),
    momentum=0.999,
)
