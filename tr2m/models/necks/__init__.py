from .cross_modal_attention import CrossModalAttentionNeck, cross_modal_attention

__all__ = ['CrossModalAttentionNeck', 'cross_modal_attention']
