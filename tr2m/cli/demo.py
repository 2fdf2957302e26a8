"""The web demo (Gradio): ``python tools/demo.py [--model REPO_ID_OR_DIR] [--port N]``.

Without ``--model`` it runs offline on the demo model (``tr2m.demo.build_demo_model``: the
quickstart's TR2M with a toy relative-depth network and random weights, said on the page); with
``--model`` a published model (``tools/publish.py``) from a folder or the Hugging Face Hub.
"let the captioner write one" uses ``--captioner`` (default ``smolvlm_256m``, or its toy twin
for the offline demo model). Needs the ``demo`` extra: ``pip install -r requirements/demo.txt``.
"""
import argparse
from typing import List, Optional

from tr2m.utils import cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='tr2m demo', description='Web demo: metric depth from an image and its caption',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('--model', metavar='REPO_ID_OR_DIR',
                        help='a published model (default: the offline demo model)')
    parser.add_argument('--captioner', help='captioner preset of "let the captioner write one" '
                        '(default smolvlm_256m; smolvlm_256m_toy for the offline demo model)')
    parser.add_argument('--host', default='127.0.0.1', help='address to serve on')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--device', default='cpu')
    cli.add_debug_argument(parser)
    return parser.parse_args(argv)


def load(args):
    """``(model, note, captioner)`` for the page."""
    if args.model:
        from tr2m.apis.hub import from_pretrained

        model = from_pretrained(args.model, args.device)
        meta = model.published
        note = (f'`{args.model}` ({meta["model_type"]}, depth in {meta["units"]}, '
                f'{len(meta.get("results") or [])} published result file(s))')
        return model, note, args.captioner or 'smolvlm_256m'
    from tr2m.demo import DEMO_NOTE, build_demo_model

    return build_demo_model().to(args.device), DEMO_NOTE, args.captioner or 'smolvlm_256m_toy'


def main(argv: Optional[List[str]] = None):
    args = parse_args(argv)
    try:
        import gradio  # noqa: F401
    except ImportError:
        from tr2m.utils.errors import ArgumentError

        raise ArgumentError('the demo needs gradio: pip install -r requirements/demo.txt'
                            ) from None
    from tr2m.demo.app import build_app

    model, note, captioner = load(args)
    app = build_app(model, note, captioner)
    app.launch(server_name=args.host, server_port=args.port, ssr_mode=False, show_error=True)
    return app


if __name__ == '__main__':
    cli.run(main, prog='tr2m demo')
