"""The study's executors: runs handed out, failures reported, resume points passed on."""

import json

import numpy as np
import pytest

from mnist_cnn.console import result_lines
from mnist_cnn.executors import InProcess, LocalProcesses, RunResult, run_study
from mnist_cnn.plan import plan_study
from mnist_cnn.runs import ConfigError, RunConfig, load_run, run_dir

from helpers import make_run, write_checkpoint


def refuse_to_train(config, results_dir, verbose, environment, began, checkpoints,
                    runs_at_once=1, resume=None):
    """A worker's task that meets bad input, as `train_in_worker` would raise it."""
    raise ConfigError(f"cannot train {config.model} seed {config.seed}: made-up bad input")


class RefusingProcesses(LocalProcesses):
    task = staticmethod(refuse_to_train)


def test_bad_input_in_a_worker_ends_the_study_with_its_message(tmp_path):
    plan = plan_study([RunConfig("model_1", seed=seed, epochs=1) for seed in (0, 1)], tmp_path)
    with pytest.raises(ConfigError, match="made-up bad input"):
        list(run_study(plan, tmp_path, RefusingProcesses(2)))
    assert list(tmp_path.iterdir()) == []


def crash_on_seed_0(config, results_dir, verbose, environment, began, checkpoints,
                    runs_at_once=1, resume=None):
    """A worker's task that crashes on seed 0 and stands in a trained run for the others."""
    if config.seed == 0:
        raise RuntimeError("out of memory, say\nand a second line")
    return RunResult(config, "trained", worker="worker 1")


class CrashingProcesses(LocalProcesses):
    task = staticmethod(crash_on_seed_0)


def test_a_crashed_run_is_reported_failed_and_the_others_go_on(tmp_path):
    plan = plan_study([RunConfig("model_1", seed=seed, epochs=1) for seed in (0, 1, 2)],
                      tmp_path)
    results = {r.config.seed: r for r in run_study(plan, tmp_path, CrashingProcesses(2))}
    assert {seed: r.status for seed, r in results.items()} == {
        0: "failed", 1: "trained", 2: "trained"}
    assert result_lines(results[0]) == [
        "== FAILED model_1 seed 0 (a worker process): RuntimeError: out of memory, say; see "
        f"{tmp_path / '.logs' / 'model_1_epochs1_seed_0.log'}"]



def note_resume_point(config, results_dir, verbose, environment, began, checkpoints,
                      runs_at_once=1, resume=None):
    """A worker's task that writes down the resume point it was handed, for the test to read."""
    (results_dir / f"seed_{config.seed}.json").write_text(json.dumps(resume))
    return RunResult(config, "trained", worker="worker 1")


class NotingProcesses(LocalProcesses):
    task = staticmethod(note_resume_point)


@pytest.fixture
def interrupted(tmp_path):
    """Return the plan of model_1 seed 0 (no checkpoint) and seed 1 (interrupted after epoch 2)."""
    configs = [RunConfig("model_1", seed=seed, epochs=3) for seed in (0, 1)]
    write_checkpoint(configs[1], tmp_path, 2)
    return plan_study(configs, tmp_path)


def test_worker_processes_resume_each_run_from_the_checkpoint_the_plan_read(interrupted,
                                                                           tmp_path):
    list(run_study(interrupted, tmp_path, NotingProcesses(2)))
    handed = {planned.config.seed: json.loads((tmp_path / f"seed_{planned.config.seed}.json")
                                              .read_text()) for planned in interrupted.runs}
    assert handed == {0: {}, 1: interrupted.runs[1].checkpoint}
    assert handed[1]["epochs_done"] == 2


def test_this_process_resumes_each_run_from_the_checkpoint_the_plan_read(interrupted, tmp_path,
                                                                         monkeypatch):
    import mnist_cnn.data
    import mnist_cnn.training

    handed = {}

    def fake_train(config, data=None, *, resume=None, **how):
        handed[config.seed] = resume
        return make_run(config.model, seed=config.seed)

    monkeypatch.setattr(mnist_cnn.training, "train", fake_train)
    monkeypatch.setattr(mnist_cnn.data, "load_dataset", lambda name: "the MNIST arrays")
    list(run_study(interrupted, tmp_path, InProcess()))
    assert handed == {0: {}, 1: interrupted.runs[1].checkpoint}
    assert handed[1]["epochs_done"] == 2


@pytest.mark.training
def test_runs_trained_in_worker_processes_equal_runs_trained_in_process(tmp_path):
    from mnist_cnn.data import load_mnist
    from mnist_cnn.training import train

    configs = [RunConfig("model_1", epochs=1, subset=256, batch_size=64, validation="none",
                         seed=seed) for seed in (0, 1)]
    plan = plan_study(configs, tmp_path / "workers")
    results = list(run_study(plan, tmp_path / "workers", LocalProcesses(2)))
    assert sorted((r.config.seed, r.status) for r in results) == [(0, "trained"), (1, "trained")]
    assert all(r.worker.startswith("worker ") and r.minutes > 0 for r in results)
    for result in results:
        assert result.path == run_dir(result.config, tmp_path / "workers")
        assert load_run(result.path).config == result.config
    # One of them trained again here: a worker's run is the run this process trains.
    recorded = load_run(results[-1].path)
    here = train(recorded.config, load_mnist(), results_dir=tmp_path / "here", verbose=0)
    np.testing.assert_array_equal(recorded.probs, here.probs)
    assert recorded.test_loss == here.test_loss
