"""Frozen CLIP text tower through ``open_clip`` (which ships the real CLIP BPE vocabulary)."""
import os
from typing import List, Optional

import torch
from mmengine.model import BaseModule

from tr2m.models.encoders.text_base import CaptionCache, TextEmbedding, check_captions
from tr2m.models.pretrained import FrozenMixin, load_or_fail, resolve_source
from tr2m.registry import MODELS

#: ``arch -> default pretrained tag`` (open_clip's names). 'RN50' is RSA's text encoder.
CLIP_DEFAULT_TAGS = {'ViT-B-32': 'openai', 'ViT-L-14': 'openai', 'RN50': 'openai',
                     'ViT-B-16': 'openai'}
#: Test preset: a CLIP text tower at toy width (vocabulary and tokenizer are the real ones).
CLIP_TINY = dict(embed_dim=32, text_cfg=dict(context_length=77, vocab_size=49408, width=32,
                                              heads=2, layers=2))


def _text_tower(arch: str):
    import open_clip
    from open_clip.model import CLIPTextCfg, _build_text_tower

    cfg = CLIP_TINY if arch == 'tiny' else open_clip.get_model_config(arch)
    if cfg is None:
        raise KeyError(f'unknown CLIP arch {arch!r}; known: {open_clip.list_models()[:20]}...')
    text_cfg = CLIPTextCfg(**{**cfg['text_cfg'], 'output_tokens': True})
    return _build_text_tower(cfg['embed_dim'], text_cfg, quick_gelu=cfg.get('quick_gelu', False)
                             or arch in CLIP_DEFAULT_TAGS)


def _text_state_dict(state: dict) -> dict:
    """The text-tower entries of a full CLIP state dict (vision and logit scale dropped)."""
    if 'state_dict' in state:
        state = state['state_dict']
    return {k[7:] if k.startswith('module.') else k: v for k, v in state.items()
            if not k.startswith(('visual.', 'module.visual.', 'logit_scale', 'logit_bias'))}


@MODELS.register_module()
class CLIPTextEncoder(FrozenMixin, BaseModule):
    """Frozen CLIP text tower: pooled (projected EOT) embedding and per-token states.

    Args:
        arch (str): open_clip model name ('ViT-L-14' paper default, 'ViT-B-32', 'RN50' for
            RSA parity) or 'tiny' (test preset). Defaults to 'ViT-L-14'.
        pretrained (str, optional): an open_clip tag (e.g. 'openai', downloaded on first use),
            a local checkpoint file of a full CLIP or of the text tower, or None for random
            weights. 'default' is the arch's usual tag. Defaults to 'default'.
        cache_size (int): captions kept in the embedding cache (0 disables). Defaults to 4096.
    """

    def __init__(self, arch: str = 'ViT-L-14', pretrained: Optional[str] = 'default',
                 cache_size: int = 4096, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        import open_clip

        self.arch = arch
        who = f'CLIPTextEncoder(arch={arch!r})'
        if pretrained == 'default':
            pretrained = CLIP_DEFAULT_TAGS.get(arch)
        source = resolve_source(pretrained)
        self.model = _text_tower(arch)
        if source is None:
            self.weights_source = 'random'
        else:
            self.weights_source = source
            state = load_or_fail(who, source, lambda s: self._load_state(arch, s))
            missing, unexpected = self.model.load_state_dict(_text_state_dict(state),
                                                             strict=False)
            if missing or unexpected:
                raise RuntimeError(f'{who}: checkpoint {source!r} does not match the text tower '
                                   f'(missing {missing[:5]}, unexpected {unexpected[:5]})')
        self.tokenizer = open_clip.get_tokenizer('ViT-B-32' if arch == 'tiny' else arch)
        self.out_channels = self.model.text_projection.shape[-1] if isinstance(
            self.model.text_projection, torch.Tensor) else self.model.output_dim
        self.token_channels = self.model.width
        self.cache = CaptionCache(cache_size)
        self.freeze()

    @staticmethod
    def _load_state(arch: str, source: str) -> dict:
        if os.path.isfile(source):
            return torch.load(source, map_location='cpu', weights_only=True)
        import open_clip

        return open_clip.create_model(arch, pretrained=source).state_dict()

    def _encode(self, captions: List[str]) -> TextEmbedding:
        device = self.model.token_embedding.weight.device
        ids = self.tokenizer(captions).to(device)  # (B, 77), 0 = padding
        with torch.no_grad():
            pooled, tokens = self.model(ids)  # (B, D'), (B, 77, width)
        eot = ids.argmax(-1)  # the end-of-text token has the largest id
        mask = torch.arange(ids.shape[1], device=device)[None] <= eot[:, None]
        return TextEmbedding(pooled.float(), tokens.float(), mask)

    def forward(self, captions: List[str]) -> TextEmbedding:
        captions = check_captions(captions, type(self).__name__)
        emb = self.cache.encode(captions, self._encode)
        device = self.model.token_embedding.weight.device
        return TextEmbedding(*(t.to(device) for t in emb))
