"""Loading the captioners' transformers models, and building them offline with random weights.

A captioner model comes from ``model_path`` (a local ``save_pretrained`` folder) when given, else
from its hub id at ``revision``; both go through the same ``from_pretrained`` call. A source that
cannot be loaded raises :class:`CaptionerLoadError`: one line naming the captioner, the hub id or
folder and how to point at a local copy (``tools/caption.py`` exits with code 2).

``TR2M_RANDOM_INIT=1`` (the switch of every pretrained-capable tr2m component) builds the preset's
architecture with random weights instead, seeded so every process builds the same model, with a
synthetic word-level tokenizer of the architecture's vocabulary size (nothing is downloaded; the
captions are noise, which is what tests and cost measurements need). ``_toy`` presets have no
published weights and always build this way.
"""
import contextlib
import os
from typing import Any, Callable, Iterator, List, Optional, Sequence

import torch

from tr2m.utils.errors import UserError

#: The environment switch shared with ``tr2m.models.pretrained``.
RANDOM_INIT_ENV = 'TR2M_RANDOM_INIT'
#: Seed of every random-weight build (the same weights in every process).
INIT_SEED = 0


class CaptionerLoadError(UserError, RuntimeError):
    """A captioner's model or processor that cannot be loaded (one line, exit code 2)."""


def random_init_requested() -> bool:
    """True when ``TR2M_RANDOM_INIT`` is set to a true value."""
    return os.environ.get(RANDOM_INIT_ENV, '').lower() in ('1', 'true', 'yes', 'on')


@contextlib.contextmanager
def seeded_init(seed: int = INIT_SEED) -> Iterator[None]:
    """Seed torch for a random-weight build without touching the caller's RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def quiet_transformers() -> None:
    """No progress bars or advisory warnings from transformers (a caption job prints its own)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_pretrained(captioner: str, loader: Callable[..., Any], model_id: Optional[str],
                    model_path: Optional[str], revision: Optional[str], what: str) -> Any:
    """``loader(source, revision=...)`` with ``source = model_path or model_id``; a failure is a
    :class:`CaptionerLoadError` naming the source and the remedy, in one line."""
    source = os.path.expanduser(model_path) if model_path else model_id
    if not source:
        raise CaptionerLoadError(f'captioner {captioner!r}: no model_id or model_path to load '
                                 f'the {what} from')
    if model_path and not os.path.isdir(source):
        raise CaptionerLoadError(f'captioner {captioner!r}: model_path {source!r} is not a '
                                 'folder (expected a save_pretrained folder of the model)')
    try:
        return loader(source, revision=None if model_path else revision)
    except Exception as err:  # noqa: BLE001 - re-raised as one line with the remedy
        reason = ' '.join(f'{type(err).__name__}: {err}'.split())[:300]
        if model_path:
            remedy = ('check that it is a save_pretrained folder of this architecture '
                      '(model and processor files)')
        else:
            remedy = (f'without internet, download it on a connected machine with '
                      f'`huggingface-cli download {source} --local-dir DIR` and pass '
                      f'--model-path DIR (or set HF_HUB_OFFLINE=1 to use the local cache; '
                      f'{RANDOM_INIT_ENV}=1 builds random weights)')
        where = f'folder {source!r}' if model_path else \
            f'hub id {source!r} (revision {revision or "main"})'
        raise CaptionerLoadError(f'captioner {captioner!r}: cannot load the {what} from {where} '
                                 f'({reason}); {remedy}') from err


def commit_of(model) -> Optional[str]:
    """The hub commit a model was loaded from (None for a local folder or random weights)."""
    return getattr(getattr(model, 'config', None), '_commit_hash', None)


def word_tokenizer(words: Sequence[str], special_tokens: Sequence[str], vocab_size: int,
                   named_special: Optional[dict] = None, extra_special: Optional[dict] = None):
    """A word-level fast tokenizer built in code: ``special_tokens`` first (ids 0..), then
    ``words``, then filler tokens ``w<i>`` up to ``vocab_size`` entries.

    Args:
        words (Sequence[str]): ordinary tokens (whitespace/punctuation pre-tokenised).
        special_tokens (Sequence[str]): special tokens, in id order.
        vocab_size (int): the model's vocabulary size (the tokenizer has exactly that many ids).
        named_special (dict, optional): ``unk_token``, ``pad_token``, ``bos_token``,
            ``eos_token`` values.
        extra_special (dict, optional): named extra special tokens (``image_token`` ...).
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tokens: List[str] = []
    for tok in list(special_tokens) + list(words):
        if tok not in tokens:
            tokens.append(tok)
    if len(tokens) > vocab_size:
        raise ValueError(f'{len(tokens)} tokens do not fit a vocabulary of {vocab_size}')
    tokens += [f'w{i}' for i in range(vocab_size - len(tokens))]
    named = dict(named_special or {})
    core = Tokenizer(models.WordLevel(vocab={t: i for i, t in enumerate(tokens)},
                                      unk_token=named.get('unk_token', tokens[0])))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.add_special_tokens(list(special_tokens))
    return PreTrainedTokenizerFast(tokenizer_object=core, extra_special_tokens=extra_special or {},
                                   **named)


#: Plain words of the synthetic tokenizers (captions of random models read as words).
TOY_WORDS = tuple(
    'a an the image shows picture photo of with and in on at near next to behind room kitchen '
    'office bedroom bathroom street road car tree sky wall floor ceiling window door table chair '
    'bed sofa lamp shelf book cabinet counter sink person people building house grass desk '
    'computer screen light plant large small white black brown blue green red wooden two three '
    'several many Describe describe concisely USER ASSISTANT User Assistant INST'.split()
) + tuple('.,:;!?[]/<>\n')
