"""Time a depther's training step with and without the frozen-feature cache, its frozen share,
mixed precision, inference, and the SOC loss against its pairwise form -- all in one run; and
whether the data path can feed a device (``--sections data``).

``python tools/analysis_tools/benchmark.py CONFIG [--batch-size N] [--shape H W] [--repeats N]
[--warmup N] [--threads N] [--device cpu|cuda] [--sections ...] [--cache-dtype float16|int8]
[--soc-size H W [H W ...]] [--soc-dim D] [--soc-keys K] [--soc-classes C]
[--data-manifest FILE] [--data-samples N] [--data-device NAME] [--cache-root DIR]
[--cache-samples N] [--json]``

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
  back every step with ``LoadCachedFeatures``; the model is built in cache mode (the cache
  readers in place of the frozen models) from the same seed. Equality: the first step's
  losses of both runs and the trainable weights after 3 steps (both start from identical
  weights; reported).
- ``frozen``: the uncached step with captions encoded every step (table off), with timing hooks
  on every top-level child: each one's forward time and share of the step.
- ``amp``: the ``train`` (and ``cache``) steps under bfloat16 autocast (``AutocastOptimWrapper``,
  what ``tools/train.py --amp`` uses), the relative difference of its losses from float32
  (same weights, and at the 3rd step of both runs from identical weights); with ``predict``
  also ``test_step`` under bfloat16 autocast, interleaved with the float32 one.
- ``optim``: ``AdamW.step()`` on copies of the trainable parameters with random gradients, the
  for-loop, foreach and fused implementations interleaved, and their weights' difference
  from the for-loop's after the steps (the default is fused: ``TrainableOptimWrapperConstructor``).
- ``soc``: ``soc_loss`` (class means of the keys) against ``soc_loss_pairwise`` (the full
  N x M cosine matrix, one ``bmm``, class means by a one-hot product) at each ``--soc-size``
  query grid (default: 10x13 and 17x23, the cells the paper config contrasts at 266x350 and
  476x644, and 64x64 as a stress point), ``--soc-keys`` key sets, ``--soc-dim`` channels
  (default 160, the paper config's projector), ``--soc-classes`` classes, batch
  ``--batch-size``: forward + backward time, peak memory (CUDA: ``max_memory_allocated``; CPU:
  the peak-RSS increase of one call in a fresh subprocess, ``VmHWM`` reset first), and the
  differences of the loss value and of its gradient.
- ``predict``: ``model.test_step`` without gradients.
- ``data`` (only when named): can the data path feed the device? Samples/s of one data worker
  on the config's train pipeline (``--data-manifest``: over that manifest's frames, e.g.
  ``../shared/data/rgbd_real/manifest.json``), CPU time measured inside the worker; the
  training samples/s a device consumes (``--data-device``, default the CUDA device present,
  else H100), from one step's FLOPs (``scaled_dot_product_attention`` counted) and a 30-40%
  utilisation of its dense bf16 peak, uncached and cached; the workers that needs; the feature
  cache's bytes per sample, size (``--cache-root``, or ``--cache-samples`` x bytes) against
  RAM, and its random read rate with the page cache dropped, with a warning when the cache
  cannot be read as fast as the device computes (:mod:`tr2m.analysis.data_benchmark`).

The first lines name the device, its model and instruction set and what ``--precision auto``
picks there (``tr2m.utils.hardware.describe_device``): every figure belongs to that machine.

JSON (``--json`` prints it as the last line): ``config device hardware torch threads random_init
batch_size shape repeats warmup sections`` and, per section present: ``train``/``predict``:
``{wall_ms cpu_ms images_per_s wall_ms_all cpu_ms_all repeats warmup [peak_mem_mib]}``; ``cache``:
the same plus ``dtype speedup first_step_losses {key: [uncached, cached]} first_step_rel_diff {key:
rel} first_step_max_rel_diff first_step_grad_rel_diff speedup_cpu weights {max_abs_diff
init_max_abs_diff update_rel_diff}`` (``weights`` null with fewer than 3 steps); ``frozen``: ``step
{wall_ms cpu_ms ...} modules {name: {forward_ms share frozen}} frozen_share``; ``amp``: ``dtype
train {..., speedup} [cache {..., speedup}] [predict {..., speedup depth_median_rel_diff
depth_max_rel_diff}] losses_rel_diff {key: rel} losses_abs_diff {key: abs} step3_losses {key: [fp32,
bf16]} step3_losses_rel_diff {key: rel}``; ``optim``: ``num_params num_tensors hyper loop {wall_ms
cpu_ms ...} foreach {..., max_abs_diff} fused {...} fused_speedup fused_speedup_cpu
fused_vs_foreach``; ``soc``: per grid ``HxW``: ``queries key_sets keys_per_image classes class_mean
{wall_ms cpu_ms peak_mib} pairwise {...} speedup speedup_cpu memory_ratio loss max_abs_diff rel_diff
grad_max_abs_diff memory_method``; ``ratios``: ``cache_speedup cache_speedup_cpu frozen_share
soc_speedup soc_speedup_cpu soc_memory_ratio (of the first SOC grid) amp_speedup amp_speedup_cpu
amp_speedup_cached amp_speedup_cached_cpu amp_speedup_predict amp_speedup_predict_cpu
optim_fused_speedup optim_fused_speedup_cpu`` (null when not measured); ``data``: ``source
pipeline {samples workers cpu_ms_per_sample cpu_ms_median samples_per_s_per_worker
wall_samples_per_s} flops {train frozen cached per_sample_train per_sample_cached} device
{device precision peak_tflops utilisation train cached} workers_needed {train cached}
auto_workers cache {root bytes samples bytes_per_sample dtype read {bytes_per_s reads chunk cold}
memory_total memory_available needed_bytes_per_s fits_in_ram read_bytes_per_s ok warning}``
(rates as [low, high] over the utilisation range).
Speed-ups are ratios of the medians, wall (``speedup``) and CPU time (``speedup_cpu``); on a
shared machine the CPU figure is the steadier.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import DictAction  # noqa: E402

from tr2m.analysis.benchmark import (  # noqa: E402
    DEFAULT_SECTIONS,
    SECTIONS,
    SOC_SIZES,
    BenchmarkOptions,
    run_benchmark,
)
from tr2m.analysis.benchmark_report import format_report  # noqa: E402
from tr2m.utils import cli  # noqa: E402


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
    parser.add_argument('--sections', nargs='+', choices=SECTIONS, default=list(DEFAULT_SECTIONS),
                        help='default: all but data')
    parser.add_argument('--cache-dtype', choices=('float16', 'int8'), default='float16')
    parser.add_argument('--soc-size', nargs='+', type=int, default=list(SOC_SIZES),
                        metavar='H W', help='SOC query grids, H W pairs (default: 10 13 17 23 '
                        "64 64: the paper config's cells at 266x350 and 476x644, and a stress "
                        'point)')
    parser.add_argument('--soc-dim', type=int, default=160,
                        help="SOC feature channels (default: 160, the paper config's projector)")
    parser.add_argument('--soc-keys', type=int, default=2)
    parser.add_argument('--soc-classes', type=int, default=20)
    parser.add_argument('--data-manifest', help='data: frames of this manifest through the '
                        "config's train pipeline (e.g. ../shared/data/rgbd_real/manifest.json)")
    parser.add_argument('--data-samples', type=int, default=64, help='data: samples timed')
    parser.add_argument('--data-device', help='data: the device whose consumption is '
                        'estimated (default: the CUDA device present, else H100)')
    parser.add_argument('--cache-root', help='data: a feature cache whose size and read rate '
                        'are checked (default: a scratch file in the temporary folder)')
    parser.add_argument('--cache-samples', type=int,
                        help='data: samples a cache would hold (its size without --cache-root)')
    parser.add_argument('--pretrained', action='store_true',
                        help='do not set TR2M_RANDOM_INIT=1 (load the pretrained weights)')
    parser.add_argument('--json', action='store_true', help='end with one JSON object')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error('--repeats must be >= 1 and --warmup >= 0')
    if len(args.soc_size) % 2:
        parser.error('--soc-size takes H W pairs')
    if args.data_samples < 1:
        parser.error('--data-samples must be >= 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    result = run_benchmark(args.config, BenchmarkOptions.from_args(args))
    print(format_report(result))
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == '__main__':
    cli.run(main)
