# TR2M as in the paper: frozen Depth Anything Small (relative inverse depth), frozen DINOv2
# ViT-L/14 patch tokens, frozen CLIP ViT-L/14 text tower, cross-modality attention neck, two
# RescaleHeads (exp) for the scale map A and shift map B; D = 1 / (A * Dr + B).
# Losses: 1.0 SI-log + 0.5 thresholded pseudo depth + 0.1 SOC + 0.01 edge-aware smoothness.
model = dict(
    type='TR2M',
    data_preprocessor=dict(type='DepthDataPreprocessor'),
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_v1_s', pretrained='default'),
    image_encoder=dict(type='DINOv2Encoder', arch='vitl14', pretrained='default'),
    text_encoder=dict(type='CLIPTextEncoder', arch='ViT-L-14', pretrained='default'),
    neck=dict(type='CrossModalAttentionNeck', text_tokens='pooled'),
    scale_head=dict(type='RescaleHead', channels=256),
    shift_head=dict(type='RescaleHead', channels=256),
    loss_silog=dict(type='SiLogLoss', lambd=0.15, loss_weight=1.0),
    loss_pseudo=dict(type='ThresholdedPseudoDepthLoss', rho=0.9, space='inverse',
                     loss_weight=0.5),
    loss_soc=dict(type='ScaleOrientedContrastiveLoss', num_classes=20, loss_weight=0.1),
    loss_smooth=dict(type='EdgeAwareSmoothnessLoss', loss_weight=0.01),
    soc_projector=dict(type='SOCProjector'),
    momentum=0.999,
)
