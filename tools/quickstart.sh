#!/usr/bin/env bash
# Offline quickstart, from a fresh clone: bash tools/quickstart.sh
# Makes or updates the virtual environment .venv (tools/setup_env.sh: torch, the CPU build on a
# machine without an NVIDIA driver; a second run starts at once), then makes the procedural demo
# set, evaluates the untrained model, trains TR2M on CPU, evaluates the trained one, draws its
# panels and curves, and prints the block of figures the README quotes (paste it there after a
# change); fails unless training at least halves AbsRel. Deterministic (randomness seed 0,
# deterministic=True): two runs print the same metrics; only the timings differ.
# Environment:
#   WORK_DIR=...        work dir (default work_dirs/tr2m_synthetic; relative to the repository)
#   README_IMAGES=DIR   also write the README's pictures there (docs/images)
#   TR2M_VENV, TR2M_NO_SETUP, TR2M_TORCH_INDEX, PYTHON as in tools/setup_env.sh
set -euo pipefail
case "${1:-}" in
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    "") ;;
    *) echo "quickstart.sh: error: unknown argument '$1' (bash tools/quickstart.sh --help)" >&2
       exit 2 ;;
esac
cd "$(dirname "$0")/.."
# shellcheck source=tools/setup_env.sh
. tools/setup_env.sh
tr2m_setup_env ""
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1}
CONFIG=configs/quickstart/tr2m_synthetic.py
WORK=${WORK_DIR:-work_dirs/tr2m_synthetic}
mkdir -p "$WORK"

child_cpu() {  # CPU seconds (user + system) of the finished children, from `times` output
    tail -n 1 "$1" | awk '{n = 0; for (i = 1; i <= 2; i++) { split($i, t, "m");
        sub("s", "", t[2]); n += t[1] * 60 + t[2] } print n}'
}
step() {  # run one step and append "<name> <wall s> <cpu s>" to $WORK/timings.txt
    local name=$1; shift
    echo "+ $*"
    local t0 t1
    times > "$WORK/.times0"  # the builtin, in this shell: its children's CPU so far
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    times > "$WORK/.times1"
    awk -v n="$name" -v t0="$t0" -v t1="$t1" -v c0="$(child_cpu "$WORK/.times0")" \
        -v c1="$(child_cpu "$WORK/.times1")" \
        'BEGIN { printf "%s %.2f %.2f\n", n, t1 - t0, c1 - c0 }' >> "$WORK/timings.txt"
    rm -f "$WORK/.times0" "$WORK/.times1"
}

rm -f "$WORK/timings.txt"
step data python tools/dataset_converters/make_synthetic_rgbd.py data/synthetic
step test_before python tools/test.py "$CONFIG" none --work-dir "$WORK/before" \
    --out "$WORK/before.json"
step train python tools/train.py "$CONFIG" --work-dir "$WORK"
step test_after python tools/test.py "$CONFIG" "$(cat "$WORK/last_checkpoint")" \
    --work-dir "$WORK/after" --out "$WORK/after.json" --show-dir "$WORK/vis"
step curves python tools/analysis_tools/analyze_logs.py "$WORK" --out "$WORK/curves"

if [ -n "${README_IMAGES:-}" ]; then  # the README's pictures, from the tools above
    mkdir -p "$README_IMAGES"
    SMALL=(--cfg-options visualizer.panel_width=224 test_dataloader.dataset.indices=[12])
    python tools/test.py "$CONFIG" "$(cat "$WORK/last_checkpoint")" --work-dir "$WORK/readme" \
        --show-dir "$WORK/readme/panels" "${SMALL[@]}" > /dev/null
    python tools/test.py "$CONFIG" "$(cat "$WORK/last_checkpoint")" --work-dir "$WORK/readme" \
        --show-dir "$WORK/readme/compare" --compare "$CONFIG" none "${SMALL[@]}" > /dev/null
    cp "$WORK/readme/panels/synthetic_outdoor_00000_0000_rgb.png" \
        "$README_IMAGES/quickstart_panels.png"
    cp "$WORK/readme/compare/synthetic_outdoor_00000_0000_rgb.png" \
        "$README_IMAGES/quickstart_compare.png"
    cp "$WORK/curves/metrics.png" "$README_IMAGES/quickstart_curves.png"
    echo "README pictures written to $README_IMAGES"
fi

python - "$WORK" <<'PY'
import json, os, platform, sys

import torch

work = sys.argv[1]
before, after = (json.load(open(f'{work}/{n}.json')) for n in ('before', 'after'))
times = {ln.split()[0]: (float(ln.split()[1]), float(ln.split()[2]))
         for ln in open(f'{work}/timings.txt')}
cpu = 'unknown CPU'
if os.path.isfile('/proc/cpuinfo'):
    names = [ln.split(':', 1)[1].strip() for ln in open('/proc/cpuinfo')
             if ln.startswith('model name')]
    cpu = names[0] if names else cpu
m0, m1 = before['metrics'], after['metrics']
domains = [k.split('/')[0] for k in m1 if k.endswith('/abs_rel')]
train_wall, train_cpu = times['train']
total_wall = sum(t[0] for t in times.values())
print(f"""
----- README figures (tools/quickstart.sh) -----
Machine: {cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}
Training: {train_wall:.0f} s wall, {train_cpu:.0f} s CPU; whole script {total_wall:.0f} s wall.

| model | AbsRel | SILog | delta1 |
| --- | --- | --- | --- |
| untrained (A = B = 1) | {m0['abs_rel']:.3f} | {m0['silog']:.1f} | {m0['d1']:.3f} |
| trained ({after['checkpoint'].split('/')[-1]}) | {m1['abs_rel']:.3f} | {m1['silog']:.1f} | {m1['d1']:.3f} |

AbsRel after training per domain: """ + ', '.join(
    f"{d.replace('synthetic_', '')} {m1[d + '/abs_rel']:.3f}" for d in sorted(domains)) + """
------------------------------------------------""")
if not m1['abs_rel'] < 0.5 * m0['abs_rel']:
    sys.exit('training did not clearly improve AbsRel')
PY
