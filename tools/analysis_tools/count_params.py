"""Count a model's parameters: ``python tools/analysis_tools/count_params.py CONFIG [--json]``.

Reports ``trainable`` (``requires_grad``), ``frozen`` (the frozen pretrained parts) and
``momentum`` (EMA copies such as the SOC component's key branch: parameters under a submodule
named ``momentum_*``, e.g. ``soc.momentum_branch``; not trained, not pretrained), ``total``
(all three), and the same three numbers for each top-level child of the depther (``modules``).
Shared parameters are counted once.

With ``TR2M_RANDOM_INIT=1`` the model is built on PyTorch's ``meta`` device: no memory, no
weights, a few seconds even for DINOv2-L + CLIP-L. Otherwise the pretrained weights are loaded
(which needs them to be reachable).
"""
import argparse
import contextlib
import json
import os.path as osp
import sys
from typing import Dict

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from torch import nn  # noqa: E402

from tr2m.models.pretrained import random_init_requested  # noqa: E402
from tr2m.utils import cli, register_all_modules  # noqa: E402
from tr2m.utils.config import load_config  # noqa: E402

#: Name prefix of a depther's EMA (momentum) copies.
MOMENTUM_PREFIX = 'momentum_'


def count_parameters(model: nn.Module) -> Dict:
    """Trainable / frozen / momentum / total counts, overall and per top-level child.

    Every per-module entry has ``trainable``, ``frozen`` and ``momentum`` (the parameters of an
    EMA copy, which are neither trained nor pretrained); summing a key over the modules gives
    the overall figure.
    """
    modules, seen = {}, set()
    totals = dict(trainable=0, frozen=0, momentum=0)
    for name, child in model.named_children():
        entry = dict(trainable=0, frozen=0, momentum=0)
        for pname, p in child.named_parameters(prefix=name):
            if id(p) in seen:
                continue
            seen.add(id(p))
            is_momentum = any(part.startswith(MOMENTUM_PREFIX) for part in pname.split('.'))
            key = 'trainable' if p.requires_grad else 'momentum' if is_momentum else 'frozen'
            entry[key] += p.numel()
            totals[key] += p.numel()
        modules[name] = entry
    rest = sum(p.numel() for p in model.parameters() if id(p) not in seen)  # direct params
    if rest:
        modules['(own)'] = dict(trainable=rest, frozen=0, momentum=0)
        totals['trainable'] += rest
    totals['total'] = totals['trainable'] + totals['frozen'] + totals['momentum']
    return dict(**totals, modules=modules)


def build_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model``; on the meta device when random weights are requested."""
    from tr2m.registry import MODELS

    device = torch.device('meta') if random_init_requested() else contextlib.nullcontext()
    with device:
        return MODELS.build(cfg.model)


def format_table(counts: Dict) -> str:
    rows = [('module', 'trainable', 'frozen', 'momentum (EMA)')]
    for name, entry in counts['modules'].items():
        rows.append((name, *(f'{entry[k]:,}' for k in ('trainable', 'frozen', 'momentum'))))
    width = max(len(r[0]) for r in rows) + 2
    lines = [f'{a:<{width}}{b:>14}{c:>16}{d:>16}' for a, b, c, d in rows]
    lines.append('')
    for key in ('trainable', 'frozen', 'momentum', 'total'):
        lines.append(f'{key:<{width}}{counts[key]:>14,}  ({counts[key] / 1e6:.2f}M)')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Count the parameters of a tr2m model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    counts = count_parameters(build_model(cfg))
    print(json.dumps(counts, indent=2) if args.json else format_table(counts))
    return counts


if __name__ == '__main__':
    cli.run(main)
