"""Fetch the real test data: ``tr2m fetch_test_data [--dest DIR] [--if-missing] [--check]``.

Downloads the 59 real RGB-D frames and RSA's caption and split files the tests read from their
public sources (each a file of a public git repository at a pinned commit), checks each file's
sha256 and writes it into the cache (``~/.cache/tr2m/test_data``; ``--dest`` or
``$TR2M_TEST_DATA_CACHE`` to change it). Files already there with the right sha256 are kept, so
a second run fetches nothing. The tests find the data through ``$TR2M_TEST_DATA``, then
``../shared/data`` beside the clone, then this cache (:mod:`tr2m.utils.test_data`).

- ``--if-missing``: do nothing when the tests already find complete data, else fill the folder
  they read (``$TR2M_TEST_DATA`` when set, else the cache); the test command runs this.
- ``--check``: only compare the folder with the pins (exit 2 if a file is missing or differs).
- ``--sources``: list the sources, their commits, licences and how many files each gives.
- ``--url-template``: fetch from a mirror (``http://HOST/{repo}/{commit}/{path}``).
"""
import argparse
from collections import Counter
from pathlib import Path

from tr2m.utils import test_data
from tr2m.utils.errors import DataError

REPO_ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='tr2m fetch_test_data',
        description='Fetch the real test frames and caption files, pinned by sha256')
    parser.add_argument('--dest', help='folder to fill (default: $TR2M_TEST_DATA_CACHE or '
                        '~/.cache/tr2m/test_data)')
    parser.add_argument('--if-missing', action='store_true',
                        help='do nothing when the tests already find complete data '
                        '($TR2M_TEST_DATA, ../shared/data, or the cache)')
    parser.add_argument('--check', action='store_true',
                        help='only check the folder against the pins (no download)')
    parser.add_argument('--sources', action='store_true', help='list the sources and exit')
    parser.add_argument('--url-template', help='fetch from a mirror: a URL with {repo}, '
                        '{commit} and {path}')
    parser.add_argument('--jobs', type=int, default=8, help='downloads at once (default 8)')
    parser.add_argument('--timeout', type=float, default=30.0,
                        help='seconds per download (default 30)')
    return parser.parse_args(argv)


def describe_sources() -> str:
    """One line per source: repository, commit, licence and number of files."""
    pins = test_data.load_pins()
    counts = Counter(entry['source'] for entry in pins['folders'].values()
                     for _ in entry['files'])
    lines = [f"{key}: {src['repo']}@{src['commit'][:12]}, {counts[key]} files, "
             f"{src['license']}" for key, src in pins['sources'].items()]
    lines.append(f"tr2m: {len(pins.get('local_files', {}))} files written for this project "
                 '(frame manifest, source notes), carried by the pin file')
    lines.append('every file is fetched automatically (plain files at pinned commits; no '
                 'archive or dataset page to visit)')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.sources:
        print(describe_sources())
        return
    dest = Path(args.dest).expanduser() if args.dest else test_data.default_cache()
    if args.if_missing and not args.dest:
        dest = test_data.find_test_data(REPO_ROOT)  # the folder the tests will read
        if test_data.is_test_data(dest):
            print(f'test data: {dest}')
            return
    if args.check:
        problems = test_data.check_test_data(dest)
        for path, reason in problems[:10]:
            print(f'  {path}: {reason}')
        if problems:
            raise DataError(f'{len(problems)} test files missing or different in {dest} '
                            '(run tr2m fetch_test_data to fetch them)')
        print(f'test data complete: {dest}')
        return
    files = test_data.pinned_files(url_template=args.url_template)
    print(f'fetching {len(files)} test files into {dest} ...', flush=True)
    report = test_data.fetch_test_data(dest, files=files, jobs=args.jobs, timeout=args.timeout)
    for path, reason in report.failed[:10]:
        print(f'  {path}: {reason}')
    print(f'fetched {len(report.fetched)}, already there {len(report.present)}, '
          f'failed {len(report.failed)}')
    if report.failed:
        raise DataError(f'{len(report.failed)} of {len(files)} test files could not be fetched '
                        f'into {dest} (first: {report.failed[0][0]}: {report.failed[0][1]})')
    print(f'test data complete: {dest} (the tests find it there; elsewhere set '
          f'TR2M_TEST_DATA={dest})')


if __name__ == '__main__':
    from tr2m.utils import cli

    cli.run(main)
