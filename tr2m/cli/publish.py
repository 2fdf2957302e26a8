"""Publish a trained model: a self-contained folder (safetensors, resolved config, model card),
optionally pushed to the Hugging Face Hub.

``python tools/publish.py CONFIG CKPT --out-dir DIR [--metrics RESULT.json ...]
[--license ID] [--name NAME] [--push OWNER/NAME [--private]] [--cfg-options k=v ...]``

``--metrics`` takes ``tools/test.py --out`` files: their metrics and protocols go into the
model card's results table and ``config.json``. Everything is checked before the model is built
(config, checkpoint, metrics files, the repo id); a mistake is one line and exit code 2.
``--push`` uploads the folder's three files with ``huggingface_hub`` (log in first with
``huggingface-cli login`` or set ``HF_TOKEN``). Load the result with
``tr2m.apis.from_pretrained(DIR_OR_REPO_ID)`` or ``tools/infer.py --model DIR_OR_REPO_ID``.
"""
import argparse
from typing import List, Optional

from tr2m.utils import cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        prog='tr2m publish', description='Write a model folder (safetensors + config + card) '
        'and optionally push it to the Hugging Face Hub',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 2)[2])
    parser.add_argument('config', help='config file the model was trained with')
    parser.add_argument('checkpoint', help="checkpoint file ('none' with --allow-untrained)")
    parser.add_argument('--out-dir', required=True, help='the model folder to write')
    parser.add_argument('--metrics', nargs='+', default=[], metavar='RESULT.json',
                        help='tools/test.py --out files for the model card')
    parser.add_argument('--license', default='apache-2.0',
                        help='licence of the weights (default apache-2.0)')
    parser.add_argument('--name', help="the model's name in the card (default: the folder's, "
                        'or the --push repo id)')
    parser.add_argument('--push', metavar='OWNER/NAME', help='push the folder to this Hub repo')
    parser.add_argument('--private', action='store_true', help='create the Hub repo private')
    parser.add_argument('--allow-untrained', action='store_true',
                        help="publish CKPT 'none' (untrained heads), marked in the card")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    from tr2m.apis.hub import _HUB_ID, publish, push_to_hub
    from tr2m.utils.errors import ArgumentError

    if args.push and (not _HUB_ID.match(args.push) or '/' not in args.push):
        raise ArgumentError(f'--push {args.push!r}: a Hub repo id is owner/name')
    meta = publish(args.config, args.checkpoint, args.out_dir, args.metrics, args.license,
                   args.name or args.push, args.cfg_options or None, args.allow_untrained)
    print(f'model folder written: {args.out_dir} ({meta["model_type"]}, '
          f'{meta["parameters"]["in_file"]:,} values in model.safetensors, '
          f'{sum(len(r["datasets"]) for r in meta["results"])} result(s) in the card)')
    if args.push:
        url = push_to_hub(args.out_dir, args.push, private=args.private)
        print(f'pushed to {args.push}: {url}')
    return meta


if __name__ == '__main__':
    cli.run(main, prog='tr2m publish')
