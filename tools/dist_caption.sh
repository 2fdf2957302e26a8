#!/usr/bin/env bash
# Caption on NPROC processes with torchrun (one per GPU with nccl; CPU processes with gloo):
#   bash tools/dist_caption.sh NPROC [tools/caption.py arguments]
# e.g. bash tools/dist_caption.sh 8 configs/_base_/datasets/sunrgbd.py --captioner llava_v16_vicuna
# Rank r captions images r, r+NPROC, ...; rank 0 writes the file, identical to one process's.
# NNODES, NODE_RANK, MASTER_ADDR and PORT as for tools/dist_train.sh.
set -e
case "${1:-}" in -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
if [ "$#" -lt 1 ]; then
    echo "usage: bash $0 NPROC [tools/caption.py arguments]" >&2
    exit 2
fi
NPROC=$1
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="$ROOT:$PYTHONPATH" \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    "$ROOT/tools/caption.py" --launcher pytorch "${@:2}"
