"""``BaseDepthDataset``: RGB-D datasets described by split files in their public layout.

A subclass declares its dataset as data (depth format, default intrinsics, default splits, the
evaluation ``PROTOCOL``, a :class:`~tr2m.structures.DepthProtocol`; see
docs/user_guides/evaluation.md#protocols) and implements
:meth:`load_entries`, which returns one small dict per sample with paths *relative to*
``data_prefix['img_path']`` and ``data_prefix['depth_path']``. The base turns entries into the
data_info dicts every tr2m pipeline reads (the same keys as
:class:`~tr2m.datasets.DepthManifestDataset`):

``img_path``, ``depth_path``, ``depth_format``, ``depth_scale``, ``intrinsics`` (``[fx, fy, cx,
cy]`` or None), ``depth_intrinsics`` (the same, never touched by transforms), ``dataset_name``,
``scene_type``, ``captions`` (list of str), ``protocol`` (a
:class:`~tr2m.structures.DepthProtocol`), ``caption_key`` and, with ``rel_depth_root``,
``rel_depth_path``.
"""
import copy
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from tr2m.datasets.captions import BaseCaptionSource, CaptionNotFoundError, build_caption_source
from tr2m.datasets.depth_io import DEPTH_FORMATS
from tr2m.datasets.seeding import SeededDrawsMixin
from tr2m.registry import TRANSFORMS
from tr2m.structures import DepthProtocol
from tr2m.utils.errors import MissingFileError
from tr2m.utils.files import read_text

_MISSING_CAPTION = ('error', 'fallback', 'skip')


def check_protocol(protocol: Union[dict, DepthProtocol, None],
                   owner: str = 'protocol') -> DepthProtocol:
    """A protocol as a validated :class:`~tr2m.structures.DepthProtocol` (unknown keys, crop,
    units and range raise :class:`~tr2m.structures.ProtocolError`, naming ``owner``)."""
    return DepthProtocol.coerce(protocol, owner)


#: Sample fields holding a file that must exist (checked when a dataset is built).
FILE_KEYS = ('img_path', 'depth_path', 'rel_depth_path')


def check_sample_files(data_list: List[dict], owner: str, source: str,
                       keys: Sequence[str] = FILE_KEYS) -> None:
    """Raise :class:`MissingFileError` when a file named by the samples does not exist.

    Args:
        data_list (list[dict]): the samples' data infos.
        owner (str): the dataset, for the message.
        source (str): what listed the files (manifest, split file, folder), for the message.
        keys (Sequence[str]): fields to check when present. Defaults to :data:`FILE_KEYS`.
    """
    missing, total = [], 0
    for info in data_list:
        for key in keys:
            path = info.get(key)
            if path is None:
                continue
            total += 1
            if not osp.isfile(path):
                missing.append((key, path))
    if missing:
        key, path = missing[0]
        raise MissingFileError(
            f'{owner}: {len(missing)} of {total} files listed by {source} are missing, first '
            f'{path} ({key}); check data_root / data_prefix, or pass check_files=False to '
            'build the dataset without this check')


def read_split_file(path: str, min_fields: int = 1) -> List[List[str]]:
    """Lines of a whitespace-separated split file, without blanks and ``#`` comments."""
    if not osp.isfile(path):
        raise MissingFileError(f'split file not found: {path} (check data_root and ann_file)')
    rows = []
    for lineno, line in enumerate(read_text(path, 'split file').splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        fields = line.split()
        if len(fields) < min_fields:
            raise ValueError(f'{path}:{lineno}: expected at least {min_fields} fields, '
                             f'got {line!r}')
        rows.append(fields)
    return rows


def read_matrix_intrinsics(path: str) -> List[float]:
    """``[fx, fy, cx, cy]`` from a text file holding a row-major 3x3 camera matrix (VOID
    ``K.txt``, SUN RGB-D ``intrinsics.txt``) or the four numbers ``fx fy cx cy``; numbers may be
    separated by whitespace or commas."""
    text = read_text(path, 'intrinsics file').replace(',', ' ')
    try:
        values = [float(v) for v in text.split()]
    except ValueError as err:
        raise ValueError(f'{path}: not a camera matrix: {err}') from err
    if len(values) == 4:
        return values
    if len(values) < 9:
        raise ValueError(f'{path}: expected a 3x3 camera matrix or fx fy cx cy, '
                         f'got {len(values)} numbers')
    k = np.asarray(values[:9]).reshape(3, 3)
    return [float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2])]


def strip_leading_slash(path: str) -> str:
    """BTS split files start NYU paths with ``/``; they are relative all the same."""
    return path.replace('\\', '/').lstrip('/')


class BaseDepthDataset(SeededDrawsMixin, BaseDataset):
    """Base of the split-file depth datasets (``NYUv2Dataset``, ``KITTIDataset``, ...).

    Subclasses set the class attributes below and implement :meth:`load_entries`. ``split``
    picks defaults for ``ann_file`` and ``data_prefix`` from ``DEFAULT_SPLITS``; explicit
    arguments override them.

    Class attributes:
        PROTOCOL (DepthProtocol): evaluation protocol: ``name``, ``min_depth``, ``max_depth``
            (None = no bound), ``crop`` (None, ``'eigen'``, ``'garg'``), ``units``
            (``'m'``/``'mm'``); ``split`` is the dataset's.
        DEPTH_FORMAT (str): format name registered in :mod:`tr2m.datasets.depth_io`.
        DEPTH_SCALE (float | None): stored value / scale = depth in ``units``.
        INTRINSICS (list | None): default ``[fx, fy, cx, cy]`` of the original image.
        SCENE_TYPE (str | None): ``'indoor'``, ``'outdoor'``, ``'endoscopic'``.
        DEFAULT_SPLITS (dict): ``{split: dict(ann_file=..., data_prefix=dict(img_path=...,
            depth_path=...))}``.

    Args:
        split (str): which split (a key of ``DEFAULT_SPLITS``; free text when ``ann_file`` and
            ``data_prefix`` are given). Recorded in the protocol. Defaults to 'test'.
        ann_file (str, optional): split file relative to ``data_root``. Defaults to the split's.
        data_root (str): dataset root. Defaults to ''.
        data_prefix (dict, optional): ``img_path`` / ``depth_path`` folders relative to
            ``data_root``. Defaults to the split's.
        caption_source (dict | object, optional): a :mod:`tr2m.datasets.captions` source (config
            or built). None: samples carry no captions. Defaults to None.
        missing_caption (str): what an image without caption does: ``'error'`` (raise, naming
            the image), ``'fallback'`` (use ``[caption_fallback]``) or ``'skip'`` (drop the
            sample, with a warning). Defaults to 'error'.
        caption_fallback (str, optional): the fallback caption; giving it alone implies
            ``missing_caption='fallback'``. Defaults to None.
        protocol (dict | DepthProtocol, optional): overrides of ``PROTOCOL`` keys (e.g.
            ``dict(crop=None)`` to evaluate NYUv2 without the Eigen crop as RSA does; an
            unknown key is an error that names it), or a whole protocol. Defaults to None.
        intrinsics (Sequence[float], optional): ``[fx, fy, cx, cy]`` overriding the defaults and
            any per-sample camera. Defaults to None.
        depth_format (str, optional): overrides ``DEPTH_FORMAT``. Defaults to None.
        depth_scale (float, optional): overrides ``DEPTH_SCALE``. Defaults to None.
        img_ext (str, optional): replace the image extension of split entries (``'.png'`` when
            a list says ``.jpg`` but the PNGs were kept). Caption keys are unaffected.
            Defaults to None.
        rel_depth_root (str, optional): folder of cached relative depth: sample ``key`` gets
            ``rel_depth_path = <rel_depth_root>/<key without extension>.npy`` (relative to
            ``data_root`` unless absolute). Defaults to None.
        dataset_name (str, optional): overrides ``PROTOCOL.name`` as the sample's
            ``dataset_name``. Defaults to None.
        check_files (bool): when the dataset is built, check that every image, depth map and
            cached relative depth it lists exists (one clear error instead of a failure
            mid-epoch). Defaults to True.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``pipeline``, ``test_mode``,
            ``indices``, ``serialize_data``, ``lazy_init``, ``metainfo``, ...).
    """

    PROTOCOL: DepthProtocol = DepthProtocol(name='depth')
    DEPTH_FORMAT: str = 'png_uint16'
    DEPTH_SCALE: Optional[float] = None
    INTRINSICS: Optional[Sequence[float]] = None
    SCENE_TYPE: Optional[str] = None
    DEFAULT_SPLITS: Dict[str, dict] = {}

    def __init__(self, split: str = 'test', ann_file: Optional[str] = None,
                 data_root: str = '', data_prefix: Optional[dict] = None,
                 caption_source: Union[dict, BaseCaptionSource, None] = None,
                 missing_caption: Optional[str] = None, caption_fallback: Optional[str] = None,
                 protocol: Union[dict, DepthProtocol, None] = None,
                 intrinsics: Optional[Sequence[float]] = None,
                 depth_format: Optional[str] = None, depth_scale: Optional[float] = None,
                 img_ext: Optional[str] = None, rel_depth_root: Optional[str] = None,
                 dataset_name: Optional[str] = None, check_files: bool = True,
                 **kwargs) -> None:
        self._init_draw_state()
        self.check_files = check_files
        defaults = self.DEFAULT_SPLITS.get(split)
        if defaults is None and (ann_file is None and self.DEFAULT_SPLITS):
            raise KeyError(f'{type(self).__name__}: unknown split {split!r}; known: '
                           f'{sorted(self.DEFAULT_SPLITS)} (or give ann_file and data_prefix)')
        defaults = defaults or {}
        self.split = split
        if ann_file is None:
            ann_file = defaults.get('ann_file', '')
        prefix = dict(img_path='', depth_path='')
        prefix.update(copy.deepcopy(defaults.get('data_prefix', {})))
        prefix.update(data_prefix or {})

        if missing_caption is None:
            missing_caption = 'fallback' if caption_fallback is not None else 'error'
        if missing_caption not in _MISSING_CAPTION:
            raise ValueError(f'missing_caption must be one of {_MISSING_CAPTION}, '
                             f'got {missing_caption!r}')
        if missing_caption == 'fallback' and not caption_fallback:
            raise ValueError("missing_caption='fallback' needs caption_fallback='...'")
        self.missing_caption = missing_caption
        self.caption_fallback = caption_fallback
        self.caption_source = build_caption_source(caption_source)

        owner = type(self).__name__
        proto = protocol if isinstance(protocol, DepthProtocol) else DepthProtocol.from_dict(
            protocol, base=self.PROTOCOL, owner=owner)
        self.dataset_name = dataset_name or proto.name or owner
        self.protocol = proto.replace(name=self.dataset_name, split=split)

        if intrinsics is not None and len(intrinsics) != 4:
            raise ValueError(f'intrinsics must be [fx, fy, cx, cy], got {intrinsics}')
        self.intrinsics = None if intrinsics is None else [float(v) for v in intrinsics]
        self.depth_format = depth_format or self.DEPTH_FORMAT
        if self.depth_format not in DEPTH_FORMATS:
            raise KeyError(f'unknown depth_format {self.depth_format!r}; '
                           f'known: {sorted(DEPTH_FORMATS)}')
        self.depth_scale = depth_scale if depth_scale is not None else self.DEPTH_SCALE
        self.img_ext = img_ext
        self.rel_depth_root = rel_depth_root

        # tr2m's transforms resolve without a default scope (classes usable without a runner)
        kwargs['pipeline'] = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                              for t in kwargs.get('pipeline') or []]
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=prefix, **kwargs)
        # set here, not through ``metainfo=``: mmengine reads str values there as file names.
        # Plain data: mmengine saves the dataset's metainfo in every checkpoint (loaded with
        # weights_only=True); each sample carries the typed protocol.
        self._metainfo = {'dataset_name': self.dataset_name, 'protocol': self.protocol.to_dict(),
                          **self._metainfo}

    # -- what subclasses implement ---------------------------------------------------------
    def load_entries(self) -> List[dict]:
        """One dict per sample: ``img`` and ``depth`` (paths relative to the image / depth
        prefixes), optional ``key`` (caption key; defaults to ``img``), ``intrinsics``,
        ``scene_type``, ``captions`` (given captions win over the caption source)."""
        raise NotImplementedError

    # -- shared machinery ------------------------------------------------------------------
    @property
    def img_root(self) -> str:
        """Absolute (data_root-joined) image folder."""
        return self.data_prefix.get('img_path', '')

    @property
    def depth_root(self) -> str:
        """Absolute (data_root-joined) depth folder."""
        return self.data_prefix.get('depth_path', '')

    def _captions_of(self, key: str, img_path: str, given: Optional[list]) -> Optional[list]:
        if given:
            return list(given)
        if self.caption_source is None:
            return []
        try:
            return self.caption_source.captions(key, img_path)
        except CaptionNotFoundError:
            if self.missing_caption == 'error':
                raise
            if self.missing_caption == 'fallback':
                return [self.caption_fallback]
            return None  # skip

    def load_data_list(self) -> List[dict]:
        entries = self.load_entries()
        data_list, skipped = [], []
        rel_root = self.rel_depth_root
        if rel_root and self.data_root and not osp.isabs(rel_root):
            rel_root = osp.join(self.data_root, rel_root)
        for entry in entries:
            rel_img = entry['img']
            key = entry.get('key', rel_img)
            if self.img_ext is not None:
                rel_img = osp.splitext(rel_img)[0] + self.img_ext
            img_path = osp.join(self.img_root, rel_img)
            captions = self._captions_of(key, img_path, entry.get('captions'))
            if captions is None:
                skipped.append(img_path)
                continue
            intr = self.intrinsics or entry.get('intrinsics') or self.INTRINSICS
            intr = None if intr is None else [float(v) for v in intr]
            info = dict(
                img_path=img_path,
                depth_path=osp.join(self.depth_root, entry['depth']),
                depth_format=entry.get('depth_format', self.depth_format),
                depth_scale=entry.get('depth_scale', self.depth_scale),
                intrinsics=intr,
                depth_intrinsics=None if intr is None else list(intr),
                dataset_name=self.dataset_name,
                scene_type=entry.get('scene_type', self.SCENE_TYPE),
                captions=captions,
                caption_key=key,
                protocol=self.protocol,
            )
            if rel_root:
                info['rel_depth_path'] = osp.join(rel_root, osp.splitext(key)[0] + '.npy')
            data_list.append(info)
        if skipped:
            print_log(f'{type(self).__name__}: skipped {len(skipped)} samples without caption '
                      f'(first: {skipped[0]})', logger='current', level=logging.WARNING)
        if not data_list:
            raise ValueError(f'{type(self).__name__}: no samples (split {self.split!r}, '
                             f'ann_file {self.ann_file!r}, data_root {self.data_root!r})')
        if self.check_files:
            check_sample_files(data_list, type(self).__name__,
                               self.ann_file or f'the folder {self.img_root}')
        return data_list

    def __repr__(self) -> str:
        n = len(self) if self._fully_initialized else 'not loaded'
        return (f'{type(self).__name__}(split={self.split!r}, data_root={self.data_root!r}, '
                f'samples={n}, protocol={self.protocol})')
