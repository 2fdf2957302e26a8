"""tools/dist_test.sh and tools/slurm_test.sh: 2 processes evaluate every image once and give the
single-process metrics; the table and --out come from rank 0, --show-dir holds each image once."""
import json
import os
import re
import stat
import sys
import textwrap

import cv2
import numpy as np
import pytest
from dist_tool_utils import REPO, free_port, run_script

#: 5 test images in batches of 2: with 2 ranks the sampler pads one duplicate
OPTS = ['test_dataloader.dataset.indices=5', 'test_dataloader.batch_size=2']

#: A stand-in for SLURM's srun: checks the arguments slurm_test.sh passes, then starts --ntasks
#: copies of the command with the environment srun gives each task.
FAKE_SRUN = textwrap.dedent('''\
    #!{python}
    import os, subprocess, sys
    args = sys.argv[1:]
    opts = {{}}
    while args and args[0].startswith('-'):
        key = args.pop(0)
        if '=' in key:
            key, value = key.split('=', 1)
        else:
            value = args.pop(0)
        opts[key] = value
    assert opts['-p'] == 'cpu_part' and opts['--job-name'] == 'tr2m_eval', opts
    assert '--gres' not in opts and opts['--kill-on-bad-exit'] == '1', opts
    n = int(opts['--ntasks'])
    env = dict(os.environ, SLURM_NTASKS=str(n), SLURM_NODELIST='localhost',
               MASTER_ADDR='127.0.0.1', MASTER_PORT='{port}')
    procs = [subprocess.Popen(args, env=dict(env, SLURM_PROCID=str(r), SLURM_LOCALID=str(r)))
             for r in range(n)]
    sys.exit(max(p.wait() for p in procs))
''')


@pytest.fixture(scope='module')
def single(tmp_path_factory, load_tool, tiny_config, tiny_checkpoint):
    out = tmp_path_factory.mktemp('single')
    load_tool('tools/test.py').main([str(tiny_config), str(tiny_checkpoint), '--work-dir',
                                     str(out / 'work'), '--out', str(out / 'metrics.json'),
                                     '--show-dir', str(out / 'vis'), '--cfg-options', *OPTS])
    return out


def _compare(single, other):
    a = json.loads((single / 'metrics.json').read_text())
    b = json.loads((other / 'metrics.json').read_text())
    assert a['metrics'].keys() == b['metrics'].keys()
    for key, value in a['metrics'].items():
        assert b['metrics'][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    counts = {name: p['count'] for name, p in b['protocol'].items()}
    assert counts == {name: p['count'] for name, p in a['protocol'].items()}
    assert sum(counts.values()) == 5  # each image once, the padded duplicate not counted
    names = sorted(p.name for p in (single / 'vis').glob('*.png'))
    assert len(names) == 5 and names == sorted(p.name for p in (other / 'vis').glob('*.png'))
    for name in names:  # the same panels (a rounding step may differ by one grey level)
        pa = cv2.imread(str(single / 'vis' / name)).astype(int)
        pb = cv2.imread(str(other / 'vis' / name)).astype(int)
        assert pa.shape == pb.shape and np.abs(pa - pb).max() <= 1, name


def test_dist_test_equals_single_process(single, tmp_path, tiny_config, tiny_checkpoint):
    proc = run_script([REPO / 'tools/dist_test.sh', tiny_config, tiny_checkpoint, 2,
                       '--work-dir', tmp_path / 'work', '--out', tmp_path / 'metrics.json',
                       '--show-dir', tmp_path / 'vis', '--cfg-options', *OPTS])
    _compare(single, tmp_path)
    assert proc.stdout.count('metrics and protocol written to') == 1  # from rank 0 only
    assert len(re.findall(r'^dataset +abs_rel', proc.stdout, re.M)) == 1  # one table


def test_slurm_test_with_a_stand_in_srun(single, tmp_path, tiny_config, tiny_checkpoint):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text(FAKE_SRUN.format(python=sys.executable, port=free_port()))
    srun.chmod(srun.stat().st_mode | stat.S_IXUSR)
    run_script([REPO / 'tools/slurm_test.sh', 'cpu_part', 'tr2m_eval', tiny_config,
                tiny_checkpoint, '--work-dir', tmp_path / 'work', '--out',
                tmp_path / 'metrics.json', '--show-dir', tmp_path / 'vis', '--cfg-options',
                *OPTS],
               env=dict(PATH=f'{bin_dir}:{os.environ["PATH"]}', GPUS='2', GPUS_PER_NODE='0'))
    _compare(single, tmp_path)
