#!/usr/bin/env bash
# Testing on a Slurm cluster: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# GPUS (tasks in all), GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS tune the job; on nodes without
# GPUs set GPUS_PER_NODE=0 and every task tests on CPU (gloo), TASKS_PER_NODE=N placing N tasks
# on each node.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
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
    "${PYTHON:-python3}" -u "$HERE/test.py" "$CONFIG" "$CHECKPOINT" --launcher="slurm" "${@:5}"
