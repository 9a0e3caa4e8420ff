"""The study: its plan and time estimate from made-up runs, and its executors."""

import json

import numpy as np
import pytest

from mnist_cnn.runs import (EPOCHS, ConfigError, RunConfig, RunError, checkpoint_dir, load_run,
                            run_dir, save_run)
from mnist_cnn.study import (LocalProcesses, RunResult, estimate_time, plan_study,
                             protocol_configs, result_lines, run_study, state_line)

from helpers import make_run

THIS_MACHINE = "CPU: test (2 cores)"  # the device make_run records; s/epoch: 10 + seed


def write_checkpoint(config, results, epochs_done):
    """Leave a checkpoint of `config` after `epochs_done` epochs, as an interrupted run does."""
    folder = checkpoint_dir(config, results)
    folder.mkdir(parents=True)
    (folder / f"epoch_{epochs_done}.keras").write_bytes(b"a model")
    (folder / "state.json").write_text(json.dumps(
        {"config": config.to_dict(), "epochs_done": epochs_done,
         "model_file": f"epoch_{epochs_done}.keras"}))


@pytest.fixture
def results(tmp_path):
    """model_1 seeds 0 and 4 recorded (10 and 14 s/epoch); model_1 seed 2's folder holding
    another configuration; model_3 seed 0 interrupted after epoch 12."""
    results = tmp_path / "results"
    for seed in (0, 4):
        save_run(make_run("model_1", seed=seed), results)
    other = save_run(make_run("model_1", seed=2), results)
    metrics = json.loads((other / "metrics.json").read_text())
    metrics["config"]["lr"] = 0.01  # recorded under other settings: not this config's run
    (other / "metrics.json").write_text(json.dumps(metrics))
    write_checkpoint(RunConfig("model_3", seed=0), results, 12)
    return results


def names(planned_runs):
    return [(p.config.model, p.config.seed, p.resumes_after) for p in planned_runs]


def test_plan_says_which_runs_are_recorded_which_to_train_and_where_they_resume(results):
    configs = protocol_configs(["model_1", "model_3"], [0, 2, 0])
    plan = plan_study(configs, results)
    # Seed by seed, each run once; the folder with another configuration does not count.
    assert names(plan.runs) == [("model_1", 0, 0), ("model_3", 0, 12), ("model_1", 2, 0),
                                ("model_3", 2, 0)]
    assert names(plan.recorded) == [("model_1", 0, 0)]
    assert plan.recorded[0].recorded.path == run_dir(RunConfig("model_1"), results)
    assert names(plan.to_train) == [("model_3", 0, 12), ("model_1", 2, 0), ("model_3", 2, 0)]
    assert names(plan_study(configs, results, retrain=True).to_train) == names(plan.runs)


def test_plan_stops_at_an_unreadable_run_unless_it_is_retrained(results):
    folder = run_dir(RunConfig("model_1", seed=4), results)
    (folder / "test_probs.npz").unlink()
    with pytest.raises(RunError, match="seed_4"):
        plan_study([RunConfig("model_1", seed=4)], results)
    plan = plan_study([RunConfig("model_1", seed=4)], results, retrain=True)
    assert plan.recorded == [] and names(plan.to_train) == [("model_1", 4, 0)]


@pytest.fixture
def no_bench(monkeypatch, tmp_path):
    import mnist_cnn.study

    monkeypatch.setattr(mnist_cnn.study, "BENCH_JSON", tmp_path / "no_bench.json")


def test_estimate_times_the_epochs_left_from_the_runs_recorded_on_the_device(results, no_bench):
    plan = plan_study(protocol_configs(["model_1", "model_3"], [0, 1]), results)
    estimate = estimate_time(plan, results, device=THIS_MACHINE)
    one, three, three_again = (RunConfig("model_1", seed=1), RunConfig("model_3", seed=0),
                               RunConfig("model_3", seed=1))
    assert list(estimate.seconds) == [three, one, three_again]  # the runs to train
    # model_1: the median of 10, 12 (the run with another learning rate) and 14 s/epoch, for 30
    # epochs. model_3 has no run here: model_1's scaled by FLOPs, 18 epochs left for seed 0.
    assert estimate.seconds[one] == 12 * EPOCHS
    assert estimate.seconds[three] == pytest.approx(estimate.seconds[three_again] * 18 / 30)
    assert estimate.sources == ["model_1's s/epoch scaled by training FLOPs",
                                "the recorded runs' s/epoch"]  # in the order first used
    elsewhere = estimate_time(plan, results, device="GPU: elsewhere")
    assert elsewhere.sources == [] and elsewhere.left([one, three]) == (0, 2)

    save_run(make_run("model_3", seed=4), results)  # 14 s/epoch
    estimate = estimate_time(plan_study([three], results), results, device=THIS_MACHINE)
    assert estimate.seconds == {three: 14 * (EPOCHS - 12)}


def test_state_counts_the_runs_recorded_and_the_time_left(results, no_bench):
    plan = plan_study(protocol_configs(["model_1"], [0, 1, 3]), results)
    estimate = estimate_time(plan, results, device=THIS_MACHINE)
    done = [RunResult(RunConfig("model_1"), "skipped"),
            RunResult(RunConfig("model_1", seed=1), "trained")]
    assert state_line(plan, done, estimate) == (
        "== study: 2 of 3 runs recorded; 1 to go, about 6 min of training")
    done.append(RunResult(RunConfig("model_1", seed=3), "failed", error="it broke"))
    assert state_line(plan, done, estimate) == "== study: 2 of 3 runs recorded, 1 failed"


def refuse_to_train(config, results_dir, verbose, environment, began, checkpoints,
                    runs_at_once=1):
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
                    runs_at_once=1):
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
    data = load_mnist()
    for result in results:
        assert result.path == run_dir(result.config, tmp_path / "workers")
        recorded = load_run(result.path)
        assert recorded.config == result.config
        here = train(result.config, data, results_dir=tmp_path / "here", verbose=0)
        np.testing.assert_array_equal(recorded.probs, here.probs)
        assert recorded.test_loss == here.test_loss
