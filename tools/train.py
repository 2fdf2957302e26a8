"""Train a depther: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]``.

Several processes: ``bash tools/dist_train.sh CONFIG NPROC [args]`` (torchrun) or
``bash tools/slurm_train.sh PARTITION JOB CONFIG [args]``; see the README.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

from mmengine.config import Config, DictAction  # noqa: E402

from tr2m.apis.runs import train_config  # noqa: E402
from tr2m.cache import apply_feature_cache  # noqa: E402
from tr2m.utils import cli, register_all_modules  # noqa: E402
from tr2m.utils.checkpoint import check_checkpoint_file, find_resumable_checkpoint  # noqa: E402
from tr2m.utils.config import load_config  # noqa: E402
from tr2m.utils.errors import ArgumentError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a tr2m depther')
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


def apply_amp(cfg: Config, dtype: str = 'bfloat16') -> Config:
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


def build_config(args) -> Config:
    """The config of the command line: loaded with strict overrides, in cache mode when it
    has ``cache=dict(root=...)``, with ``--amp`` and ``--resume`` applied."""
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    apply_feature_cache(cfg)  # frozen outputs read from the feature cache (when configured)
    if args.amp:
        apply_amp(cfg, args.amp_dtype)
    resolve_resume(cfg, args.resume)
    return cfg


def resolve_resume(cfg: Config, resume) -> None:
    """``--resume`` alone: the work dir's newest *complete* checkpoint (``last_checkpoint``
    unless it names a missing or torn file; none: train from scratch); ``--resume CKPT``: that
    file, which must be a complete checkpoint."""
    if resume == 'auto':
        found = find_resumable_checkpoint(cfg.work_dir)
        if found is None:
            print(f'--resume: no complete checkpoint in {cfg.work_dir}; training from scratch')
        cfg.resume, cfg.load_from = found is not None, found
    elif resume is not None:
        check_checkpoint_file(resume)
        cfg.resume, cfg.load_from = True, resume


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    train_config(build_config(args))  # required hooks and datasets checked before any build


if __name__ == '__main__':
    cli.run(main)
