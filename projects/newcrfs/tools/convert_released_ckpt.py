"""Convert a released NeWCRFs checkpoint into one that ``tools/test.py`` loads.

    python projects/newcrfs/tools/convert_released_ckpt.py model_nyu.ckpt \
        work_dirs/newcrfs_released_nyu.pth [--arch large07]
    python tools/test.py projects/newcrfs/configs/newcrfs_swin_l_nyu.py \
        work_dirs/newcrfs_released_nyu.pth

The released files (``model_nyu.ckpt``, ``model_kittieigen.ckpt`` of aliyun/NeWCRFs) hold
``{'model': state dict with 'module.' prefixes, 'optimizer': ..., 'global_step': ...}``; they
are read with ``torch.load(weights_only=True)``. The converted state dict is checked against
:class:`NeWCRFs` of ``--arch`` (built on the meta device) before it is written.
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, REPO)

import torch  # noqa: E402

from projects.newcrfs.newcrfs import NeWCRFs, convert_released_state_dict  # noqa: E402
from tr2m.utils import allow_mmengine_checkpoints, register_all_modules  # noqa: E402
from tr2m.utils.errors import CheckpointError, MissingFileError  # noqa: E402


def convert(src: str, dst: str, arch: str = 'large07') -> dict:
    """Read ``src``, convert, check against ``NeWCRFs(arch)``, write ``dst``; return it."""
    if not osp.isfile(src):
        raise MissingFileError(f'released checkpoint not found: {src}')
    allow_mmengine_checkpoints()
    try:
        ckpt = torch.load(src, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised as a one-line user error
        raise CheckpointError(
            f'{src}: cannot be read safely ({type(err).__name__}: {err})') from err
    state = ckpt.get('model', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f'{src}: no state dict inside')
    try:
        converted = convert_released_state_dict(state)
    except KeyError as err:
        raise CheckpointError(f'{src}: {err}') from None
    with torch.device('meta'):
        expected = NeWCRFs(arch=arch, pretrained=None).state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    wrong = sorted(k for k in set(expected) & set(converted)
                   if tuple(expected[k].shape) != tuple(converted[k].shape))
    if missing or unexpected or wrong:
        raise CheckpointError(
            f'{src} does not fit NeWCRFs(arch={arch!r}): {len(missing)} missing {missing[:3]}, '
            f'{len(unexpected)} unexpected {unexpected[:3]}, {len(wrong)} shape mismatches '
            f'{wrong[:3]}')
    out = dict(state_dict=converted,
               meta=dict(source=osp.abspath(src), arch=arch,
                         global_step=int(ckpt.get('global_step', -1))))
    torch.save(out, dst)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released checkpoint (model_nyu.ckpt, ...)')
    parser.add_argument('dst', help='output .pth for tools/test.py')
    parser.add_argument('--arch', default='large07', help='NeWCRFs preset (default: large07)')
    args = parser.parse_args(argv)
    register_all_modules()
    out = convert(args.src, args.dst, args.arch)
    print(f'{len(out["state_dict"])} tensors written to {args.dst}')


if __name__ == '__main__':
    main()
