"""Time a depther's training step with and without the frozen-feature cache, its frozen share,
mixed precision, inference, and the SOC loss against its pairwise form -- all in one run.

``python tools/analysis_tools/benchmark.py CONFIG [--batch-size N] [--shape H W] [--repeats N]
[--warmup N] [--threads N] [--device cpu|cuda] [--sections ...] [--cache-dtype float16|int8]
[--soc-size H W] [--soc-dim D] [--soc-keys K] [--soc-classes C] [--json]``

Weights: ``TR2M_RANDOM_INIT=1`` is set unless already set or ``--pretrained`` is given, so
every pretrained-capable component is its architecture with random weights (nothing is
downloaded; timings are those of the real architectures). Inputs: ``--batch-size`` random
images (default: the config's) at ``--shape`` (default: the train pipeline's network input),
GT depth (a 1-10 m ramp, 90% valid) and a caption per image that no other step uses.

Each figure is the median of ``--repeats`` timed calls after ``--warmup`` untimed ones, as
wall time and as process CPU time (all threads). The training steps compared with each other
(``train``, ``cache``, and their bfloat16 runs) are interleaved step by step, each model with
its own weights and optimizer, so that a load change on a shared machine hits them alike.
Sections (``--sections``, default all):

- ``train``: ``model.train_step`` (preprocessor, losses, backward, optimizer step) plus the
  SOC momentum update, frozen models run, captions precomputed once before the steps (what
  ``CaptionEmbeddingHook`` does): the strongest configuration without the feature cache.
- ``cache``: the same steps from the feature cache: the batches' frozen outputs are written
  to a temporary cache (the format of ``tools/cache_features.py``, ``--cache-dtype``) and read
  back every step with ``LoadCachedFeatures``; the model is built in cache mode (frozen models
  not built) from the same seed. Equality: the first step's losses of both runs and the
  trainable weights after 3 steps (both start from identical weights; reported).
- ``frozen``: the uncached step with captions encoded every step (table off), with timing hooks
  on every top-level child: each one's forward time and share of the step.
- ``amp``: the ``train`` (and ``cache``) steps under bfloat16 autocast (``AutocastOptimWrapper``,
  what ``tools/train.py --amp`` uses), and the relative difference of its losses from float32.
- ``soc``: ``soc_loss`` (class means of the keys) against ``soc_loss_pairwise`` (the full
  N x M cosine matrix, one ``bmm``, class means by a one-hot product) at ``--soc-size`` query
  positions, ``--soc-keys`` key sets, ``--soc-dim`` channels, ``--soc-classes`` classes, batch
  ``--batch-size``: forward + backward time, peak memory (CUDA: ``max_memory_allocated``; CPU:
  the peak-RSS increase of one call in a fresh subprocess, ``VmHWM`` reset first), and the
  differences of the loss value and of its gradient.
- ``predict``: ``model.test_step`` without gradients.

JSON (``--json`` prints it as the last line): ``config device torch threads random_init
batch_size shape repeats warmup sections`` and, per section present:
``train``/``predict``: ``{wall_ms cpu_ms images_per_s wall_ms_all cpu_ms_all repeats warmup
[peak_mem_mib]}``; ``cache``: the same plus ``dtype speedup first_step_losses {key: [uncached,
cached]} first_step_rel_diff {key: rel} first_step_max_rel_diff first_step_grad_rel_diff
speedup_cpu weights {max_abs_diff init_max_abs_diff update_rel_diff}`` (``weights`` null with
fewer than 3 steps);
``frozen``: ``step {wall_ms cpu_ms ...} modules {name: {forward_ms share frozen}}
frozen_share``; ``amp``: ``dtype train {..., speedup} [cache {..., speedup}]
losses_rel_diff {key: rel}``; ``soc``: ``queries key_sets keys_per_image classes class_mean
{wall_ms cpu_ms peak_mib} pairwise {...} speedup speedup_cpu memory_ratio loss max_abs_diff
rel_diff grad_max_abs_diff memory_method``; ``ratios``: ``cache_speedup cache_speedup_cpu
frozen_share soc_speedup soc_speedup_cpu soc_memory_ratio amp_speedup amp_speedup_cpu
amp_speedup_cached amp_speedup_cached_cpu`` (null when not measured). Speed-ups are ratios of
the medians, wall (``speedup``) and CPU time (``speedup_cpu``); on a shared machine the CPU
figure is the steadier.
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
from collections import OrderedDict
from typing import Optional, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config, DictAction  # noqa: E402

from tr2m.utils import cli  # noqa: E402

SECTIONS = ('train', 'cache', 'frozen', 'amp', 'soc', 'predict')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark a tr2m depther: training with and without the feature cache, '
        'frozen share, mixed precision, SOC, inference',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('config', help='config file')
    parser.add_argument('--batch-size', type=int, help='default: the train dataloader batch size')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                        help='network input size (default: from the train pipeline)')
    parser.add_argument('--repeats', type=int, default=5, help='timed calls per figure (median)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed calls before them')
    parser.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default=None,
                        help='default: cuda when available')
    parser.add_argument('--sections', nargs='+', choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument('--cache-dtype', choices=('float16', 'int8'), default='float16')
    parser.add_argument('--soc-size', nargs=2, type=int, default=(64, 64), metavar=('H', 'W'))
    parser.add_argument('--soc-dim', type=int, default=256)
    parser.add_argument('--soc-keys', type=int, default=2)
    parser.add_argument('--soc-classes', type=int, default=20)
    parser.add_argument('--pretrained', action='store_true',
                        help='do not set TR2M_RANDOM_INIT=1 (load the pretrained weights)')
    parser.add_argument('--json', action='store_true', help='end with one JSON object')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error('--repeats must be >= 1 and --warmup >= 0')
    return args


# ---- inputs -------------------------------------------------------------------------------
def _pipeline(cfg: Config, key: str) -> list:
    from tr2m.apis.inference import _find_pipeline

    return _find_pipeline((cfg.get(key) or {}).get('dataset')) or []


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


# ---- main ---------------------------------------------------------------------------------
def run_benchmark(args) -> dict:
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from tr2m.datasets.transforms import LoadCachedFeatures
    from tr2m.engine import benchmark as bench
    from tr2m.models.pretrained import RANDOM_INIT_ENV, random_init_requested
    from tr2m.registry import MODELS
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    if not args.pretrained:
        os.environ.setdefault(RANDOM_INIT_ENV, '1')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device')
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options, feature_cache=False)
    seed = (cfg.get('randomness') or {}).get('seed') or 0
    batch = args.batch_size or (cfg.get('train_dataloader') or {}).get('batch_size') or 2
    shape = tuple(args.shape) if args.shape else (
        pipeline_shape(_pipeline(cfg, 'train_dataloader'))
        or pipeline_shape(_pipeline(cfg, 'test_dataloader')) or (224, 224))
    sections = [s for s in SECTIONS if s in args.sections]
    steps = args.warmup + args.repeats
    batches = [bench.make_batch(batch, shape, step) for step in range(steps)]

    def build(cache=None):
        torch.manual_seed(seed)  # the same trainable initialisation for every build
        model_cfg = cfg.model.to_dict()
        if cache is not None:
            model_cfg['cache'] = cache
        with DefaultScope.overwrite_default_scope('tr2m'):
            return MODELS.build(model_cfg).to(device)

    def optimizer(model, amp=False):
        wrapper = copy.deepcopy(cfg.optim_wrapper.to_dict())
        if amp:
            wrapper.update(type='AutocastOptimWrapper', dtype='bfloat16')
        with DefaultScope.overwrite_default_scope('tr2m'):
            return build_optim_wrapper(model, wrapper)

    def phase(fn):
        return bench.with_rate(bench.interleaved(dict(f=fn), args.repeats, args.warmup,
                                                 device)['f'], batch)

    def train_steps(model, optim, record, data=lambda i: batches[i], after=lambda i: None):
        grads = bench.GradCapture(model, optim)

        def step(i):
            log = model.train_step(data(i), optim)
            bench.momentum_update(model)
            after(i)
            record['grads'] = grads.grads
            if i == 0:
                record['losses'] = {k: float(v.detach() if hasattr(v, 'detach') else v)
                                    for k, v in log.items()}
            if i == 2:
                record['weights'] = bench.trainable_state(model)
        return step

    result = OrderedDict(
        config=args.config, device=device, torch=torch.__version__,
        threads=torch.get_num_threads(), random_init=random_init_requested(),
        batch_size=batch, shape=list(shape), repeats=args.repeats, warmup=args.warmup,
        sections=sections)
    needs_model = any(s in sections for s in ('train', 'cache', 'frozen', 'amp', 'predict'))
    model = build() if needs_model else None
    encoder = getattr(model, 'text_encoder', None)
    captions = [s.caption for b in batches for s in b['data_samples']]
    if encoder is not None:
        encoder.precompute(captions)  # CaptionEmbeddingHook's start-up pass

    # ---- training steps whose ratios matter, interleaved: fp32 / cache / bf16 ----------
    steps_fns, records, inits, tmp = OrderedDict(), {}, {}, None
    if 'train' in sections or 'cache' in sections or 'amp' in sections:
        model.train()
        inits['train'], records['train'] = bench.trainable_state(model), {}
        steps_fns['train'] = train_steps(model, optimizer(model), records['train'])
    if 'cache' in sections:
        tmp = bench.temp_dir()
        folder = osp.join(tmp.name, 'benchmark')
        keep_tokens = getattr(model.neck, 'text_tokens', 'pooled') == 'all'
        bench.write_batch_cache(model, batches, folder, args.cache_dtype, keep_tokens)
        loader = LoadCachedFeatures(folder)
        cache_mode = dict(root=tmp.name, widths=dict(model.frozen_widths), text_tokens=keep_tokens)

        def read(i):
            return bench.attach_cached(batches[i], loader)

        def drop(i):
            bench.clear_cached(batches[i])

        cmodel = build(cache=cache_mode).train()
        inits['cache'], records['cache'] = bench.trainable_state(cmodel), {}
        steps_fns['cache'] = train_steps(cmodel, optimizer(cmodel), records['cache'],
                                         data=read, after=drop)
    if 'amp' in sections:
        amp_model = build().train()  # its own weights and optimizer: the fp32 runs stay exact
        if encoder is not None:
            amp_model.text_encoder.precompute(captions)
        steps_fns['amp_train'] = train_steps(amp_model, optimizer(amp_model, amp=True), {})
        if 'cache' in sections:
            amp_cmodel = build(cache=cache_mode).train()
            steps_fns['amp_cache'] = train_steps(amp_cmodel, optimizer(amp_cmodel, amp=True), {},
                                                 data=read, after=drop)
    timings = bench.interleaved(steps_fns, args.repeats, args.warmup, device) if steps_fns \
        else {}
    for t in timings.values():
        bench.with_rate(t, batch)
    if 'train' in timings and ('train' in sections or 'cache' in sections):
        result['train'] = timings['train']
    if 'cache' in sections:
        u, c = records['train'], records['cache']
        rel = bench.relative_difference(u['losses'], c['losses'])
        result['cache'] = dict(
            timings['cache'], dtype=args.cache_dtype,
            speedup=timings['train']['wall_ms'] / timings['cache']['wall_ms'],
            speedup_cpu=timings['train']['cpu_ms'] / timings['cache']['cpu_ms'],
            first_step_losses={k: [u['losses'][k], c['losses'][k]] for k in rel},
            first_step_rel_diff=rel, first_step_max_rel_diff=max(rel.values()),
            first_step_grad_rel_diff=bench.grads_rel_diff(u['grads'], c['grads']),
            weights=(bench.weights_difference(inits['train'], u['weights'], inits['cache'],
                                              c['weights']) if 'weights' in u else None))
    if 'amp' in sections:
        amp = dict(dtype='bfloat16')
        for key, ref in (('train', 'train'), ('cache', 'cache')):
            t = timings.get(f'amp_{key}')
            if t is not None:
                amp[key] = dict(t, speedup=timings[ref]['wall_ms'] / t['wall_ms'],
                                speedup_cpu=timings[ref]['cpu_ms'] / t['cpu_ms'])
        data = model.data_preprocessor(batches[0], True)
        with torch.no_grad():
            fp32 = {k: float(v) for k, v in model(**data, mode='loss').items()}
            with torch.autocast(device, dtype=torch.bfloat16):
                bf16 = {k: float(v) for k, v in model(**data, mode='loss').items()}
        amp['losses_rel_diff'] = bench.relative_difference(fp32, bf16)
        amp['losses_abs_diff'] = bench.absolute_difference(fp32, bf16)
        result['amp'] = amp
        del amp_model
    if tmp is not None:
        tmp.cleanup()
    if 'frozen' in sections:
        model.train()
        if encoder is not None:
            encoder.caption_table.enabled = False  # every step encodes its captions
        timer = bench.ChildTimer(model, device)
        optim = optimizer(model)
        try:
            step = phase(train_steps(model, optim, {}, after=lambda i: timer.next_call()))
        finally:
            timer.remove()
            if encoder is not None:
                encoder.caption_table.enabled = True
        calls = timer.per_call[args.warmup:]
        frozen_names = [n for n, c in model.named_children() if hasattr(c, 'weights_source')]
        modules = OrderedDict()
        for name in timer.names:
            ms = statistics.median(c[name] for c in calls)
            if ms > 0:
                modules[name] = dict(forward_ms=ms, share=ms / step['wall_ms'],
                                     frozen=name in frozen_names)
        result['frozen'] = dict(step=step, modules=modules, frozen_share=sum(
            m['share'] for n, m in modules.items() if m['frozen']))
    if 'soc' in sections:
        result['soc'] = bench.soc_benchmark(batch, tuple(args.soc_size), args.soc_keys,
                                            args.soc_dim, args.soc_classes, args.repeats,
                                            args.warmup, device)
    if 'predict' in sections:
        model.eval()
        test = [bench.make_batch(batch, shape, 10_000 + i) for i in range(steps)]

        def predict(i):
            with torch.no_grad():
                model.test_step(test[i])
        result['predict'] = phase(predict)
    amp = result.get('amp') or {}
    result['ratios'] = dict(
        cache_speedup=(result.get('cache') or {}).get('speedup'),
        cache_speedup_cpu=(result.get('cache') or {}).get('speedup_cpu'),
        frozen_share=(result.get('frozen') or {}).get('frozen_share'),
        soc_speedup=(result.get('soc') or {}).get('speedup'),
        soc_speedup_cpu=(result.get('soc') or {}).get('speedup_cpu'),
        soc_memory_ratio=(result.get('soc') or {}).get('memory_ratio'),
        amp_speedup=(amp.get('train') or {}).get('speedup'),
        amp_speedup_cpu=(amp.get('train') or {}).get('speedup_cpu'),
        amp_speedup_cached=(amp.get('cache') or {}).get('speedup'),
        amp_speedup_cached_cpu=(amp.get('cache') or {}).get('speedup_cpu'))
    return result


def _line(name: str, p: dict) -> str:
    mem = f", peak {p['peak_mem_mib']:.0f} MiB" if 'peak_mem_mib' in p else ''
    return (f"{name:<26} {p['wall_ms']:10.1f} ms wall {p['cpu_ms']:10.1f} ms CPU "
            f"{p['images_per_s']:8.2f} images/s{mem}")


def format_report(r: dict) -> str:
    from tr2m.engine.benchmark import optional

    lines = [f"{r['config']} on {r['device']} (torch {r['torch']}, {r['threads']} threads, "
             f"random init: {r['random_init']})",
             f"batch {r['batch_size']}, input {tuple(r['shape'])}, median of {r['repeats']} "
             f"after {r['warmup']} warm-up", '']
    if 'train' in r:
        lines.append(_line('train (frozen models run)', r['train']))
    c = r.get('cache')
    if c:
        lines.append(_line(f"train from cache ({c['dtype']})", c))
        w = c['weights'] or {}
        lines.append(f"  cache speed-up {c['speedup']:.2f}x wall, {c['speedup_cpu']:.2f}x CPU; "
                     f"first step: losses max rel. diff {c['first_step_max_rel_diff']:.1e}, "
                     f"gradients rel. diff {c['first_step_grad_rel_diff']:.1e}")
        lines.append(f"  after 3 steps: weights max |diff| "
                     f"{optional(w.get('max_abs_diff'))}, update rel. diff "
                     f"{optional(w.get('update_rel_diff'))} (initial weights max |diff| "
                     f"{optional(w.get('init_max_abs_diff'))})")
    f = r.get('frozen')
    if f:
        lines += ['', f"forward time per step, captions encoded every step "
                      f"({f['step']['wall_ms']:.1f} ms wall):"]
        for name, m in f['modules'].items():
            lines.append(f"  {name:<22} {m['forward_ms']:10.1f} ms  share {m['share']:.3f}"
                         + ('  (frozen)' if m['frozen'] else ''))
        lines.append(f"  frozen share {f['frozen_share']:.3f}")
    a = r.get('amp')
    if a:
        lines += ['', 'bfloat16 autocast:']
        for key, name in (('train', 'train'), ('cache', 'train from cache')):
            if key in a:
                lines.append(_line(f'  {name}', a[key]) + (
                    f"  ({a[key]['speedup']:.2f}x fp32 wall, {a[key]['speedup_cpu']:.2f}x CPU)"
                    if 'speedup' in a[key] else ''))
        lines.append('  losses rel. diff from fp32: ' + ', '.join(
            f'{k} {v:.1e}' for k, v in a['losses_rel_diff'].items()))
    s = r.get('soc')
    if s:
        lines += ['', f"SOC loss, queries {tuple(s['queries'])}, {s['key_sets']} key sets "
                      f"({s['keys_per_image']} keys per image), {s['classes']} classes, "
                      'forward + backward:']
        for name in ('class_mean', 'pairwise'):
            p = s[name]
            lines.append(f"  {name:<12} {p['wall_ms']:10.2f} ms wall {p['cpu_ms']:10.2f} ms CPU "
                         f"peak {p['peak_mib']:9.1f} MiB")
        lines.append(f"  class means {s['speedup']:.1f}x faster ({s['speedup_cpu']:.1f}x CPU), "
                     f"{s['memory_ratio']:.1f}x less "
                     f"memory; |loss diff| {s['max_abs_diff']:.1e} (rel. {s['rel_diff']:.1e}), "
                     f"max |grad diff| {s['grad_max_abs_diff']:.1e}")
        lines.append(f"  memory: {s['memory_method']}")
    if 'predict' in r:
        lines += ['', _line('predict', r['predict'])]
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    result = run_benchmark(args)
    if args.json:
        print(format_report(result))
        print(json.dumps(result))
    else:
        print(format_report(result))
    return result


if __name__ == '__main__':
    cli.run(main)
