"""The caption job behind ``tools/caption.py``: images in, one JSON caption file out.

Inputs are ``(key, path)`` pairs: the images of a folder (recursive, key = path relative to the
folder), of a glob pattern (key = path relative to the pattern's fixed folder) or of a dataset
config's split (key = the dataset's caption key). The output ``captions.json`` is the format every
tr2m caption reader takes (``{key: [captions]}``, :class:`~tr2m.datasets.JSONCaptionSource`,
``tools/infer.py --text-file``); the provenance (captioner, sources with model, revision, prompt,
generation settings and seed, skipped images and why) goes to the sidecar
``captions.provenance.json`` beside it, so the readers see nothing new.

The job is resumable and shardable. Results are written batch by batch as atomic chunk files in
``<out>.parts/`` (written to a temporary name, then renamed: a kill never leaves half a chunk);
a rerun with the same settings skips the images already done, and the final file is written when
every image is done, in input order, so a killed-and-rerun job ends byte-identical to an
uninterrupted one. Under torchrun, rank ``r`` of ``N`` takes images ``r, r+N, ...`` and rank 0
merges after a barrier; captions depend on the image's key only, so N processes equal one. An
image that cannot be decoded, or that a captioner leaves without caption, is named on stderr,
skipped and listed in the sidecar; the job goes on.
"""
import copy
import glob
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2

from tr2m.apis.infer_inputs import IMG_EXTS
from tr2m.utils.errors import ArgumentError, ConfigError, MissingFileError

Item = Tuple[str, str]  # (caption key, image path)
PROVENANCE_FORMAT = 'tr2m caption provenance 1'


def provenance_path(out: str) -> str:
    """``captions.json`` -> ``captions.provenance.json`` (the sidecar)."""
    stem = out[:-5] if out.lower().endswith('.json') else out
    return stem + '.provenance.json'


def image_items(spec: str) -> List[Item]:
    """``(key, path)`` of an image file, a folder (recursive, sorted) or a glob pattern.

    Raises:
        MissingFileError: nothing matches.
    """
    if osp.isfile(spec):
        return [(osp.basename(spec), spec)]
    if osp.isdir(spec):
        paths = sorted(p for p in glob.glob(osp.join(spec, '**', '*'), recursive=True)
                       if p.lower().endswith(IMG_EXTS) and osp.isfile(p))
        if not paths:
            raise MissingFileError(f'--img {spec}: no images ({", ".join(IMG_EXTS)}) in the '
                                   'folder or its sub-folders')
        return [(osp.relpath(p, spec).replace(os.sep, '/'), p) for p in paths]
    if glob.has_magic(spec):
        paths = sorted(p for p in glob.glob(spec, recursive=True) if osp.isfile(p))
        if not paths:
            raise MissingFileError(f'--img {spec}: no file matches the pattern')
        fixed = spec.split('*')[0].split('?')[0].split('[')[0]
        base = fixed if fixed.endswith(('/', os.sep)) else osp.dirname(fixed)
        return [(osp.relpath(p, base or '.').replace(os.sep, '/'), p) for p in paths]
    raise MissingFileError(f'--img {spec}: no such image, folder or pattern')


def dataset_items(config: str, split: str = 'test',
                  cfg_options: Optional[dict] = None) -> Tuple[List[Item], Optional[str]]:
    """The images of a config's ``<split>_dataloader`` dataset and the caption file it reads.

    Returns:
        tuple: ``(items, caption file)``; the caption file is the ``ann_file`` of the dataset's
        ``JSONCaptionSource`` (None for another source).

    Raises:
        ConfigError: no such split, or a dataset that does not read a caption source.
    """
    from tr2m.registry import DATASETS
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    register_all_modules()
    cfg = load_config(config, cfg_options)
    loader = cfg.get(f'{split}_dataloader')
    if not loader or not isinstance(loader.get('dataset'), dict):
        raise ConfigError(f'{config}: no {split}_dataloader.dataset to caption (--split '
                          'train|val|test)')
    ds_cfg = copy.deepcopy(dict(loader['dataset']))
    if ds_cfg.get('datasets') is not None or ds_cfg.get('dataset') is not None:
        raise ConfigError(f'{config}: the {split} set combines several datasets; caption each '
                          'with its own config (e.g. configs/_base_/datasets/sunrgbd.py)')
    from tr2m.datasets.base_dataset import BaseDepthDataset

    cls = DATASETS.get(ds_cfg.get('type')) if isinstance(ds_cfg.get('type'), str) else None
    if cls is None or not issubclass(cls, BaseDepthDataset):
        raise ConfigError(f"{config}: {ds_cfg.get('type')} reads no caption_source (a manifest "
                          'keeps captions in its frames); caption its images with --img')
    source = ds_cfg.get('caption_source') or {}
    out = source.get('ann_file') if source.get('type') == 'JSONCaptionSource' else None
    ds_cfg.update(caption_source=None, pipeline=[], check_files=False)
    dataset = DATASETS.build(ds_cfg)
    items = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        items.append((info.get('caption_key') or osp.basename(info['img_path']),
                      info['img_path']))
    return items, out


def read_image(path: str):
    """RGB uint8 ``(H, W, 3)`` of an image file, or None when it cannot be decoded."""
    img = cv2.imread(path, cv2.IMREAD_COLOR) if osp.isfile(path) else None
    return None if img is None else img[:, :, ::-1].copy()


def _write_json(path: str, obj) -> None:
    """Write atomically: a temporary file renamed over ``path``."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(json.dumps(obj, indent=2, ensure_ascii=False) + '\n')
    os.replace(tmp, path)


def _signature(captioner, items: Sequence[Item]) -> dict:
    digest = hashlib.sha256('\n'.join(f'{k}\t{p}' for k, p in items).encode()).hexdigest()
    sources = [{k: v for k, v in s.items() if k != 'device'} for s in captioner.sources]
    return dict(captioner=captioner.name, seed=captioner.seed, sources=sources,
                images=len(items), items_sha256=digest)


def _read_chunks(parts: str) -> Tuple[Dict[str, list], Dict[str, str]]:
    captions, skipped = {}, {}
    for path in sorted(glob.glob(osp.join(parts, 'chunk_*.json'))):
        with open(path, encoding='utf-8') as f:
            chunk = json.load(f)
        captions.update(chunk['captions'])
        skipped.update(chunk['skipped'])
    return captions, skipped


def prepare_job(captioner, items: Sequence[Item], out: str, overwrite: bool = False) -> str:
    """Create (or check, when resuming) ``<out>.parts`` and return it; rank 0 only.

    Raises:
        ArgumentError: duplicate keys, ``out`` exists (without ``overwrite``), or the parts of a
            run with other settings are there.
    """
    keys = [k for k, _ in items]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})[:3]
        raise ArgumentError(f'two images have the same caption key {dup}; caption them apart')
    parts = out + '.parts'
    if overwrite:
        shutil.rmtree(parts, ignore_errors=True)
    elif osp.exists(out) and not osp.isdir(parts):
        raise ArgumentError(f'--out {out} exists; pass --overwrite to caption again')
    os.makedirs(parts, exist_ok=True)
    job_file, signature = osp.join(parts, 'job.json'), _signature(captioner, items)
    if osp.isfile(job_file):
        with open(job_file, encoding='utf-8') as f:
            if json.load(f) != signature:
                raise ArgumentError(f'{parts} holds an unfinished run with other settings '
                                    '(captioner, seed or images); rerun with those, or pass '
                                    '--overwrite to start again')
    else:
        _write_json(job_file, signature)
    return parts


def caption_shard(captioner, items: Sequence[Item], parts: str, rank: int = 0,
                  world_size: int = 1, progress: bool = True,
                  log: Callable[[str], None] = None) -> int:
    """Caption this rank's images that ``parts`` does not hold yet; returns how many."""
    from tqdm import tqdm

    log = log or (lambda msg: print(msg, file=sys.stderr))
    done, skipped = _read_chunks(parts)
    mine = [(i, k, p) for i, (k, p) in enumerate(items) if i % world_size == rank]
    todo = [(i, k, p) for i, k, p in mine if k not in done and k not in skipped]
    bar = tqdm(total=len(mine), initial=len(mine) - len(todo), unit='img', dynamic_ncols=True,
               desc=f'caption {captioner.name}', disable=not progress, file=sys.stderr)
    for start in range(0, len(todo), captioner.batch_size):
        batch = todo[start:start + captioner.batch_size]
        chunk = dict(captions={}, skipped={})
        images, keys = [], []
        for _, key, path in batch:
            img = read_image(path) if captioner.needs_pixels else None
            if captioner.needs_pixels and img is None:
                chunk['skipped'][key] = f'cannot decode image (corrupt, empty or not an ' \
                                        f'image): {path}'
                log(f'skipped {path}: cannot decode the image')
                continue
            images.append(img)
            keys.append(key)
        rows = captioner.caption_images(images, keys) if keys else []
        for key, row in zip(keys, rows):
            if any(not c.text for c in row):
                explain = getattr(captioner, 'explain', None)
                reason = explain(key) if explain else 'the captioner wrote an empty caption'
                chunk['skipped'][key] = reason
                log(f'skipped {key}: {reason}')
            else:
                chunk['captions'][key] = [c.text for c in row]
        _write_json(osp.join(parts, f'chunk_{batch[0][0]:08d}.json'), chunk)
        bar.update(len(batch))
    bar.close()
    return len(todo)


def merge_job(captioner, items: Sequence[Item], out: str, parts: str) -> dict:
    """Write ``out`` and its sidecar from the chunks (every image must be done), then remove
    ``parts``; returns the sidecar dict."""
    captions, skipped = _read_chunks(parts)
    missing = [k for k, _ in items if k not in captions and k not in skipped]
    if missing:
        raise RuntimeError(f'{len(missing)} images have no result in {parts} (first: '
                           f'{missing[0]}); rerun the same command to finish them')
    table = {k: captions[k] for k, _ in items if k in captions}
    sources, first = [], 0
    for src in captioner.sources:
        count = int(src['count'])
        sources.append(dict(src, captions=list(range(first, first + count))))
        first += count
    sidecar = dict(format=PROVENANCE_FORMAT, captions_file=osp.basename(out),
                   captioner=captioner.name, seed=captioner.seed, images=len(items),
                   captioned=len(table), captions_per_image=first, sources=sources,
                   skipped={k: skipped[k] for k, _ in items if k in skipped})
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    _write_json(out, table)
    _write_json(provenance_path(out), sidecar)
    shutil.rmtree(parts, ignore_errors=True)
    return sidecar


def run_caption_job(captioner, items: Sequence[Item], out: str, overwrite: bool = False,
                    rank: int = 0, world_size: int = 1, barrier: Optional[Callable] = None,
                    progress: bool = True) -> Optional[dict]:
    """Prepare (rank 0), caption this rank's share, and merge (rank 0); see the module
    docstring. Returns the sidecar dict on rank 0, None elsewhere."""
    barrier = barrier or (lambda: None)
    parts = out + '.parts'
    error = None
    if rank == 0:
        try:
            prepare_job(captioner, items, out, overwrite)
        except ArgumentError as err:  # let the other ranks stop too
            error = err
    barrier()
    if error is not None:
        raise error
    if not osp.isdir(parts):
        raise ArgumentError(f'rank {rank}: {parts} was not created by rank 0')
    caption_shard(captioner, items, parts, rank, world_size, progress=progress and rank == 0)
    barrier()
    return merge_job(captioner, items, out, parts) if rank == 0 else None
