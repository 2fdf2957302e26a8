"""Single-image inference: build a depther from a config (and checkpoint) and predict metric depth.

::

    from tr2m.apis import init_depther, infer_depth

    model = init_depther('configs/tr2m_da_s.py', 'work_dirs/tr2m_da_s/epoch_20.pth')
    out = infer_depth(model, 'room.jpg', 'A small bedroom with a bed and a lamp.')
    out['depth']  # (H, W) float32 metric depth at the image's own size

The test-time pipeline is the config's ``test_dataloader.dataset.pipeline`` (first sub-dataset of
a ``ConcatDataset``; ``dataset`` of a wrapper) without the transforms that need ground truth or
change what the image shows: loading of depth / relative depth / captions, ground-truth crops
(``KBCrop``, ``CenterCrop``) and augmentations (``RandomCrop``, ``RandomFlip``). What remains
(typically ``Resize`` to the network's size) runs on the given image, the caption is the given
one, and ``PackDepthInputs`` packs the result. The depther resizes its prediction back to the
original image size (``ori_shape``), since there is no GT.
"""
import contextlib
import copy
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.structures import PixelData
from torch import nn

from tr2m.datasets.depth_io import read_rgb
from tr2m.registry import MODELS, TRANSFORMS
from tr2m.utils import register_all_modules
from tr2m.utils.checkpoint import load_checkpoint_file, nonfinite_tensors
from tr2m.utils.checkpoint_sources import is_remote_checkpoint
from tr2m.utils.config import load_config
from tr2m.utils.errors import CheckpointError
from tr2m.utils.files import check_checkpoint_exists

#: Test-pipeline transforms left out at inference: image/GT/caption loading (done here or not
#: needed), GT-defined crops and augmentations, and the packing (added back at the end).
SKIPPED_TRANSFORMS = ('LoadRGBImage', 'LoadDepth', 'LoadRelativeDepth', 'LoadCaption',
                      'KBCrop', 'CenterCrop', 'RandomCrop', 'RandomFlip', 'PackDepthInputs')

ImageLike = Union[str, np.ndarray]
#: Message fragment of ``BaseDepther``'s refusal of a checkpoint from another model.
_MISFIT = 'does not fit'


def is_none_checkpoint(checkpoint: Optional[str]) -> bool:
    """``None`` or the string ``'none'`` (any case): no checkpoint."""
    return checkpoint is None or str(checkpoint).lower() == 'none'


def check_checkpoint(checkpoint: Optional[str]) -> Optional[dict]:
    """Open a checkpoint the way loading will (``torch.load(weights_only=True)``) and return it,
    so that a missing, empty, truncated or unsafe file is reported before any model is built.
    A URL (or ``torchvision://``, ``open-mmlab://``, ...) is downloaded into the cache of
    :mod:`tr2m.utils.checkpoint_sources` and loaded the same way.

    Returns:
        dict | None: the loaded checkpoint (None for ``'none'``).

    Raises:
        MissingCheckpointError: no such file (a ``FileNotFoundError``; similar files named).
        CheckpointError: empty, not a torch checkpoint, truncated, refused by the
            ``weights_only`` allowlist, without weights, or with NaN / inf weights.
    """
    if is_none_checkpoint(checkpoint):
        return None
    check_checkpoint_exists(checkpoint)
    path = osp.expanduser(str(checkpoint))
    if is_remote_checkpoint(path):  # downloaded once (cached), loaded weights-only
        from mmengine.runner.checkpoint import CheckpointLoader

        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu', logger='silent')
    else:
        ckpt = load_checkpoint_file(path, map_location='cpu')  # the one reader of checkpoints
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError(f'checkpoint {checkpoint} holds no weights (no state_dict of '
                              'tensors)')
    bad = nonfinite_tensors(state)
    if bad:  # found now, not as NaN metrics after the model was built and run
        raise CheckpointError(f'checkpoint {checkpoint}: {len(bad)} of {len(state)} weights hold '
                              f'NaN or inf (first {bad[0]}); the training that wrote it diverged: '
                              'use an earlier checkpoint')
    return ckpt


def _has_pretrained_source(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get('pretrained') not in (None, False):
            return True
        return any(_has_pretrained_source(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_has_pretrained_source(v) for v in node)
    return False


def fit_checkable(model_cfg) -> bool:
    """Whether :func:`check_checkpoint_fits` compares a checkpoint with ``model_cfg`` (a model
    that loads no pretrained weights, or ``TR2M_RANDOM_INIT``), so that a caller opens the
    checkpoint early only when it will be compared."""
    from tr2m.models.pretrained import random_init_requested

    model_cfg = _depther_cfg(model_cfg)
    return isinstance(model_cfg, dict) and (not _has_pretrained_source(model_cfg)
                                            or random_init_requested())


def _depther_cfg(model_cfg):
    """The depther's config inside a test-time-augmentation wrapper (itself otherwise)."""
    if isinstance(model_cfg, dict) and model_cfg.get('type') == 'DepthTTAModel':
        return model_cfg.get('module')
    return model_cfg


def check_checkpoint_fits(model_cfg: dict, ckpt: Optional[dict], checkpoint: str) -> None:
    """Refuse a checkpoint of another model before anything real is built, where possible.

    When the config's model loads no pretrained weights (no ``pretrained`` source, or
    ``TR2M_RANDOM_INIT``), it is built on the meta device (no memory, no weights, no random
    draws) and the checkpoint's keys and shapes are compared with it, the check
    ``BaseDepther`` makes when the weights load. Otherwise (building would load weights), or
    when the model cannot be built that way, nothing is checked here and the loading checks.

    Raises:
        CheckpointError: missing or unexpected keys, or shapes that differ.
    """
    if ckpt is None or not fit_checkable(model_cfg):
        return
    model_cfg = _depther_cfg(model_cfg)
    try:
        with torch.random.fork_rng(devices=[]), torch.device('meta'):
            model = MODELS.build(copy.deepcopy(model_cfg))
    except Exception:  # noqa: BLE001 -- not buildable on the meta device: checked at load time
        return
    check = getattr(model, '_check_checkpoint', None)
    state = ckpt.get('state_dict', ckpt)
    if check is None or not isinstance(state, dict):
        return
    try:
        check(state, '', {}, True, [], [], [])
    except RuntimeError as err:
        raise CheckpointError(f'checkpoint {checkpoint}: {err}') from None


def load_weights(model: nn.Module, checkpoint: str) -> None:
    """mmengine's ``load_checkpoint`` (strict), a checkpoint of another model raised as a
    :class:`~tr2m.utils.errors.CheckpointError` naming the file."""
    from mmengine.runner import load_checkpoint

    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    except RuntimeError as err:
        if _MISFIT in str(err) and not isinstance(err, CheckpointError):
            raise CheckpointError(f'checkpoint {checkpoint}: {err}') from err
        raise


def untrained_reason(model: nn.Module, checkpoint: Optional[str]) -> Optional[str]:
    """Why ``model``'s metric outputs mean nothing, or None: no checkpoint while the model has
    trainable parameters (TR2M's or RSA's heads at their initial values)."""
    if not is_none_checkpoint(checkpoint):
        return None
    module = getattr(model, 'module', model)
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    if trainable == 0:
        return None
    return (f'UNTRAINED {type(module).__name__}: no checkpoint, so its {trainable:,} trainable '
            'parameters are at their initial values and its metric depth is meaningless')


def init_depther(config: Union[str, Config], checkpoint: Optional[str] = None,
                 device: Union[str, torch.device] = 'cpu',
                 cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a depther from a config and load its checkpoint.

    Args:
        config (str | Config): config file or object.
        checkpoint (str, optional): checkpoint written by training (``epoch_N.pth``); None or
            ``'none'`` keeps the freshly built weights (see :func:`untrained_reason`). In that
            case the global RNGs are seeded with the config's ``randomness.seed`` first (as
            ``tools/test.py`` does through the runner), so an untrained model is the same one
            ``tools/test.py CONFIG none`` scores.
            Loading uses mmengine's ``load_checkpoint`` (``torch.load`` with
            ``weights_only=True``; ``import tr2m`` allowlists what mmengine checkpoints hold).
        device (str | torch.device): where the model runs. Defaults to 'cpu'.
        cfg_options (dict, optional): strict dotted-key overrides (unknown keys are errors).

    Returns:
        nn.Module: the depther in eval mode, with the merged config as ``model.cfg``.

    Raises:
        MissingFileError / ConfigError: the config is missing or cannot be read.
        MissingCheckpointError / CheckpointError: the checkpoint is missing, unreadable or
            from another model (checked before the model is built, except the last).
    """
    from mmengine.runner import set_random_seed

    register_all_modules()
    cfg = load_config(config, cfg_options)
    if is_none_checkpoint(checkpoint):
        checkpoint = None
    check_checkpoint(checkpoint)
    if checkpoint is None:
        randomness = cfg.get('randomness') or {}
        if randomness.get('seed') is not None:
            set_random_seed(randomness['seed'], deterministic=randomness.get(
                'deterministic', False))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def _find_pipeline(dataset_cfg: Any) -> Optional[list]:
    """The ``pipeline`` of a dataset config, of its wrapped ``dataset``, or of its first
    ``datasets`` entry."""
    if not isinstance(dataset_cfg, dict):
        return None
    if dataset_cfg.get('pipeline') is not None:
        return list(dataset_cfg['pipeline'])
    if isinstance(dataset_cfg.get('dataset'), dict):
        return _find_pipeline(dataset_cfg['dataset'])
    for sub in dataset_cfg.get('datasets') or []:
        found = _find_pipeline(sub)
        if found is not None:
            return found
    return None


def inference_pipeline_cfg(cfg: Optional[Config]) -> List[dict]:
    """The transforms (configs) applied at inference, before ``PackDepthInputs``: the config's
    test pipeline without :data:`SKIPPED_TRANSFORMS`. Empty when there is no config or no test
    pipeline (the image is then used at its own size)."""
    if cfg is None:
        return []
    dataloader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    pipeline = _find_pipeline(dataloader.get('dataset'))
    if not pipeline:
        return []
    kept = []
    for t in pipeline:
        name = t['type'] if isinstance(t, dict) else type(t).__name__
        if isinstance(name, type):
            name = name.__name__
        if name not in SKIPPED_TRANSFORMS:
            kept.append(copy.deepcopy(t))
    return kept


def build_inference_pipeline(cfg: Optional[Config]) -> Compose:
    """:func:`inference_pipeline_cfg` plus ``PackDepthInputs``, built."""
    transforms = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                  for t in inference_pipeline_cfg(cfg)]
    transforms.append(TRANSFORMS.build(dict(type='PackDepthInputs')))
    return Compose(transforms)


def _as_image(image: ImageLike) -> tuple:
    """``(rgb uint8 (H, W, 3), name)`` of a path or an array."""
    if isinstance(image, (str, bytes)) or hasattr(image, '__fspath__'):
        path = osp.expanduser(str(image))
        return read_rgb(path), path  # raises naming the file when missing or corrupt
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f'an image array must be uint8 RGB (H, W, 3), got '
                             f'{image.dtype} {image.shape}')
        return np.ascontiguousarray(image), '<array>'
    raise TypeError(f'image must be a file path or an (H, W, 3) uint8 array, '
                    f'got {type(image).__name__}')


def _pixel(sample, name: str) -> Optional[np.ndarray]:
    if name not in sample:
        return None
    return getattr(sample, name).data.detach().float().cpu().numpy()[0]


@torch.no_grad()
def _pack(model: nn.Module, image: ImageLike, caption: str,
          intrinsics: Optional[Sequence[float]], rel_depth: Optional[np.ndarray]) -> tuple:
    """One image through the model's inference pipeline: ``(packed, name, (H, W))``."""
    img, name = _as_image(image)
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError(f'empty caption for image {name}: TR2M needs a description of the '
                         'image (pass --text or a caption file)')
    h, w = img.shape[:2]
    if intrinsics is not None:
        intrinsics = [float(v) for v in intrinsics]
        if len(intrinsics) != 4:
            raise ValueError(f'intrinsics must be [fx, fy, cx, cy], got {intrinsics}')
    if rel_depth is not None:
        rel_depth = np.asarray(rel_depth, dtype=np.float32).squeeze()
        if rel_depth.shape != (h, w):
            raise ValueError(f'rel_depth has shape {rel_depth.shape} but image {name} has '
                             f'{(h, w)}')
        if not np.isfinite(rel_depth).all():
            raise ValueError(f'rel_depth of image {name} contains NaN or inf')
    pipeline = getattr(model, '_tr2m_inference_pipeline', None)
    if pipeline is None:
        pipeline = build_inference_pipeline(getattr(model, 'cfg', None))
        model._tr2m_inference_pipeline = pipeline  # built once per model
    results = dict(img=img, img_path=name, img_shape=(h, w), ori_shape=(h, w),
                   intrinsics=intrinsics, caption=caption, captions=[caption],
                   caption_index=0)
    packed = pipeline(results)
    if rel_depth is not None:
        ih, iw = packed['inputs'].shape[-2:]
        rel = rel_depth if (ih, iw) == (h, w) else cv2.resize(
            rel_depth, (iw, ih), interpolation=cv2.INTER_LINEAR)
        packed['data_samples'].rel_depth = PixelData(
            data=torch.from_numpy(np.ascontiguousarray(rel))[None])
    return packed, name, (h, w)


def _autocast(model: nn.Module, precision: str):
    """Autocast of ``precision`` ('auto', 'bf16', 'fp32') on the model's device."""
    from tr2m.utils.hardware import autocast_dtype

    device = next(iter(model.parameters()), torch.empty(0)).device
    dtype = autocast_dtype(precision, device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def infer_depths(model: nn.Module, images: Sequence[ImageLike],
                 captions: Optional[Sequence[Optional[str]]] = None,
                 intrinsics: Optional[Sequence[float]] = None,
                 rel_depths: Optional[Sequence[Optional[np.ndarray]]] = None,
                 batch_size: int = 1, amp: bool = False,
                 captioner=None, precision: str = 'auto') -> Iterator[Dict[str, Any]]:
    """Predict metric depth for many images, yielding :func:`infer_depth`'s result per image
    in input order. Up to ``batch_size`` consecutive images of one network input size share a
    forward pass; ``precision`` chooses float32 or bfloat16 autocast (the depth comes back
    float32 either way).

    Args:
        images, captions: one caption per image (file paths or uint8 RGB arrays); a missing
            caption (None, or no ``captions``) is written by ``captioner``.
        captioner: preset name, config or built captioner for missing captions. Defaults to
            :data:`tr2m.apis.auto_caption.DEFAULT_CAPTIONER`.
        intrinsics: ``[fx, fy, cx, cy]`` shared by the images, one such list (or None) per
            image, or None.
        rel_depths: per image a precomputed relative inverse depth (or None), see
            :func:`infer_depth`.
        batch_size (int): images per forward pass. Defaults to 1.
        amp (bool): bfloat16 autocast whatever ``precision`` says (the older switch, same as
            ``precision='bf16'``). Defaults to False.
        precision (str): 'auto' (bfloat16 autocast where the device computes it faster:
            CUDA with bf16, CPUs with AMX; see :mod:`tr2m.utils.hardware`), 'bf16' or 'fp32'.
            Defaults to 'auto'.
    """
    from tr2m.utils.hardware import PRECISIONS

    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')
    precision = 'bf16' if amp else precision
    if captions is None or any(c is None for c in captions):
        from tr2m.apis.auto_caption import fill_captions

        captions = fill_captions(images, captions, captioner)
    rel_depths = list(rel_depths) if rel_depths is not None else [None] * len(images)
    per_image = intrinsics is not None and len(intrinsics) == len(images) and all(
        k is None or isinstance(k, (list, tuple, np.ndarray)) for k in intrinsics)
    intrinsics = list(intrinsics) if per_image else [intrinsics] * len(images)
    pending: List[tuple] = []

    def flush():
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), _autocast(model, precision):
                preds = model.test_step(dict(inputs=[p['inputs'] for p, _, _, _ in pending],
                                             data_samples=[p['data_samples']
                                                           for p, _, _, _ in pending]))
        finally:
            model.train(was_training)
        for (packed, name, (h, w), caption), pred in zip(pending, preds):
            depth = _pixel(pred, 'pred_depth')
            if depth is None:
                raise RuntimeError(f'{type(model).__name__}.predict gave no pred_depth for '
                                   f'{name}')
            if depth.shape != (h, w):  # a depther that did not resize to ori_shape
                depth = cv2.resize(depth, (w, h), interpolation=cv2.INTER_LINEAR)
            yield dict(depth=depth.astype(np.float32), rel=_pixel(pred, 'pred_rel_depth'),
                       scale=_pixel(pred, 'pred_scale'), shift=_pixel(pred, 'pred_shift'),
                       caption=caption, img_path=name,
                       input_shape=tuple(int(v) for v in packed['inputs'].shape[-2:]))
        pending.clear()

    for image, caption, rel, k in zip(images, captions, rel_depths, intrinsics):
        packed, name, size = _pack(model, image, caption, k, rel)
        if pending and (len(pending) >= batch_size
                        or pending[0][0]['inputs'].shape != packed['inputs'].shape):
            yield from flush()
        pending.append((packed, name, size, caption))
    if pending:
        yield from flush()


def infer_depth(model: nn.Module, image: ImageLike, caption: Optional[str] = None,
                intrinsics: Optional[Sequence[float]] = None,
                rel_depth: Optional[np.ndarray] = None, captioner=None,
                precision: str = 'auto') -> Dict[str, Any]:
    """Predict metric depth for one image and its caption.

    Args:
        model (nn.Module): a depther, e.g. from :func:`init_depther` (its ``cfg`` gives the
            test pipeline; a model without ``cfg`` sees the image at its own size).
        image (str | np.ndarray): image file, or uint8 RGB array ``(H, W, 3)``.
        caption (str, optional): the image's description; empty is an error naming the image.
            None: ``captioner`` writes one (default ``'auto'``: ``llava_v16_vicuna``, the
            paper's captioner for unseen images, with CUDA; ``smolvlm_256m`` without, see
            :func:`tr2m.apis.auto_caption.default_captioner`).
        captioner: preset name, config or built captioner used when ``caption`` is None.
        intrinsics (Sequence[float], optional): ``[fx, fy, cx, cy]`` in pixels of the original
            image; recorded in the sample's metainfo (and moved along by resizes).
        rel_depth (np.ndarray, optional): precomputed relative inverse depth ``(H, W)`` at the
            original image size; it is resized to the network input and replaces the model's
            frozen relative-depth network (needed for ``SimulatedRelativeDepth`` models).
        precision (str): 'auto', 'bf16' or 'fp32', see :func:`infer_depths`. Defaults to 'auto'.

    Returns:
        dict: ``depth`` ``(H, W)`` float32 metric depth in the model's unit, ``rel`` the relative
        inverse depth the model used ``(H, W)`` (None if the model does not report it), ``scale``
        and ``shift`` the scale/shift maps ``(H, W)`` when the model predicts them (else None),
        ``caption``, ``img_path`` and ``input_shape`` (the network's ``(h, w)``).
    """
    return next(infer_depths(model, [image], [caption], intrinsics, [rel_depth],
                             captioner=captioner, precision=precision))
