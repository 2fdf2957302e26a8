from .cross_modal_attention import CrossModalAttentionNeck, multi_head_attention

__all__ = ['CrossModalAttentionNeck', 'multi_head_attention']
