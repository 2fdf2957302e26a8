"""infer, ablate and caption answer ``--help`` and argument errors before torch is imported
(as train does: ``test_bad_input_matrix.test_train_answers_before_torch_is_imported``), and
still offer the library names they import lazily."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ('torch', 'transformers', 'mmengine.model')

_PROBE = """
import runpy, sys
sys.argv = {argv!r}
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as done:
    print('exit', done.code, [m for m in {heavy!r} if m in sys.modules])
"""


_CASES = [  # tool, arguments, exit code, part of the one-line message
    ('infer', ['--help'], 0, None),
    ('infer', ['--text', 'a room', '--bogus'], 2, 'unrecognized arguments: --bogus'),
    ('infer', ['--text', 'a room'], 2, 'give CONFIG CKPT, or --model REPO_ID_OR_DIR'),
    ('ablate', ['--help'], 0, None),
    ('ablate', ['grid.py', '--bogus'], 2, 'unrecognized arguments: --bogus'),
    ('ablate', [], 2, 'the following arguments are required: grid_file'),
    ('caption', ['--help'], 0, None),
    ('caption', ['--img', 'x.png', '--bogus'], 2, 'unrecognized arguments: --bogus'),
    ('caption', ['--img', 'x.png'], 2, '--captioner PRESET is required'),
]


@pytest.mark.parametrize('tool,args,code,message', _CASES,
                         ids=[f'{c[0]}-{["help", "unknown", "missing"][i % 3]}'
                              for i, c in enumerate(_CASES)])
def test_tool_answers_before_torch_is_imported(tool, args, code, message, tmp_path):
    argv = [str(REPO / 'tools' / f'{tool}.py'), *args]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, '-c', _PROBE.format(argv=argv, heavy=HEAVY)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == f'exit {code} []', proc.stderr[-2000:]
    if code:
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f'{tool}.py: error: {message}'), lines
    else:
        assert proc.stdout.startswith('usage: ')
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_lazy_names_are_the_library_objects(load_tool, monkeypatch):
    from tr2m.analysis.ablation import run_grid
    from tr2m.apis import infer_inputs, infer_outputs
    from tr2m.utils import choices, dist, hardware
    from tr2m.utils.lazy import LazyNames

    infer = load_tool('tools/infer.py')
    assert 'IMG_EXTS' not in vars(infer) and 'IMG_EXTS' in dir(infer)
    assert infer.IMG_EXTS is infer_inputs.IMG_EXTS and 'IMG_EXTS' in vars(infer)
    assert infer.read_captions is infer_inputs.match_captions
    assert infer.load_models is infer_outputs.load_models
    assert infer.PNG_SCALES is infer_outputs.PNG_SCALES is choices.PNG_SCALES
    assert infer.PRECISIONS is hardware.PRECISIONS
    assert load_tool('tools/caption.py').LAUNCHERS is dist.LAUNCHERS
    assert load_tool('tools/ablate.py').run_grid is run_grid
    with pytest.raises(AttributeError, match='no attribute'):
        infer.not_a_name  # noqa: B018

    # bind() imports what is missing and keeps what is set (a monkeypatch wins)
    namespace = {'__name__': 'probe', 'PRECISIONS': 'patched'}
    lazy = LazyNames(namespace, {'PRECISIONS': 'tr2m.utils.hardware',
                                 'launchers': 'tr2m.utils.dist:LAUNCHERS'})
    assert lazy.dir() == ['PRECISIONS', '__name__', 'launchers']
    lazy.bind()
    assert namespace['PRECISIONS'] == 'patched' and namespace['launchers'] == (
        'none', 'pytorch', 'slurm', 'mpi')
