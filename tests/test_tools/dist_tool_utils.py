"""Helpers of the distributed tool tests: run a launcher script, a free port, checkpoint diffs."""
import os
import re
import socket
import subprocess
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_script(args, timeout: int = 900, env=None) -> subprocess.CompletedProcess:
    """``bash <args>`` from the repository root on a free port; fails with the output's tail."""
    full_env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run(['bash', *[str(a) for a in args]], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    return proc


def max_weight_diff(path_a, path_b) -> float:
    a = torch.load(path_a, map_location='cpu', weights_only=True)['state_dict']
    b = torch.load(path_b, map_location='cpu', weights_only=True)['state_dict']
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a
               if a[k].is_floating_point())


def user_error_message(fn, argv, capsys) -> str:
    """Run a tool's ``main(argv)`` expecting a user mistake; its one-line message.

    Accepts both forms: the ``UserError`` itself, or (with the tools' CLI wrapper) exit code 2
    and the message on stderr.
    """
    from tr2m.utils.errors import UserError

    try:
        fn(argv)
    except UserError as err:
        return str(err)
    except SystemExit as err:
        assert err.code == 2, f'exit code {err.code}, expected 2'
        return capsys.readouterr().err.strip()
    raise AssertionError(f'no error for {argv}')


def matches(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None
