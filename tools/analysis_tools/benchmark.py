"""Time a depther's training step and inference on synthetic inputs, and the speed-ups that matter.

``python tools/analysis_tools/benchmark.py CONFIG [--checkpoint C] [--batch-size N] [--iters N]
[--warmup N] [--device cpu|cuda] [--amp] [--shape H W] [--json]``

Weights: unless ``TR2M_RANDOM_INIT`` is already set in the environment, the tool sets
``TR2M_RANDOM_INIT=1`` (``--pretrained`` leaves it unset): every pretrained-capable component is
built from its architecture preset with random weights, so nothing is downloaded and the timings
are those of the real architectures. ``--checkpoint`` then loads trained weights on top (the
checkpoint must fit the model built this way).

Inputs: a batch of ``--batch-size`` random uint8 images (default: the config's train batch
size) at the network input size of the config (the train pipeline's ``RandomCrop`` or
``Resize`` for the training step, the test pipeline's ``Resize`` for inference; rounded to its
``size_divisor``), or ``--shape H W`` for both; GT depth (a 1-10 m ramp with noise, 90% valid)
and a distinct caption per image.

Measured, each after ``--warmup`` untimed iterations, over ``--iters`` iterations (CUDA
synchronised around each):

- ``train``: ``model.train_step`` (data preprocessor, ``loss``, backward, optimizer step from the
  config's ``optim_wrapper``) plus the momentum (EMA) update the ``SOCMomentumHook`` does;
- ``predict``: ``model.test_step`` under ``torch.no_grad``;
- per phase: mean and median ms per iteration, images/s, peak CUDA memory (MiB) on CUDA.

Ratios, measured in the same run:

- ``frozen_share``: forward time of the frozen components (top-level children with a
  ``weights_source``: relative-depth model, image and text encoders) over the training step
  time, from extra training steps with timing hooks on every top-level child;
- ``text_cache_speedup``: text encoder time for the batch's captions without the caption LRU
  cache (``cache.size = 0``) over the time with the captions cached;
- ``soc_speedup``: a naive pairwise reference of the SOC loss (the full ``N x N`` cosine
  similarity matrix, class means by masking) over the vectorised ``soc_loss`` (class-mean keys),
  forward and backward, at the projector's feature resolution; ``soc_max_abs_diff`` checks
  that both give the same loss.

``--json`` prints one JSON object (the keys above) instead of the table.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from collections import OrderedDict
from statistics import mean, median
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config, DictAction  # noqa: E402

from tr2m.utils import cli  # noqa: E402

METRIC_PROTOCOL = dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark a tr2m depther (train step, inference, key speed-up ratios)',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='load these weights')
    parser.add_argument('--batch-size', type=int, help='default: the train dataloader batch size')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations per phase')
    parser.add_argument('--warmup', type=int, default=2, help='untimed iterations per phase')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default=None,
                        help='default: cuda when available')
    parser.add_argument('--amp', action='store_true', help='mixed precision (CUDA only)')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                        help='input size of both phases (default: from the config)')
    parser.add_argument('--pretrained', action='store_true',
                        help='do not set TR2M_RANDOM_INIT=1 (load the pretrained weights)')
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
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


def make_batch(batch: int, shape: Tuple[int, int], seed: int = 0) -> dict:
    """A collated batch: uint8 images, samples with GT, validity, caption and metainfo."""
    import torch
    from mmengine.structures import PixelData

    from tr2m.structures import DepthDataSample

    gen = torch.Generator().manual_seed(seed)
    h, w = shape
    inputs, samples = [], []
    for i in range(batch):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        ramp = torch.linspace(1.0, 10.0, h)[:, None].expand(h, w)
        depth = (ramp * (1 + 0.1 * torch.rand(h, w, generator=gen)))[None]
        valid = torch.rand(1, h, w, generator=gen) > 0.1
        s = DepthDataSample(metainfo=dict(
            img_path=f'benchmark_{i}.png', ori_shape=(h, w), img_shape=(h, w), flip=False,
            dataset_name='benchmark', protocol=dict(METRIC_PROTOCOL)))
        s.gt_depth = PixelData(data=torch.where(valid, depth, torch.zeros_like(depth)))
        s.gt_valid = PixelData(data=valid)
        s.caption = f'A synthetic benchmark scene number {i} with a table, a chair and a lamp.'
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


# ---- timing -------------------------------------------------------------------------------
def _sync(device) -> None:
    import torch

    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def time_it(fn: Callable, iters: int, warmup: int, device) -> List[float]:
    """Per-iteration wall times (ms) of ``fn()`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def phase(times: List[float], batch: int, device) -> dict:
    import torch

    out = dict(ms_per_iter=mean(times), ms_median=median(times),
               images_per_s=batch * 1e3 / mean(times), iters=len(times))
    if str(device).startswith('cuda'):
        out['peak_mem_mib'] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _reset_peak(device) -> None:
    import torch

    if str(device).startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()


class ChildTimer:
    """Forward-time hooks on every top-level child of a model (CUDA synchronised)."""

    def __init__(self, model, device) -> None:
        self.device = device
        self.totals: Dict[str, float] = OrderedDict((n, 0.0) for n, _ in model.named_children())
        self._start: Dict[str, float] = {}
        self._handles = []
        for name, child in model.named_children():
            self._handles.append(child.register_forward_pre_hook(self._pre(name)))
            self._handles.append(child.register_forward_hook(self._post(name)))

    def _pre(self, name):
        def hook(module, args):
            _sync(self.device)
            self._start[name] = time.perf_counter()
        return hook

    def _post(self, name):
        def hook(module, args, output):
            _sync(self.device)
            self.totals[name] += (time.perf_counter() - self._start.pop(name)) * 1e3
        return hook

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


# ---- SOC loss: vectorised vs a naive pairwise reference ----------------------------------
def soc_loss_pairwise(q, k, q_cls, k_cls, negative_reduction: str = 'sum',
                      temperature: float = 1.0):
    """Reference of eq. 8 from the full ``(Nq, Nk)`` cosine-similarity matrix of each image
    (``O(N^2 D)``), class means by masking; same conventions as ``soc_loss``."""
    import torch
    import torch.nn.functional as F

    batch, dim = q.shape[:2]
    total, count = q.new_zeros(()), 0
    for b in range(batch):
        qn = F.normalize(q[b].reshape(dim, -1), dim=0).T  # (Nq, D)
        kn = F.normalize(k[b].transpose(0, 1).reshape(dim, -1), dim=0)  # (D, Nk)
        sim = qn @ kn / temperature  # (Nq, Nk)
        yq, yk = q_cls[b].reshape(-1), k_cls[b].reshape(-1)
        classes = [int(c) for c in torch.unique(yk[yk >= 0])]
        if not classes:
            continue
        means = torch.stack([sim[:, yk == c].mean(1) for c in classes], 1)  # (Nq, C')
        for i in torch.nonzero(yq >= 0).flatten().tolist():
            y = int(yq[i])
            if y not in classes:
                continue
            pos = classes.index(y)
            others = [j for j in range(len(classes)) if j != pos]
            s_n = means[i, others].sum() if others else means.new_zeros(())
            if negative_reduction == 'mean' and others:
                s_n = s_n / len(others)
            total = total + F.softplus(s_n - means[i, pos])
            count += 1
    return total / max(count, 1)


def soc_benchmark(model, data: dict, iters: int, warmup: int, device) -> Optional[dict]:
    """Vectorised ``soc_loss`` vs :func:`soc_loss_pairwise` at the projector's resolution."""
    import torch

    from tr2m.models.losses import depth_classes, downsample_depth, soc_loss

    loss_soc = getattr(model, 'soc', None)  # the ScaleOrientedContrast component
    projector = getattr(loss_soc, 'projector', None)
    if loss_soc is None or projector is None or not hasattr(model, '_run'):
        return None
    batch = model.data_preprocessor(data, True)
    inputs, samples = batch['inputs'], batch['data_samples']
    with torch.no_grad():
        q = projector(model._run(inputs, samples)['feats']).float()  # (B, E, h, w)
        gt, valid = model.stack_gt(inputs, samples)
        small, valid_small = downsample_depth(gt, valid, tuple(q.shape[-2:]))
        cls = depth_classes(small, valid_small, loss_soc.num_classes)[:, 0]  # (B, h, w)
    gen = torch.Generator(device='cpu').manual_seed(0)
    q = torch.randn(q.shape, generator=gen).to(device).requires_grad_(True)
    k = torch.randn(q.shape[0], 2, *q.shape[1:], generator=gen).to(device)
    k_cls = torch.stack([cls, cls.roll(1, 0)], 1)
    opts = dict(negative_reduction=loss_soc.negative_reduction,
                temperature=loss_soc.temperature)

    def run(fn):
        def step():
            q.grad = None
            fn(q, k, cls, k_cls, **opts).backward()
        return step

    fast = run(lambda *a, **kw: soc_loss(*a, num_classes=loss_soc.num_classes, **kw))
    slow = run(soc_loss_pairwise)
    t_fast = time_it(fast, iters, warmup, device)
    t_slow = time_it(slow, max(1, min(iters, 3)), min(warmup, 1), device)
    with torch.no_grad():
        diff = (soc_loss(q, k, cls, k_cls, num_classes=loss_soc.num_classes, **opts)
                - soc_loss_pairwise(q, k, cls, k_cls, **opts)).abs().item()
    return dict(feature_shape=list(q.shape), vectorised_ms=mean(t_fast),
                pairwise_ms=mean(t_slow), speedup=mean(t_slow) / mean(t_fast),
                max_abs_diff=diff)


def text_cache_benchmark(model, data: dict, iters: int, warmup: int, device) -> Optional[dict]:
    """Text encoder time for the batch's captions without and with the caption cache."""
    import torch

    encoder = getattr(model, 'text_encoder', None)
    cache = getattr(encoder, 'cache', None)
    if encoder is None or cache is None:
        return None
    captions = [s.caption for s in data['data_samples']]
    size = cache.size
    try:
        with torch.no_grad():
            cache.size = 0
            uncached = time_it(lambda: encoder(captions), iters, warmup, device)
            cache.size = max(size, len(captions))
            cache.clear()
            encoder(captions)  # fill
            cached = time_it(lambda: encoder(captions), iters, warmup, device)
    finally:
        cache.size = size
        cache.clear()
    return dict(captions=len(captions), uncached_ms=mean(uncached), cached_ms=mean(cached),
                speedup=mean(uncached) / mean(cached))


# ---- main ---------------------------------------------------------------------------------
def run_benchmark(args) -> dict:
    import torch
    from mmengine.optim import build_optim_wrapper

    from tr2m.models.pretrained import RANDOM_INIT_ENV, random_init_requested
    from tr2m.registry import MODELS
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    if not args.pretrained:
        os.environ.setdefault(RANDOM_INIT_ENV, '1')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device')
    if args.amp and device != 'cuda':
        raise SystemExit('--amp needs --device cuda (mmengine AmpOptimWrapper)')
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    randomness = cfg.get('randomness') or {}
    torch.manual_seed(randomness.get('seed') or 0)
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        from mmengine.runner import load_checkpoint

        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.to(device)

    batch = args.batch_size or (cfg.get('train_dataloader') or {}).get('batch_size') or 2
    train_shape = tuple(args.shape) if args.shape else (
        pipeline_shape(_pipeline(cfg, 'train_dataloader'))
        or pipeline_shape(_pipeline(cfg, 'test_dataloader')) or (224, 224))
    test_shape = tuple(args.shape) if args.shape else (
        pipeline_shape(_pipeline(cfg, 'test_dataloader')) or train_shape)
    train_data = make_batch(batch, train_shape, seed=0)
    test_data = make_batch(batch, test_shape, seed=1)

    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if args.amp:
        optim_cfg['type'] = 'AmpOptimWrapper'
        optim_cfg.setdefault('loss_scale', 'dynamic')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    momentum_update = getattr(model, 'momentum_update', lambda: None)

    def train_step():
        model.train_step(train_data, optim_wrapper)
        momentum_update()

    def predict_step():
        with torch.no_grad(), torch.autocast(device_type=device, enabled=args.amp):
            model.test_step(test_data)

    result = OrderedDict(
        config=args.config, device=device, torch=torch.__version__,
        threads=torch.get_num_threads(), random_init=random_init_requested(), amp=args.amp,
        batch_size=batch, train_shape=list(train_shape), test_shape=list(test_shape),
        iters=args.iters, warmup=args.warmup)

    model.train()
    _reset_peak(device)
    result['train'] = phase(time_it(train_step, args.iters, args.warmup, device), batch, device)

    timer = ChildTimer(model, device)  # breakdown from separate, hooked steps
    try:
        hooked = time_it(train_step, max(1, min(args.iters, 5)), 0, device)
    finally:
        timer.remove()
    frozen = [n for n, c in model.named_children() if hasattr(c, 'weights_source')]
    per_step = {n: t / len(hooked) for n, t in timer.totals.items()}
    frozen_ms = sum(per_step[n] for n in frozen)
    result['breakdown'] = dict(
        step_ms=mean(hooked),
        modules={n: dict(forward_ms=per_step[n], frozen=n in frozen) for n in per_step},
        frozen_forward_ms=frozen_ms, frozen_share=frozen_ms / mean(hooked))

    model.eval()
    _reset_peak(device)
    result['predict'] = phase(time_it(predict_step, args.iters, args.warmup, device), batch,
                              device)
    result['text_encoder'] = text_cache_benchmark(model, train_data, args.iters, args.warmup,
                                                  device)
    model.train()
    result['soc'] = soc_benchmark(model, train_data, args.iters, args.warmup, device)
    result['ratios'] = dict(
        frozen_share=result['breakdown']['frozen_share'],
        text_cache_speedup=(result['text_encoder'] or {}).get('speedup'),
        soc_speedup=(result['soc'] or {}).get('speedup'))
    return result


def format_report(r: dict) -> str:
    lines = [f"{r['config']} on {r['device']} (torch {r['torch']}, {r['threads']} threads, "
             f"random init: {r['random_init']}, amp: {r['amp']})",
             f"batch {r['batch_size']}, train input {tuple(r['train_shape'])}, test input "
             f"{tuple(r['test_shape'])}, {r['iters']} iters after {r['warmup']} warm-up", '']
    for name in ('train', 'predict'):
        p = r[name]
        mem = f", peak {p['peak_mem_mib']:.0f} MiB" if 'peak_mem_mib' in p else ''
        lines.append(f"{name:<8} {p['ms_per_iter']:9.2f} ms/iter (median {p['ms_median']:.2f})"
                     f"  {p['images_per_s']:8.2f} images/s{mem}")
    b = r['breakdown']
    lines += ['', f"forward time per training step ({b['step_ms']:.2f} ms, hooked):"]
    for name, m in b['modules'].items():
        if m['forward_ms'] > 0:
            lines.append(f"  {name:<22} {m['forward_ms']:9.2f} ms"
                         + ('  (frozen)' if m['frozen'] else ''))
    lines += ['', 'ratios (same run):',
              f"  frozen share of the training step   {b['frozen_share']:.3f}"]
    t = r.get('text_encoder')
    if t:
        lines.append(f"  text encoder, cache speed-up        {t['speedup']:.1f}x "
                     f"({t['uncached_ms']:.3f} ms uncached vs {t['cached_ms']:.3f} ms cached, "
                     f"{t['captions']} captions)")
    s = r.get('soc')
    if s:
        lines.append(f"  SOC loss, vectorised speed-up       {s['speedup']:.1f}x "
                     f"({s['pairwise_ms']:.3f} ms pairwise vs {s['vectorised_ms']:.3f} ms, "
                     f"features {tuple(s['feature_shape'])}, |diff| {s['max_abs_diff']:.1e})")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    result = run_benchmark(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_report(result))
    return result


if __name__ == '__main__':
    cli.run(main)
