"""Install tr2m: ``pip install -e .`` (inside a virtual environment)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list[str]:
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.split('#')[0].strip() for ln in lines if ln.split('#')[0].strip()]


def read_version() -> str:
    text = (HERE / 'tr2m' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


setup(
    name='tr2m',
    version=read_version(),
    description='Relative-to-metric monocular depth with language and images (TR2M and baselines)',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['tr2m', 'tr2m.*']),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt') + read_requirements('tests.txt'),
    extras_require={'captions': read_requirements('captions.txt')},
    license='Apache-2.0',
)
