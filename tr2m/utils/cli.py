"""The front door of every tool: a user mistake ends in one clear message and exit code 2.

Every ``tools/*.py`` ends with ``cli.run(main)``. :func:`run` calls ``main(argv)`` and

- turns a :class:`~tr2m.utils.errors.UserError` (config path, unknown key, missing dataset,
  missing or corrupt image or checkpoint, bad argument) into ``<tool>: error: <message>`` on
  stderr and exit code 2, without a traceback;
- does the same for ``SystemExit('<message>')`` raised by older tool code (a string exit
  status is a message for the user, never an exit code);
- prints the line of a :class:`~tr2m.utils.errors.TrainingInterrupted` (training stopped by
  SIGTERM after saving a checkpoint) and returns, so the tool exits with code 0;
- turns a full disk (``ENOSPC`` / ``EDQUOT`` anywhere in the chain of an exception) into one
  line naming the file being written, also exit code 2 (what was written before, e.g. the
  last complete checkpoint, is kept; see :mod:`tr2m.utils.files`);
- re-raises everything with its traceback under ``--debug`` (or ``TR2M_DEBUG=1``).

Any other exception is a bug and keeps its traceback. ``main`` stays an ordinary function that
raises, so tests call it directly and assert on the exception.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Any, Callable, List, Optional, Sequence

from tr2m.utils.errors import TrainingInterrupted, UserError
from tr2m.utils.files import disk_full_message, is_disk_full

#: Help text of ``--debug`` (same in every tool).
DEBUG_HELP = 'show the full traceback of user errors (config, data, checkpoint, arguments)'


class DictAction(argparse.Action):
    """mmengine's ``DictAction`` (``--cfg-options key=value ...``), imported only when the
    option is given, so that ``--help`` and argument errors answer before mmengine loads."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction as Impl

        Impl(self.option_strings, self.dest, nargs=self.nargs, default=self.default)(
            parser, namespace, values, option_string)


def add_debug_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--debug`` (handled by :func:`run`) to a tool's parser and make its argument
    errors one line (:func:`one_line_errors`); returns the parser."""
    parser.add_argument('--debug', action='store_true', help=DEBUG_HELP)
    return one_line_errors(parser)


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """An argument error of ``parser`` is ``<prog>: error: <message> (see --help)`` and exit
    code 2, as argparse does, without the usage lines before it (the one line every other
    user mistake gets). Returns the parser."""
    def error(message: str):
        parser.exit(2, f'{parser.prog}: error: {message} (see {parser.prog} --help)\n')

    parser.error = error
    return parser


def code_execution_note(what: str, width: Optional[int] = None) -> str:
    """The sentence a tool's ``--help`` carries about the Python files it executes.

    Args:
        what: the files and their verb, e.g. ``'CONFIG (and every _base_ file it inherits) is'``.
        width: wrap to this width (for a ``RawDescriptionHelpFormatter`` description).
            Defaults to None (one line; argparse wraps an epilog itself).
    """
    note = (f'Security: {what} Python, and loading runs its code with your rights (as any '
            'mmengine config does); use only files you trust.')
    if width is None:
        return note
    import textwrap

    return textwrap.fill(note, width)


def debug_requested(argv: Sequence[str]) -> bool:
    """``--debug`` among the arguments, or ``TR2M_DEBUG`` set to anything but ''/'0'."""
    return '--debug' in argv or os.environ.get('TR2M_DEBUG', '0') not in ('', '0')


def format_error(message: str, prog: str) -> str:
    """``<prog>: error: <message>``, the form argparse uses."""
    return f'{prog}: error: {message}'


def run(main: Callable[[Optional[List[str]]], Any], argv: Optional[Sequence[str]] = None,
        prog: Optional[str] = None) -> Any:
    """Call ``main(argv)`` and handle user mistakes (see the module docstring).

    Args:
        main: the tool's ``main(argv=None)``.
        argv: arguments without the program name. Defaults to ``sys.argv[1:]``.
        prog: name shown before ``error:``. Defaults to the script's file name.

    Returns:
        whatever ``main`` returns.

    Raises:
        SystemExit: code 2 after a user mistake (130 after Ctrl-C); ``main``'s own exits.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = prog or osp.basename(sys.argv[0] or 'tr2m')
    debug = debug_requested(argv)
    try:
        return main(argv)
    except UserError as err:
        if debug:
            raise
        print(format_error(str(err), prog), file=sys.stderr)
        raise SystemExit(err.exit_code) from None
    except SystemExit as err:
        if debug or err.code is None or isinstance(err.code, int):
            raise
        print(format_error(str(err.code), prog), file=sys.stderr)
        raise SystemExit(UserError.exit_code) from None
    except TrainingInterrupted as stop:  # SIGTERM: a checkpoint was saved, a clean end
        if stop.report:
            print(str(stop), flush=True)
        return None
    except KeyboardInterrupt:
        if debug:
            raise
        print(f'{prog}: interrupted', file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as err:  # noqa: BLE001 -- only a full disk is handled here
        if debug or not is_disk_full(err):
            raise
        print(format_error(disk_full_message(err), prog), file=sys.stderr)
        raise SystemExit(UserError.exit_code) from None


__all__ = ['run', 'DictAction', 'add_debug_argument', 'code_execution_note',
           'one_line_errors', 'debug_requested', 'format_error', 'DEBUG_HELP']
