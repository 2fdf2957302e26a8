"""The floors of the house: no package of ``tr2m`` imports one on a higher floor, the package
import graph has no cycle, models and datasets never import each other, and no tool loads
another tool by file path.

Floors, from the ground up (a package may import its own floor and those below)::

    5  cli                                         the ``tr2m`` command (the tools' entry points)
    4  analysis                                    benchmarks, grids, comparisons (tools' library)
    3  apis                                        build and run a depther; train / test a config
    2  cache                                       the frozen-feature cache (one wing)
    1  models  datasets  evaluation  visualization  engine
    0  registry  structures  functional  utils  version  (tr2m/__init__.py)

Every import counts, also one inside a function. ``tr2m.utils.setup_env.register_all_modules``
imports the component packages by name (``importlib``) to fill the registries, as mmengine's
``register_all_modules`` does; that is registration, not a dependency, and is not an edge here.
"""
import ast
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FLOORS = {
    0: ('registry', 'structures', 'functional', 'utils', 'version', '__init__'),
    1: ('models', 'datasets', 'evaluation', 'visualization', 'engine', 'captioners'),
    2: ('cache',),
    3: ('apis',),
    4: ('analysis',),
    5: ('cli',),
}
FLOOR = {pkg: floor for floor, pkgs in FLOORS.items() for pkg in pkgs}


def _package(module: str) -> str:
    """``tr2m.models.losses.x`` -> ``models``; ``tr2m.registry`` -> ``registry``."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix('')
    parts = list(rel.parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def import_edges():
    """``{(from package, to package): [module, ...]}`` over every ``tr2m`` source file."""
    edges = defaultdict(list)
    for path in sorted((REPO / 'tr2m').rglob('*.py')):
        module = _module_name(path)
        package = module.split('.') if path.name == '__init__.py' else module.split('.')[:-1]
        src = _package(module) if module != 'tr2m' else '__init__'
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    base = '.'.join(package[:len(package) - node.level + 1]
                                    + ([node.module] if node.module else []))
                # ``from tr2m import registry``: the submodule, not the package
                targets = ([f'{base}.{a.name}' for a in node.names] if base == 'tr2m'
                           else [base])
            for target in targets:
                if target.startswith('tr2m.'):
                    dst = _package(target)
                    if dst != src:
                        edges[src, dst].append(module)
    return edges


def _cycle(edges) -> list:
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 'done'
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


@pytest.fixture(scope='module')
def edges():
    return import_edges()


def test_every_package_has_a_floor(edges):
    packages = {_package(_module_name(p)) for p in (REPO / 'tr2m').rglob('*.py')}
    assert packages <= set(FLOOR), sorted(packages - set(FLOOR))
    assert ('utils', 'registry') in edges and ('analysis', 'apis') in edges  # the scan works


def test_no_import_from_a_lower_floor_to_a_higher_one(edges):
    upward = {f'{a} -> {b}': sorted(set(m)) for (a, b), m in edges.items()
              if FLOOR[b] > FLOOR[a]}
    assert not upward, upward


def test_no_cycle_between_packages(edges):
    assert _cycle(edges) == []
    assert _cycle({('a', 'b'): [], ('b', 'c'): [], ('c', 'a'): []}) == ['a', 'b', 'c', 'a']


def test_models_and_datasets_never_import_each_other(edges):
    assert ('models', 'datasets') not in edges and ('datasets', 'models') not in edges


@pytest.mark.parametrize('path', sorted((REPO / 'tools').rglob('*.py')),
                         ids=lambda p: str(p.relative_to(REPO / 'tools')))
def test_no_tool_loads_another_by_path(path):
    text = path.read_text()
    assert 'spec_from_file_location' not in text and 'runpy' not in text
