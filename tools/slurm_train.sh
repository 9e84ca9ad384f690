#!/usr/bin/env bash
# Train on a Slurm cluster with srun, as OpenMMLab's tools/slurm_train.sh
# does: one task per GPU, GPUS tasks in all, GPUS_PER_NODE per node.
#
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
#
#   GPUS           tasks (processes) in all                   (default 8)
#   GPUS_PER_NODE  tasks per node, and GPUs asked per node    (default 8)
#   CPUS_PER_TASK  CPUs per task (data loader workers + 1)    (default 5)
#   SRUN_ARGS      more srun options, e.g. "--time=24:00:00"  (default none)
#   GRES           generic resources asked per node. Unset: gpu:GPUS_PER_NODE
#                  when the partition's nodes have GPU resources (sinfo)
#                  or sinfo cannot say, none when they have not (CPU-only
#                  partition). Set it to
#                  override, e.g. GRES=gpu:a100:4, or GRES= to ask for none.
#   PYTHON         the interpreter run on the nodes           (default python)
#   MASTER_PORT    rendezvous port on the job's first node    (default: from
#                  the job id, 20000 + SLURM_JOB_ID % 20000)
# Without a GPU the tasks train on the CPU with the gloo backend
# (tools/train.py switches by itself).
set -eu

if [ "$#" -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR" \
        "[tools/train.py options ...]" >&2
    exit 2
fi

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)

if [ -z "${GRES+set}" ]; then
    if ! RESOURCES=$(sinfo --noheader --partition="$PARTITION" --format=%G \
            2>&1); then
        GRES="gpu:${GPUS_PER_NODE}"
        echo "slurm_train.sh: cannot query partition '$PARTITION' with" \
            "sinfo ($(echo "$RESOURCES" | head -n 1)): asking for" \
            "--gres=$GRES as for a GPU partition (set GRES= to ask for" \
            "none)" >&2
    elif echo "$RESOURCES" | grep -q 'gpu'; then
        GRES="gpu:${GPUS_PER_NODE}"
    else
        GRES=""
        echo "slurm_train.sh: the nodes of partition '$PARTITION' have no" \
            "GPU resources: not asking for --gres (set GRES to override)" >&2
    fi
fi

export PYTHONPATH="$(dirname "$TOOLS_DIR")${PYTHONPATH:+:$PYTHONPATH}"
# SRUN_ARGS is split into words on purpose, as in OpenMMLab's script.
# shellcheck disable=SC2086
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    ${GRES:+--gres="$GRES"} \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$TOOLS_DIR/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher="slurm" "${@:5}"
