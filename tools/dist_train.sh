#!/usr/bin/env bash
# Train on several processes (one per GPU) with torchrun, as OpenMMLab's
# tools/dist_train.sh does.
#
#   tools/dist_train.sh CONFIG NPROC [tools/train.py options ...]
#
# NPROC processes on this node (one per GPU). Several nodes: run the same
# command on every node with
#   NNODES       number of nodes                      (default 1)
#   NODE_RANK    this node's index, 0 .. NNODES-1     (default 0)
#   MASTER_ADDR  address of node 0, reachable by all  (default 127.0.0.1)
#   PORT         a free TCP port on node 0            (default 29500)
#   PYTHON       the interpreter that runs torchrun    (default python)
# Without a GPU the processes train on the CPU with the gloo backend
# (tools/train.py switches by itself).
set -eu

if [ "$#" -lt 2 ]; then
    echo "usage: $0 CONFIG NPROC [tools/train.py options ...]" >&2
    exit 2
fi

CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)

# torch.distributed.run is torchrun, without needing it on PATH.
PYTHONPATH="$(dirname "$TOOLS_DIR")${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$TOOLS_DIR/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
