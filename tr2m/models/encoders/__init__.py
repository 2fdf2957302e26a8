from .clip_text import CLIPTextEncoder
from .clip_vision import CLIPVisionEncoder
from .dinov2 import DINOV2_PRESETS, DINOv2Encoder
from .sentence_text import SENTENCE_PRESETS, SentenceTextEncoder
from .text_base import TextEmbedding

__all__ = [
    'DINOv2Encoder', 'DINOV2_PRESETS', 'CLIPTextEncoder', 'CLIPVisionEncoder',
    'SentenceTextEncoder', 'SENTENCE_PRESETS', 'TextEmbedding'
]
