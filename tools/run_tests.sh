#!/usr/bin/env bash
# Run the test suite from a fresh clone: bash tools/run_tests.sh [--fast] [pytest arguments]
#   1. makes or updates the virtual environment .venv with the `dev` extra (tools/setup_env.sh:
#      torch, the CPU build on a machine without an NVIDIA driver; a second run starts at once);
#   2. checks that exactly one OpenCV distribution is installed (opencv-python-headless);
#   3. makes sure the web demo's browser test has Debian's chromium and chromedriver (installs
#      them with apt-get when missing and this user can; otherwise stops and says how);
#   4. fetches the real test frames and caption files when the tests find none
#      ($TR2M_TEST_DATA, ../shared/data, or ~/.cache/tr2m/test_data; tools/fetch_test_data.py);
#   5. runs pytest on tests/ and projects/*/tests: -m "not gpu" (the whole suite, what CI runs),
#      or with --fast -m "not slow and not gpu" (the fast subset), in parallel processes
#      (pytest-xdist: one per CPU this process may use, at most 4; a test file stays in one
#      process) with one thread each (OMP_NUM_THREADS=1 unless set).
# Further arguments go to pytest (e.g. -x, -k NAME, a test file). Tests never download anything.
# Environment: TR2M_TEST_WORKERS=N sets the processes (0: one process, pytest's own order);
# TR2M_VENV, TR2M_NO_SETUP, TR2M_TORCH_INDEX, PYTHON as in tools/setup_env.sh.
set -euo pipefail
MARKERS="not gpu"
case "${1:-}" in
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    --fast) MARKERS="not slow and not gpu"; shift ;;
esac
cd "$(dirname "$0")/.."
# shellcheck source=tools/setup_env.sh
. tools/setup_env.sh
tr2m_setup_env dev

# exactly one OpenCV distribution (opencv-python and opencv-python-headless share cv2/)
python - <<'PY'
import importlib.metadata as md
found = sorted({d.metadata['Name'] for d in md.distributions()
                if (d.metadata['Name'] or '').lower().startswith('opencv')})
if found != ['opencv-python-headless']:
    raise SystemExit(f'expected only opencv-python-headless, found {found}')
print(f'one OpenCV: {found[0]}')
PY

# the web demo's browser test (tests/test_demo/test_demo_browser.py) drives a real chromium
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "[setup] installing Debian's chromium and chromium-driver for the browser test"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver > /dev/null
    else
        echo "run_tests: the web demo's browser test needs /usr/bin/chromium and" \
            "/usr/bin/chromedriver: sudo apt-get install chromium chromium-driver" \
            "(or deselect it: bash tools/run_tests.sh -k 'not browser')" >&2
        exit 2
    fi
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
python tools/fetch_test_data.py --if-missing

# parallel processes: the suite is mostly single-threaded tool runs and small models, so one
# thread per process and one process per CPU cut its time on 2 cores to 794-1,190 s (4 runs) from
# 1,622 s in one process in CI (AMD EPYC Zen 3 here, 1,420 tests)
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
WORKERS="${TR2M_TEST_WORKERS:-$(python -c 'import os; print(min(4, len(os.sched_getaffinity(0))))')}"
PARALLEL=()
if [ "$WORKERS" -gt 0 ]; then
    PARALLEL=(-n "$WORKERS" --dist loadfile)
fi

set +e
python -m pytest -m "$MARKERS" -q -p no:cacheprovider "${PARALLEL[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "run_tests: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
