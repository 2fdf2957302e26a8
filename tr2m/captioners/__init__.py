"""Captioners: tr2m writes the text half of its own input (registry ``CAPTIONERS``).

``build_captioner('llava_v16_vicuna')`` builds a preset (:data:`CAPTIONER_PRESETS`; every preset
has a ``<name>_toy`` twin that builds offline); ``captioner.caption_images(images, keys)`` gives
each image its captions with their provenance. ``tools/caption.py`` runs a captioner over a
folder or a dataset split and writes the JSON caption file the datasets and ``tools/infer.py``
read. Model classes come from transformers and are imported when a captioner is built.
"""
from .base import BaseCaptioner, Caption, clean_caption, image_seed
from .composite_captioner import CompositeCaptioner
from .hf_loading import CaptionerLoadError, random_init_requested
from .object_grammar import (
                             COCO_PANOPTIC_CLASSES,
                             object_list_sentence,
                             object_list_sentences,
                             parse_object_list_sentence,
                             rsa_object_name,
)
from .object_list_captioner import ObjectListCaptioner
from .presets import CAPTIONER_PRESETS, build_captioner, preset_config, preset_names
from .template_captioner import SurgicalTemplateCaptioner
from .vlm_captioner import DEFAULT_PROMPT, VLMCaptioner

__all__ = [
    'BaseCaptioner', 'Caption', 'clean_caption', 'image_seed', 'CompositeCaptioner',
    'CaptionerLoadError', 'random_init_requested', 'COCO_PANOPTIC_CLASSES',
    'object_list_sentence', 'object_list_sentences', 'parse_object_list_sentence',
    'rsa_object_name', 'ObjectListCaptioner', 'CAPTIONER_PRESETS', 'build_captioner',
    'preset_config', 'preset_names', 'SurgicalTemplateCaptioner', 'DEFAULT_PROMPT',
    'VLMCaptioner',
]
