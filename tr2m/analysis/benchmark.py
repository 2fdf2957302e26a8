"""Benchmark a depther's training step with and without the frozen-feature cache, its frozen
share, mixed precision, inference and the SOC loss (``tools/analysis_tools/benchmark.py`` is the
CLI; its ``--help`` documents every section and JSON key).

Each training step gets a batch with captions no step has seen, so no caption is served from a
table that an earlier step filled, unless a section says it precomputes them (as
``CaptionEmbeddingHook`` does at the start of training). The training steps compared with each
other (uncached, cached, and their bfloat16 runs) are interleaved step by step
(:func:`~tr2m.analysis.timing.interleaved`), each model with its own weights and optimizer.
"""
import copy
import os
import os.path as osp
import statistics
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Optional, Sequence, Tuple

import torch

from tr2m.analysis import timing
from tr2m.analysis.soc_reference import soc_benchmark
from tr2m.utils.errors import ArgumentError
from tr2m.utils.hardware import describe_device

#: Sections, in the order they run and report.
SECTIONS = ('train', 'cache', 'frozen', 'amp', 'optim', 'soc', 'predict', 'data')
#: What runs without ``--sections``: all but ``data`` (it reads real data, see
#: :mod:`tr2m.analysis.data_benchmark`).
DEFAULT_SECTIONS = SECTIONS[:-1]
#: SOC query grids of ``--sections soc`` (flattened H W pairs): the paper config's cells at
#: 266x350 (19x25 tokens, max-pooled by the projector to 10x13) and at 476x644 (34x46 -> 17x23),
#: with 160 projector channels, and 64x64 as a stress point.
SOC_SIZES = (10, 13, 17, 23, 64, 64)
#: Protocol of the synthetic samples (metres, 1-10 m GT ramp).
METRIC_PROTOCOL = dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m')
_WORDS = ('table chair lamp sofa window door shelf plant bed desk car tree road wall sky tunnel '
          'fold tissue street kitchen bedroom office corridor bridge river').split()


# ---- inputs ------------------------------------------------------------------------------------
def make_batch(batch: int, shape: Tuple[int, int], step: int = 0) -> dict:
    """A collated batch: uint8 images, samples with GT (1-10 m ramp with noise, 90% valid),
    metainfo and a caption that differs for every ``(step, image)``."""
    from mmengine.structures import PixelData

    from tr2m.structures import DepthDataSample

    gen = torch.Generator().manual_seed(1000 + step)
    h, w = shape
    inputs, samples = [], []
    for i in range(batch):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        ramp = torch.linspace(1.0, 10.0, h)[:, None].expand(h, w)
        depth = (ramp * (1 + 0.1 * torch.rand(h, w, generator=gen)))[None]
        valid = torch.rand(1, h, w, generator=gen) > 0.1
        s = DepthDataSample(metainfo=dict(
            img_path=f'benchmark_{step}_{i}.png', ori_shape=(h, w), img_shape=(h, w),
            flip=False, dataset_name='benchmark', sample_idx=step * batch + i,
            protocol=dict(METRIC_PROTOCOL)))
        s.gt_depth = PixelData(data=torch.where(valid, depth, torch.zeros_like(depth)))
        s.gt_valid = PixelData(data=valid)
        words = [_WORDS[int(j)] for j in torch.randint(len(_WORDS), (3,), generator=gen)]
        s.caption = (f'Scene {step}-{i}: a {words[0]} next to a {words[1]}, '
                     f'with a {words[2]} behind.')
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def pipeline_shape(pipeline: list) -> Optional[Tuple[int, int]]:
    """The network input ``(H, W)`` a pipeline produces, following its crops (``RandomCrop``,
    ``KBCrop``, ``CenterCrop``: their size) and resizes (``Resize`` of the size so far, or of its
    own ``scale`` when no crop came first, rounded to its size divisor). None without either."""
    from tr2m.registry import TRANSFORMS

    shape = None
    for t in pipeline:
        if not isinstance(t, dict):
            continue
        if t.get('type') in ('RandomCrop', 'CenterCrop'):
            shape = tuple(t['crop_size'])
        elif t.get('type') == 'KBCrop':
            shape = tuple(t.get('size', (352, 1216)))
        elif t.get('type') == 'Resize':
            resize = TRANSFORMS.build(dict(t))
            shape = resize.target_shape(*(shape or resize.scale))
    return None if shape is None else (int(shape[0]), int(shape[1]))


def config_shape(cfg) -> Tuple[int, int]:
    """The network input of the config's train pipeline, else its test pipeline, else 224."""
    from tr2m.apis.inference import _find_pipeline

    for key in ('train_dataloader', 'test_dataloader'):
        shape = pipeline_shape(_find_pipeline((cfg.get(key) or {}).get('dataset')) or [])
        if shape is not None:
            return shape
    return (224, 224)


# ---- the cache, for synthetic batches ----------------------------------------------------------
def write_batch_cache(model, batches: Sequence[dict], root: str, dtype: str,
                      keep_tokens: bool) -> str:
    """Store the frozen outputs of ``batches``, computed by the uncached ``model``, as a feature
    cache of one part (the format of ``tools/cache_features.py``); returns the part's folder."""
    from tr2m.cache.builder import FrozenModels
    from tr2m.cache.store import CACHE_FORMAT, PartWriter, write_cache_meta

    frozen = FrozenModels(model, 'cpu')
    samples = [s for b in batches for s in b['data_samples']]
    captions = list(dict.fromkeys(s.caption for s in samples)) if frozen.text else []
    keep_tokens = keep_tokens and frozen.text is not None
    folder = osp.join(root, 'benchmark')
    writer = PartWriter(folder, dict(keys=[s.img_path for s in samples], views=[False],
                                     dtype=dtype, widths=frozen.widths, text_tokens=keep_tokens,
                                     chunk=len(batches[0]['inputs']),
                                     text_chunk=max(len(captions), 1)), captions)
    if captions:
        writer.write_text_chunk(0, *frozen.captions(captions, keep_tokens))
    for i, b in enumerate(batches):
        packed = [dict(inputs=x, data_samples=s) for x, s in zip(b['inputs'], b['data_samples'])]
        writer.write_image_chunk(i, [[view] for view in frozen.images(packed)])
    writer.finish()
    write_cache_meta(root, dict(format=CACHE_FORMAT, widths=frozen.widths, dtype=dtype,
                                text_tokens=keep_tokens, parts=dict(benchmark=dict(
                                    complete=True, num_samples=len(samples)))))
    return folder


def attach_cached(batch: dict, loader) -> dict:
    """Attach every sample's cached features (``LoadCachedFeatures``, the data path of
    cache-mode training) to the samples of ``batch``, in place; returns the batch."""
    for img, s in zip(batch['inputs'], batch['data_samples']):
        loader(dict(inputs=img, data_samples=s))
    return batch


def clear_cached(batch: dict) -> None:
    """Drop what :func:`attach_cached` attached (each step reads its features anew)."""
    for s in batch['data_samples']:
        for key in ('img_feats', 'rel_depth'):
            if key in s:
                delattr(s, key)


# ---- one run -----------------------------------------------------------------------------------
@dataclass
class BenchmarkOptions:
    """What ``tools/analysis_tools/benchmark.py`` measures (its options, same names)."""

    batch_size: Optional[int] = None
    shape: Optional[Tuple[int, int]] = None
    repeats: int = 5
    warmup: int = 1
    threads: Optional[int] = None
    device: Optional[str] = None
    sections: Sequence[str] = DEFAULT_SECTIONS
    cache_dtype: str = 'float16'
    soc_size: Sequence[int] = SOC_SIZES
    soc_dim: int = 160
    soc_keys: int = 2
    soc_classes: int = 20
    pretrained: bool = False
    cfg_options: dict = field(default_factory=dict)
    data_manifest: Optional[str] = None
    data_samples: int = 64
    data_device: Optional[str] = None
    cache_root: Optional[str] = None
    cache_samples: Optional[int] = None

    @classmethod
    def from_args(cls, args) -> 'BenchmarkOptions':
        """The options of an ``argparse`` namespace (other attributes ignored)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


class Bench:
    """The shared state of one benchmark: config, device, batches, and how its models,
    optimizers and training steps are made."""

    def __init__(self, cfg, opts: BenchmarkOptions, device: str) -> None:
        self.cfg, self.opts, self.device = cfg, opts, device
        self.seed = (cfg.get('randomness') or {}).get('seed') or 0
        self.batch = opts.batch_size or (cfg.get('train_dataloader') or {}).get(
            'batch_size') or 2
        self.shape = tuple(opts.shape) if opts.shape else config_shape(cfg)
        self.steps = opts.warmup + opts.repeats
        self.batches = [make_batch(self.batch, self.shape, step) for step in range(self.steps)]
        self.captions = [s.caption for b in self.batches for s in b['data_samples']]

    def build(self, cache_root: Optional[str] = None):
        """The model from the same seed (so every build starts from the same trainable
        weights); with ``cache_root`` its frozen components read that cache."""
        from mmengine.registry import DefaultScope

        from tr2m.cache.mode import cached_components
        from tr2m.registry import MODELS

        torch.manual_seed(self.seed)
        model_cfg = self.cfg.model.to_dict()
        if cache_root is not None:
            model_cfg.update(cached_components(model_cfg, cache_root))
        with DefaultScope.overwrite_default_scope('tr2m'):
            return MODELS.build(model_cfg).to(self.device)

    def optimizer(self, model, amp: bool = False):
        from mmengine.optim import build_optim_wrapper
        from mmengine.registry import DefaultScope

        wrapper = copy.deepcopy(self.cfg.optim_wrapper.to_dict())
        if amp:
            wrapper.update(type='AutocastOptimWrapper', dtype='bfloat16')
        with DefaultScope.overwrite_default_scope('tr2m'):
            return build_optim_wrapper(model, wrapper)

    def phase(self, fn) -> dict:
        """One function timed on its own (median of the repeats), with images per second."""
        return timing.with_rate(timing.interleaved(dict(f=fn), self.opts.repeats,
                                                   self.opts.warmup, self.device)['f'],
                                self.batch)

    def train_steps(self, model, optim, record: dict, data=None, after=None):
        """``step(i)``: one ``train_step`` on batch ``i`` plus the SOC momentum update; records
        the first step's losses and gradients and the trainable weights after 3 steps."""
        grads = timing.GradCapture(model, optim)

        def step(i):
            log = model.train_step(data(i) if data else self.batches[i], optim)
            timing.momentum_update(model)
            if after:
                after(i)
            record['grads'] = grads.grads
            losses = {k: float(v.detach() if hasattr(v, 'detach') else v)
                      for k, v in log.items()}
            if i == 0:
                record['losses'] = losses
            if i == 2:
                record['weights'] = timing.trainable_state(model)
                record['losses_step3'] = losses
        return step


def _cache_result(timings: dict, records: dict, inits: dict, dtype: str) -> dict:
    u, c = records['train'], records['cache']
    rel = timing.relative_difference(u['losses'], c['losses'])
    return dict(
        timings['cache'], dtype=dtype,
        speedup=timings['train']['wall_ms'] / timings['cache']['wall_ms'],
        speedup_cpu=timings['train']['cpu_ms'] / timings['cache']['cpu_ms'],
        first_step_losses={k: [u['losses'][k], c['losses'][k]] for k in rel},
        first_step_rel_diff=rel, first_step_max_rel_diff=max(rel.values()),
        first_step_grad_rel_diff=timing.grads_rel_diff(u['grads'], c['grads']),
        weights=(timing.weights_difference(inits['train'], u['weights'], inits['cache'],
                                           c['weights']) if 'weights' in u else None))


def _amp_result(bench: Bench, model, timings: dict, records: dict) -> dict:
    amp = dict(dtype='bfloat16')
    for key in ('train', 'cache'):
        t = timings.get(f'amp_{key}')
        if t is not None:
            amp[key] = dict(t, speedup=timings[key]['wall_ms'] / t['wall_ms'],
                            speedup_cpu=timings[key]['cpu_ms'] / t['cpu_ms'])
    data = model.data_preprocessor(bench.batches[0], True)
    with torch.no_grad():
        fp32 = {k: float(v) for k, v in model(**data, mode='loss').items()}
        with torch.autocast(bench.device, dtype=torch.bfloat16):
            bf16 = {k: float(v) for k, v in model(**data, mode='loss').items()}
    amp['losses_rel_diff'] = timing.relative_difference(fp32, bf16)
    amp['losses_abs_diff'] = timing.absolute_difference(fp32, bf16)
    third = [records.get(k, {}).get('losses_step3') for k in ('train', 'amp_train')]
    if None not in third:  # the 3rd training step's losses, both runs from the same weights
        amp['step3_losses'] = {k: [third[0][k], third[1][k]]
                               for k in timing.relative_difference(*third)}
        amp['step3_losses_rel_diff'] = timing.relative_difference(*third)
    return amp


def training_sections(bench: Bench, model, sections: Sequence[str]) -> dict:
    """``train``, ``cache`` and ``amp``: their training steps interleaved (fp32 / cache / bf16),
    each model with its own weights and optimizer."""
    from tr2m.cache import LoadCachedFeatures

    out, fns, records, inits = {}, OrderedDict(), {}, {}
    model.train()
    inits['train'], records['train'] = timing.trainable_state(model), {}
    fns['train'] = bench.train_steps(model, bench.optimizer(model), records['train'])
    with tempfile.TemporaryDirectory(prefix='tr2m_bench_') as root:
        if 'cache' in sections:
            keep_tokens = getattr(model.neck, 'text_tokens', 'pooled') == 'all'
            loader = LoadCachedFeatures(write_batch_cache(model, bench.batches, root,
                                                          bench.opts.cache_dtype, keep_tokens))

            def read(i):
                return attach_cached(bench.batches[i], loader)

            def drop(i):
                clear_cached(bench.batches[i])

            cmodel = bench.build(cache_root=root).train()
            inits['cache'], records['cache'] = timing.trainable_state(cmodel), {}
            fns['cache'] = bench.train_steps(cmodel, bench.optimizer(cmodel), records['cache'],
                                             data=read, after=drop)
        if 'amp' in sections:
            amp_model = bench.build().train()  # its own weights: the fp32 runs stay exact
            if getattr(amp_model, 'text_encoder', None) is not None:
                amp_model.text_encoder.precompute(bench.captions)
            records['amp_train'] = {}
            fns['amp_train'] = bench.train_steps(amp_model, bench.optimizer(amp_model, True),
                                                 records['amp_train'])
            if 'cache' in sections:
                amp_cmodel = bench.build(cache_root=root).train()
                fns['amp_cache'] = bench.train_steps(amp_cmodel, bench.optimizer(
                    amp_cmodel, True), {}, data=read, after=drop)
        timings = timing.interleaved(fns, bench.opts.repeats, bench.opts.warmup, bench.device)
    for t in timings.values():
        timing.with_rate(t, bench.batch)
    if 'train' in sections or 'cache' in sections:
        out['train'] = timings['train']
    if 'cache' in sections:
        out['cache'] = _cache_result(timings, records, inits, bench.opts.cache_dtype)
    if 'amp' in sections:
        out['amp'] = _amp_result(bench, model, timings, records)
    return out


def frozen_section(bench: Bench, model) -> dict:
    """The uncached step with captions encoded every step, each top-level child's forward
    time and share of the step."""
    encoder = getattr(model, 'text_encoder', None)
    model.train()
    if encoder is not None:
        encoder.caption_table.enabled = False  # every step encodes its captions
    timer = timing.ChildTimer(model, bench.device)
    optim = bench.optimizer(model)
    try:
        step = bench.phase(bench.train_steps(model, optim, {}, after=lambda i: timer.next_call()))
    finally:
        timer.remove()
        if encoder is not None:
            encoder.caption_table.enabled = True
    calls = timer.per_call[bench.opts.warmup:]
    frozen_names = [n for n, c in model.named_children() if hasattr(c, 'weights_source')]
    modules = OrderedDict()
    for name in timer.names:
        ms = statistics.median(c[name] for c in calls)
        if ms > 0:
            modules[name] = dict(forward_ms=ms, share=ms / step['wall_ms'],
                                 frozen=name in frozen_names)
    return dict(step=step, modules=modules, frozen_share=sum(
        m['share'] for m in modules.values() if m['frozen']))


def predict_section(bench: Bench, model, amp: bool = False) -> Tuple[dict, Optional[dict]]:
    """``model.test_step`` without gradients on batches no training step saw; with ``amp``
    also under bfloat16 autocast, the two interleaved, and the relative difference of their
    depths (``(predict, predict_bf16 or None)``)."""
    model.eval()
    test = [make_batch(bench.batch, bench.shape, 10_000 + i) for i in range(bench.steps)]
    depths = {}

    def run(name, enabled):
        def predict(i):
            with torch.no_grad(), torch.autocast(torch.device(bench.device).type,
                                                 dtype=torch.bfloat16, enabled=enabled):
                out = model.test_step(test[i])
            if i == 0:
                depths[name] = torch.stack([s.pred_depth.data.float() for s in out])
        return predict

    fns = OrderedDict(fp32=run('fp32', False))
    if amp:
        fns['bf16'] = run('bf16', True)
    timings = timing.interleaved(fns, bench.opts.repeats, bench.opts.warmup, bench.device)
    fp32 = timing.with_rate(timings['fp32'], bench.batch)
    if not amp:
        return fp32, None
    ref, low = depths['fp32'], depths['bf16']
    bf16 = dict(timing.with_rate(timings['bf16'], bench.batch),
                speedup=fp32['wall_ms'] / timings['bf16']['wall_ms'],
                speedup_cpu=fp32['cpu_ms'] / timings['bf16']['cpu_ms'],
                depth_median_rel_diff=float(((low - ref).abs() / ref.abs()).median()),
                depth_max_rel_diff=float(((low - ref).abs() / ref.abs()).max()))
    return fp32, bf16


def ratios(result: dict) -> dict:
    """The headline ratios of a result (None where a section did not run)."""
    def get(section, *keys):
        node = result.get(section) or {}
        for k in keys:
            node = (node or {}).get(k)
        return node

    first_soc = next(iter(result.get('soc') or {}), None)  # the first size
    return dict(
        cache_speedup=get('cache', 'speedup'), cache_speedup_cpu=get('cache', 'speedup_cpu'),
        frozen_share=get('frozen', 'frozen_share'), soc_speedup=get('soc', first_soc, 'speedup'),
        soc_speedup_cpu=get('soc', first_soc, 'speedup_cpu'),
        soc_memory_ratio=get('soc', first_soc, 'memory_ratio'),
        amp_speedup=get('amp', 'train', 'speedup'),
        amp_speedup_cpu=get('amp', 'train', 'speedup_cpu'),
        amp_speedup_cached=get('amp', 'cache', 'speedup'),
        amp_speedup_cached_cpu=get('amp', 'cache', 'speedup_cpu'),
        amp_speedup_predict=get('amp', 'predict', 'speedup'),
        optim_fused_speedup=get('optim', 'fused_speedup'),
        optim_fused_speedup_cpu=get('optim', 'fused_speedup_cpu'),
        amp_speedup_predict_cpu=get('amp', 'predict', 'speedup_cpu'))


def run_benchmark(config: str, options: Optional[BenchmarkOptions] = None) -> dict:
    """Every section of ``options.sections`` on the config's model; returns the JSON result
    (keys documented by ``tools/analysis_tools/benchmark.py --help``)."""
    from tr2m.models.pretrained import RANDOM_INIT_ENV, random_init_requested
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    opts = options or BenchmarkOptions()
    if not opts.pretrained:
        os.environ.setdefault(RANDOM_INIT_ENV, '1')
    if opts.threads:
        torch.set_num_threads(opts.threads)
    device = opts.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ArgumentError('--device cuda: no CUDA device')
    register_all_modules()
    bench = Bench(load_config(config, opts.cfg_options), opts, device)
    sections = [s for s in SECTIONS if s in opts.sections]
    result = OrderedDict(
        config=config, device=device, hardware=describe_device(device),
        torch=torch.__version__,
        threads=torch.get_num_threads(), random_init=random_init_requested(),
        batch_size=bench.batch, shape=list(bench.shape), repeats=opts.repeats,
        warmup=opts.warmup, sections=sections)
    model = bench.build() if set(sections) - {'soc'} else None
    if getattr(model, 'text_encoder', None) is not None:
        model.text_encoder.precompute(bench.captions)  # CaptionEmbeddingHook's start-up pass
    if {'train', 'cache', 'amp'} & set(sections):
        result.update(training_sections(bench, model, sections))
    if 'frozen' in sections:
        result['frozen'] = frozen_section(bench, model)
    if 'optim' in sections:
        from tr2m.analysis.optim_bench import optimizer_benchmark

        result['optim'] = optimizer_benchmark(model, opts.repeats, opts.warmup, device,
                                              bench.cfg.optim_wrapper.get('optimizer'))
    if 'soc' in sections:
        sizes = list(opts.soc_size)
        if len(sizes) % 2 or not sizes:
            raise ArgumentError(f'--soc-size takes H W pairs, got {sizes}')
        result['soc'] = OrderedDict(
            (f'{h}x{w}', soc_benchmark(bench.batch, (h, w), opts.soc_keys, opts.soc_dim,
                                       opts.soc_classes, opts.repeats, opts.warmup, device))
            for h, w in zip(sizes[::2], sizes[1::2]))
    if 'predict' in sections:
        result['predict'], bf16 = predict_section(bench, model, 'amp' in sections)
        if bf16 is not None:
            result.setdefault('amp', OrderedDict(dtype='bfloat16'))['predict'] = bf16
    if 'data' in sections:
        from tr2m.analysis.data_benchmark import data_section

        result['data'] = data_section(
            bench.cfg, model, make_batch(bench.batch, bench.shape, 20_000), bench.shape,
            manifest=opts.data_manifest, num_samples=opts.data_samples,
            device=opts.data_device, cache_root=opts.cache_root, cache_dtype=opts.cache_dtype,
            cache_samples=opts.cache_samples)
    result['ratios'] = ratios(result)
    return result
