#!/usr/bin/env bash
# Train the study's missing runs on a lent GPU machine within a time limit; pack what finished.
#
# Runs there, in the repository root, under the machine's own python3 (JAX, no TensorFlow).
# Protocol runs, fp32 (`train` turns TF32 off), seed by seed (`reproduce`'s order), JOBS at a time
# on the one GPU; runs already recorded under results/ are skipped. After LIMIT seconds the
# unfinished runs are interrupted and dropped: only complete runs come back, in $OUT/runs.tar.gz,
# with the call's record (keep it in benchmarks/accelerator/call_<n>/ with a command.txt, then
# run scripts/accelerator_report.py).
#
# Set-up here, once: what the machine lacks goes in two git-ignored folders named in the call's
# carry: .whl/ with cp312 wheels of keras==3.15.1 namex==0.1.0 optree==0.20.0 prettytable==3.18.0
# wcwidth==0.9.4 (`pip download --no-deps --only-binary=:all: --python-version 3.12
# --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
# --platform manylinux_2_17_x86_64 -d .whl ...`), and .carry/mnist.npz (`mnist-cnn data`, then
# copy ~/.keras/datasets/mnist.npz).
#
# usage: OUT=/some/dir scripts/accelerator_study.sh LIMIT "MODELS" "SEEDS" [JOBS]
set -u
LIMIT=${1:?seconds of training}
MODELS=${2:?models}
SEEDS=${3:?seeds}
JOBS=${4:-4}
OUT=${OUT:?set OUT to the folder that comes back}

PYTHON=${PYTHON:-python3}  # another interpreter (and REQUIRE_GPU=0) for a dry run here

if [ -d .whl ]; then
    $PYTHON -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:. KERAS_BACKEND=jax MNIST_CNN_DATA=.carry/mnist.npz \
    PYTHONUNBUFFERED=1
# The stack must see the GPU before minutes are spent on it.
set -o pipefail
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  $PYTHON -c "
import jax
from mnist_cnn.training import describe_device, library_versions
print(describe_device(), library_versions(), flush=True)
assert '${REQUIRE_GPU:-1}' == '0' or jax.devices()[0].platform == 'gpu', jax.devices()
"; } 2>&1 | tee "$OUT/stack.txt" || exit 1
set +o pipefail

# A run is saved whole (renamed into place), so a new metrics.json marks a complete run. The
# archive is rebuilt as runs land: if the machine is taken back early, what finished comes back.
pack() {
    find results -name metrics.json -newer /tmp/study_start -printf '%h\n' | sort > /tmp/new_runs
    tar czf /tmp/runs.tar.gz -T /tmp/new_runs && mv /tmp/runs.tar.gz "$OUT/runs.tar.gz"
}
nvidia-smi dmon -s u -d 5 > "$OUT/gpu_use.txt" 2>&1 &
touch /tmp/study_start
(while sleep 15; do pack; done) &
echo "started $(date -u +%FT%TZ)" > "$OUT/times.txt"
# timeout signals its whole process group, the worker processes included: SIGINT stops every
# run at once (unfinished runs are dropped; their checkpoints stay), SIGKILL 20 s later if not.
# shellcheck disable=SC2086  # MODELS and SEEDS are word lists
timeout -s INT -k 20 "$LIMIT" $PYTHON -m mnist_cnn.cli reproduce --models $MODELS \
    --seeds $SEEDS --jobs "$JOBS" > "$OUT/reproduce.log" 2>&1
kill %1 %2 2>/dev/null
wait
echo "ended $(date -u +%FT%TZ)" >> "$OUT/times.txt"
pack
[ -d results/.logs ] && tar czf "$OUT/logs.tar.gz" results/.logs  # workers' logs (--jobs > 1)
echo "complete runs: $(wc -l < /tmp/new_runs)"
cat /tmp/new_runs
grep -h "^== model" "$OUT/reproduce.log" | tail -40
