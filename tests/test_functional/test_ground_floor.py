"""tr2m/functional is the ground floor: it imports torch, numpy and the standard library only."""
import ast
import sys
from pathlib import Path

import tr2m.functional

ALLOWED = {'torch', 'numpy'}


def test_imports_nothing_above_the_ground_floor():
    folder = Path(tr2m.functional.__file__).parent
    found = set()
    for path in folder.glob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split('.')[0])
    outside = {m for m in found if m not in ALLOWED and m not in sys.stdlib_module_names}
    assert not outside, f'tr2m/functional imports {sorted(outside)}'
