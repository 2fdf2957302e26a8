"""Published models: a self-contained folder (safetensors + resolved config + model card), the
Hugging Face Hub, and :func:`from_pretrained`.

::

    from tr2m.apis import from_pretrained, infer_depth

    model = from_pretrained('someone/tr2m-da-s-nyu')   # or a local folder
    out = infer_depth(model, 'room.jpg', 'A small bedroom with a bed and a lamp.')

A model folder holds exactly three files (:data:`PUBLISHED_FILES`):

- ``model.safetensors``: the depther's ``state_dict()`` -- the trained parameters (neck, heads,
  SOC projector and its EMA copy) and the weights of frozen components that had random weights
  (toy presets); frozen components with pretrained weights are left out, as in a checkpoint, and
  are loaded again from their own hub ids. No pickle: nothing in the folder is ever unpickled,
  and a ``.bin`` / ``.pth`` / ``.ckpt`` / ``.pkl`` file beside it is never read.
- ``config.json``: ``{"tr2m": {...}, "config": {...}}``: what the folder is (format, tr2m
  version, unit, the frozen components with their hub ids and revisions, the weights' keys that
  come from elsewhere, the results) and the resolved config as plain data, read without
  executing code. JSON lacks tuples and non-finite floats: a tuple is written
  ``{"__tuple__": [...]}`` and ``inf`` / ``-inf`` / ``nan`` as ``{"__float__": "inf"}``, so the
  config reads back equal; any other non-JSON value (a class, a function) cannot be published
  and is an error naming its key.
- ``README.md``: the model card (:mod:`tr2m.apis.model_card`).

A frozen component that had random weights when published is written with ``pretrained=None``
in the stored config (its weights are in the file), so the folder rebuilds the very model that
was published whatever ``TR2M_RANDOM_INIT`` says. With ``TR2M_RANDOM_INIT=1`` the components
published as pretrained are built from their presets with random weights (offline tests).
"""
import json
import math
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from tr2m.utils.errors import ArgumentError, CheckpointError, MissingFileError, UserError

#: The folder's files: weights, resolved config and metadata, model card.
MODEL_FILE = 'model.safetensors'
CONFIG_FILE = 'config.json'
CARD_FILE = 'README.md'
PUBLISHED_FILES = (CONFIG_FILE, MODEL_FILE, CARD_FILE)
#: Format tag of ``config.json``.
FORMAT = 'tr2m-model/1'
#: Files that are pickles (never read from a model folder).
PICKLE_SUFFIXES = ('.bin', '.pth', '.pt', '.ckpt', '.pkl', '.pickle')
#: ``name`` or ``owner/name``: what a Hub repo id looks like.
_HUB_ID = re.compile(r'^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$')


class ModelFolderError(UserError, ValueError):
    """A model folder or hub id that cannot be loaded or written (one line, exit code 2)."""


# ---- the config as plain data ------------------------------------------------------------
def config_to_plain(value: Any, key: str = 'config') -> Any:
    """``value`` as JSON data (tuples and non-finite floats tagged, see the module docstring).

    Raises:
        ModelFolderError: a value that is not plain data, naming its key.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ModelFolderError(f'{key}: key {k!r} is not a string; a published config '
                                       'has string keys only')
            out[k] = config_to_plain(v, f'{key}.{k}')
        return out
    if isinstance(value, tuple):
        return {'__tuple__': [config_to_plain(v, f'{key}[{i}]') for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [config_to_plain(v, f'{key}[{i}]') for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        return {'__float__': repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ModelFolderError(f'{key}: a {type(value).__name__} ({value!r:.60}) cannot be '
                           'published as plain data; use registered type names (strings) and '
                           'plain values in the config')


def plain_to_config(value: Any) -> Any:
    """The inverse of :func:`config_to_plain`."""
    if isinstance(value, dict):
        if set(value) == {'__tuple__'}:
            return tuple(plain_to_config(v) for v in value['__tuple__'])
        if set(value) == {'__float__'}:
            return float(value['__float__'])
        return {k: plain_to_config(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_to_config(v) for v in value]
    return value


# ---- frozen components -------------------------------------------------------------------
def _preset_hub_id(module: nn.Module) -> Optional[str]:
    """The hub id a component's ``pretrained='default'`` stands for."""
    from tr2m.models.encoders.clip_text import CLIP_DEFAULT_TAGS
    from tr2m.models.encoders.dinov2 import DINOV2_PRESETS
    from tr2m.models.encoders.sentence_text import SENTENCE_PRESETS

    kind, arch = type(module).__name__, getattr(module, 'arch', None)
    if kind == 'TransformersRelativeDepth':
        return module.preset.get('hub')
    if kind == 'DINOv2Encoder':
        return DINOV2_PRESETS[arch][0]
    if kind == 'SentenceTextEncoder':
        return SENTENCE_PRESETS[arch][0]
    if kind == 'CLIPTextEncoder' and arch in CLIP_DEFAULT_TAGS:
        return f'open_clip:{arch}/{CLIP_DEFAULT_TAGS[arch]}'
    return None


def _revision(module: nn.Module) -> Optional[str]:
    """The hub commit a ``transformers`` component was loaded from, when known."""
    config = getattr(getattr(module, 'model', None), 'config', None)
    return getattr(config, '_commit_hash', None)


def frozen_components(model: nn.Module, model_cfg: dict) -> List[dict]:
    """One entry per frozen top-level component (``FrozenMixin``): its name, type, arch, hub
    id, revision and whether its weights are pretrained (loaded from the hub id) or random
    (saved in ``model.safetensors``)."""
    out = []
    for name, module in model.named_children():
        if not hasattr(module, 'weights_source'):
            continue
        sub = model_cfg.get(name) if isinstance(model_cfg.get(name), dict) else {}
        pretrained = sub.get('pretrained', 'default')
        hub_id = _preset_hub_id(module) if pretrained == 'default' else pretrained
        random_weights = module.weights_source == 'random'
        count = sum(p.numel() for p in module.parameters())
        out.append(dict(module=name, type=type(module).__name__,
                        arch=getattr(module, 'arch', None) or sub.get('arch'),
                        hub_id=hub_id if isinstance(hub_id, str) else None,
                        revision=None if random_weights else _revision(module),
                        weights=('none' if count == 0 else 'random' if random_weights
                                 else 'pretrained'), parameters=count))
    return out


# ---- writing -----------------------------------------------------------------------------
def _state_for_file(model: nn.Module) -> Dict[str, torch.Tensor]:
    state = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ModelFolderError(f'the model has non-finite weights ({len(bad)} tensors, e.g. '
                               f'{bad[0]}); a NaN/inf model is never published')
    return state


def save_pretrained(model: nn.Module, out_dir: str, results: Sequence[dict] = (),
                    license: str = 'apache-2.0', name: Optional[str] = None,
                    source: Optional[dict] = None) -> dict:
    """Write ``model`` (built from a config: ``model.cfg``) as a model folder.

    Args:
        model (nn.Module): a depther from :func:`~tr2m.apis.init_depther` or
            :func:`from_pretrained` (its ``cfg`` is the resolved config).
        out_dir (str): the folder (created; existing published files are replaced).
        results (Sequence[dict]): ``tools/test.py --out`` JSON objects (metrics and protocol)
            for the card and ``config.json``.
        license (str): the licence of the weights (an SPDX-like id for the card's metadata).
            Defaults to 'apache-2.0'.
        name (str, optional): the model's name in the card. Defaults to the folder's name.
        source (dict, optional): where the weights came from (config file, checkpoint), for
            the card.

    Returns:
        dict: the ``tr2m`` metadata written to ``config.json``.
    """
    from safetensors.torch import save_file

    from tr2m.apis.infer_outputs import model_units
    from tr2m.apis.model_card import model_card, training_data
    from tr2m.version import __version__

    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise ModelFolderError('the model has no cfg: build it with init_depther or '
                               'from_pretrained')
    plain_cfg = config_to_plain(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg))
    model = getattr(model, 'module', model)
    components = frozen_components(model, plain_cfg.get('model', {}))
    for comp in components:  # random frozen weights are in the file: rebuild them random
        if comp['weights'] == 'random' and isinstance(plain_cfg['model'].get(comp['module']),
                                                      dict):
            plain_cfg['model'][comp['module']]['pretrained'] = None
    state = _state_for_file(model)
    external = [c['module'] + '.' for c in components if c['weights'] == 'pretrained']
    meta = dict(format=FORMAT, tr2m_version=__version__, name=name or osp.basename(
        osp.abspath(out_dir)), model_type=type(model).__name__, units=model_units(cfg),
        license=license, frozen_components=components, external_prefixes=external,
        parameters=dict(in_file=int(sum(v.numel() for v in state.values())),
                        trainable=int(sum(p.numel() for p in model.parameters()
                                          if p.requires_grad))),
        training_data=training_data(plain_cfg), results=list(results), source=source or {})
    os.makedirs(out_dir, exist_ok=True)
    save_file(state, osp.join(out_dir, MODEL_FILE), metadata=dict(format='pt', tr2m=FORMAT))
    with open(osp.join(out_dir, CONFIG_FILE), 'w') as f:
        json.dump(dict(tr2m=meta, config=plain_cfg), f, indent=1, allow_nan=False)
    with open(osp.join(out_dir, CARD_FILE), 'w') as f:
        f.write(model_card(meta))
    return meta


def read_results(paths: Sequence[str]) -> List[dict]:
    """Read ``tools/test.py --out`` files (metrics and the protocol of each dataset).

    Raises:
        MissingFileError / ArgumentError: a missing file, or one without metrics and protocol.
    """
    out = []
    for path in paths:
        if not osp.isfile(path):
            raise MissingFileError(f'--metrics: file not found: {path}')
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as err:
            raise ArgumentError(f'--metrics {path}: not a JSON file ({err})') from None
        if not isinstance(data, dict) or not isinstance(data.get('datasets'), dict):
            raise ArgumentError(f'--metrics {path}: not a tools/test.py --out file (no '
                                '"datasets" with metrics and protocol)')
        out.append(dict(file=osp.basename(path), checkpoint=data.get('checkpoint'),
                        config_hash=data.get('config_hash'), datasets=data['datasets']))
    return out


def publish(config: str, checkpoint: str, out_dir: str, metrics: Sequence[str] = (),
            license: str = 'apache-2.0', name: Optional[str] = None,
            cfg_options: Optional[dict] = None, allow_untrained: bool = False) -> dict:
    """:func:`save_pretrained` of ``config`` + ``checkpoint`` (checked before the build).

    ``checkpoint`` ``'none'`` publishes the freshly built weights, which for TR2M / RSA are
    untrained heads: refused unless ``allow_untrained``.
    """
    from tr2m.apis.infer_outputs import check_untrained_early
    from tr2m.apis.inference import check_checkpoint, init_depther
    from tr2m.utils.config import load_config

    cfg = load_config(config, cfg_options)
    check_untrained_early(cfg, checkpoint, allow_untrained)
    check_checkpoint(checkpoint)
    results = read_results(metrics)
    model = init_depther(config, checkpoint, cfg_options=cfg_options)
    return save_pretrained(model, out_dir, results, license, name,
                           source=dict(config=osp.basename(str(config)),
                                       checkpoint=osp.basename(str(checkpoint))))


# ---- reading -----------------------------------------------------------------------------
def _looks_local(source: str) -> bool:
    return (source.startswith(('/', '.', '~')) or '\\' in source or not _HUB_ID.match(source)
            or osp.exists(source))


def check_model_folder(folder: str) -> None:
    """Raise one line when ``folder`` is not a complete model folder (without reading any
    weights): missing folder, missing files, or only a pickle where the weights should be."""
    if not osp.isdir(folder):
        raise MissingFileError(f'model folder not found: {folder}')
    names = set(os.listdir(folder))
    missing = [n for n in (CONFIG_FILE, MODEL_FILE) if n not in names]
    if missing:
        pickles = sorted(n for n in names if n.lower().endswith(PICKLE_SUFFIXES))
        hint = (f'; it holds {", ".join(pickles)}, a pickle file, which tr2m never loads '
                f'(publish the model with tools/publish.py to get {MODEL_FILE})'
                if pickles and MODEL_FILE in missing else '')
        raise ModelFolderError(f'{folder} is not a complete tr2m model folder: missing '
                               f'{" and ".join(missing)}{hint}')


def resolve_model_folder(repo_id_or_dir: str, revision: Optional[str] = None,
                         token: Optional[str] = None, cache_dir: Optional[str] = None) -> str:
    """A local folder as is; a hub id downloaded (only :data:`PUBLISHED_FILES`, never a pickle)
    with ``huggingface_hub.snapshot_download`` into the usual cache."""
    source = osp.expanduser(str(repo_id_or_dir))
    if osp.isdir(source) or _looks_local(source):
        check_model_folder(source)
        return source
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id=source, revision=revision, token=token,
                                   cache_dir=cache_dir, allow_patterns=list(PUBLISHED_FILES))
    except Exception as err:  # noqa: BLE001 - network, auth, offline, missing repo
        raise ModelFolderError(
            f'{source!r} is no local folder and cannot be downloaded from the Hugging Face Hub '
            f'({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ""}); without '
            'internet pass a local model folder (huggingface-cli download on a connected '
            'machine)') from None
    check_model_folder(folder)
    return folder


def read_folder_config(folder: str):
    """``(meta, Config)`` of a model folder's ``config.json`` (checked, nothing executed).

    Component sources in the stored config must be hub ids or None: a local path (which could
    name a pickle beside the folder) is refused.
    """
    from mmengine.config import Config

    path = osp.join(folder, CONFIG_FILE)
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise ModelFolderError(f'{path}: not a readable JSON file ({err})') from None
    meta = data.get('tr2m') if isinstance(data, dict) else None
    if not isinstance(meta, dict) or meta.get('format') != FORMAT \
            or not isinstance(data.get('config'), dict) or 'model' not in data['config']:
        raise ModelFolderError(f'{path}: not a tr2m model config (format {FORMAT!r} with '
                               '"tr2m" and "config.model")')
    cfg_dict = plain_to_config(data['config'])
    _check_sources(cfg_dict['model'], path)
    return meta, Config(cfg_dict)


def _check_sources(node: Any, path: str, key: str = 'model') -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ('pretrained', 'tokenizer', 'model_id') and isinstance(v, str) \
                    and v != 'default' and not v.startswith('open_clip:') \
                    and (_looks_local(v) or v.lower().endswith(PICKLE_SUFFIXES)):
                raise ModelFolderError(f'{path}: {key}.{k} = {v!r} is a local path; a model '
                                       'folder names its frozen components by hub id only')
            _check_sources(v, path, f'{key}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            _check_sources(v, path, f'{key}[{i}]')


def _load_state(model: nn.Module, folder: str, meta: dict) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = osp.join(folder, MODEL_FILE)
    try:
        given = load_file(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f'{path}: not a readable safetensors file ({err})') from None
    expected = model.state_dict()
    external = tuple(meta.get('external_prefixes') or ())
    missing = sorted(k for k in set(expected) - set(given) if not k.startswith(external))
    unexpected = sorted(set(given) - set(expected))
    wrong = sorted(k for k in set(expected) & set(given)
                   if tuple(expected[k].shape) != tuple(given[k].shape))
    if missing or unexpected or wrong:
        raise CheckpointError(
            f'{path} does not fit its config.json model ({len(missing)} missing keys '
            f'{missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, {len(wrong)} '
            f'shape mismatches {wrong[:3]}): a partial or mixed model folder')
    full = {k: given.get(k, v) for k, v in expected.items()}  # external keys: as built
    model.load_state_dict(full, strict=True)


def from_pretrained(repo_id_or_dir: str, device: Union[str, torch.device] = 'cpu',
                    revision: Optional[str] = None, token: Optional[str] = None,
                    cache_dir: Optional[str] = None) -> nn.Module:
    """Load a published model: a local model folder or a Hugging Face Hub repo id.

    Only ``config.json`` (JSON) and ``model.safetensors`` are read; the frozen components
    published as pretrained are built from their own hub ids (``TR2M_RANDOM_INIT=1``: from
    their presets with random weights).

    Args:
        repo_id_or_dir (str): a folder written by :func:`save_pretrained` / ``tools/publish.py``,
            or ``owner/name`` on the Hub (downloaded into the Hugging Face cache; offline, an
            already cached copy is used).
        device (str | torch.device): where the model runs. Defaults to 'cpu'.
        revision, token, cache_dir: passed to ``huggingface_hub.snapshot_download``.

    Returns:
        nn.Module: the depther in eval mode, with ``model.cfg`` (the resolved config) and
        ``model.published`` (the folder's metadata: unit, frozen components, results).

    Raises:
        MissingFileError / ModelFolderError / CheckpointError: a missing, partial or foreign
            folder, or an unreachable hub id (one line each).
    """
    from tr2m.registry import MODELS
    from tr2m.utils import register_all_modules

    folder = resolve_model_folder(repo_id_or_dir, revision, token, cache_dir)
    meta, cfg = read_folder_config(folder)
    register_all_modules()
    model_type = cfg.model.get('type')
    if not isinstance(model_type, str) or MODELS.get(model_type) is None:
        raise ModelFolderError(f'{folder}: model type {model_type!r} is not registered (a '
                               'project model: import its package first)')
    model = MODELS.build(cfg.model)
    _load_state(model, folder, meta)
    model.cfg = cfg
    model.published = dict(meta, folder=folder)
    model.to(device)
    model.eval()
    return model


def push_to_hub(folder: str, repo_id: str, api: Any = None, private: bool = False,
                token: Optional[str] = None, commit_message: Optional[str] = None) -> str:
    """Upload a model folder's :data:`PUBLISHED_FILES` to the Hub repo ``repo_id`` (created if
    needed) with ``huggingface_hub.HfApi``; returns the commit's URL.

    Args:
        api: an ``HfApi``-like object (``create_repo``, ``upload_folder``). Defaults to
            ``HfApi(token=token)``.
    """
    check_model_folder(folder)
    if not _HUB_ID.match(repo_id) or '/' not in repo_id:
        raise ArgumentError(f'--push {repo_id!r}: a Hub repo id is owner/name')
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    try:
        api.create_repo(repo_id=repo_id, repo_type='model', private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type='model',
                                   allow_patterns=list(PUBLISHED_FILES),
                                   commit_message=commit_message or 'Upload tr2m model')
    except Exception as err:  # noqa: BLE001 - network, auth
        raise ModelFolderError(f'cannot push {folder} to {repo_id} ({type(err).__name__}: '
                               f'{str(err).splitlines()[0] if str(err) else ""}); log in with '
                               '`huggingface-cli login` or pass a token') from None
    return str(getattr(commit, 'commit_url', commit))


__all__ = ['MODEL_FILE', 'CONFIG_FILE', 'CARD_FILE', 'PUBLISHED_FILES', 'FORMAT',
           'ModelFolderError', 'config_to_plain', 'plain_to_config', 'frozen_components',
           'save_pretrained', 'read_results', 'publish', 'check_model_folder',
           'resolve_model_folder', 'read_folder_config', 'from_pretrained', 'push_to_hub']
