#!/usr/bin/env bash
# Train under SLURM, one task per GPU:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [tools/train.py arguments]
# GPUS=16 GPUS_PER_NODE=8 spans two nodes. Set GPUS_PER_NODE=0 for CPU-only nodes (no --gres;
# GPUS is then the number of tasks, gloo).
# Restarts (opt-in): MAX_RESTARTS=N runs srun again, up to N times, when the job step fails (a
# lost task or node); each rerun resumes from the newest complete checkpoint of the work dir.
set -e
case "${1:-}" in -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
if [ "$#" -lt 3 ]; then
    echo "usage: bash $0 PARTITION JOB_NAME CONFIG [tools/train.py arguments]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
MAX_RESTARTS=${MAX_RESTARTS:-0}
case "$MAX_RESTARTS" in
    ''|*[!0-9]*) echo "MAX_RESTARTS must be a whole number, got '$MAX_RESTARTS'" >&2; exit 2 ;;
esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$GPUS_PER_NODE" -gt 0 ]; then
    GRES="--gres=gpu:$GPUS_PER_NODE"
    PER_NODE="--ntasks-per-node=$GPUS_PER_NODE"
else
    GRES=""
    PER_NODE=""
fi

attempt=0
while true; do
    status=0
    # shellcheck disable=SC2086  # SRUN_ARGS, GRES and PER_NODE are word lists on purpose
    TR2M_RESTART_COUNT=$attempt PYTHONPATH="$ROOT:$PYTHONPATH" \
    srun -p "$PARTITION" \
        --job-name="$JOB_NAME" \
        $GRES \
        --ntasks="$GPUS" \
        $PER_NODE \
        --cpus-per-task="$CPUS_PER_TASK" \
        --kill-on-bad-exit=1 \
        $SRUN_ARGS \
        python -u "$ROOT/tools/train.py" "$CONFIG" --launcher slurm "${@:4}" || status=$?
    # exit code 2: a mistake in the command or the data, which a restart would only repeat
    if [ "$status" -eq 0 ] || [ "$status" -eq 2 ] || [ "$attempt" -ge "$MAX_RESTARTS" ]; then
        exit "$status"
    fi
    attempt=$((attempt + 1))
    echo "slurm_train.sh: srun failed (exit $status); restart $attempt of $MAX_RESTARTS" >&2
done
