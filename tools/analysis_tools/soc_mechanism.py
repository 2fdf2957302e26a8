"""The controlled SOC experiment: does the contrast organise the features the heads read?

``python tools/analysis_tools/soc_mechanism.py [--variants no_soc,paper,...]
[--variant NAME=JSON ...] [--seeds 0 1 2] [--set steps=300 ...] [--json OUT]``

Synthetic image tokens that carry each cell's depth class under heavy per-image noise, the
project's real neck, heads and ``ScaleOrientedContrast``, a few hundred CPU steps per variant and
seed. Prints, pooled over seeds (mean ± std), the separability (intra minus inter cosine) and
nearest-class-mean accuracy of the projector's output and of the neck's output, the cosine
diagnostics ``soc_cos_pos`` / ``soc_cos_neg`` and AbsRel, as a Markdown table, then the neck
separability of every seed. The library: :mod:`tr2m.analysis.soc_mechanism`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tr2m.analysis import soc_mechanism as mech  # noqa: E402
from tr2m.utils import cli  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--variants', default=','.join(mech.DEFAULT_VARIANTS),
                        help=f'comma-separated presets of: {", ".join(mech.VARIANTS)}')
    parser.add_argument('--variant', action='append', default=[], metavar='NAME=JSON',
                        help='one more SOC config, e.g. '
                             '\'t05={"projector": null, "negative_reduction": "mean", '
                             '"temperature": 0.5}\' (null: no SOC)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--set', action='append', default=[], metavar='NAME=VALUE',
                        help='size of the experiment (MechanismSetup fields: steps, batch, '
                             'grid, width, image_noise, ...)')
    parser.add_argument('--json', metavar='OUT', help='write every number here')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    names = [n for n in args.variants.split(',') if n]
    variants = mech.variants_from(names, args.variant)
    setup = mech.setup_from(args.set)
    result = mech.run_mechanism(variants, args.seeds, setup)
    print(mech.format_table(result))
    print('\nneck separability per seed ' + ' / '.join(map(str, args.seeds)) + ':')
    print(mech.per_seed_neck(result))
    print(f"\n{len(variants)} variants x {len(args.seeds)} seeds, {setup.steps} steps each: "
          f"{result['seconds']:.0f} s")
    if args.json:
        with open(args.json, 'w') as f:
            f.write(mech.to_json(result) + '\n')
    return result


if __name__ == '__main__':
    cli.run(main)
