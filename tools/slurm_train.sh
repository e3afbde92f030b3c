#!/usr/bin/env bash
# Training on a Slurm cluster: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# GPUS (tasks in all), GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS tune the job; on nodes without
# GPUs set GPUS_PER_NODE=0 and every task trains on CPU (gloo), TASKS_PER_NODE=N placing N tasks
# on each node (GPUS=4 GPUS_PER_NODE=0 TASKS_PER_NODE=2: two CPU nodes of two tasks).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
HERE=$(cd "$(dirname "$0")" && pwd)
TASKS_PER_NODE=${TASKS_PER_NODE:-$GPUS_PER_NODE}
GRES=()
[ "$GPUS_PER_NODE" -gt 0 ] && GRES=(--gres="gpu:$GPUS_PER_NODE")
[ "$TASKS_PER_NODE" -gt 0 ] && GRES+=(--ntasks-per-node="$TASKS_PER_NODE")
# shellcheck disable=SC2086
PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" --job-name="$JOB_NAME" "${GRES[@]}" --ntasks="$GPUS" \
    --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
    "${PYTHON:-python3}" -u "$HERE/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher="slurm" "${@:5}"
