"""Train a depther: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]``.

Several processes: ``bash tools/dist_train.sh CONFIG NPROC [args]`` (torchrun) or
``bash tools/slurm_train.sh PARTITION JOB CONFIG [args]``; see the README.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

# Only light imports here: --help, argument errors and config-key errors answer before torch,
# mmengine's runner and the models are imported (each function imports what it needs).
from tr2m.utils import cli  # noqa: E402
from tr2m.utils.cli import DictAction  # noqa: E402
from tr2m.utils.errors import ArgumentError  # noqa: E402
from tr2m.utils.files import check_checkpoint_exists  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a tr2m depther',
        epilog=cli.code_execution_note('CONFIG (and every _base_ file it inherits) is'))
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where checkpoints and logs go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                        help='resume from CKPT, or from the latest checkpoint of the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bfloat16 autocast of the frozen encoders and the '
                        'trainable part, on CPU or CUDA (the losses stay float32). Off by '
                        'default (float32); it pays on CUDA GPUs with bf16 and CPUs with AMX, '
                        'and is several times slower on CPUs without bf16 instructions: '
                        '`python -m tr2m.utils.hardware` says which this machine is')
    parser.add_argument('--amp-dtype', choices=('bfloat16', 'float16'), default='bfloat16',
                        help='autocast dtype of --amp; float16 adds dynamic loss scaling '
                        '(mmengine AmpOptimWrapper, CUDA only)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher for distributed training')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def apply_amp(cfg, dtype: str = 'bfloat16'):
    """Mixed precision in the config's optimizer wrapper: ``AutocastOptimWrapper`` (bfloat16,
    CPU or CUDA, no loss scaling) or mmengine's ``AmpOptimWrapper`` (float16 with dynamic loss
    scaling, CUDA only)."""
    if dtype == 'float16':
        import torch

        if not torch.cuda.is_available():
            raise ArgumentError('--amp-dtype float16 needs CUDA (loss scaling, mmengine '
                                'AmpOptimWrapper); --amp with bfloat16 also runs on CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'float16'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    elif dtype == 'bfloat16':
        import torch

        from tr2m.utils.hardware import device_info

        info = device_info('cuda' if torch.cuda.is_available() else 'cpu')
        if not info.bf16_auto:
            print(f'--amp: bfloat16 autocast on {info.describe()}')
        cfg.optim_wrapper.type = 'AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
    else:
        raise ValueError(f"amp dtype must be 'bfloat16' or 'float16', got {dtype!r}")
    return cfg


def build_config(args):
    """The config of the command line: loaded with strict overrides, in cache mode when it
    has ``cache=dict(root=...)``, with ``--amp`` and ``--resume`` applied."""
    from tr2m.utils.config import load_config

    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    from tr2m.cache import apply_feature_cache

    apply_feature_cache(cfg)  # frozen outputs read from the feature cache (when configured)
    if args.amp:
        apply_amp(cfg, args.amp_dtype)
    resolve_resume(cfg, args.resume)
    return cfg


def restart_count() -> int:
    """How many times this run was restarted: torchrun's ``TORCHELASTIC_RESTART_COUNT``
    (``dist_train.sh`` with ``MAX_RESTARTS``) or ``slurm_train.sh``'s ``TR2M_RESTART_COUNT``."""
    for var in ('TORCHELASTIC_RESTART_COUNT', 'TR2M_RESTART_COUNT'):
        value = os.environ.get(var, '')
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 0


def resolve_resume(cfg, resume) -> None:
    """``--resume`` alone: the work dir's newest *complete* checkpoint (``last_checkpoint``
    unless it names a missing or torn file; none: train from scratch); ``--resume CKPT``: that
    file, which must be a complete checkpoint. A restarted run (:func:`restart_count` > 0)
    resumes from the work dir's newest complete checkpoint whatever the command says (the
    progress made since CKPT or since the start is kept); without one it starts as told."""
    from tr2m.utils.checkpoint import check_checkpoint_file, find_resumable_checkpoint
    from tr2m.utils.checkpoint_sources import is_remote_checkpoint

    restarts = restart_count()
    if restarts:
        found = find_resumable_checkpoint(cfg.work_dir)
        if found is not None:
            print(f'restart {restarts}: resuming from {found}, the newest complete checkpoint '
                  f'of {cfg.work_dir}', flush=True)
            cfg.resume, cfg.load_from = True, found
            return
        print(f'restart {restarts}: no complete checkpoint in {cfg.work_dir} yet; starting as '
              'the command says', flush=True)

    if resume == 'auto':
        found = find_resumable_checkpoint(cfg.work_dir)
        if found is None:
            print(f'--resume: no complete checkpoint in {cfg.work_dir}; training from scratch')
        cfg.resume, cfg.load_from = found is not None, found
    elif resume is not None:
        if not is_remote_checkpoint(resume):  # a URL is fetched and checked by train_config
            check_checkpoint_file(resume)
        cfg.resume, cfg.load_from = True, resume


def main(argv=None):
    args = parse_args(argv)
    if args.resume not in (None, 'auto'):
        check_checkpoint_exists(args.resume)  # a typo in the path: before anything is imported
    cfg = build_config(args)  # config, keys, types and values checked first
    from tr2m.apis.runs import train_config

    train_config(cfg)  # required hooks and datasets checked before any build


if __name__ == '__main__':
    cli.run(main)
