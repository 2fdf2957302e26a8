"""Loading transforms: image, depth (per-format decoding to the working unit) and caption."""
from typing import Optional, Sequence

import numpy as np

from tr2m.datasets.depth_io import read_depth, read_rgb
from tr2m.datasets.seeding import sample_rng
from tr2m.datasets.transforms.base import BaseTransform
from tr2m.registry import TRANSFORMS
from tr2m.structures import NOTES_KEY, notes_of
from tr2m.utils.errors import DataError


def _add_depth_field(results: dict, key: str) -> None:
    fields = results.setdefault('depth_fields', [])
    if key not in fields:
        fields.append(key)


def _depth_intrinsics(results: dict) -> Optional[list]:
    """Intrinsics at the depth map's (original) resolution, for decoders that need them.

    Datasets record them as ``depth_intrinsics`` (geometric transforms leave that key alone);
    otherwise ``intrinsics`` is used while the image is still unresized and unflipped.
    """
    if results.get('depth_intrinsics') is not None:
        return list(results['depth_intrinsics'])
    untouched = (tuple(results.get('img_shape', ())) == tuple(results.get('ori_shape', ()))
                 and not results.get('flip', False))
    return list(results['intrinsics']) if untouched and results.get('intrinsics') else None


@TRANSFORMS.register_module()
class LoadRGBImage(BaseTransform):
    """Read ``results['img_path']`` as uint8 RGB ``(H, W, 3)`` into ``results['img']``.

    Sets ``img_shape`` and ``ori_shape`` to ``(H, W)``. A missing or undecodable file raises an
    error that names it.
    """

    def transform(self, results: dict) -> dict:
        img = read_rgb(results['img_path'])
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadDepth(BaseTransform):
    """Decode ``results['depth_path']`` into ``gt_depth`` (float32) and ``gt_valid`` (bool).

    The format and scale come from the sample (``depth_format``, ``depth_scale``, as a manifest
    records them) unless given here. Formats that need the camera (HyperSim's ray distance)
    get ``depth_intrinsics`` (see :func:`_depth_intrinsics`). The depth map must have the size
    of the *original* image (``ori_shape``), so this transform may run before or after resizing
    the image: before for training (depth is resized with the image), after for testing (the GT
    stays at full size).

    Args:
        depth_format (str, optional): overrides the sample's format. Defaults to None.
        depth_scale (float, optional): overrides the sample's scale. Defaults to None.
    """

    def __init__(self, depth_format: Optional[str] = None,
                 depth_scale: Optional[float] = None) -> None:
        self.depth_format = depth_format
        self.depth_scale = depth_scale

    def transform(self, results: dict) -> dict:
        path = results['depth_path']
        fmt = self.depth_format or results.get('depth_format')
        if fmt is None:
            raise KeyError(f'no depth_format given for {path} (set it in the dataset or '
                           'in LoadDepth)')
        scale = self.depth_scale if self.depth_scale is not None else results.get('depth_scale')
        depth, valid = read_depth(path, fmt, scale, intrinsics=_depth_intrinsics(results))
        ori = tuple(results.get('ori_shape', depth.shape))
        if depth.shape != ori:
            raise DataError(f'depth map {path} has size {depth.shape}, but its image '
                             f"{results.get('img_path')} has size {ori}")
        results['gt_depth'] = depth
        results['gt_valid'] = valid
        if depth.shape == tuple(results.get('img_shape', depth.shape)):
            # Loaded at the image's current size: later geometric transforms move it along.
            # Loaded after a resize, it stays at full resolution for evaluation.
            _add_depth_field(results, 'gt_depth')
            _add_depth_field(results, 'gt_valid')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(depth_format={self.depth_format!r}, '
                f'depth_scale={self.depth_scale!r})')


@TRANSFORMS.register_module()
class LoadRelativeDepth(BaseTransform):
    """Load a precomputed relative inverse depth map (``.npy``) from ``results['rel_depth_path']``.

    Useful to cache an expensive frozen relative-depth model; the depther then skips it.
    """

    def transform(self, results: dict) -> dict:
        path = results['rel_depth_path']
        rel = np.load(path, allow_pickle=False).astype(np.float32).squeeze()
        if rel.shape != tuple(results['img_shape']):
            raise DataError(f'relative depth {path} has size {rel.shape}, image has '
                             f"{tuple(results['img_shape'])}")
        if not np.isfinite(rel).all():
            raise DataError(f'relative depth {path} contains NaN or inf')
        results['rel_depth'] = rel
        _add_depth_field(results, 'rel_depth')
        return results


@TRANSFORMS.register_module()
class LoadCaption(BaseTransform):
    """Pick one caption from ``results['captions']`` into ``results['caption']``.

    Also sets ``results['caption_index']``: the index, in the sample's ``captions`` list, of the
    caption actually used, or -1 for the fallback. Empty or blank captions are never used: in
    ``'index'`` mode an empty caption at ``index`` gives way to the first non-empty one after
    it, and that one's index is recorded. In ``'index'`` mode the recorded index is also written
    to the sample's run notes (``results['run_notes']``, a :class:`~tr2m.structures.RunNotes`)
    as ``caption_index``, so metrics report what was used.

    Args:
        mode (str): ``'random'`` (training: a uniformly drawn non-empty caption, from the
            sample's seeded generator when the dataset provides one, see
            :mod:`tr2m.datasets.seeding`, else the global numpy generator) or ``'index'``
            (evaluation). Defaults to 'index'.
        index (int): caption index for ``mode='index'``. Defaults to 0.
        fallback (str, optional): caption used when the sample has none. Without it, a sample
            without captions is an error that names its image. Defaults to None.
    """

    def __init__(self, mode: str = 'index', index: int = 0,
                 fallback: Optional[str] = None) -> None:
        if mode not in ('random', 'index'):
            raise ValueError(f"LoadCaption mode must be 'random' or 'index', got {mode!r}")
        self.mode = mode
        self.index = index
        self.fallback = fallback

    def transform(self, results: dict) -> dict:
        captions: Sequence[str] = results.get('captions') or []
        usable = [i for i, c in enumerate(captions) if isinstance(c, str) and c.strip()]
        if not usable:
            if self.fallback is None:
                raise DataError(f"no (non-empty) caption for image {results.get('img_path')}; "
                                 'add captions or set LoadCaption(fallback=...)')
            index, caption = -1, self.fallback
        elif self.mode == 'random':
            index = usable[int(sample_rng(results).integers(len(usable)))]
            caption = captions[index]
        elif self.index < len(captions):
            later = [i for i in usable if i >= self.index]
            if not later:
                raise IndexError(f'caption index {self.index}: {results.get("img_path")} has no '
                                 f'non-empty caption at or after it ({len(captions)} captions)')
            index = later[0]
            caption = captions[index]
        else:
            raise IndexError(f'caption index {self.index} out of range: {results.get("img_path")} '
                             f'has {len(captions)} captions')
        if self.mode == 'index':  # evaluation results record which caption they used
            results[NOTES_KEY] = notes_of(results).replace(caption_index=index)
        results['caption'] = caption
        results['caption_index'] = index
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mode={self.mode!r}, index={self.index}, '
                f'fallback={self.fallback!r})')
