"""``tr2m <command> [args]``: every tool of the toolbox behind one console command.

``tr2m train CONFIG`` is ``python tools/train.py CONFIG``, ``tr2m test CONFIG CKPT`` is
``python tools/test.py CONFIG CKPT``, and so on for the commands :data:`COMMANDS` lists;
``tr2m`` or ``tr2m --help`` lists them. A ``CONFIG`` that does not exist from the current folder
may name a config shipped with the package (``tr2m train quickstart/tr2m_synthetic``, see
:func:`tr2m.utils.config.find_config`).

A command runs the ``main(argv)`` of the module ``tr2m.cli.<command>`` when the package has
one, else that of the tool script, from the clone the package runs from (``tools/``) or from the
copy a wheel ships (``tr2m/.mim/tools``).
"""
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import List, Optional, Sequence

#: ``{command: (script under tools/, one-line summary)}``.
COMMANDS = {
    'train': ('train.py', 'train a depther from a config'),
    'test': ('test.py', 'evaluate a config and a checkpoint (or none)'),
    'infer': ('infer.py', 'predict metric depth for images (and captions)'),
    'caption': ('caption.py', 'write captions for a dataset or a folder of images'),
    'ablate': ('ablate.py', 'run an ablation grid and summarise it'),
    'cache_features': ('cache_features.py', 'build the frozen-feature cache of a config'),
    'fetch_test_data': ('fetch_test_data.py', 'download the real test frames and captions'),
    'analyze_logs': ('analysis_tools/analyze_logs.py', 'plot the curves of a work dir'),
    'benchmark': ('analysis_tools/benchmark.py', 'time training steps and inference'),
    'compare': ('analysis_tools/compare.py', 'put several models in one table'),
    'count_params': ('analysis_tools/count_params.py', 'count parameters of a config'),
    'get_flops': ('analysis_tools/get_flops.py', 'count FLOPs of a config'),
    'make_synthetic_rgbd': ('dataset_converters/make_synthetic_rgbd.py',
                            'write the offline demo set (the quickstart data)'),
    'make_manifest': ('dataset_converters/make_manifest.py',
                      'write a manifest of your own RGB-D frames'),
}


def tools_root() -> Optional[Path]:
    """``tools/`` of the clone the package runs from, else the copy inside the package."""
    package = Path(__file__).resolve().parents[1]  # tr2m/
    for root in (package.parent / 'tools', package / '.mim' / 'tools'):
        if root.is_dir():
            return root
    return None


def usage() -> str:
    """The command list ``tr2m --help`` prints."""
    width = max(len(c) for c in COMMANDS)
    lines = ['usage: tr2m <command> [args]   (tr2m <command> --help: its arguments)', '',
             'commands:']
    lines += [f'  {name.ljust(width)}  {summary}' for name, (_, summary) in COMMANDS.items()]
    return '\n'.join(lines)


def load_command(name: str):
    """The ``main(argv)`` of a command: ``tr2m.cli.<name>`` if the package has it, else the
    tool script's (its folder first on ``sys.path``, as when Python runs a script)."""
    try:
        return importlib.import_module(f'tr2m.cli.{name}').main
    except ModuleNotFoundError as err:
        if err.name != f'tr2m.cli.{name}':
            raise
    root = tools_root()
    script = root / COMMANDS[name][0] if root is not None else None
    if script is None or not script.is_file():
        raise SystemExit(f'tr2m {name}: the tool script {COMMANDS[name][0]} is not installed')
    sys.path.insert(0, str(script.parent))
    spec = importlib.util.spec_from_file_location(f'tr2m_tool_{name}', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Dispatch ``tr2m <command> [args]`` (exit code 2 for an unknown command)."""
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ('-h', '--help', 'help'):
        print(usage())
        return
    if args[0] == '--version':
        from tr2m.version import __version__

        print(f'tr2m {__version__}')
        return
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        import difflib

        near = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ''
        print(f"tr2m: error: unknown command '{name}'{hint} (tr2m --help lists them)",
              file=sys.stderr)
        raise SystemExit(2)
    from tr2m.utils import cli

    saved = sys.argv
    sys.argv = [f'tr2m {name}'] + rest  # argparse's prog and the tools' error prefix
    try:
        cli.run(load_command(name), rest, prog=f'tr2m {name}')
    finally:
        sys.argv = saved  # a caller in the same process (a test, a notebook) keeps its own


if __name__ == '__main__':
    main()
