"""Write captions for images: the language input of TR2M (and RSA) for any image set.

``python tools/caption.py (--img DIR|GLOB|FILE | CONFIG [--split test]) --captioner PRESET
[--out captions.json] [--seed S] [--batch-size B] [--model-path DIR] [--set KEY=VALUE ...]``
``python tools/caption.py --list``

``--img`` captions the images of a folder (and its sub-folders; keys are paths relative to it) or
a quoted glob pattern; ``CONFIG`` captions the images of the config's ``<split>_dataloader``
dataset with the dataset's caption keys and writes, by default, the caption file that dataset
reads (its ``JSONCaptionSource`` ``ann_file``). The output is a JSON object ``{image: [captions]}``
(the format of the datasets' ``captions.json`` and ``tools/infer.py --text-file``); beside it
``<out stem>.provenance.json`` records the captioner, model ids and revisions, prompts,
generation settings, seed, and the images skipped and why.

A killed run resumes where it stopped when the same command is run again (the partial results
are in ``<out>.parts/``) and ends with the same file as an uninterrupted run. Several processes
or GPUs: ``bash tools/dist_caption.sh NPROC [these arguments]`` (the same file as one process).
An image that cannot be decoded is named, skipped and listed in the provenance file.
``TR2M_RANDOM_INIT=1`` builds the presets' architectures with random weights (``_toy`` presets
always do): the captions are noise, for tests and timing. A model that cannot be loaded ends in
one line naming the hub id and how to point ``--model-path`` at a local copy (exit code 2).
"""
import argparse
import ast
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

# Only light imports here: --help and argument errors answer before torch, mmengine and the
# captioners are imported (each function imports what it needs).
from tr2m.utils import cli  # noqa: E402
from tr2m.utils.choices import LAUNCHERS  # noqa: E402
from tr2m.utils.cli import DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Caption images with a captioner preset (JSON caption file out)',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 2)[2])
    parser.add_argument('config', nargs='?', help='dataset (or model) config whose --split to '
                        'caption, instead of --img')
    parser.add_argument('--img', help='image file, folder (recursive) or quoted glob pattern')
    parser.add_argument('--split', default='test', choices=('train', 'val', 'test'),
                        help='split of CONFIG (default test)')
    parser.add_argument('--captioner', help='preset name (--list shows them)')
    parser.add_argument('--out', help="output JSON (default: the CONFIG dataset's caption file)")
    parser.add_argument('--list', action='store_true', help='print the presets and exit')
    parser.add_argument('--seed', type=int, default=0, help='seed of the captions (default 0)')
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument('--model-path', help="local copy of the preset's model (a "
                        'save_pretrained folder) instead of its hub id')
    parser.add_argument('--set', nargs='+', default=[], metavar='KEY=VALUE',
                        help='other captioner arguments, e.g. num_captions=1 temperature=0.5')
    parser.add_argument('--device', help="'cpu', 'cuda' (default: cuda when available)")
    parser.add_argument('--overwrite', action='store_true',
                        help='caption again although --out exists (drops unfinished parts)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher (tools/dist_caption.sh passes pytorch)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override keys of CONFIG (key=value)')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if not args.list:
        if (args.config is None) == (args.img is None):
            parser.error('give exactly one of CONFIG and --img')
        if not args.captioner:
            parser.error('--captioner PRESET is required (--list shows the presets)')
        if args.batch_size < 1:
            parser.error('--batch-size must be >= 1')
    return args


def parse_set(pairs) -> dict:
    """``['num_captions=1', 'prompt=Describe it.']`` -> ``{'num_captions': 1, 'prompt': ...}``."""
    from tr2m.utils.errors import ArgumentError

    out = {}
    for pair in pairs:
        key, eq, value = pair.partition('=')
        if not eq or not key:
            raise ArgumentError(f'--set {pair!r}: expected KEY=VALUE')
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def list_presets() -> str:
    from tr2m.captioners import CAPTIONER_PRESETS

    width = max(len(n) for n in CAPTIONER_PRESETS) + 2
    lines = []
    for name, (cfg, what) in CAPTIONER_PRESETS.items():
        model = cfg.get('model_id') or ('+'.join(cfg['captioners']) if 'captioners' in cfg
                                        else '-')
        lines.append(f'{name.ljust(width)}{cfg["type"]:<28}{what}  [{model}]')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        print(list_presets())
        return None
    from tr2m.apis.caption_job import dataset_items, image_items, provenance_path
    from tr2m.captioners import build_captioner, preset_config
    from tr2m.utils.errors import ArgumentError

    preset_config(args.captioner)  # an unknown preset fails before any data is read
    overrides = parse_set(args.set)
    if args.img is not None:
        items, default_out = image_items(args.img), None
    else:
        items, default_out = dataset_items(args.config, args.split, args.cfg_options)
    out = args.out or default_out
    if not out:
        raise ArgumentError('--out FILE.json is required (the dataset names no caption file)')

    import torch.distributed as torch_dist

    from tr2m.apis.caption_job import run_caption_job
    from tr2m.utils.dist import distributed, get_rank, get_world_size

    with distributed(dict(launcher=args.launcher)) as is_dist:
        captioner = build_captioner(args.captioner, seed=args.seed, batch_size=args.batch_size,
                                    model_path=args.model_path, **overrides)
        if args.device:
            captioner.to(args.device)
        rank, world = get_rank(), get_world_size()
        summary = run_caption_job(captioner, items, out, overwrite=args.overwrite, rank=rank,
                                  world_size=world,
                                  barrier=torch_dist.barrier if is_dist else None,
                                  progress=not args.no_progress)
    if summary is None:
        return None
    for key, reason in summary['skipped'].items():
        print(f'skipped {key}: {reason}')
    print(f"{summary['captioned']} of {summary['images']} images captioned "
          f"({summary['captions_per_image']} captions each) -> {out}; provenance and skipped "
          f'images -> {provenance_path(out)}')
    return summary


if __name__ == '__main__':
    cli.run(main)
