"""Reading images and depth maps from disk, one decoder per on-disk depth format.

Every decoder returns ``(depth, valid)``: ``depth`` float32 ``(H, W)`` in the dataset's working
unit (metres, or millimetres for the endoscopic sets) with 0 where invalid, and ``valid`` a bool
``(H, W)`` mask. Add a format with :func:`register_depth_format`. A decoder whose signature has
an ``intrinsics`` keyword (``[fx, fy, cx, cy]`` of the depth map, or None) receives them too
(HyperSim stores ray distances that need the camera to become planar depth).
"""
import inspect
import math
import os
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from tr2m.utils.errors import DataError, MissingFileError


class UnreadableFileError(DataError, OSError):
    """An image, depth map or mask that exists but cannot be decoded (corrupt, wrong format)."""


class TruncatedImageError(UnreadableFileError):
    """A JPEG whose end is missing: OpenCV decodes it (grey below the cut, with only libjpeg's
    "Premature end of JPEG file" on stderr), so it is found by its missing end marker."""


def check_jpeg_complete(path: str) -> None:
    """Raise :class:`TruncatedImageError` when the JPEG ``path`` was cut off.

    A complete JPEG ends with the EOI marker ``FF D9`` (trailing zero padding allowed). A file
    that does not (some cameras append data after it) is decoded in full with Pillow, which
    refuses a truncated stream; a file that is not a JPEG passes untouched.
    """
    with open(path, 'rb') as f:
        if f.read(2) != b'\xff\xd8':
            return  # not a JPEG
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64))
        tail = f.read().rstrip(b'\x00')
    if tail.endswith(b'\xff\xd9'):
        return
    try:
        from PIL import Image
    except ImportError:  # no Pillow: the missing end marker decides
        raise TruncatedImageError(f'truncated image (no JPEG end marker, {size} bytes): '
                                  f'{path}') from None
    try:
        with Image.open(path) as im:
            im.load()
    except (OSError, SyntaxError, ValueError) as err:
        raise TruncatedImageError(f'truncated or corrupt image ({err}; {size} bytes): '
                                  f'{path}') from None

DepthDecoder = Callable[[str, Optional[float]], Tuple[np.ndarray, np.ndarray]]
DEPTH_FORMATS: Dict[str, DepthDecoder] = {}
#: Formats whose decoder takes the ``intrinsics`` keyword.
_TAKES_INTRINSICS = set()


def register_depth_format(name: str) -> Callable[[DepthDecoder], DepthDecoder]:
    """Decorator registering ``fn(path, scale[, intrinsics=None]) -> (depth, valid)``."""

    def wrap(fn: DepthDecoder) -> DepthDecoder:
        if name in DEPTH_FORMATS:
            raise KeyError(f'depth format {name!r} is already registered')
        DEPTH_FORMATS[name] = fn
        if 'intrinsics' in inspect.signature(fn).parameters:
            _TAKES_INTRINSICS.add(name)
        return fn

    return wrap


def _check_file(path: str) -> None:
    if not os.path.isfile(path):
        raise MissingFileError(f'file not found: {path}')


def read_rgb(path: str) -> np.ndarray:
    """Read an image as uint8 RGB ``(H, W, 3)``; a missing or corrupt file raises with its path."""
    _check_file(path)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise UnreadableFileError(f'cannot decode image (corrupt or unsupported format): {path}')
    check_jpeg_complete(path)  # OpenCV decodes a cut-off JPEG without an error
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_uint16(path: str) -> np.ndarray:
    """Read a single-channel 16-bit image (PNG, TIFF) as uint16 ``(H, W)``."""
    _check_file(path)
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise UnreadableFileError(f'cannot decode depth image (corrupt or unsupported format): '
                                  f'{path}')
    if raw.ndim != 2:
        raise DataError(f'depth image must have one channel, got shape {raw.shape}: {path}')
    if raw.dtype != np.uint16:
        raise DataError(f'depth image must be 16-bit, got {raw.dtype}: {path}')
    return raw


def _finish(depth: np.ndarray, valid: np.ndarray, path: str) -> Tuple[np.ndarray, np.ndarray]:
    depth = depth.astype(np.float32, copy=False)
    valid = valid & np.isfinite(depth) & (depth > 0)
    return np.where(valid, depth, 0).astype(np.float32), valid


def _scaled_uint16(raw: np.ndarray, factor: float, divide: bool) -> np.ndarray:
    """``raw / factor`` (or ``raw * factor``) straight to float32, one pass, no float64 copy.

    Every uint16 is exact in float32, so a division by a factor that float32 holds exactly
    (1000, 256, 5000) is the correctly rounded float32 of the float64 quotient; other factors
    differ from the float64 path by at most one float32 rounding of the factor. This is the
    decode of the training pipelines: the float64 form cost ~4 ms per 480 x 640 map, 0.2 ms
    this way (see docs/user_guides/speed.md, "Data loading").
    """
    op = np.divide if divide else np.multiply
    return op(raw, np.float32(factor), dtype=np.float32)


def _finish_uint16(depth: np.ndarray, valid: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`_finish` for float32 depth decoded from integers (always finite): zero the
    invalid pixels in place instead of building new arrays."""
    valid &= depth > 0
    np.multiply(depth, valid, out=depth)
    return depth, valid


def _need_scale(scale: Optional[float], fmt: str, path: str) -> float:
    if scale is None or not scale > 0:
        raise ValueError(f'depth format {fmt!r} needs a positive depth_scale, '
                         f'got {scale!r}: {path}')
    return float(scale)


@register_depth_format('png_uint16')
def decode_png_uint16(path: str, scale: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """uint16 PNG, ``depth = raw / scale``; 0 is invalid (NYUv2 /1000, KITTI /256, TUM /5000)."""
    raw = read_uint16(path)
    depth = _scaled_uint16(raw, _need_scale(scale, 'png_uint16', path), divide=True)
    return _finish_uint16(depth, raw > 0)


@register_depth_format('png_uint16_65535_invalid')
def decode_png_uint16_65535_invalid(path: str,
                                    scale: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """uint16 PNG in mm where both 0 and 65535 are invalid (7-Scenes)."""
    raw = read_uint16(path)
    depth = _scaled_uint16(raw, _need_scale(scale, 'png_uint16_65535_invalid', path), divide=True)
    return _finish_uint16(depth, (raw > 0) & (raw < 65535))


@register_depth_format('png_uint16_sunrgbd_bitshift')
def decode_png_uint16_sunrgbd_bitshift(path: str,
                                       scale: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """SUN RGB-D: bits rotated by 3, ``((d >> 3) | (d << 13)) / scale`` in uint16 arithmetic."""
    raw = read_uint16(path)
    rot = (raw >> np.uint16(3)) | (raw << np.uint16(13))  # uint16 wrap-around is intended
    depth = _scaled_uint16(rot, _need_scale(scale, 'png_uint16_sunrgbd_bitshift', path),
                           divide=True)
    return _finish_uint16(depth, rot > 0)


def read_pgm_uint16(path: str, byteorder: str = '<') -> np.ndarray:
    """Read a binary 16-bit PGM (``P5``) with an explicit byte order (the Kinect dumps are LE)."""
    _check_file(path)
    with open(path, 'rb') as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval; '#' starts a comment
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b'#':
            pos = data.index(b'\n', pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1  # exactly one whitespace byte before the raster
    if fields[0] != b'P5' or int(fields[3]) < 256:
        raise DataError(f'not a 16-bit binary PGM: {path}')
    w, h = int(fields[1]), int(fields[2])
    raster = np.frombuffer(data, dtype=byteorder + 'u2', count=w * h, offset=pos)
    return raster.reshape(h, w).astype(np.uint16)


@register_depth_format('pgm_le_uint16_kinect_raw_disparity')
def decode_kinect_raw_disparity(path: str,
                                scale: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """NYUv2 raw Kinect disparity (little-endian PGM): ``351.3 / (1092.5 - raw)``, 2047 invalid."""
    raw = read_pgm_uint16(path, '<').astype(np.float64)
    valid = raw < 2047
    with np.errstate(divide='ignore'):
        depth = 351.3 / (1092.5 - raw)
    return _finish(depth, valid, path)


@register_depth_format('tiff_uint16_c3vd')
def decode_tiff_uint16_c3vd(path: str, scale: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """C3VD: 16-bit TIFF, 0..65535 maps linearly to 0..100 mm (result in mm); 0 invalid."""
    raw = read_uint16(path)
    return _finish_uint16(_scaled_uint16(raw, 100.0 / 65535.0, divide=False), raw > 0)


@register_depth_format('png_uint16_simcol')
def decode_png_uint16_simcol(path: str, scale: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """SimCol: uint16 PNG, 0..65535 maps linearly to 0..200 mm (result in mm); 0 invalid."""
    raw = read_uint16(path)
    return _finish_uint16(_scaled_uint16(raw, 200.0 / 65535.0, divide=False), raw > 0)


@register_depth_format('npy')
def decode_npy(path: str, scale: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Float ``.npy`` depth (already in the working unit unless ``scale`` divides it).

    A sibling ``<stem>_mask.npy`` (DIODE's layout) is used as the validity mask when present.
    """
    _check_file(path)
    try:
        depth = np.load(path, allow_pickle=False).astype(np.float64)
    except ValueError as err:
        raise UnreadableFileError(f'cannot read depth array: {path}: {err}') from err
    depth = np.squeeze(depth)
    if depth.ndim != 2:
        raise DataError(f'depth array must be 2-D after squeezing, got {depth.shape}: {path}')
    if scale:
        depth = depth / scale
    valid = np.ones(depth.shape, bool)
    mask_path = path[:-len('.npy')] + '_mask.npy'
    if os.path.isfile(mask_path):
        valid = np.squeeze(np.load(mask_path, allow_pickle=False)) > 0
    return _finish(depth, valid, path)


#: iBims-1 stores ``depth * 65535 / 50``.
IBIMS_DEPTH_SCALE = 65535.0 / 50.0


@register_depth_format('png_uint16_ibims')
def decode_png_uint16_ibims(path: str, scale: Optional[float]) -> Tuple[np.ndarray, np.ndarray]:
    """iBims-1: uint16 PNG, ``depth = raw / scale`` (default ``65535 / 50``: 0..50 m).

    The release's masks are applied: ``<root>/mask_invalid/<name>.png`` and
    ``<root>/mask_transp/<name>.png`` (non-zero = usable) beside ``<root>/depth/<name>.png``.
    """
    raw = read_uint16(path)
    depth = _scaled_uint16(raw, float(scale) if scale else IBIMS_DEPTH_SCALE, divide=True)
    valid = raw > 0
    folder, name = os.path.split(path)
    root = os.path.dirname(folder)
    for mask_dir in ('mask_invalid', 'mask_transp'):
        mask_path = os.path.join(root, mask_dir, name)
        _check_file(mask_path)
        mask = cv2.imread(mask_path, cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise UnreadableFileError(f'cannot decode mask: {mask_path}')
        if mask.ndim == 3:
            mask = mask[..., 0]
        if mask.shape != raw.shape:
            raise DataError(f'mask {mask_path} has size {mask.shape}, depth has {raw.shape}')
        valid &= mask > 0
    return _finish_uint16(depth, valid)


def hypersim_default_intrinsics(height: int, width: int) -> list:
    """HyperSim's camera: 60 degree horizontal field of view, square pixels, centred.

    ``fx = fy = (W / 2) / tan(30 deg)`` (886.81 for 1024 x 768), ``cx = (W - 1) / 2``,
    ``cy = (H - 1) / 2`` (pixel centres, as HyperSim's own conversion script does).
    """
    focal = (width / 2.0) / math.tan(math.radians(30.0))
    return [focal, focal, (width - 1) / 2.0, (height - 1) / 2.0]


def ray_distance_to_planar_depth(dist: np.ndarray, intrinsics: Sequence[float]) -> np.ndarray:
    """``depth = dist / sqrt(1 + ((u - cx) / fx)^2 + ((v - cy) / fy)^2)`` for ``(H, W)`` maps."""
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    h, w = dist.shape
    u = (np.arange(w, dtype=np.float64) - cx) / fx  # (W,)
    v = (np.arange(h, dtype=np.float64) - cy) / fy  # (H,)
    norm = np.sqrt(1.0 + u[None, :] ** 2 + v[:, None] ** 2)  # (H, W)
    return dist / norm


@register_depth_format('hdf5_hypersim_distance')
def decode_hdf5_hypersim_distance(
        path: str, scale: Optional[float],
        intrinsics: Optional[Sequence[float]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """HyperSim ``frame.XXXX.depth_meters.hdf5``: ray distance (m) in dataset ``'dataset'``.

    Converted to planar depth with ``intrinsics`` (of this map's resolution), or HyperSim's
    default camera (:func:`hypersim_default_intrinsics`) when None. NaN is invalid.
    """
    import h5py  # optional dependency, only for this format

    _check_file(path)
    try:
        with h5py.File(path, 'r') as f:
            if 'dataset' not in f:
                raise KeyError(f"no 'dataset' in HDF5 file {path}; keys: {list(f.keys())}")
            dist = np.asarray(f['dataset'], dtype=np.float64)
    except OSError as err:
        raise UnreadableFileError(f'cannot read HDF5 depth: {path}: {err}') from err
    while dist.ndim > 2 and dist.shape[-1] == 1:
        dist = dist[..., 0]
    if dist.ndim != 2:
        raise DataError(f'HyperSim distance must be 2-D, got {dist.shape}: {path}')
    if scale:
        dist = dist / scale
    if intrinsics is None:
        intrinsics = hypersim_default_intrinsics(*dist.shape)
    valid = np.isfinite(dist) & (dist > 0)
    depth = ray_distance_to_planar_depth(np.where(valid, dist, 0.0), intrinsics)
    return _finish(depth, valid, path)


def depth_format_takes_intrinsics(depth_format: str) -> bool:
    """Whether the decoder of ``depth_format`` uses camera intrinsics."""
    return depth_format in _TAKES_INTRINSICS


def read_depth(path: str, depth_format: str, scale: Optional[float] = None,
               intrinsics: Optional[Sequence[float]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Decode ``path`` with the registered ``depth_format``; see the module docstring.

    ``intrinsics`` (``[fx, fy, cx, cy]`` at the depth map's resolution) reach only decoders that
    take them.
    """
    if depth_format not in DEPTH_FORMATS:
        raise KeyError(f'unknown depth_format {depth_format!r} for {path}; '
                       f'known: {sorted(DEPTH_FORMATS)}')
    if depth_format in _TAKES_INTRINSICS:
        return DEPTH_FORMATS[depth_format](path, scale, intrinsics=intrinsics)
    return DEPTH_FORMATS[depth_format](path, scale)
