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
import copy
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

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
from tr2m.utils.config import load_config

#: Test-pipeline transforms left out at inference: image/GT/caption loading (done here or not
#: needed), GT-defined crops and augmentations, and the packing (added back at the end).
SKIPPED_TRANSFORMS = ('LoadRGBImage', 'LoadDepth', 'LoadRelativeDepth', 'LoadCaption',
                      'KBCrop', 'CenterCrop', 'RandomCrop', 'RandomFlip', 'PackDepthInputs')

ImageLike = Union[str, np.ndarray]


def init_depther(config: Union[str, Config], checkpoint: Optional[str] = None,
                 device: Union[str, torch.device] = 'cpu',
                 cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a depther from a config and load its checkpoint.

    Args:
        config (str | Config): config file or object.
        checkpoint (str, optional): checkpoint written by training (``epoch_N.pth``); None or
            ``'none'`` keeps the freshly built weights. In that case the global RNGs are seeded
            with the config's ``randomness.seed`` first (as ``tools/test.py`` does through the
            runner), so an untrained model is the same one ``tools/test.py CONFIG none`` scores.
            Loading uses mmengine's ``load_checkpoint`` (``torch.load`` with
            ``weights_only=True``; ``import tr2m`` allowlists what mmengine checkpoints hold).
        device (str | torch.device): where the model runs. Defaults to 'cpu'.
        cfg_options (dict, optional): strict dotted-key overrides (unknown keys are errors).

    Returns:
        nn.Module: the depther in eval mode, with the merged config as ``model.cfg``.
    """
    from mmengine.runner import load_checkpoint, set_random_seed

    register_all_modules()
    cfg = load_config(config, cfg_options)
    if checkpoint is not None and str(checkpoint).lower() == 'none':
        checkpoint = None
    if checkpoint is None:
        randomness = cfg.get('randomness') or {}
        if randomness.get('seed') is not None:
            set_random_seed(randomness['seed'], deterministic=randomness.get(
                'deterministic', False))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
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
def infer_depth(model: nn.Module, image: ImageLike, caption: str,
                intrinsics: Optional[Sequence[float]] = None,
                rel_depth: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """Predict metric depth for one image and its caption.

    Args:
        model (nn.Module): a depther, e.g. from :func:`init_depther` (its ``cfg`` gives the
            test pipeline; a model without ``cfg`` sees the image at its own size).
        image (str | np.ndarray): image file, or uint8 RGB array ``(H, W, 3)``.
        caption (str): the image's description; empty is an error naming the image.
        intrinsics (Sequence[float], optional): ``[fx, fy, cx, cy]`` in pixels of the original
            image; recorded in the sample's metainfo (and moved along by resizes).
        rel_depth (np.ndarray, optional): precomputed relative inverse depth ``(H, W)`` at the
            original image size; it is resized to the network input and replaces the model's
            frozen relative-depth network (needed for ``SimulatedRelativeDepth`` models).

    Returns:
        dict: ``depth`` ``(H, W)`` float32 metric depth in the model's unit, ``rel`` the relative
        inverse depth the model used ``(H, W)`` (None if the model does not report it), ``scale``
        and ``shift`` the scale/shift maps ``(H, W)`` when the model predicts them (else None),
        ``caption``, ``img_path`` and ``input_shape`` (the network's ``(h, w)``).
    """
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
    sample = packed['data_samples']
    if rel_depth is not None:
        ih, iw = packed['inputs'].shape[-2:]
        rel = rel_depth if (ih, iw) == (h, w) else cv2.resize(
            rel_depth, (iw, ih), interpolation=cv2.INTER_LINEAR)
        sample.rel_depth = PixelData(data=torch.from_numpy(np.ascontiguousarray(rel))[None])

    was_training = model.training
    model.eval()
    try:
        pred = model.test_step(dict(inputs=[packed['inputs']], data_samples=[sample]))[0]
    finally:
        model.train(was_training)
    depth = _pixel(pred, 'pred_depth')
    if depth is None:
        raise RuntimeError(f'{type(model).__name__}.predict gave no pred_depth for {name}')
    if depth.shape != (h, w):  # a depther that did not resize to ori_shape
        depth = cv2.resize(depth, (w, h), interpolation=cv2.INTER_LINEAR)
    return dict(depth=depth.astype(np.float32), rel=_pixel(pred, 'rel_depth'),
                scale=_pixel(pred, 'pred_scale'), shift=_pixel(pred, 'pred_shift'),
                caption=caption, img_path=name,
                input_shape=tuple(int(s) for s in packed['inputs'].shape[-2:]))
