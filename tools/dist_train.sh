#!/usr/bin/env bash
# Train on NPROC processes of this machine (or of each node) with torchrun:
#   bash tools/dist_train.sh CONFIG NPROC [tools/train.py arguments]
# One process per GPU on a GPU machine (nccl); on a CPU-only machine NPROC CPU processes (gloo).
# Multi-node: run it on every node with NNODES, NODE_RANK, MASTER_ADDR (and PORT) set, e.g.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG 8   # node 0
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG 8   # node 1
# Restarts (opt-in): MAX_RESTARTS=N lets torchrun restart all processes up to N times after one
# of them fails (a lost process, an out-of-memory kill); each restart resumes from the newest
# complete checkpoint of the work dir (add default_hooks.checkpoint.iter_interval=K so that at
# most K iterations are lost).
set -e
case "${1:-}" in -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
if [ "$#" -lt 2 ]; then
    echo "usage: bash $0 CONFIG NPROC [tools/train.py arguments]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MAX_RESTARTS=${MAX_RESTARTS:-0}
case "$MAX_RESTARTS" in
    ''|*[!0-9]*) echo "MAX_RESTARTS must be a whole number, got '$MAX_RESTARTS'" >&2; exit 2 ;;
esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="$ROOT:$PYTHONPATH" \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    --max-restarts="$MAX_RESTARTS" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
