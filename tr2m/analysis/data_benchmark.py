"""Can the data path feed the device? The ``data`` section of ``tools/analysis_tools/benchmark.py``.

Three figures, side by side:

1. **Samples/s per data worker** on a real pipeline: the config's training pipeline (or the
   one of ``--data-manifest``'s frames, for a machine without the config's datasets) run in one
   ``DataLoader`` worker set up as training sets it up (``DepthRunner.build_dataloader``: the
   worker keeps its large buffers); each sample's CPU time is measured inside the worker, so
   the rate is what one core delivers, whatever the rest of the machine does.
2. **What the device consumes**: training samples/s of the configured model on a device of
   :data:`DEVICE_TFLOPS` (the CUDA device present, or ``--data-device``), estimated from the
   FLOPs of one training step (counted on this CPU with ``FlopCounterMode``, attention of
   ``scaled_dot_product_attention`` included) and an assumed utilisation range
   (:data:`UTILISATION`), uncached and from the feature cache (the step without the frozen
   models' forwards). Hence the workers the device needs against ``num_workers='auto'``.
3. **The cache's read rate**: bytes per sample in the cache (measured from a cache root, or
   from the model's widths), what the device's cached rate asks of the disk, the cache's size
   against RAM (a cache that fits stays in the page cache after the first epoch), and the
   read rate measured on the cache's own files (or a scratch file beside it) with the page
   cache dropped for them first (``posix_fadvise(DONTNEED)``): random chunks of one sample's
   size. A warning when the cache cannot be read as fast as the device computes.
"""
import math
import os
import os.path as osp
import random
import statistics
import tempfile
import time
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import torch

from tr2m.analysis.flops import flop_counter

#: Dense tensor throughput, TFLOP/s, by device name (substring of the CUDA device name, upper
#: case): ``(bf16, fp32)``; fp32 is TF32 where the card has it (what PyTorch's matmuls use with
#: ``allow_tf32``), else plain fp32. Vendors' datasheet figures without sparsity.
DEVICE_TFLOPS = OrderedDict([
    ('H200', (989.0, 494.0)),
    ('H100', (989.0, 494.0)),  # SXM; the PCIe card is ~756 / 378
    ('A100', (312.0, 156.0)),
    ('L40S', (362.0, 183.0)),
    ('RTX 4090', (165.2, 82.6)),
    ('A10', (125.0, 62.5)),
    ('V100', (125.0, 15.7)),  # no bf16: fp16 tensor cores
])
#: Assumed fraction of the dense peak a training step reaches (model FLOPs utilisation): a
#: range, not a measurement. ViT/DPT training in bf16 reaches ~30-45% on H100-class cards.
UTILISATION = (0.30, 0.40)
#: What ``--data-device`` defaults to without a CUDA device: the card a user would train on.
DEFAULT_DEVICE = 'H100'


# ---- 1. samples/s per worker -------------------------------------------------------------------
class TimedDataset(torch.utils.data.Dataset):
    """``dataset[i]`` and the CPU / wall seconds its pipeline took, measured where it runs."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        c0, t0 = time.process_time(), time.perf_counter()
        sample = self.dataset[i]
        return sample, time.process_time() - c0, time.perf_counter() - t0


def _first(batch):
    return batch[0]


def manifest_dataset_cfg(manifest: str, pipeline: list) -> dict:
    """A ``DepthManifestDataset`` over ``manifest`` (the format of ``../shared/data``) with
    ``pipeline``: the frames of another set through the config's training pipeline (its
    ``LoadCaption`` falls back to a fixed caption for frames without one)."""
    pipeline = [dict(t, fallback=t.get('fallback') or 'an indoor scene')
                if isinstance(t, dict) and t.get('type') == 'LoadCaption' else t
                for t in pipeline]
    return dict(type='DepthManifestDataset', ann_file=osp.basename(manifest),
                data_root=osp.dirname(osp.abspath(manifest)), pipeline=pipeline)


def _manifest_frames_of_size(manifest: str) -> Optional[List[str]]:
    """The dataset names of the manifest's most common image size (a training pipeline
    batches one size; the real-data manifest mixes 480 x 640 and KITTI's 375 x 1242)."""
    import json
    from collections import Counter

    with open(manifest) as f:
        frames = json.load(f)
    frames = frames['frames'] if isinstance(frames, dict) else frames
    sizes = Counter(tuple(f.get('rgb_hw') or ()) for f in frames)
    if len(sizes) <= 1:
        return None
    top = sizes.most_common(1)[0][0]
    return sorted({f.get('dataset', 'manifest') for f in frames if tuple(f.get('rgb_hw') or ())
                   == top})


def pipeline_rate(dataset_cfg: dict, num_samples: int = 64, workers: int = 1,
                  seed: int = 0) -> dict:
    """Samples/s of one data worker: ``num_samples`` samples (the dataset repeated as needed,
    shuffled) loaded by ``workers`` DataLoader workers built as training builds them.

    Returns ``{samples cpu_ms_per_sample cpu_ms_median samples_per_s_per_worker
    wall_samples_per_s workers}``: the CPU figures from inside the worker(s) (all of the
    worker's threads), the wall rate of the loader as the main process sees it (worker start-up
    excluded).
    """
    from mmengine.registry import DefaultScope

    from tr2m.registry import DATASETS
    from tr2m.utils.workers import keep_large_buffers, worker_init_with_buffers

    with DefaultScope.overwrite_default_scope('tr2m'):
        dataset = DATASETS.build(dict(dataset_cfg))
    order = [i % len(dataset) for i in range(num_samples + 1)]
    random.Random(seed).shuffle(order)
    timed = TimedDataset(dataset)
    if workers > 0:
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(timed, order), batch_size=1, num_workers=workers,
            collate_fn=_first, worker_init_fn=worker_init_with_buffers(None))
        it = iter(loader)
    else:
        keep_large_buffers()
        it = (timed[i] for i in order)
    next(it)  # start-up (workers fork, first imports) is not the rate
    cpu, t0 = [], time.perf_counter()
    for _, cpu_s, _ in it:
        cpu.append(cpu_s * 1e3)
    wall = time.perf_counter() - t0
    mean = statistics.fmean(cpu)
    return dict(samples=len(cpu), workers=workers, cpu_ms_per_sample=mean,
                cpu_ms_median=statistics.median(cpu), samples_per_s_per_worker=1e3 / mean,
                wall_samples_per_s=len(cpu) / wall)


# ---- 2. what the device consumes ---------------------------------------------------------------
# FLOPs are counted with tr2m.analysis.flops.flop_counter (re-exported here): CPU
# ``scaled_dot_product_attention`` included with PyTorch's own formulas (forward ``4 B H N M d``,
# backward ``10 B H N M d``), the convention of every FLOP figure of tr2m.
def step_flops(model, batch: dict) -> dict:
    """FLOPs of one training step of ``model`` on ``batch`` (forward of every loss and their
    backward; not the optimizer) and of the frozen models' forward in it (what the feature
    cache removes): ``{train cached frozen per_sample_train per_sample_cached}``."""
    model.train()
    data = model.data_preprocessor(batch, True)
    with flop_counter() as counter:
        losses = model(**data, mode='loss')
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()
    train = int(counter.get_total_flops())
    model.zero_grad(set_to_none=True)
    frozen = 0
    if hasattr(model, 'frozen_features'):
        with flop_counter() as counter, torch.no_grad():
            model.frozen_features(data['inputs'], data['data_samples'])
        frozen = int(counter.get_total_flops())
    n = len(batch['inputs'])
    return dict(train=train, frozen=frozen, cached=train - frozen,
                per_sample_train=train / n, per_sample_cached=(train - frozen) / n)


def device_entry(name: Optional[str] = None) -> Tuple[str, Tuple[float, float]]:
    """The :data:`DEVICE_TFLOPS` entry of ``name`` (default: the CUDA device present, else
    :data:`DEFAULT_DEVICE`). An unknown name is an ``ArgumentError`` listing the known ones."""
    from tr2m.utils.errors import ArgumentError

    if name is None:
        name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else DEFAULT_DEVICE
    upper = name.upper()
    for key, peaks in DEVICE_TFLOPS.items():
        if key in upper:
            return key, peaks
    raise ArgumentError(f'--data-device {name!r}: no throughput figure for it; known: '
                        f'{", ".join(DEVICE_TFLOPS)}')


def device_demand(flops: dict, device: Optional[str] = None, precision: str = 'bf16') -> dict:
    """Training samples/s the device consumes, uncached and cached, as a range over
    :data:`UTILISATION`."""
    key, (bf16, fp32) = device_entry(device)
    peak = (bf16 if precision == 'bf16' else fp32) * 1e12
    out = dict(device=key, precision=precision, peak_tflops=peak / 1e12,
               utilisation=list(UTILISATION))
    for mode in ('train', 'cached'):
        per = flops[f'per_sample_{mode}']
        out[mode] = [u * peak / per if per else None for u in UTILISATION]
    return out


# ---- 3. the cache's read rate ------------------------------------------------------------------
def memory_bytes() -> dict:
    """Total and available RAM (``/proc/meminfo``; ``sysconf`` elsewhere)."""
    try:
        info = {}
        with open('/proc/meminfo') as f:
            for line in f:
                key, value = line.split(':', 1)
                info[key] = int(value.split()[0]) * 1024
        return dict(total=info['MemTotal'], available=info.get('MemAvailable', info['MemFree']))
    except (OSError, KeyError, ValueError):
        total = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
        return dict(total=total, available=total)


def cache_bytes_per_sample(widths: dict, shape: Tuple[int, int], patch: int = 14,
                           dtype: str = 'float16') -> int:
    """Bytes of one sample view in the feature cache (:mod:`tr2m.cache.store`): float16
    relative depth ``H x W`` and image tokens ``D x H/patch x W/patch`` (float16, or int8 with
    a float32 scale per token)."""
    h, w = shape
    tokens = (h // patch) * (w // patch)
    img = tokens * widths['image'] * (2 if dtype == 'float16' else 1)
    if dtype == 'int8':
        img += tokens * 4
    return 2 * h * w + img


def cache_footprint(root: str) -> dict:
    """Size of a cache root's data files and its samples (from ``cache.json``)."""
    from tr2m.cache.store import read_cache_meta

    meta = read_cache_meta(root)
    files, size = [], 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith('.bin'):
                path = osp.join(dirpath, name)
                files.append(path)
                size += osp.getsize(path)
    samples = sum(int(p.get('num_samples') or 0) for p in (meta.get('parts') or {}).values())
    return dict(root=osp.abspath(root), bytes=size, samples=samples, files=files,
                bytes_per_sample=size / samples if samples else None)


def _drop_page_cache(path: str) -> bool:
    if not hasattr(os, 'posix_fadvise'):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return True
    finally:
        os.close(fd)


def read_rate(files: Sequence[str], chunk: int, reads: int = 64, cold: bool = True,
              seed: int = 0) -> dict:
    """Bytes/s of ``reads`` reads of ``chunk`` bytes at random offsets of ``files``; with
    ``cold`` the files' pages are dropped from the page cache first (what a cache larger than
    RAM meets). Returns ``{bytes_per_s reads chunk cold}``."""
    files = [f for f in files if osp.getsize(f) > 0]
    if not files:
        return dict(bytes_per_s=None, reads=0, chunk=chunk, cold=cold)
    dropped = all(_drop_page_cache(f) for f in files) if cold else False
    rng = random.Random(seed)
    total, t0 = 0, time.perf_counter()
    for _ in range(reads):
        path = rng.choice(files)
        size = osp.getsize(path)
        offset = rng.randrange(0, max(1, size - chunk + 1))
        with open(path, 'rb', buffering=0) as f:
            f.seek(offset)
            total += len(f.read(chunk))
    elapsed = max(time.perf_counter() - t0, 1e-9)
    return dict(bytes_per_s=total / elapsed, reads=reads, chunk=chunk,
                cold=bool(cold and dropped))


def scratch_read_rate(folder: str, chunk: int, size: int = 256 << 20, reads: int = 64) -> dict:
    """:func:`read_rate` on a scratch file of ``size`` bytes written in ``folder`` (the disk a
    cache would live on), cold, then removed."""
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix='tr2m_read_rate_', suffix='.bin', dir=folder)
    try:
        block = os.urandom(1 << 20)
        with os.fdopen(fd, 'wb') as f:
            for _ in range(max(1, size >> 20)):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
        return read_rate([path], chunk, reads, cold=True)
    finally:
        os.remove(path)


def cache_check(bytes_per_sample: float, cached_rate: Optional[float], rate: dict,
                cache_size: Optional[float], memory: dict) -> dict:
    """Whether the cache can be read as fast as the device computes: ``{needed_bytes_per_s
    fits_in_ram read_bytes_per_s ok warning}``."""
    needed = bytes_per_sample * cached_rate if cached_rate else None
    fits = None if cache_size is None else cache_size <= memory['available']
    have = rate.get('bytes_per_s')
    warning = None
    if needed and have and not fits and have < needed:
        where = ('its size is unknown: give --cache-root or --cache-samples to compare it with '
                 f'the {memory["available"] / 2**30:.1f} GiB of available RAM'
                 if fits is None else
                 f'the cache ({cache_size / 2**30:.1f} GiB) does not fit in the '
                 f'{memory["available"] / 2**30:.1f} GiB of available RAM')
        warning = (f'the feature cache cannot be read as fast as the device computes: it needs '
                   f'{needed / 2**20:.0f} MiB/s ({bytes_per_sample / 2**20:.2f} MiB per sample x '
                   f'{cached_rate:.0f} samples/s) and this disk reads {have / 2**20:.0f} MiB/s '
                   f'at random (page cache dropped); {where}. Train uncached, store int8 '
                   'tokens, or move the cache to faster storage')
    return dict(needed_bytes_per_s=needed, fits_in_ram=fits, read_bytes_per_s=have,
                ok=warning is None, warning=warning)


# ---- the section -------------------------------------------------------------------------------
def data_section(cfg, model, batch: dict, shape: Tuple[int, int], manifest: Optional[str] = None,
                 num_samples: int = 64, device: Optional[str] = None,
                 cache_root: Optional[str] = None, cache_dtype: str = 'float16',
                 cache_samples: Optional[int] = None, scratch_dir: Optional[str] = None,
                 reads: int = 64) -> dict:
    """The three figures of the module docstring for a config; the JSON of the ``data`` section
    (keys documented by ``tools/analysis_tools/benchmark.py --help``)."""
    import warnings

    from tr2m.apis.inference import _find_pipeline
    from tr2m.utils.workers import auto_num_workers

    loader_cfg = cfg.get('train_dataloader') or {}
    if manifest:
        pipeline = _find_pipeline(loader_cfg.get('dataset')) or []
        dataset_cfg = manifest_dataset_cfg(manifest, pipeline)
        same_size = _manifest_frames_of_size(manifest)
        if same_size:
            dataset_cfg['datasets'] = same_size
        source = f'{manifest} through the train pipeline'
    else:
        dataset_cfg = loader_cfg.to_dict()['dataset'] if hasattr(loader_cfg, 'to_dict') else \
            dict(loader_cfg['dataset'])
        source = 'the train dataset'
    workers = pipeline_rate(dataset_cfg, num_samples)
    flops = step_flops(model, batch)
    demand = device_demand(flops, device)
    per_worker = workers['samples_per_s_per_worker']
    auto = auto_num_workers()
    need = {mode: [math.ceil(r / per_worker) for r in demand[mode]] for mode in ('train',
                                                                                'cached')}
    widths = dict(image=getattr(getattr(model, 'image_encoder', None), 'out_channels', None)
                  or getattr(model, 'frozen_widths', {}).get('image'))
    memory = memory_bytes()
    if cache_root:
        footprint = cache_footprint(cache_root)
        per_sample = footprint['bytes_per_sample'] or cache_bytes_per_sample(widths, shape,
                                                                             dtype=cache_dtype)
        rate = read_rate(footprint['files'], int(per_sample), reads)
        size = footprint['bytes']
        cache = dict(root=footprint['root'], bytes=size, samples=footprint['samples'])
    else:
        per_sample = cache_bytes_per_sample(widths, shape, dtype=cache_dtype)
        rate = scratch_read_rate(scratch_dir or tempfile.gettempdir(), int(per_sample),
                                 reads=reads)
        size = per_sample * cache_samples if cache_samples else None
        cache = dict(root=None, scratch_dir=scratch_dir or tempfile.gettempdir(),
                     bytes=size, samples=cache_samples)
    check = cache_check(per_sample, demand['cached'][-1], rate, size, memory)
    if check['warning']:
        warnings.warn(check['warning'], stacklevel=2)
    cache.update(bytes_per_sample=per_sample, dtype=cache_dtype, read=rate,
                 memory_total=memory['total'], memory_available=memory['available'], **check)
    return OrderedDict(source=source, pipeline=workers, flops=flops, device=demand,
                       workers_needed=need, auto_workers=auto, cache=cache)


__all__ = ['DEVICE_TFLOPS', 'UTILISATION', 'data_section', 'pipeline_rate', 'step_flops',
           'device_demand', 'cache_check', 'read_rate', 'cache_bytes_per_sample', 'flop_counter']
