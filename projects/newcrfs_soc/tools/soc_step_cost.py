"""What SOC costs a training step: the config's depther without SOC, with the config's SOC and
with the cheap momentum branch, timed side by side in one process.

``python projects/newcrfs_soc/tools/soc_step_cost.py CONFIG [--variants plain full cheap]
[--shape H W] [--batch-size N] [--iters N] [--json]``

Every variant is built from the same seed with random weights (``pretrained=None``; the toy
preset is never swapped in: the architecture is the config's) and trained on the same random
batch (images in [0, 1], a 1-10 m GT ramp). A step is the data-free part of what the Runner
does: ``mode='loss'``, backward, an Adam step and the ``SOCMomentumHook`` update. The variants
take turns each iteration (one warm-up round untimed), so load on a shared machine hits them
alike; the table gives the median CPU time per step (``time.process_time``, this process only)
and its ratio to the plain model, the trainable parameters, and the momentum branch (EMA
copies, in parameters and fp32 bytes).

Variants: ``plain`` (``soc=None``), ``full`` (the config's SOC), ``cheap`` (the config's SOC
with ``momentum_modules=None``: the EMA copy of the contrasted module alone, applied to its
captured inputs).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

import torch  # noqa: E402

VARIANTS = ('plain', 'full', 'cheap')


def variant_config(model_cfg: dict, variant: str) -> dict:
    """The model config of one variant."""
    cfg = dict(model_cfg, pretrained=None)
    if variant == 'plain':
        cfg['soc'] = None
    elif variant == 'full':
        if not cfg.get('soc'):
            raise ValueError('the config has no soc entry: the full variant needs one')
    elif variant == 'cheap':
        if not cfg.get('soc'):
            raise ValueError('the config has no soc entry: the cheap variant needs one')
        cfg['soc'] = dict(cfg['soc'], momentum_modules=None)
    else:
        raise ValueError(f'variant must be one of {VARIANTS}, got {variant!r}')
    return cfg


def make_batch(batch: int, shape, seed: int = 0):
    from mmengine.structures import PixelData

    from tr2m.structures import DepthDataSample

    gen = torch.Generator().manual_seed(seed)
    h, w = shape
    inputs = torch.rand(batch, 3, h, w, generator=gen)
    samples = []
    for i in range(batch):
        s = DepthDataSample(metainfo=dict(img_path=f'img_{i}.png', dataset_name='bench',
                                          sample_idx=i))
        ramp = torch.linspace(1.0, 10.0, h)[:, None].expand(h, w)
        s.gt_depth = PixelData(data=(ramp * (1 + 0.1 * torch.rand(h, w, generator=gen)))[None])
        s.gt_valid = PixelData(data=torch.rand(1, h, w, generator=gen) > 0.1)
        samples.append(s)
    return inputs, samples


def step(model, optim, inputs, samples) -> float:
    """One training step; returns its CPU seconds."""
    start = time.process_time()
    losses = model(inputs, samples, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    optim.zero_grad()
    total.backward()
    optim.step()
    if getattr(model, 'soc', None) is not None:
        model.soc.momentum_update()
    return time.process_time() - start


def count(params) -> int:
    return sum(p.numel() for p in params)


def measure(config: str, variants=VARIANTS, shape=None, batch_size=None, iters: int = 5) -> dict:
    """``{variant: {cpu_s, ratio, trainable, momentum_params, momentum_bytes}}``."""
    from tr2m.registry import MODELS
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    register_all_modules()
    cfg = load_config(config)
    if shape is None:
        crop = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'RandomCrop']
        shape = tuple(crop[0]['crop_size']) if crop else (96, 128)
    batch = batch_size or cfg.train_dataloader.batch_size
    inputs, samples = make_batch(batch, shape)
    models = {}
    for name in variants:
        torch.manual_seed(0)
        model = MODELS.build(variant_config(cfg.model.to_dict(), name)).train()
        optim = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-5)
        models[name] = (model, optim)
    times = {name: [] for name in variants}
    for it in range(iters + 1):
        for name, (model, optim) in models.items():
            spent = step(model, optim, inputs, samples)
            if it:  # the first round warms up
                times[name].append(spent)
    out = {}
    base = statistics.median(times['plain']) if 'plain' in times else None
    for name, (model, _) in models.items():
        soc = getattr(model, 'soc', None)
        branch = count(soc.momentum_branch.parameters()) + count(
            soc.momentum_projector.parameters()) if soc is not None else 0
        cpu = statistics.median(times[name])
        out[name] = dict(cpu_s=cpu, ratio=cpu / base if base else None,
                         trainable=count(p for p in model.parameters() if p.requires_grad),
                         momentum_params=branch, momentum_bytes=4 * branch,
                         input=[batch, 3, *shape], iters=iters)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--variants', nargs='+', choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                        help="input size (default: the train pipeline's RandomCrop, else 96 128)")
    parser.add_argument('--batch-size', type=int, help='default: the train batch size')
    parser.add_argument('--iters', type=int, default=5, help='timed rounds (one more warms up)')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    out = measure(args.config, args.variants, args.shape, args.batch_size, args.iters)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name, r in out.items():
            ratio = f"{r['ratio']:.2f}x" if r['ratio'] else '-'
            print(f"{name:<6} CPU {r['cpu_s']:.3f} s/step ({ratio} plain)  trainable "
                  f"{r['trainable']:,}  momentum branch {r['momentum_params']:,} parameters "
                  f"({r['momentum_bytes'] / 1e6:.1f} MB fp32)  input {r['input']}")
    return out


if __name__ == '__main__':
    main()
