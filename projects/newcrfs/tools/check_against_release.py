"""Check this port against the released NeWCRFs code: same parameter count, and the same
outputs (every CRF stage and the depth) for the same weights and input.

    python projects/newcrfs/tools/check_against_release.py --newcrfs-root PATH_TO_CLONE \
        [--version tiny07] [--size 160 224] [--json]

``PATH_TO_CLONE`` is a clone of https://github.com/aliyun/NeWCRFs; its ``newcrfs/networks``
package is imported from there (it needs mmcv's ``ConvModule``; ``mmcv-lite`` has it). The
released model is built with random weights, its state dict is converted with
:func:`convert_released_state_dict` and loaded into :class:`NeWCRFs` (strictly), and both run
in eval mode on the same image. Nothing of the released code is copied into this repository.
"""
import argparse
import json
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, REPO)

import torch  # noqa: E402

from projects.newcrfs.newcrfs import NeWCRFs, convert_released_state_dict  # noqa: E402
from tr2m.models.layers.image_ops import normalize  # noqa: E402
from tr2m.utils import register_all_modules  # noqa: E402

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def released_model(root: str, version: str, max_depth: float):
    sys.path.insert(0, osp.join(root, 'newcrfs'))
    from networks.NewCRFDepth import NewCRFDepth  # the user's clone

    return NewCRFDepth(version=version, inv_depth=False, max_depth=max_depth, pretrained=None)


def compare(root: str, version: str, size, max_depth: float = 10.0, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    theirs = released_model(root, version, max_depth).eval()
    ours = NeWCRFs(arch=version, pretrained=None, max_depth=max_depth, flip_test=False).eval()
    ours.load_state_dict(convert_released_state_dict(theirs.state_dict()), strict=True)
    image = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(seed))
    captured = {}

    def keep(name):
        return lambda module, args, out: captured.__setitem__(name, out)

    for i in range(4):
        getattr(theirs, f'crf{i}').register_forward_hook(keep(f'released.crf{i}'))
        ours.decode_head.crf_blocks[i].register_forward_hook(keep(f'ours.crf_blocks.{i}'))
    with torch.no_grad():
        depth_theirs = theirs(normalize(image, IMAGENET_MEAN, IMAGENET_STD))
        depth_ours = ours._forward(image)
    diff = {f'crf_blocks.{i}': (captured[f'ours.crf_blocks.{i}']
                                - captured[f'released.crf{i}']).abs().max().item()
            for i in range(4)}
    diff['depth'] = (depth_ours - depth_theirs).abs().max().item()
    return dict(version=version, size=list(size),
                params_released=sum(p.numel() for p in theirs.parameters()),
                params_ours=sum(p.numel() for p in ours.parameters()),
                depth_range=[depth_ours.min().item(), depth_ours.max().item()],
                max_abs_diff=diff)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--newcrfs-root', required=True, help='clone of aliyun/NeWCRFs')
    parser.add_argument('--version', default='tiny07', help='tiny07 | base07 | large07')
    parser.add_argument('--size', type=int, nargs=2, default=(160, 224), metavar=('H', 'W'))
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    register_all_modules()
    result = compare(args.newcrfs_root, args.version, tuple(args.size))
    print(json.dumps(result, indent=2 if not args.json else None))
    return result


if __name__ == '__main__':
    main()
