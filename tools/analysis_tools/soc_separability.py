"""How well a model's features separate depth classes (the paper's Figure 5, as a number).

``python tools/analysis_tools/soc_separability.py CONFIG CKPT|none [--feature neck]
[--num-classes 20] [--json]``

Runs the config's test split through the model, takes the output of the submodule
``--feature`` (TR2M: the neck's ``F_out``, which the scale and shift heads read; with SOC also
the projector's output) and labels its cells with the depth classes of eq. 7 (per image range,
classified at the input resolution, then the per-cell mode). The score is ``intra - inter``:
mean cosine similarity of same-class pixel pairs minus that of different-class pairs of one
image (``tr2m.models.losses.class_separability``), averaged over images, overall and per
dataset. Higher: pixels of one depth class look alike and differ from the other classes.
"""
import argparse
import contextlib
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tr2m.models.losses import class_separability, depth_classes, reduce_labels  # noqa: E402


def labels_at(gt: torch.Tensor, valid: torch.Tensor, input_size, size, num_classes: int):
    """Eq. 7 labels of the GT brought to the network input, then mode-reduced to ``size``."""
    gt = F.interpolate(gt[None], size=input_size, mode='nearest')[0]
    valid = F.interpolate(valid[None].float(), size=input_size, mode='nearest')[0] > 0.5
    cls = depth_classes(gt, valid & (gt > 0), num_classes)
    return reduce_labels(cls, size, num_classes + 1)


@torch.no_grad()
def separability(model, dataloader, feature: str = 'neck', num_classes: int = 20) -> dict:
    """``{dataset: {feature: {intra, inter, score}, ...}}`` plus ``'all'``."""
    targets = {feature: model.get_submodule(feature)}
    projector = getattr(getattr(model, 'soc', None), 'projector', None)
    if projector is not None:
        targets['soc.projector'] = projector
    seen = {}
    hooks = [m.register_forward_hook(lambda mod, a, out, n=n: seen.__setitem__(n, out))
             for n, m in targets.items()]
    if projector is not None:  # the projector does not run at test time: run it on F_out
        hooks.append(targets[feature].register_forward_hook(
            lambda mod, a, out: seen.__setitem__('soc.projector', projector(out))))
    rows = {}
    try:
        model.eval()
        for data in dataloader:
            batch = model.data_preprocessor(data, False)
            inputs, samples = batch['inputs'], batch['data_samples']
            seen.clear()
            model(inputs, samples, mode='tensor')
            for name, feats in seen.items():
                for i, s in enumerate(samples):
                    cls = labels_at(s.gt_depth.data.float(), s.gt_valid.data.bool(),
                                    tuple(inputs.shape[-2:]), tuple(feats.shape[-2:]),
                                    num_classes)
                    intra, inter = class_separability(feats[i:i + 1].float(), cls, num_classes + 1)
                    if torch.isfinite(intra) and torch.isfinite(inter):
                        ds = s.metainfo.get('dataset_name', 'data')
                        for key in (ds, 'all'):
                            rows.setdefault(key, {}).setdefault(name, []).append(
                                (float(intra), float(inter)))
    finally:
        for h in hooks:
            h.remove()
    out = {}
    for ds, per_feature in rows.items():
        out[ds] = {}
        for name, pairs in per_feature.items():
            intra = sum(p[0] for p in pairs) / len(pairs)
            inter = sum(p[1] for p in pairs) / len(pairs)
            out[ds][name] = dict(intra=intra, inter=inter, score=intra - inter, images=len(pairs))
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    parser.add_argument('--feature', default='neck', help='dotted submodule name')
    parser.add_argument('--num-classes', type=int, default=20)
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    from mmengine.runner import Runner

    from tr2m.apis import init_depther
    from tr2m.utils.config import load_config

    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    with contextlib.redirect_stdout(sys.stderr):  # mmengine's loading messages: not the JSON
        model = init_depther(args.config, ckpt)
    cfg = load_config(args.config)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    out = separability(model, loader, args.feature, args.num_classes)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for ds in sorted(out, key=lambda k: (k != 'all', k)):
            for name, r in out[ds].items():
                print(f"{ds:<22}{name:<16} intra {r['intra']:.4f}  inter {r['inter']:.4f}  "
                      f"score {r['score']:.4f}  ({r['images']} images)")
    return out


if __name__ == '__main__':
    main()
