"""Install tr2m.

From a clone: ``bash tools/quickstart.sh`` / ``bash tools/run_tests.sh`` make the environment
themselves; by hand, ``pip install -e .[dev]`` (a developer) or ``pip install .`` (a user).

- ``install_requires``: the runtime only (``requirements/runtime.txt``).
- extras, one ``requirements/<extra>.txt`` each: ``dev`` (pytest, ruff, and what the caption
  tests need), ``captions``, ``demo``, ``export``, ``hub``; ``all`` is their union.
- console script ``tr2m`` (``tr2m train CONFIG``, ``tr2m test ...``, ``tr2m --help``).
- the configs and the tool scripts ship inside the package as ``tr2m/.mim/configs`` and
  ``tr2m/.mim/tools`` (where OpenMMLab's ``mim`` looks for them), copied at build time, so a
  non-editable install trains a shipped config by name: ``tr2m train quickstart/tr2m_synthetic``.
  An editable install reads them from the clone instead (nothing is copied).
"""
import re
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
EXTRAS = ('dev', 'captions', 'demo', 'export', 'hub')
#: Folders of the clone shipped as package data under ``tr2m/.mim/``.
MIM_FOLDERS = ('configs', 'tools')


def read_requirements(name: str) -> list:
    """The requirement lines of ``requirements/<name>.txt`` (comments and blanks dropped)."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [ln.split('#')[0].strip() for ln in lines if ln.split('#')[0].strip()]


def read_version() -> str:
    text = (HERE / 'tr2m' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


def extras() -> dict:
    """``{extra: requirements}``; ``dev`` also holds ``captions``, ``demo``, ``export`` and ``hub``
    (their tests run in the suite)."""
    found = {name: read_requirements(name) for name in EXTRAS}
    for tested in ('captions', 'demo', 'export', 'hub'):
        found['dev'] = found['dev'] + [r for r in found[tested] if r not in found['dev']]
    found['all'] = sorted({r for reqs in found.values() for r in reqs})
    return found


class BuildWithMimFolders(build_py):
    """``build_py`` that also copies ``configs/`` and ``tools/`` into ``tr2m/.mim/`` of the
    build (a wheel or a non-editable install); an editable build copies nothing."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        for folder in MIM_FOLDERS:
            src, dst = HERE / folder, Path(self.build_lib) / 'tr2m' / '.mim' / folder
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(
    name='tr2m',
    version=read_version(),
    description='Relative-to-metric monocular depth with language and images (TR2M and baselines)',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['tr2m', 'tr2m.*']),
    package_data={'tr2m': ['utils/test_data_files/*.json']},
    python_requires='>=3.9',
    install_requires=read_requirements('runtime'),
    extras_require=extras(),
    entry_points={'console_scripts': ['tr2m = tr2m.cli.main:main']},
    cmdclass={'build_py': BuildWithMimFolders},
    license='Apache-2.0',
    zip_safe=False,
)
