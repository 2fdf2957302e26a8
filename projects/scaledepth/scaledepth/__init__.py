"""ScaleDepth (Zhu et al. 2024) for tr2m: metric depth = scene scale x relative depth.

Importing this package registers its components into tr2m's registries (``MODELS``,
``TASK_UTILS``, ``TRANSFORMS``); configs load it with
``custom_imports = dict(imports=['projects.scaledepth.scaledepth'], allow_failed_imports=False)``.
"""
from .arde import AdaptiveBinHead, bins_to_relative_depth
from .clip_convnext import CLIP_CONVNEXT_ARCHS, CLIPConvNeXtBackbone
from .color_aug import RandomColorAugment
from .ms_deform_attn import MultiScaleDeformableAttention, multi_scale_deformable_attention
from .pixel_decoder import MSDeformAttnPixelDecoder
from .sasp import SemanticScalePredictor, scene_similarity_logits
from .scaledepth import ScaleDepth
from .scaledepth_head import ScaleDepthHead, ScaleDepthOutputs
from .scene_categories import (
    SCALEDEPTH_SCENE_CLASSES,
    SceneCategoryLabeler,
    scene_category_from_path,
    scene_prompts,
)
from .si_loss import ScaleDepthSILoss, scaledepth_si_loss
from .text_image_loss import TextImageSimilarityLoss, scene_accuracy, text_image_similarity_loss

__all__ = [
    'ScaleDepth', 'ScaleDepthHead', 'ScaleDepthOutputs', 'CLIPConvNeXtBackbone',
    'CLIP_CONVNEXT_ARCHS', 'MSDeformAttnPixelDecoder', 'MultiScaleDeformableAttention',
    'multi_scale_deformable_attention', 'AdaptiveBinHead', 'bins_to_relative_depth',
    'SemanticScalePredictor', 'scene_similarity_logits', 'SCALEDEPTH_SCENE_CLASSES',
    'SceneCategoryLabeler', 'scene_category_from_path', 'scene_prompts', 'ScaleDepthSILoss',
    'scaledepth_si_loss', 'TextImageSimilarityLoss', 'text_image_similarity_loss',
    'scene_accuracy', 'RandomColorAugment'
]
