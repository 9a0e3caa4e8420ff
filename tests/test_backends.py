"""The models and the training path under Keras' JAX backend (the accelerator path), on the CPU.

The backend is fixed when Keras is imported, so each check runs in a fresh process.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

# Only look for JAX here: importing it would change TensorFlow's log level for this process.
pytestmark = [pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                 reason="JAX is not installed"),
              pytest.mark.training]

# Blocks TensorFlow: the JAX path must work on a machine without it (the accelerator has none).
PROBE = """
import json, sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ImportError("TensorFlow is blocked in this test")
sys.meta_path.insert(0, NoTensorFlow())
from mnist_cnn.models import MODEL_NAMES, build_model, parameter_counts
from mnist_cnn.runs import RunConfig
from mnist_cnn.training import train
import keras
params = {name: parameter_counts(build_model(name)) for name in MODEL_NAMES}
# 9 steps an epoch: 4 steps a call does not divide them (Keras would read past the epoch's end).
# The run of one step a call validates on the test set as the protocol does; the other does not
# (10,000 test images an epoch cost the most), and validation leaves the training history alone.
runs = [train(RunConfig("model_1", epochs=2, subset=576, batch_size=64, validation=validation),
              steps_per_execution=steps, results_dir=f"{sys.argv[1]}/steps{steps}", verbose=0)
        for steps, validation in ((1, "test"), (4, "none"))]
print(json.dumps({"backend": keras.backend.backend(), "params": params,
                  "epochs": len(runs[0].history["loss"]), "metrics": runs[0].metrics,
                  "histories": [run.history for run in runs]}))
"""


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    done = subprocess.run([sys.executable, "-c", PROBE, str(results)], capture_output=True,
                          text=True, env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), results


def test_models_have_the_same_parameters_under_jax(jax_run):
    from mnist_cnn.models import MODEL_NAMES, build_model, parameter_counts

    probe, _ = jax_run
    assert probe["backend"] == "jax"
    for name in MODEL_NAMES:
        assert tuple(probe["params"][name]) == parameter_counts(build_model(name))


def test_jax_training_records_a_complete_run(jax_run):
    from mnist_cnn.runs import load_run

    probe, results = jax_run
    assert probe["epochs"] == 2
    run = load_run(results / "steps1" / "model_1" / "epochs2_batchsize64_subset576" / "seed_0")
    assert run.metrics["backend"] == "jax" and run.metrics["versions"]["jax"]
    assert run.metrics["device"].startswith("CPU")
    assert len(run.history["val_loss"]) == 2  # validated on the test set every epoch
    assert run.test_accuracy > 0.5  # 18 steps of 64 images: far above chance (0.1)


def test_steps_per_call_leave_every_epoch_its_own_batches_under_jax(jax_run):
    probe, _ = jax_run
    one_step, four_steps = probe["histories"]
    assert len(four_steps["loss"]) == 2
    for key in ("loss", "accuracy"):
        assert four_steps[key] == pytest.approx(one_step[key], rel=1e-5), key
