#!/usr/bin/env bash
# Offline quickstart: make the procedural demo set, evaluate the untrained model, train TR2M on
# CPU (about a minute), evaluate the trained one and compare. Run from the repository root
# inside the project's virtual environment.
set -euo pipefail
CONFIG=configs/quickstart/tr2m_synthetic.py
WORK=${WORK_DIR:-work_dirs/tr2m_synthetic}
python tools/dataset_converters/make_synthetic_rgbd.py data/synthetic
python tools/test.py "$CONFIG" none --work-dir "$WORK/before" --out "$WORK/before.json"
python tools/train.py "$CONFIG" --work-dir "$WORK"
python tools/test.py "$CONFIG" "$(cat "$WORK/last_checkpoint")" --work-dir "$WORK/after" \
    --out "$WORK/after.json" --show-dir "$WORK/vis"
python - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
before, after = (json.load(open(f'{work}/{n}.json'))['metrics'] for n in ('before', 'after'))
print(f"AbsRel before training {before['abs_rel']:.3f} -> after {after['abs_rel']:.3f}; "
      f"delta1 {before['d1']:.3f} -> {after['d1']:.3f}")
if not after['abs_rel'] < 0.5 * before['abs_rel']:
    sys.exit('training did not clearly improve AbsRel')
PY
