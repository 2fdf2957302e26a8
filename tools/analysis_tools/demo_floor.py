"""What the offline demo's simulated relative depth allows: the floor of a rescaling model.

``python tools/analysis_tools/demo_floor.py [CONFIG] [--draws 32] [--json]``

The demo's relative depth (``SimulatedRelativeDepth``) is ``a * inv_n * (1 + eps f) - b``: the
normalised inverse GT with a smooth distortion ``f`` and a random per-image affine ``(a, b)``
drawn from a known prior. Nothing in the image or the caption carries ``(a, b)``. This tool
reports, on the config's test split, AbsRel (per image, then averaged; per domain) of:

- ``affine_known``: one scale and shift per image fitted to the GT in inverse depth (the
  ``lsq_inverse`` alignment): what a method that could see the affine reaches;
- ``affine_unknown``: the Bayes-optimal single ``(A, B)`` per image for
  ``D = 1 / (A * Dr + B)`` chosen knowing the GT, the distortion and the prior of ``(a, b)``
  but not the draw (minimising the mean AbsRel over ``--draws`` prior samples): the floor of
  any model that rescales ``Dr`` with one scale and shift per image (RSA-like, or TR2M's maps
  when they are constant). Pixel-wise maps can only go below it by reading depth structure
  from the image itself.

Computed at the GT resolution (the pipeline computes ``Dr`` at the network input size and
upsamples the prediction, a small difference).
"""
import argparse
import json
import math
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from tr2m.functional import affine_inverse_to_depth, eval_mask, fit_scale_shift  # noqa: E402
from tr2m.models.backbones.simulated_relative_depth import SimulatedRelativeDepth  # noqa: E402
from tr2m.structures import DepthProtocol, protocol_of  # noqa: E402
from tr2m.utils import register_all_modules  # noqa: E402
from tr2m.utils.config import load_config  # noqa: E402

DEFAULT_CONFIG = 'configs/quickstart/tr2m_synthetic.py'


def abs_rel(pred, gt, mask):
    """Per-map AbsRel over ``mask`` (leading dims kept)."""
    err = torch.where(mask, (pred - gt).abs() / gt.clamp_min(1e-12), 0.0)
    return err.flatten(-2).sum(-1) / mask.flatten(-2).sum(-1).clamp_min(1)


def image_floor(sim: SimulatedRelativeDepth, gt: torch.Tensor, valid: torch.Tensor,
                protocol: DepthProtocol, key: str, draws: int, seed: int = 0) -> dict:
    """``affine_known`` and ``affine_unknown`` AbsRel of one image (see the module docstring)."""
    gt = gt.double()
    lo, hi = protocol.min_depth or 1e-3, protocol.upper
    mask = valid & eval_mask(gt, protocol.min_depth, protocol.max_depth, protocol.crop)
    field, a, u = sim.draw(key, gt.shape[-2:])
    inv_n = sim.normalised_inverse(gt, valid)
    rel = sim.compose(inv_n, field, a, u)
    # the affine known: one inverse-space least-squares fit to the GT
    s, t = fit_scale_shift(rel, 1.0 / gt.clamp_min(1e-12), mask)
    known = abs_rel(affine_inverse_to_depth(rel, s, t).clamp(lo, hi), gt, mask)
    # the affine unknown: (A, B) shared by prior draws of (a, b)
    gen = torch.Generator().manual_seed(seed)
    log_lo, log_hi = (math.log(v) for v in sim.scale_range)
    a_k = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(draws, generator=gen,
                                                            dtype=torch.float64))
    u_k = torch.rand(draws, generator=gen, dtype=torch.float64)
    rel_k = sim.compose(inv_n, field, a_k[:, None, None], u_k[:, None, None])  # (K, H, W)
    med = (1.0 / gt[mask]).median()
    params = torch.stack([torch.log(med), torch.log(0.05 * med)]).clone().requires_grad_(True)
    opt = torch.optim.Adam([params], lr=0.05)
    for _ in range(300):
        pred = 1.0 / (params[0].exp() * rel_k + params[1].exp())
        loss = abs_rel(pred.clamp(lo, hi), gt, mask).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = 1.0 / (params[0].exp() * rel_k + params[1].exp())
        unknown = abs_rel(pred.clamp(lo, hi), gt, mask).mean()
    return dict(affine_known=float(known), affine_unknown=float(unknown))


def run(config: str, draws: int) -> dict:
    register_all_modules()
    cfg = load_config(config)
    from tr2m.registry import DATASETS

    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    sim = SimulatedRelativeDepth(**{k: v for k, v in cfg.model.relative_depth.items()
                                    if k != 'type'})
    per_domain = {}
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        gt, valid = sample.gt_depth.data[0], sample.gt_valid.data[0].bool()
        res = image_floor(sim, gt, valid, protocol_of(sample), sample.img_path, draws)
        per_domain.setdefault(sample.metainfo['dataset_name'], []).append(res)
    out = {}
    everything = [r for rows in per_domain.values() for r in rows]
    for name, rows in [('all', everything), *sorted(per_domain.items())]:
        out[name] = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        out[name]['images'] = len(rows)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--draws', type=int, default=32, help='prior samples of (a, b)')
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    args = parser.parse_args(argv)
    out = run(args.config, args.draws)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{'dataset':<22}{'affine_known':>14}{'affine_unknown':>16}{'images':>8}")
        for name, row in out.items():
            print(f"{name:<22}{row['affine_known']:>14.4f}{row['affine_unknown']:>16.4f}"
                  f"{row['images']:>8}")
    return out


if __name__ == '__main__':
    main()
