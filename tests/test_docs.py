"""The documentation stays true: every relative link and anchor of the README, ``docs/``, the
CHANGELOG and the config / project READMEs points to an existing file and heading, every
``configs/...py`` and ``tools/...`` path they name exists, and every config the CHANGELOG lists
as moved is gone from its old path, present at its new one and suggested for the old one."""
import re
from pathlib import Path

import pytest

from tr2m.utils.config import similar_configs

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted({REPO / 'README.md', REPO / 'CHANGELOG.md', *REPO.glob('docs/**/*.md'),
                *REPO.glob('configs/**/README.md'), REPO / 'projects/README.md',
                *REPO.glob('projects/*/README.md'), REPO / 'tools/dataset_converters/README.md'})
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
FENCE = re.compile(r'^\s*```')
CODE_SPAN = re.compile(r'`[^`]*`')
PATH = re.compile(r'(?<![\w/.<>{*-])((?:configs|tools)/[\w/.-]*\w\.(?:py|sh|md))')
MOVE_ROW = re.compile(r'^\| `([^`]+\.py)` \| `([^`]+\.py)` \|$')


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def prose_lines(text: str):
    """``(line number, line)`` outside fenced code blocks, with inline code removed."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, CODE_SPAN.sub('', line)


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = heading.strip().lower().replace('`', '')
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)  # a link keeps its text
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(page: Path) -> set:
    seen, out = {}, set()
    for _, line in prose_lines(page.read_text()):
        match = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f'{base}-{count}')
    return out


def test_slug_matches_github():
    assert slug("Which alignment is the paper's \"Linear Fit\"") == \
        'which-alignment-is-the-papers-linear-fit'
    assert slug('Scale-oriented contrast (Table 4\'s SOC row, Figure 5 as a number)') == \
        'scale-oriented-contrast-table-4s-soc-row-figure-5-as-a-number'
    assert slug('Quickstart (offline, CPU)') == 'quickstart-offline-cpu'
    assert slug('The SI-log form (eq. 4)') == 'the-si-log-form-eq-4'


def test_pages_found():
    names = {rel(p) for p in PAGES}
    assert {'README.md', 'CHANGELOG.md', 'docs/method.md', 'docs/results.md',
            'docs/get_started.md', 'configs/tr2m/README.md'} <= names


@pytest.mark.parametrize('page', PAGES, ids=rel)
def test_relative_links_resolve(page):
    broken = []
    for number, line in prose_lines(page.read_text()):
        for target in LINK.findall(line):
            if re.match(r'^[a-z][a-z0-9+.-]*:', target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition('#')
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f'{rel(page)}:{number}: {target} (no such file)')
            elif anchor and dest.suffix == '.md' and anchor not in anchors(dest):
                broken.append(f'{rel(page)}:{number}: {target} (no heading #{anchor} in '
                              f'{rel(dest)})')
    assert not broken, '\n'.join(broken)


@pytest.mark.parametrize('page', [p for p in PAGES if p.name != 'CHANGELOG.md'], ids=rel)
def test_named_paths_exist(page):
    """A path is read from the repository root, or from the page's folder (a project's
    ``configs/x.py``)."""
    missing = [f'{rel(page)}:{number}: {path}'
               for number, line in enumerate(page.read_text().splitlines(), 1)
               for path in PATH.findall(line)
               if not (REPO / path).exists() and not (page.parent / path).exists()]
    assert not missing, '\n'.join(missing)


def test_readme_is_a_front_door():
    lines = (REPO / 'README.md').read_text().splitlines()
    assert 100 <= len(lines) <= 200, len(lines)


def moves():
    rows = [MOVE_ROW.match(line) for line in (REPO / 'CHANGELOG.md').read_text().splitlines()]
    return [m.groups() for m in rows if m]


def test_changelog_lists_moves():
    assert ('configs/tr2m_da_b.py', 'configs/tr2m/tr2m_da_b.py') in moves()


@pytest.mark.parametrize('old,new', moves())
def test_moved_config_is_found_from_its_old_path(old, new, monkeypatch):
    monkeypatch.chdir(REPO)
    later = dict(moves())
    while new in later:  # moved again by a later entry
        new = later[new]
    assert not (REPO / old).exists(), f'{old} is listed as moved but still exists'
    assert (REPO / new).is_file(), f'{new} (moved from {old}) does not exist'
    assert new in similar_configs(old), similar_configs(old)
