"""Frozen CLIP text tower through ``open_clip`` (which ships the real CLIP BPE vocabulary).

``transformers``' ``CLIPTokenizer.from_pretrained`` silently returns a broken two-token
vocabulary when offline, so the tokenizer always comes from ``open_clip``.

Presets are open_clip model names; the text tower's widths are read from the built model:
``ViT-L-14`` (paper; 123.7M, token width 768, pooled 768), ``ViT-B-32`` (63.4M, 512/512),
``ViT-B-16`` (63.4M, 512/512), ``RN50`` (RSA's; 63.7M, token width 512, pooled 1024).
``tiny`` is a toy tower for CPU tests (real vocabulary and tokenizer).
"""
import os
from typing import List, Optional

import torch
from mmengine.model import BaseModule

from tr2m.models.encoders.text_base import TextEmbedding, TextEncoderMixin
from tr2m.models.pretrained import FrozenMixin, load_or_fail, resolve_source
from tr2m.registry import MODELS

#: ``arch -> default pretrained tag`` (open_clip's names). 'RN50' is RSA's text encoder.
CLIP_DEFAULT_TAGS = {'ViT-B-32': 'openai', 'ViT-L-14': 'openai', 'RN50': 'openai',
                     'ViT-B-16': 'openai'}
#: Test preset: a CLIP text tower at toy width (vocabulary and tokenizer are the real ones).
CLIP_TINY = dict(embed_dim=32, text_cfg=dict(context_length=77, vocab_size=49408, width=32,
                                              heads=2, layers=2))


def clip_model_config(arch: str, tiny: Optional[dict] = None) -> dict:
    """open_clip's model config of ``arch`` (``tiny`` for ``arch='tiny'``)."""
    import open_clip

    cfg = tiny if arch == 'tiny' else open_clip.get_model_config(arch)
    if cfg is None:
        raise KeyError(f'unknown CLIP arch {arch!r}; known: {open_clip.list_models()[:20]}...')
    return cfg


def clip_quick_gelu(arch: str, tag: Optional[str], cfg: dict) -> bool:
    """Whether the tower uses QuickGELU: the OpenAI weights do, most LAION ones do not."""
    if cfg.get('quick_gelu'):
        return True
    if tag is None or arch == 'tiny':
        return False
    import open_clip

    return bool(open_clip.get_pretrained_cfg(arch, tag).get('quick_gelu', False))


def clip_tags(arch: str) -> List[str]:
    """open_clip's pretrained tags of ``arch`` (empty for unknown archs)."""
    import open_clip

    return [] if arch == 'tiny' else list(open_clip.list_pretrained_tags_by_model(arch))


def load_clip_checkpoint(arch: str, source: str) -> dict:
    """A CLIP state dict from a local file or an open_clip pretrained tag (downloaded file).

    Handles plain state dicts, ``{'state_dict': ...}`` wrappers and OpenAI's TorchScript
    archives. Only the file is fetched; no CLIP model is built.
    """
    import open_clip

    if os.path.isfile(source):
        path = source
    else:
        cfg = open_clip.get_pretrained_cfg(arch, source)
        if not cfg:
            raise ValueError(f'{source!r} is neither a file nor an open_clip pretrained tag of '
                             f'{arch} (tags: {clip_tags(arch)})')
        path = open_clip.download_pretrained(cfg)
        if not path:
            raise FileNotFoundError(f'open_clip could not fetch {arch}:{source}')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # noqa: BLE001 - OpenAI's TorchScript archives
        state = torch.jit.load(path, map_location='cpu').state_dict()
    if isinstance(state, dict) and 'state_dict' in state:
        state = state['state_dict']
    return {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}


def load_tower(tower: torch.nn.Module, state: dict, what: str) -> None:
    """Strictly load ``state`` into ``tower``; a mismatch raises ``RuntimeError(what + why)``."""
    try:
        missing, unexpected = tower.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise RuntimeError(f'{what} ({err})') from err
    if missing or unexpected:
        raise RuntimeError(f'{what} (missing {missing[:5]}, unexpected {unexpected[:5]})')


def _text_tower(arch: str, quick_gelu: bool = False):
    from open_clip.model import CLIPTextCfg, _build_text_tower

    cfg = clip_model_config(arch, CLIP_TINY)
    text_cfg = CLIPTextCfg(**{**cfg['text_cfg'], 'output_tokens': True})
    return _build_text_tower(cfg['embed_dim'], text_cfg, quick_gelu=quick_gelu)


def _text_state_dict(state: dict) -> dict:
    """The text-tower entries of a full CLIP state dict (vision and logit scale dropped)."""
    if any(k.startswith('text.') for k in state):  # open_clip's CustomTextCLIP layout
        return {k[5:]: v for k, v in state.items() if k.startswith('text.')}
    drop = ('visual.', 'logit_scale', 'logit_bias', 'input_resolution', 'context_length',
            'vocab_size')
    return {k: v for k, v in state.items() if not k.startswith(drop)}


@MODELS.register_module()
class CLIPTextEncoder(TextEncoderMixin, FrozenMixin, BaseModule):
    """Frozen CLIP text tower: pooled (projected EOT) embedding and per-token states.

    ``out_channels`` is the pooled (projected) width, ``token_channels`` the per-token width;
    both are read from the built tower.

    Args:
        arch (str): open_clip model name ('ViT-L-14' paper default, 'ViT-B-32', 'RN50' for
            RSA parity) or 'tiny' (test preset). Defaults to 'ViT-L-14'.
        pretrained (str, optional): an open_clip tag (e.g. 'openai', downloaded on first use),
            a local checkpoint file of a full CLIP or of the text tower
            (``torch.save(encoder.model.state_dict(), f)``), or None for random weights.
            'default' is the arch's usual tag. Defaults to 'default'.
        quick_gelu (bool, optional): QuickGELU activations; None decides from the arch and
            the pretrained tag (True for OpenAI weights). Defaults to None.
        caption_dtype (str): storage dtype of the caption table (every distinct caption is
            encoded once and kept, see :class:`~tr2m.models.encoders.text_base.CaptionTable`).
            Defaults to 'float16'.
        keep_tokens (bool): keep and return per-token states (TR2M turns it on for
            ``text_tokens='all'``); otherwise ``tokens`` has length 0. Defaults to False.
        caption_table (bool): keep embeddings at all (False encodes every call). Defaults to
            True.
    """

    def __init__(self, arch: str = 'ViT-L-14', pretrained: Optional[str] = 'default',
                 quick_gelu: Optional[bool] = None, caption_dtype: str = 'float16',
                 keep_tokens: bool = False, caption_table: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        import open_clip

        self.arch = arch
        who = f'CLIPTextEncoder(arch={arch!r})'
        if pretrained == 'default':
            pretrained = CLIP_DEFAULT_TAGS.get(arch)
        tags = clip_tags(arch)
        if quick_gelu is None:
            tag = pretrained if pretrained in tags else CLIP_DEFAULT_TAGS.get(arch)
            quick_gelu = clip_quick_gelu(arch, tag, clip_model_config(arch, CLIP_TINY))
        self.model = _text_tower(arch, quick_gelu)
        source = resolve_source(pretrained)
        if source is None:
            self.weights_source = 'random'
        else:
            self.weights_source = source
            state = load_or_fail(who, source, lambda s: load_clip_checkpoint(arch, s), tags)
            load_tower(self.model, _text_state_dict(state), f'{who}: checkpoint {source!r} '
                       'does not match the text tower')
        self.tokenizer = open_clip.get_tokenizer('ViT-B-32' if arch == 'tiny' else arch)
        proj = self.model.text_projection
        self.out_channels = proj.shape[-1] if isinstance(proj, torch.Tensor) else proj.out_features
        self.token_channels = self.model.width
        self.init_table(caption_dtype, keep_tokens, caption_table)
        self.freeze()

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset of the same family, for CPU tests."""
        return 'tiny'

    def _device(self) -> torch.device:
        return self.model.token_embedding.weight.device

    def _encode(self, captions: List[str]) -> TextEmbedding:
        device = self._device()
        ids = self.tokenizer(captions).to(device)  # (B, 77), 0 = padding
        with torch.no_grad():
            pooled, tokens = self.model(ids)  # (B, D'), (B, 77, width)
        eot = ids.argmax(-1)  # the end-of-text token has the largest id
        mask = torch.arange(ids.shape[1], device=device)[None] <= eot[:, None]
        return TextEmbedding(pooled.float(), tokens.float(), mask)
