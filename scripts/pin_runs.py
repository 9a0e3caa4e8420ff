"""Record the pinned short runs that the tests retrain: tests/data/pinned_runs.json.

TensorFlow computes a CPU run on one of several numeric paths, chosen by the machine: oneDNN at
the CPU's widest instruction set, which it turns on by default only on CPUs with AVX512_VNNI,
AVX512_BF16, AVX_VNNI or AMX, or Eigen's kernels elsewhere (an AVX2-only AMD EPYC, say). The
paths agree to about 1e-6 on a shallow model, but a deeper model's first epoch amplifies their
rounding differences to half a percent of its training loss, as far as another seed moves it.

So each pinned configuration is trained on every path in NUMERIC_PATHS (a fresh process each:
TensorFlow reads the switches once) and once more with the next seed. The file keeps the first
path's numbers, how far the other paths moved each number (what a change of machine does) and
how far the next seed moved it (the smallest deliberate change to the training path); the test
decides from these which numbers can tell a changed training path from a changed machine.
Re-record only after a deliberate change to the training path, and say so in the commit.

Usage (from the repository root): python scripts/pin_runs.py
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mnist_cnn.files import write_json

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "pinned_runs.json"
MODELS = ("model_1", "model_3")  # the shallowest model, and one with batch normalization and dropout
# Small enough for CI (seconds), long enough that every part of the training path acts.
SHORT_RUN = dict(epochs=1, subset=500, seed=0)
NUMBERS = ("loss", "accuracy", "val_loss", "val_accuracy")  # one epoch: one value of each
# The environment of each numeric path; the first gives the pinned numbers.
NUMERIC_PATHS = {
    "oneDNN, widest instruction set": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "oneDNN, AVX2 only": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "Eigen (oneDNN off)": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}


def measure(seeds):
    """Train each pinned model once per seed here and return its numbers and run record."""
    from mnist_cnn.data import load_mnist
    from mnist_cnn.runs import RunConfig
    from mnist_cnn.training import train

    data = load_mnist()
    measured = {}
    with tempfile.TemporaryDirectory() as results:
        for model in MODELS:
            for seed in seeds:
                config = RunConfig(model, **{**SHORT_RUN, "seed": seed})
                run = train(config, data, results_dir=results, verbose=0, log=lambda *_: None)
                measured[f"{model} {seed}"] = {
                    "config": config.to_dict(),
                    "numbers": {key: run.history[key][0] for key in NUMBERS},
                    "device": run.metrics["device"], "versions": run.metrics["versions"],
                    "date": run.metrics["date"]}
    return measured


def measure_on(environment, seeds):
    """Return `measure(seeds)` computed in a fresh process with `environment` added."""
    command = [sys.executable, __file__, "--measure", *map(str, seeds)]
    out = subprocess.run(command, env={**os.environ, **environment}, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def main(argv):
    """Measure every path and the next seed, then write the pinned runs."""
    if argv[:1] == ["--measure"]:
        print(json.dumps(measure([int(seed) for seed in argv[1:]])))
        return 0
    seed = SHORT_RUN["seed"]
    first, *others = NUMERIC_PATHS.values()
    pinned_path = measure_on(first, [seed, seed + 1])
    paths = [pinned_path] + [measure_on(environment, [seed]) for environment in others]
    runs = {}
    for model in MODELS:
        pinned = pinned_path[f"{model} {seed}"]
        numbers = pinned["numbers"]
        runs[model] = {
            **pinned,
            "path_spread": {key: max(abs(path[f"{model} {seed}"]["numbers"][key] - numbers[key])
                                     for path in paths) for key in NUMBERS},
            "next_seed_moves": {key: abs(pinned_path[f"{model} {seed + 1}"]["numbers"][key]
                                         - numbers[key]) for key in NUMBERS},
        }
    write_json(OUT, {"made_by": "python scripts/pin_runs.py", "numeric_paths": NUMERIC_PATHS,
                     "runs": runs})
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
