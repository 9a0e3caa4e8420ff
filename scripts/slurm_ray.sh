#!/bin/bash
# Train the study on a SLURM allocation: a Ray head on the first node, a Ray worker on each of the
# others, and `mnist-cnn reproduce --ray` on the head as the driver, which records the runs in
# results/ under the folder the job was submitted from.
#
#   sbatch --nodes 4 scripts/slurm_ray.sh --seeds $(seq 0 49)
#   sbatch --nodes 2 --gres gpu:1 scripts/slurm_ray.sh --seeds $(seq 0 49) --gpus-per-run 0.25
#
# Arguments go to `mnist-cnn reproduce`. Every node needs the project (make install) and MNIST
# (make data) at the same paths, as a shared home gives; the checkpoints go to CHECKPOINT_DIR
# (default: results/.checkpoints under the submit folder), which every node must share, so that a
# run whose node died resumes elsewhere. Submitting the same job again resumes the study.
#
# Ray checks a token on every connection (RAY_AUTH_MODE=token): the token in ~/.ray/auth_token,
# made once with `ray get-auth-token --generate` if there is none, or RAY_AUTH_TOKEN /
# RAY_AUTH_TOKEN_PATH set before sbatch (srun hands the environment to every node).
#
#SBATCH --job-name=mnist-cnn-study
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --exclusive
#SBATCH --time=24:00:00
#SBATCH --output=mnist-cnn-study-%j.log

set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"

BIN=${BIN:-$PWD/.venv/bin}  # the project's virtual environment, the same path on every node
PORT=${RAY_PORT:-6379}
CHECKPOINT_DIR=${CHECKPOINT_DIR:-$PWD/results/.checkpoints}
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token}
if [ "$RAY_AUTH_MODE" = token ] && [ -z "${RAY_AUTH_TOKEN:-}${RAY_AUTH_TOKEN_PATH:-}" ]; then
    "$BIN/ray" get-auth-token --generate > /dev/null  # kept out of the job's log
fi

mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
head_node=${nodes[0]}
head_ip=$(srun --nodes 1 --ntasks 1 --nodelist "$head_node" hostname --ip-address | awk '{print $1}')
address="$head_ip:$PORT"

# The Ray processes live as long as these job steps; the script ends exactly these, by PID.
started=()
stop_ray() {
    for pid in "${started[@]}"; do
        kill "$pid" 2> /dev/null || true  # srun passes it on to `ray start --block`
    done
    wait
}
trap stop_ray EXIT

srun --nodes 1 --ntasks 1 --nodelist "$head_node" \
    "$BIN/ray" start --head --node-ip-address "$head_ip" --port "$PORT" \
    --disable-usage-stats --block &
started+=($!)
for _ in $(seq 60); do  # the head answers within seconds; give up after two minutes
    "$BIN/ray" status --address "$address" > /dev/null 2>&1 && break
    sleep 2
done
"$BIN/ray" status --address "$address" > /dev/null

if [ "${#nodes[@]}" -gt 1 ]; then
    srun --nodes $((${#nodes[@]} - 1)) --ntasks $((${#nodes[@]} - 1)) --exclude "$head_node" \
        "$BIN/ray" start --address "$address" --block &
    started+=($!)
fi

"$BIN/mnist-cnn" reproduce --ray "$address" --checkpoint-dir "$CHECKPOINT_DIR" "$@"
