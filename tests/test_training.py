"""Real short trainings: the recorded run, reuse by train_or_load, and resume after a crash."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn import import_keras, training
from mnist_cnn.data import load_mnist
from mnist_cnn.machine import tensorflow_cpu_kernels
from mnist_cnn.runs import (HISTORY_KEYS, RunConfig, checkpoint_dir, find_runs, load_run,
                            read_checkpoint, run_dir)
from mnist_cnn.training import train, train_or_load

keras = import_keras()

# model_1 on 2,000 images for one epoch; batch 8 gives it 250 steps, enough to pass 90%.
QUICK = dict(epochs=1, subset=2000, batch_size=8)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture(scope="module")
def quick_run(mnist, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    return train(RunConfig("model_1", **QUICK), mnist, results_dir=results, verbose=0), results


@pytest.mark.training
def test_short_training_learns(quick_run, mnist):
    run, _ = quick_run
    labels = mnist[1][1]
    # Every tenth test image: 1,000 images spread over the whole test set.
    assert (run.probs[::10].argmax(axis=1) == labels[::10]).mean() > 0.90
    assert run.test_accuracy > 0.90


@pytest.mark.training
def test_run_is_complete_on_disk(quick_run):
    run, results = quick_run
    folder = run_dir(run.config, results)
    assert folder == results / "model_1" / "epochs1_batchsize8_subset2000" / "seed_0"
    assert sorted(p.name for p in folder.iterdir()) == ["history.json", "metrics.json",
                                                        "test_probs.npz"]
    history = json.loads((folder / "history.json").read_text())
    assert set(history) == set(HISTORY_KEYS) and all(len(v) == 1 for v in history.values())
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["config"]) == {"model", "epochs", "batch_size", "lr", "seed", "subset",
                                      "validation", "dataset"}
    assert metrics["config"]["dataset"] == "mnist" and metrics["runs_sharing_device"] == 1
    assert metrics["backend"] == keras.backend.backend()
    assert metrics["device"] and metrics["date"] and metrics["versions"]["keras"]
    assert metrics["matmul_precision"] == "float32"
    if metrics["backend"] == "tensorflow" and metrics["device"].startswith("CPU"):
        assert metrics["cpu_kernels"] == tensorflow_cpu_kernels()  # what this CPU computes with
    assert metrics["params"] == {"total": 1_199_882, "trainable": 1_199_882}
    assert math.isclose(metrics["total_seconds"], sum(history["epoch_seconds"]), rel_tol=1e-6)
    with np.load(folder / "test_probs.npz") as npz:
        assert npz["probs"].shape == (10_000, 10) and npz["probs"].dtype == np.float16
    assert not (results / ".checkpoints").exists()  # removed once the run is saved
    assert [r.path for r in find_runs(results, protocol=False)] == [folder]
    assert find_runs(results) == []  # a quick run is never a protocol run


@pytest.mark.training
def test_saved_metrics_agree_with_saved_probabilities(quick_run, mnist):
    run = load_run(quick_run[0].path)
    labels = mnist[1][1]
    probs = run.probs.astype(np.float64)
    assert abs((probs.argmax(axis=1) == labels).mean() - run.test_accuracy) < 1e-3
    log_loss = -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1)).mean()
    assert abs(log_loss - run.test_loss) < 5e-3  # float16 rounding of the stored outputs
    # Last epoch's validation is the same model on the same test set as evaluate().
    assert abs(run.history["val_loss"][-1] - run.test_loss) < 1e-4


def test_train_takes_a_run_config_not_a_model_name(tmp_path):
    with pytest.raises(TypeError, match="RunConfig"):
        train("model_1", results_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.training
def test_train_or_load_reuses_a_matching_run(quick_run, monkeypatch):
    run, results = quick_run
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("trained again"))
    again = train_or_load("model_1", results_dir=results, **QUICK)
    assert again.path == run.path and again.metrics["date"] == run.metrics["date"]


@pytest.mark.training
def test_train_or_load_retrains_on_config_mismatch(quick_run, monkeypatch, tmp_path):
    run, _ = quick_run
    folder = tmp_path / "model_1" / "epochs1_batchsize8_subset2000" / "seed_0"
    folder.mkdir(parents=True)
    for name in ("history.json", "test_probs.npz"):
        (folder / name).write_bytes((run.path / name).read_bytes())
    metrics = json.loads((run.path / "metrics.json").read_text())
    metrics["config"]["lr"] = 0.01  # a run recorded under other settings
    (folder / "metrics.json").write_text(json.dumps(metrics))

    calls = []
    monkeypatch.setattr(training, "train", lambda config, *a, **k: calls.append(config))
    train_or_load("model_1", results_dir=tmp_path, log=lambda m: None, **QUICK)
    assert calls == [RunConfig("model_1", **QUICK)]

    calls.clear()
    train_or_load("model_1", results_dir=tmp_path, log=lambda m: None, retrain=True,
                  epochs=2, subset=2000, batch_size=8)
    assert calls == [RunConfig("model_1", epochs=2, subset=2000, batch_size=8)]


class Interrupt(keras.callbacks.Callback):
    """Stop training like Ctrl-C after the given number of finished epochs."""

    def __init__(self, after):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after:
            raise KeyboardInterrupt


# Three epochs, so that the epoch after the resume and the one after that are both compared.
# No validation: it changes no training state, and 10,000 test images an epoch would cost most
# of these runs' time; the test probabilities after the last epoch are compared instead.
RESUME = dict(epochs=3, subset=1000, batch_size=32, seed=9, validation="none")


@pytest.fixture(scope="module")
def uninterrupted_run(mnist, tmp_path_factory):
    return train(RunConfig("model_1", **RESUME), mnist,
                 results_dir=tmp_path_factory.mktemp("whole"), verbose=0)


@pytest.mark.training
@pytest.mark.parametrize("handed_on", [False, True], ids=["read here", "read by a plan"])
def test_interrupted_run_resumes_from_last_epoch(mnist, tmp_path, uninterrupted_run, handed_on):
    config = RunConfig("model_1", **RESUME)
    with pytest.raises(KeyboardInterrupt):
        train(config, mnist, results_dir=tmp_path, verbose=0, callbacks=[Interrupt(1)])
    assert not run_dir(config, tmp_path).exists()  # nothing half-written
    state = json.loads((checkpoint_dir(config, tmp_path) / "state.json").read_text())
    assert state["epochs_done"] == 1 and len(state["history"]["loss"]) == 1

    messages = []
    # A study's plan reads the checkpoint and hands its state on; `train` alone reads it itself.
    resume = read_checkpoint(config, tmp_path) if handed_on else None
    run = train(config, mnist, results_dir=tmp_path, verbose=0, log=messages.append,
                resume=resume)
    assert any("after epoch 1/3" in m for m in messages)
    assert run.metrics["resumed_after_epoch"] == 1
    assert not (tmp_path / ".checkpoints").exists()
    assert load_run(run_dir(config, tmp_path)).config == config
    # The same run as the uninterrupted one: same data order, dropout masks and optimizer
    # state after the resume, so the same numbers epoch for epoch and the same probabilities.
    for key in ("loss", "accuracy"):
        assert run.history[key] == uninterrupted_run.history[key], key
    np.testing.assert_array_equal(run.probs, uninterrupted_run.probs)
    assert run.test_loss == uninterrupted_run.test_loss


@pytest.mark.training
def test_checkpoint_keeps_the_dropout_streams(mnist, tmp_path):
    config = RunConfig("model_1", epochs=2, subset=256, batch_size=64)
    with pytest.raises(KeyboardInterrupt):
        train(config, mnist, results_dir=tmp_path, verbose=0, callbacks=[Interrupt(1)])
    state = json.loads((checkpoint_dir(config, tmp_path) / "state.json").read_text())
    # model_1 has two dropout layers; each drew one mask per step of the finished epoch.
    assert [counter for _, counter in state["random_state"]] == [4, 4]
    fresh = training.training_model("model_1")
    training.restore_random_state(fresh, state["random_state"])
    assert training.random_state(fresh) == state["random_state"]
    with pytest.raises(ValueError, match="random streams"):
        training.restore_random_state(training.training_model("model_3"), state["random_state"])


def test_full_float32_turns_tf32_off():
    assert training.use_full_float32() == "float32"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        assert not tf.config.experimental.tensor_float_32_execution_enabled()


@pytest.mark.parametrize("device, steps, requested, expected", [
    ("CPU: x (2 cores)", 469, None, 1),
    ("GPU: NVIDIA H100", 469, None, 7),   # 469 = 7 x 67: 32 a call would cross epochs
    ("GPU: NVIDIA H100", 512, None, training.ACCELERATOR_STEPS_PER_EXECUTION),
    ("GPU: NVIDIA H100", 9, 4, 3),
    ("GPU: NVIDIA H100", 13, None, 13),  # a whole epoch a call
    ("GPU: NVIDIA H100", 131, None, 1),  # a prime above the request: one at a time
    ("CPU: x (2 cores)", 8, 64, 8),
])
def test_steps_per_call_divide_the_epoch(device, steps, requested, expected):
    assert training.steps_per_execution_for(device, steps, requested) == expected


def test_epoch_order_is_a_fresh_shuffle_per_epoch_and_a_function_of_seed_and_epoch():
    orders = [training.epoch_order(1000, seed, epoch) for seed in (0, 1) for epoch in (0, 1)]
    for order in orders:
        assert sorted(order) == list(range(1000))
    assert len({tuple(order) for order in orders}) == 4
    np.testing.assert_array_equal(training.epoch_order(1000, 1, 1), orders[3])


@pytest.mark.training
def test_checkpoint_of_a_different_config_is_ignored(mnist, tmp_path):
    config = RunConfig("model_1", epochs=1, subset=500, batch_size=64, validation="none")
    folder = checkpoint_dir(config, tmp_path)
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(json.dumps({"config": RunConfig("model_2").to_dict()}))
    messages = []
    run = train(config, mnist, results_dir=tmp_path, verbose=0, log=messages.append)
    assert any("ignoring the checkpoint" in m for m in messages)
    assert run.metrics["resumed_after_epoch"] is None


@pytest.mark.training
def test_another_seed_gives_another_run(mnist, tmp_path, uninterrupted_run):
    # The same seed gives the same run: the resumed run above equals the uninterrupted one
    # epoch for epoch, its first epoch included, which another call of `train` trained.
    other = train(RunConfig("model_1", **{**RESUME, "seed": RESUME["seed"] + 1}), mnist,
                  results_dir=tmp_path, verbose=0)
    assert other.history["loss"] != uninterrupted_run.history["loss"]
    assert not np.array_equal(other.probs, uninterrupted_run.probs)


# The pinned short runs (scripts/pin_runs.py), with how far TensorFlow's other CPU numeric paths
# moved each number and how far the next seed did. A number is checked within PATH_MARGIN times
# its path spread (at least FLOOR: on model_1 every path agrees to ~1e-6), and only where that
# tolerance stays under half the next seed's effect; elsewhere a change of machine moves it as far
# as a change of seed (model_3's first-epoch training loss: 0.5% either way), and it cannot tell
# them apart. A changed training path moves the checked numbers far more: measured on model_1,
# reversing each epoch's data order moved the test loss by 0.8%, a learning rate 10% higher by 2.3%.
PINNED = json.loads((Path(__file__).parent / "data" / "pinned_runs.json").read_text())["runs"]
PATH_MARGIN = 3  # three paths measured: a fourth machine may stray further than they did
# Losses relative, accuracies absolute (1e-3: ten test images).
FLOOR = {"loss": 1e-4, "val_loss": 1e-4, "accuracy": 1e-3, "val_accuracy": 1e-3}


def pinned_tolerances(pinned):
    """Return {number: absolute tolerance} for the numbers this pinned run can check."""
    tolerances = {}
    for key, value in pinned["numbers"].items():
        floor = FLOOR[key] * (abs(value) if "loss" in key else 1)
        tolerance = max(PATH_MARGIN * pinned["path_spread"][key], floor)
        if tolerance < pinned["next_seed_moves"][key] / 2:
            tolerances[key] = tolerance
    return tolerances


def test_each_pinned_run_checks_its_test_loss_and_accuracy():
    for model, pinned in PINNED.items():
        assert {"val_loss", "val_accuracy"} <= set(pinned_tolerances(pinned)), model
    # model_1's numbers agree on every path, so all four are checked.
    assert set(pinned_tolerances(PINNED["model_1"])) == set(FLOOR)


@pytest.mark.training
@pytest.mark.parametrize("model", sorted(PINNED))
def test_pinned_short_run_is_unchanged(model, mnist, tmp_path):
    pinned = PINNED[model]
    run = train(RunConfig.from_dict(pinned["config"]), mnist, results_dir=tmp_path, verbose=0)
    for key, tolerance in pinned_tolerances(pinned).items():
        assert run.history[key] == pytest.approx([pinned["numbers"][key]], abs=tolerance), key
