"""On-disk format of the frozen-feature cache: one folder per dataset part, memory-mapped arrays.

A cache root holds ``cache.json`` (format, frozen fingerprint, encoder widths, whether caption
tokens are kept, and one entry per part, see :mod:`tr2m.cache.keys`) and one folder per *part*.
A part is one dataset (one leaf of a ``ConcatDataset``) under one preprocessing. Its folder::

    part.json        what it holds: sample keys, views, dtype, widths, fingerprints, complete
    progress.json    committed chunks and the byte length of every data file (atomic replace)
    index.npy        int64 (N, V, 6): rel offset, image offset (elements), H, W, h, w
    rel.bin          float16 relative inverse depth, (H, W) per sample and view
    img.bin          image tokens (D, h, w) per sample and view: float16, or int8 with
    img_scale.bin    float32 per-token scales (h, w) (int8 only)
    text_hash.npy    int64 (U,): a 64-bit hash of each distinct caption (row order)
    text_pooled.bin  float16 (U, D') pooled caption embeddings
    text_index.npy   int64 (U, 2): token offset (rows) and length, when tokens are kept
    text_tokens.bin  float16 (sum of lengths, D') per-token states, when tokens are kept

Writing is append-only in fixed chunks (a chunk of samples is one batch of the frozen models;
a chunk of captions one text batch). After each chunk the data files are flushed and
``progress.json`` is replaced atomically; a restarted writer truncates every file to the
committed length and recomputes from the next chunk. Chunks always hold the same samples, so an
interrupted and resumed build writes exactly the bytes of an uninterrupted one.

Quantisation (what a reader gets back, ``x`` the computed float32 value):

- float16: ``fp16(x)`` (round to nearest): ``|x - fp16(x)| <= 2^-11 |x|`` for ``|x| >= 2^-14``
  and ``<= 2^-25`` below (subnormals); values beyond 65504 are refused.
- int8 (image tokens only): per token (one spatial position, all D channels)
  ``s = max|x| / 127``, ``q = round(x / s)``; read back as ``q * s`` in float32, so
  ``|x - q s| <= s / 2`` (plus float32 rounding of the product).
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tr2m.utils.errors import DataError, MissingFileError

#: Version of the layout above; a cache of another version is refused.
CACHE_FORMAT = 1
#: Storage of image tokens (relative depth and captions are always float16).
STORAGE_DTYPES = ('float16', 'int8')
#: Metadata file of a cache root.
CACHE_FILE = 'cache.json'
#: Columns of ``index.npy``.
INDEX_COLUMNS = ('rel_offset', 'img_offset', 'H', 'W', 'h', 'w')
_F16_MAX = float(np.finfo(np.float16).max)


def sample_key(img_path: str, data_root: str = '') -> str:
    """How a sample is keyed: its image path relative to the dataset's ``data_root`` (when
    under it; ``/`` separators), so a cache survives moving the data root."""
    path = osp.normpath(str(img_path))
    if data_root:
        root = osp.normpath(str(data_root))
        if path.startswith(root + os.sep):
            path = osp.relpath(path, root)
    return path.replace(os.sep, '/')


def caption_hash(caption: str) -> int:
    """A 64-bit signed hash of a caption, the same in every process."""
    return int.from_bytes(hashlib.blake2b(caption.encode('utf-8'), digest_size=8).digest(),
                          'little', signed=True)


def to_float16(x: np.ndarray, what: str) -> np.ndarray:
    """``x`` in float16; a value beyond the float16 range is an error naming ``what``."""
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise DataError(f'{what}: non-finite values cannot be cached')
    if x.size and np.abs(x).max() > _F16_MAX:
        raise DataError(f'{what}: |value| {np.abs(x).max():.3g} exceeds the float16 range '
                        f'({_F16_MAX}); cache with dtype int8 or train without the cache')
    return x.astype(np.float16)


def quantize_int8(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-token int8 quantisation of tokens ``(D, h, w)``: ``(q int8 (D, h, w), s float32
    (h, w))`` with ``s = max_D |x| / 127`` (1 where a token is all zero), ``q = round(x / s)``."""
    x = np.asarray(x, dtype=np.float32)
    amax = np.abs(x).max(axis=0)  # (h, w)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(x / scale[None]), -127, 127).astype(np.int8)
    return q, scale


def dequantize_int8(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Float32 tokens ``q * s`` from :func:`quantize_int8`'s output."""
    return q.astype(np.float32) * scale[None].astype(np.float32)


def _named(err: OSError, path: str) -> OSError:
    """``err`` with the file it was writing (a full disk then names it: tr2m.utils.files)."""
    if err.filename is None and err.errno is not None:
        return OSError(err.errno, err.strerror, path)
    return err


def _write_json(path: str, obj: dict) -> None:
    tmp = path + '.tmp'
    try:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:  # a full disk: the previous file stays, no torn temporary
        if osp.exists(tmp):
            os.remove(tmp)
        raise _named(err, path) from err
    os.replace(tmp, path)


def read_json(path: str, what: str) -> dict:
    """A JSON file; a missing one is a :class:`MissingFileError` naming ``what``."""
    if not osp.isfile(path):
        raise MissingFileError(f'{what} not found: {path}')
    with open(path) as f:
        return json.load(f)


def read_cache_meta(root: str, config_name: str = 'CONFIG') -> dict:
    """``cache.json`` of a cache root; a missing one says how to build it, another format
    version is refused."""
    path = osp.join(root, CACHE_FILE)
    if not osp.isfile(path):
        raise MissingFileError(f'no feature cache at {root} ({CACHE_FILE} missing): build it '
                               f'with python tools/cache_features.py {config_name}')
    meta = read_json(path, 'feature-cache metadata')
    if meta.get('format') != CACHE_FORMAT:
        raise DataError(f'{path}: cache format {meta.get("format")}, this tr2m reads format '
                        f'{CACHE_FORMAT}; rebuild it with tools/cache_features.py')
    return meta


def write_cache_meta(root: str, meta: dict) -> None:
    """Replace ``cache.json`` of a cache root atomically."""
    os.makedirs(root, exist_ok=True)
    _write_json(osp.join(root, CACHE_FILE), meta)


class PartWriter:
    """Resumable, append-only writer of one part (see the module docstring).

    Args:
        folder (str): the part's folder (created).
        meta (dict): what goes into ``part.json`` (``keys``, ``views``, ``dtype``, ``widths``
            with ``image`` and ``text``, ``text_tokens``, ``chunk``, ``text_chunk``,
            fingerprints...). An existing folder must hold the same ``keys``, ``views``,
            ``dtype`` and chunk sizes, else it is refused.
        captions (Sequence[str]): the part's distinct captions, in row order.
    """

    DATA_FILES = ('rel.bin', 'img.bin', 'img_scale.bin', 'text_pooled.bin', 'text_tokens.bin')

    def __init__(self, folder: str, meta: dict, captions: Sequence[str]) -> None:
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.keys: List[str] = list(meta['keys'])
        self.views: List[bool] = list(meta['views'])
        self.dtype = meta['dtype']
        if self.dtype not in STORAGE_DTYPES:
            raise ValueError(f'dtype must be one of {STORAGE_DTYPES}, got {self.dtype!r}')
        self.captions = list(captions)
        self.text_tokens = bool(meta.get('text_tokens'))
        meta = dict(meta, format=CACHE_FORMAT, num_samples=len(self.keys),
                    num_captions=len(self.captions), complete=False)
        part_json = osp.join(folder, 'part.json')
        if osp.isfile(part_json):
            old = read_json(part_json, 'part metadata')
            fixed = ('format', 'keys', 'views', 'dtype', 'chunk', 'text_chunk', 'text_tokens',
                     'num_captions')
            bad = [k for k in fixed if old.get(k) != meta.get(k)]
            if bad:
                raise DataError(f'{folder} holds a cache part written with other {bad}; remove '
                                'the folder (or pass another output root) to rebuild it')
            meta['complete'] = old.get('complete', False)
        self.meta = meta
        _write_json(part_json, meta)
        hashes = np.array([caption_hash(c) for c in self.captions], dtype=np.int64)
        if len(set(hashes.tolist())) != len(hashes):
            raise DataError(f'{folder}: two distinct captions share a 64-bit hash')
        np.save(osp.join(folder, 'text_hash.npy'), hashes)
        n, v = len(self.keys), len(self.views)
        self.index = self._open_index('index.npy', (max(n, 1), v, len(INDEX_COLUMNS)))
        self.text_index = (self._open_index('text_index.npy', (max(len(self.captions), 1), 2))
                           if self.text_tokens else None)
        self.progress = self._resume()

    def _open_index(self, name: str, shape: Tuple[int, ...]) -> np.ndarray:
        path = osp.join(self.folder, name)
        if osp.isfile(path):
            arr = np.load(path, mmap_mode='r+')
            if arr.shape == shape and arr.dtype == np.int64:
                return arr
        return np.lib.format.open_memmap(path, mode='w+', dtype=np.int64, shape=shape)

    def _resume(self) -> dict:
        path = osp.join(self.folder, 'progress.json')
        progress = read_json(path, 'progress') if osp.isfile(path) else dict(
            image_chunks=0, text_chunks=0, bytes={})
        for name in self.DATA_FILES:  # drop whatever an interrupted chunk appended
            file = osp.join(self.folder, name)
            size = progress['bytes'].get(name, 0)
            with open(file, 'ab') as f:
                f.truncate(size)
        return progress

    # ---- sizes ----------------------------------------------------------------------------
    @property
    def num_image_chunks(self) -> int:
        return -(-len(self.keys) // self.meta['chunk'])

    @property
    def num_text_chunks(self) -> int:
        return -(-len(self.captions) // self.meta['text_chunk'])

    def chunk_indices(self, k: int) -> range:
        c = self.meta['chunk']
        return range(k * c, min((k + 1) * c, len(self.keys)))

    def text_chunk(self, k: int) -> List[str]:
        c = self.meta['text_chunk']
        return self.captions[k * c:(k + 1) * c]

    def bytes_written(self) -> int:
        return sum(self.progress['bytes'].values())

    # ---- writing ----------------------------------------------------------------------------
    def _append(self, name: str, arr: np.ndarray) -> int:
        """Append ``arr`` to a data file; returns its element offset in that file."""
        path = osp.join(self.folder, name)
        try:
            with open(path, 'ab') as f:
                offset = f.tell() // arr.itemsize
                f.write(np.ascontiguousarray(arr).tobytes())
        except OSError as err:  # what was appended since the last commit is dropped on resume
            raise _named(err, path) from err
        return offset

    def _commit(self, key: str) -> None:
        for idx in (self.index, self.text_index):
            if idx is not None:
                idx.flush()
        sizes = {}
        for name in self.DATA_FILES:
            path = osp.join(self.folder, name)
            with open(path, 'rb+') as f:
                os.fsync(f.fileno())
            sizes[name] = osp.getsize(path)
        self.progress[key] += 1
        self.progress['bytes'] = sizes
        _write_json(osp.join(self.folder, 'progress.json'), self.progress)

    def write_text_chunk(self, k: int, pooled: np.ndarray,
                         tokens: Optional[Sequence[np.ndarray]] = None) -> None:
        """Store text chunk ``k``: pooled ``(n, D')`` and, when tokens are kept, one
        ``(T_i, D')`` array per caption."""
        if k != self.progress['text_chunks']:
            raise RuntimeError(f'text chunk {k} written out of order '
                               f"(next is {self.progress['text_chunks']})")
        rows = self.text_chunk(k)
        if pooled.shape[0] != len(rows):
            raise ValueError(f'text chunk {k}: {pooled.shape[0]} embeddings for {len(rows)} '
                             'captions')
        self._append('text_pooled.bin', to_float16(pooled, f'{self.folder} captions'))
        if self.text_tokens:
            start = k * self.meta['text_chunk']
            for i, tok in enumerate(tokens):
                off = self._append('text_tokens.bin', to_float16(tok, f'{self.folder} tokens'))
                self.text_index[start + i] = (off // tok.shape[-1], tok.shape[0])
        self._commit('text_chunks')

    def write_image_chunk(self, k: int, items: Sequence[Sequence[Tuple[np.ndarray, np.ndarray]]]
                          ) -> None:
        """Store image chunk ``k``: for each of its samples, for each view, ``(rel (H, W),
        img (D, h, w))`` float32 arrays."""
        if k != self.progress['image_chunks']:
            raise RuntimeError(f'image chunk {k} written out of order '
                               f"(next is {self.progress['image_chunks']})")
        indices = self.chunk_indices(k)
        if len(items) != len(indices):
            raise ValueError(f'image chunk {k}: {len(items)} samples, expected {len(indices)}')
        width = self.meta['widths']['image']
        for i, views in zip(indices, items):
            if len(views) != len(self.views):
                raise ValueError(f'{self.keys[i]}: {len(views)} views, expected '
                                 f'{len(self.views)}')
            for v, (rel, img) in enumerate(views):
                if img.shape[0] != width:
                    raise ValueError(f'{self.keys[i]}: tokens of width {img.shape[0]}, the cache '
                                     f'holds width {width}')
                what = f'{self.keys[i]} (view {v})'
                rel_off = self._append('rel.bin', to_float16(rel, what + ' relative depth'))
                if self.dtype == 'float16':
                    img_off = self._append('img.bin', to_float16(img, what + ' image tokens'))
                else:
                    q, scale = quantize_int8(img)
                    img_off = self._append('img.bin', q)
                    self._append('img_scale.bin', scale)
                self.index[i, v] = (rel_off, img_off, *rel.shape, *img.shape[1:])
        self._commit('image_chunks')

    def finish(self) -> dict:
        """Mark the part complete (every chunk written); returns its metadata."""
        done = (self.progress['image_chunks'] >= self.num_image_chunks
                and self.progress['text_chunks'] >= self.num_text_chunks)
        if not done:
            raise RuntimeError(f'{self.folder}: finish() before every chunk was written')
        self.meta['complete'] = True
        self.meta['bytes'] = self.bytes_written()
        _write_json(osp.join(self.folder, 'part.json'), self.meta)
        return self.meta


class PartReader:
    """Read one complete part (memory-mapped, opened lazily in each process).

    Args:
        folder (str): the part's folder.

    Raises:
        MissingFileError: no part there. DataError: the part is incomplete or of another
        format version.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.meta = read_json(osp.join(folder, 'part.json'), 'feature-cache part')
        if self.meta.get('format') != CACHE_FORMAT:
            raise DataError(f'{folder}: cache format {self.meta.get("format")}, this tr2m '
                            f'reads format {CACHE_FORMAT}; rebuild it with tools/cache_features.py')
        if not self.meta.get('complete'):
            progress = read_json(osp.join(folder, 'progress.json'), 'progress') \
                if osp.isfile(osp.join(folder, 'progress.json')) else {}
            raise DataError(f'feature-cache part {folder} is incomplete '
                            f"({progress.get('image_chunks', 0)} of "
                            f"{-(-self.meta['num_samples'] // self.meta['chunk'])} image chunks); "
                            'rerun tools/cache_features.py CONFIG to resume it')
        self.rows: Dict[str, int] = {k: i for i, k in enumerate(self.meta['keys'])}
        self.views: List[bool] = list(self.meta['views'])
        self.dtype = self.meta['dtype']
        self.width = int(self.meta['widths']['image'])
        self.text_width = self.meta['widths'].get('text')
        self.token_width = self.meta['widths'].get('text_tokens') or self.text_width
        self._maps: Optional[dict] = None

    def __getstate__(self):  # memory maps are reopened in each worker, never pickled
        state = dict(self.__dict__)
        state['_maps'] = None
        return state

    def _open(self) -> dict:
        if self._maps is None:
            def mm(name, dtype):
                path = osp.join(self.folder, name)
                return np.memmap(path, dtype=dtype, mode='r') if osp.getsize(path) else \
                    np.zeros(0, dtype)

            hashes = np.load(osp.join(self.folder, 'text_hash.npy'))
            order = np.argsort(hashes, kind='stable')
            maps = dict(index=np.load(osp.join(self.folder, 'index.npy'), mmap_mode='r'),
                        rel=mm('rel.bin', np.float16),
                        img=mm('img.bin', np.float16 if self.dtype == 'float16' else np.int8),
                        hashes=hashes[order], order=order,
                        pooled=mm('text_pooled.bin', np.float16))
            if self.dtype == 'int8':
                maps['scale'] = mm('img_scale.bin', np.float32)
            if self.meta.get('text_tokens'):
                maps['text_index'] = np.load(osp.join(self.folder, 'text_index.npy'),
                                             mmap_mode='r')
                maps['tokens'] = mm('text_tokens.bin', np.float16)
            self._maps = maps
        return self._maps

    def view_index(self, flip: bool) -> int:
        if bool(flip) not in self.views:
            raise DataError(f'{self.folder} caches views flip={self.views}, a sample asks for '
                            f'flip={bool(flip)} (is the pipeline\'s RandomFlip the cached one?)')
        return self.views.index(bool(flip))

    def image(self, key: str, flip: bool = False) -> Tuple[np.ndarray, np.ndarray]:
        """``(rel float32 (H, W), tokens (D, h, w))`` of sample ``key``; tokens are float16
        (as stored) or float32 (dequantised int8)."""
        row = self.rows.get(key)
        if row is None:
            raise DataError(f'sample {key!r} is not in the feature cache part {self.folder} '
                            f"({len(self.rows)} samples); rebuild the cache for this data")
        m = self._open()
        rel_off, img_off, h_full, w_full, h, w = (int(v) for v in m['index'][row,
                                                                             self.view_index(flip)])
        rel = np.array(m['rel'][rel_off:rel_off + h_full * w_full], dtype=np.float32)
        n = self.width * h * w
        img = np.array(m['img'][img_off:img_off + n]).reshape(self.width, h, w)
        if self.dtype == 'int8':
            tok = img_off // self.width
            scale = np.array(m['scale'][tok:tok + h * w]).reshape(h, w)
            img = dequantize_int8(img, scale)
        return rel.reshape(h_full, w_full), img

    def text(self, caption: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """``(pooled float16 (D',), tokens float16 (T, D') or None)`` of a caption."""
        found = self.find_text(caption)
        if found is None:
            raise DataError(f'caption {caption!r} is not in the feature cache part {self.folder} '
                            '(captions changed since caching? rebuild the cache)')
        return found

    def find_text(self, caption: str) -> Optional[Tuple[np.ndarray, Optional[np.ndarray]]]:
        """Like :meth:`text`, None when the part does not hold the caption."""
        m = self._open()
        h = caption_hash(caption)
        pos = int(np.searchsorted(m['hashes'], h))
        if pos >= len(m['hashes']) or m['hashes'][pos] != h:
            return None
        row = int(m['order'][pos])
        d = int(self.text_width)
        pooled = np.array(m['pooled'][row * d:(row + 1) * d])
        tokens = None
        if 'tokens' in m:
            t = int(self.token_width)
            off, length = (int(v) for v in m['text_index'][row])
            tokens = np.array(m['tokens'][off * t:(off + length) * t]).reshape(length, t)
        return pooled, tokens
