"""Eq. 8's terms on a trained checkpoint: is SOC contrasting classes, or has it found a shortcut?

``python tools/analysis_tools/soc_terms.py CONFIG CKPT [--batches 3] [--live-keys] [--json]``

Runs ``--batches`` training batches of the config (its train pipeline and sampler, seed 0)
through the model in training mode without gradients, and prints, per batch, ``loss_soc``
(weighted, as logged) and the diagnostics ``soc_cos_pos`` (mean cosine of a query to the key
mean of its own depth class) and ``soc_cos_neg`` (to one other class's key mean). ``--live-keys``
first copies the live weights into the momentum branch (momentum 0 for one update), so the keys
come from the network that makes the queries: comparing both runs shows whether the loss is met
by contrasting classes (``cos_pos`` well above ``cos_neg`` either way) or by turning the queries
away from a momentum branch that lags behind (``cos_pos < 0`` with the checkpoint's keys only).
"""
import argparse
import contextlib
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

KEYS = ('loss_soc', 'soc_cos_pos', 'soc_cos_neg')


def soc_terms(model, loader, batches: int):
    import torch

    rows = []
    model.train()
    with torch.no_grad():
        for i, data in enumerate(loader):
            if i == batches:
                break
            data = model.data_preprocessor(data, True)
            out = model(**data, mode='loss')
            rows.append({k: float(out[k]) for k in KEYS if k in out})
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    parser.add_argument('--batches', type=int, default=3)
    parser.add_argument('--live-keys', action='store_true',
                        help='set the momentum branch to the live weights first')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    from tr2m.apis import init_depther
    from tr2m.engine.runner import DepthRunner as Runner
    from tr2m.models.contrast import soc_components
    from tr2m.utils.config import load_config
    from tr2m.utils.errors import ArgumentError

    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    with contextlib.redirect_stdout(sys.stderr):  # mmengine's loading messages
        model = init_depther(args.config, ckpt)
    components = soc_components(model)
    if not components:
        raise ArgumentError(f'{args.config}: the model has no ScaleOrientedContrast (model.soc)')
    if args.live_keys:
        for soc in components:
            momentum, soc.momentum = soc.momentum, 0.0
            soc.momentum_update()
            soc.momentum = momentum
    cfg = load_config(args.config)
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.pop('persistent_workers', None)
    with contextlib.redirect_stdout(sys.stderr):
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    rows = soc_terms(model, loader, args.batches)
    out = dict(keys='live' if args.live_keys else 'checkpoint', batches=rows,
               mean={k: sum(r[k] for r in rows) / len(rows) for k in KEYS if rows and k in rows[0]})
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"keys from the {'live weights' if args.live_keys else 'checkpoint momentum branch'}")
        for i, r in enumerate(rows):
            print(f'batch {i}: ' + '  '.join(f'{k} {v:.4f}' for k, v in r.items()))
        print('mean:    ' + '  '.join(f'{k} {v:.4f}' for k, v in out['mean'].items()))
    return out


if __name__ == '__main__':
    from tr2m.utils import cli

    cli.run(main)
