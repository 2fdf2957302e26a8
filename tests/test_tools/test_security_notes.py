"""train, test, ablate and compare say in their --help (and the training guide says) that
configs, grids and comparison files are Python that runs with the user's rights."""
import re

import pytest
from dist_tool_utils import REPO

from tr2m.utils.cli import code_execution_note

NOTE = 'Python, and loading runs its code with your rights'


@pytest.mark.parametrize('tool,files', [
    ('tools/train.py', 'CONFIG (and every _base_ file it inherits) is'),
    ('tools/test.py', "CONFIG (with its _base_ files, and --compare's CONFIG2) is"),
    ('tools/ablate.py', 'GRID_FILE and every config it names are'),
    ('tools/analysis_tools/compare.py',
     'COMPARE_FILE and every config it names are')])
def test_help_says_the_files_are_python(load_tool, capsys, tool, files):
    with pytest.raises(SystemExit) as info:
        load_tool(tool).parse_args(['--help'])
    assert info.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())  # argparse wraps lines
    assert f'Security: {files} {NOTE}' in text
    assert 'use only files you trust.' in text


def test_note_wraps_only_when_asked():
    one = code_execution_note('X is')
    assert one == ('Security: X is Python, and loading runs its code with your rights (as any '
                   'mmengine config does); use only files you trust.')
    wrapped = code_execution_note('X is', width=40)
    assert all(len(line) <= 40 for line in wrapped.splitlines()) and ' '.join(
        wrapped.split()) == one


def test_training_guide_has_a_security_section():
    page = (REPO / 'docs/user_guides/train_and_configs.md').read_text()
    section = re.search(r'^## Security\n(.*?)(?=^## )', page, re.S | re.M).group(1)
    text = ' '.join(section.split())
    for phrase in ('Config files', 'ablation grid files', 'comparison files',
                   'are Python programs', 'runs its code with your rights'):
        assert phrase in text
