"""Inputs of ``tools/infer.py``: images and their captions, checked before any model is built.

Captions are matched to images **by name**, never by order:

- ``--text "..."``: one caption for every image;
- ``--text-file F.json``: a JSON object ``{image: caption}`` (a value may be a list of
  captions: the first non-empty one is used);
- ``--text-file F.tsv|.txt``: one ``image<TAB>caption`` line per image (blank lines and lines
  starting with ``#`` are ignored).

An image key is the file name (``0001.png``) or the path relative to the ``--img`` folder
(``cam0/0001.png``); every image needs exactly one caption; entries naming no image are
reported (a typo there would otherwise silently leave an image uncaptioned elsewhere).
"""
import glob
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from tr2m.datasets.captions import read_json_object
from tr2m.datasets.depth_io import check_jpeg_complete
from tr2m.utils.errors import ArgumentError, DataError, MissingFileError
from tr2m.utils.files import read_text

#: Image files ``--img FOLDER`` picks up (non-recursive).
IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm')


def _norm_key(key: str) -> str:
    key = key.strip().replace('\\', '/')
    while key.startswith('./'):
        key = key[2:]
    return key


def collect_images(spec: str) -> List[str]:
    """Image files of a file, a folder (non-recursive, sorted by name) or a glob pattern.

    Raises:
        MissingFileError: nothing matches.
    """
    if osp.isfile(spec):
        return [spec]
    if osp.isdir(spec):
        files = [osp.join(spec, n) for n in sorted(os.listdir(spec))
                 if n.lower().endswith(IMG_EXTS) and osp.isfile(osp.join(spec, n))]
        if not files:
            raise MissingFileError(f'no images ({", ".join(IMG_EXTS)}) in folder {spec}')
        return files
    if glob.has_magic(spec):
        files = sorted(f for f in glob.glob(spec) if osp.isfile(f))
        if not files:
            raise MissingFileError(f'no file matches {spec}')
        return files
    raise MissingFileError(f'image not found: {spec}')


def image_keys(path: str, img_spec: str) -> List[str]:
    """The names a caption entry may use for image ``path``: its file name and, when
    ``--img`` is a folder, its path relative to that folder."""
    keys = [osp.basename(path)]
    if osp.isdir(img_spec):
        rel = osp.relpath(path, img_spec).replace(os.sep, '/')
        if rel not in keys:
            keys.append(rel)
    return keys


def read_caption_table(text_file: str) -> Dict[str, str]:
    """``{image key: caption}`` of a JSON object or an ``image<TAB>caption`` file.

    Raises:
        MissingFileError: the file does not exist.
        DataError: it is not one of the two formats (naming the line), or names an image twice.
    """
    if not osp.isfile(text_file):
        raise MissingFileError(f'caption file not found: {text_file}')
    table: Dict[str, str] = {}
    if text_file.lower().endswith('.json'):
        data = read_json_object(text_file, 'a JSON object {image name: caption}')
        for key, value in data.items():
            if isinstance(value, list):
                value = next((v for v in value if isinstance(v, str) and v.strip()), '')
            if not isinstance(value, str):
                raise DataError(f'caption file {text_file}: the caption of {key!r} is not a '
                                'string')
            table[_norm_key(key)] = value
        return table
    for lineno, line in enumerate(read_text(text_file, 'caption file').splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        key, tab, caption = line.partition('\t')
        if not tab:
            raise DataError(
                f"{text_file}:{lineno}: expected 'image<TAB>caption', got {line[:60]!r} "
                '(captions are matched to images by name, never by their order; or use a '
                'JSON object {image: caption})')
        key = _norm_key(key)
        if key in table:
            raise DataError(f'{text_file}:{lineno}: image {key!r} has a caption already')
        table[key] = caption.strip()
    return table


def match_captions(images: Sequence[str], img_spec: str, text: Optional[str],
                   text_file: Optional[str]) -> List[str]:
    """One caption per image (see the module docstring).

    Raises:
        ArgumentError: neither or both of ``text`` and ``text_file``.
        DataError: an image without caption (or an empty one), or entries matching no image.
        MissingFileError: the caption file does not exist.
    """
    if (text is None) == (text_file is None):
        raise ArgumentError('give exactly one of --text and --text-file')
    if text is not None:
        captions = [text] * len(images)
    else:
        table = read_caption_table(text_file)
        captions, used = [], set()
        for path in images:
            keys = image_keys(path, img_spec)
            found = [k for k in keys if k in table]
            if not found:
                raise DataError(f'no caption for image {path} in {text_file} '
                                f'(looked for {keys})')
            used.update(found)
            captions.append(table[found[-1]])
        unused = sorted(set(table) - used)
        if unused:
            shown = ', '.join(unused[:5]) + (f' (+{len(unused) - 5} more)'
                                             if len(unused) > 5 else '')
            raise DataError(f'{text_file} has captions for images that are not among the '
                            f'{len(images)} given: {shown}')
    for path, caption in zip(images, captions):
        if not isinstance(caption, str) or not caption.strip():
            where = f'in {text_file}' if text_file else '(--text)'
            raise DataError(f'empty caption for image {path} {where}: every image needs a '
                            'non-empty caption')
    return captions


def check_images(images: Sequence[str]) -> List[Tuple[int, int]]:
    """Decode every image once (nothing is kept) and return their ``(H, W)``.

    Raises:
        DataError: an image that OpenCV cannot decode (corrupt, empty, not an image), or a
            truncated JPEG (which OpenCV decodes with only a warning).
        ArgumentError: two images whose outputs would have the same name.
    """
    stems = [osp.splitext(osp.basename(p))[0] for p in images]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise ArgumentError(f'images with the same name stem would overwrite each other\'s '
                            f'outputs: {dupes}')
    sizes = []
    for path in images:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f'cannot decode image (corrupt, empty or not an image): {path}')
        check_jpeg_complete(path)  # decoded, but maybe grey below a cut
        sizes.append(img.shape[:2])
    return sizes


def _intrinsics(value, where: str) -> Optional[List[float]]:
    """``[fx, fy, cx, cy]`` floats of a table entry (None stays None: no intrinsics known)."""
    if value is None:
        return None
    try:
        k = [float(v) for v in value]
    except (TypeError, ValueError):
        k = []
    if len(k) != 4 or not all(np.isfinite(k)) or k[0] <= 0 or k[1] <= 0:
        raise DataError(f'{where}: intrinsics must be [fx, fy, cx, cy] with fx, fy > 0, got '
                        f'{value!r}')
    return k


def read_intrinsics_table(path: str) -> Tuple[Dict[str, Optional[List[float]]], bool]:
    """``({image key: [fx, fy, cx, cy] or None}, is_manifest)`` of an intrinsics file.

    Three forms:

    - a JSON object ``{image: [fx, fy, cx, cy]}``;
    - a dataset manifest (``{"frames": [{"rgb": path, "K": [fx, fy, cx, cy] or null}, ...]}``,
      the format of ``DepthManifestDataset`` and ``tools/dataset_converters/make_manifest.py``):
      each frame is known by its ``rgb`` path relative to the manifest, by that path made
      absolute and by its file name;
    - text lines ``image fx fy cx cy`` (blank lines and ``#`` comments ignored).

    Raises:
        MissingFileError: the file does not exist.
        DataError: an entry that is not four numbers with positive focal lengths (naming it).
    """
    if not osp.isfile(path):
        raise MissingFileError(f'intrinsics file not found: {path}')
    table: Dict[str, Optional[List[float]]] = {}
    if path.lower().endswith('.json'):
        data = read_json_object(path, 'a JSON object {image: [fx, fy, cx, cy]} or a manifest '
                                '{"frames": [...]}')
        if isinstance(data.get('frames'), list):
            root = osp.dirname(osp.abspath(path))
            for i, frame in enumerate(data['frames']):
                if not isinstance(frame, dict) or 'rgb' not in frame:
                    raise DataError(f'{path}: frame {i} has no "rgb" entry')
                k = _intrinsics(frame.get('K'), f'{path}: frame {frame["rgb"]}')
                rel = _norm_key(frame['rgb'])
                for key in (rel, osp.normpath(osp.join(root, rel)), osp.basename(rel)):
                    table.setdefault(key, k)
            return table, True
        for key, value in data.items():
            table[_norm_key(key)] = _intrinsics(value, f'{path}: {key}')
        return table, False
    for lineno, line in enumerate(read_text(path, 'intrinsics file').splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        parts = line.split()
        if len(parts) != 5:
            raise DataError(f"{path}:{lineno}: expected 'image fx fy cx cy', got "
                            f'{line.strip()[:60]!r}')
        table[_norm_key(parts[0])] = _intrinsics(parts[1:], f'{path}:{lineno}')
    return table, False


def match_intrinsics(images: Sequence[str], img_spec: str, path: str
                     ) -> List[Optional[List[float]]]:
    """Per image its ``[fx, fy, cx, cy]`` from ``--intrinsics-file`` (matched by name like
    the captions, or by absolute path for a manifest; None where a manifest gives ``K: null``).

    Raises:
        DataError: an image the file does not name, or (not a manifest) entries naming no image.
    """
    table, is_manifest = read_intrinsics_table(path)
    found, used = [], set()
    for img in images:
        keys = [osp.normpath(osp.abspath(img))] + image_keys(img, img_spec)
        hits = [k for k in keys if k in table]
        if not hits:
            raise DataError(f'no intrinsics for image {img} in {path} (looked for '
                            f'{keys[1:]})')
        used.update(hits)
        found.append(table[hits[0]])
    unused = sorted(set(table) - used)
    if unused and not is_manifest:
        shown = ', '.join(unused[:5]) + (f' (+{len(unused) - 5} more)' if len(unused) > 5 else '')
        raise DataError(f'{path} has intrinsics for images that are not among the '
                        f'{len(images)} given: {shown}')
    return found


__all__ = ['collect_images', 'image_keys', 'read_caption_table', 'match_captions',
           'check_images', 'IMG_EXTS', 'read_intrinsics_table', 'match_intrinsics',
           'load_rel_depths']


def load_rel_depths(spec: Optional[str], images: List[str], scale: float = 1.0,
                    norm: str = 'none') -> List[Optional[np.ndarray]]:
    """One relative inverse depth map ``(H, W)`` float32 per image (None without ``spec``).

    ``spec`` is a ``.npy``/``.png`` file (exactly one image) or a folder holding
    ``<image stem>.npy`` or ``<image stem>.png`` for every image. PNGs must be 16-bit
    (single channel) and are divided by ``scale``. Every map is checked (present, readable,
    finite) before any inference runs; its size is checked against its image later.
    """
    from tr2m.datasets.depth_io import read_uint16

    if spec is None:
        return [None] * len(images)
    if scale <= 0:
        raise ArgumentError(f'--rel-depth-scale must be positive, got {scale}')
    if osp.isdir(spec):
        paths = []
        for img in images:
            stem = osp.splitext(osp.basename(img))[0]
            found = [osp.join(spec, stem + ext) for ext in ('.npy', '.png')
                     if osp.isfile(osp.join(spec, stem + ext))]
            if not found:
                raise MissingFileError(f'--rel-depth {spec}: no {stem}.npy or {stem}.png for '
                                       f'image {img}')
            paths.append(found[0])
    elif osp.isfile(spec):
        if len(images) != 1:
            raise ArgumentError(f'--rel-depth {spec} is one file but there are {len(images)} '
                                'images: give a folder of <image stem>.npy / .png')
        paths = [spec]
    else:
        raise MissingFileError(f'--rel-depth: no such file or folder: {spec}')
    maps = []
    for path in paths:
        ext = osp.splitext(path)[1].lower()
        if ext == '.npy':
            try:
                rel = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as err:
                raise DataError(f'--rel-depth {path}: not a readable .npy array: {err}') from None
            rel = np.asarray(rel, dtype=np.float32).squeeze()
        elif ext == '.png':
            rel = read_uint16(path).astype(np.float32) / scale
        else:
            raise ArgumentError(f'--rel-depth {path}: expected .npy or 16-bit .png')
        if rel.ndim != 2:
            raise DataError(f'--rel-depth {path}: expected one (H, W) map, got shape {rel.shape}')
        if not np.isfinite(rel).all():
            raise DataError(f'--rel-depth {path}: contains NaN or inf')
        if norm == 'median':
            positive = rel[rel > 0]
            if positive.size == 0:
                raise DataError(f'--rel-depth {path}: no positive value to normalise by')
            rel = rel / np.median(positive)
        elif norm != 'none':
            raise ArgumentError(f"--rel-depth-norm must be 'none' or 'median', got {norm!r}")
        maps.append(rel)
    return maps
