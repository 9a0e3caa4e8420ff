"""The study's plan and time estimate, from made-up runs and checkpoints."""

import json

import pytest

from mnist_cnn.plan import estimate_time, plan_study, protocol_configs
from mnist_cnn.runs import EPOCHS, RunConfig, RunError, checkpoint_dir, run_dir, save_run

from helpers import make_run, write_checkpoint

THIS_MACHINE = "CPU: test (2 cores)"  # the device make_run records; s/epoch: 10 + seed


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


def test_plan_hands_on_the_checkpoint_it_read_for_training_to_resume_from(results):
    interrupted = RunConfig("model_3", seed=0)
    state = json.loads((checkpoint_dir(interrupted, results) / "state.json").read_text())
    fresh, resumed = plan_study([RunConfig("model_3", seed=2), interrupted], results).runs
    assert resumed.checkpoint == state and fresh.checkpoint == {}  # {}: from the first epoch


def test_plan_leaves_an_unusable_checkpoint_to_training_which_says_why_it_ignores_it(results):
    config = RunConfig("model_3", seed=0)
    (checkpoint_dir(config, results) / "epoch_12.keras").unlink()
    [planned] = plan_study([config], results).runs
    assert planned.checkpoint is None and planned.resumes_after == 0  # None: `train` reads it


def test_plan_stops_at_an_unreadable_run_unless_it_is_retrained(results):
    folder = run_dir(RunConfig("model_1", seed=4), results)
    (folder / "test_probs.npz").unlink()
    with pytest.raises(RunError, match="seed_4"):
        plan_study([RunConfig("model_1", seed=4)], results)
    plan = plan_study([RunConfig("model_1", seed=4)], results, retrain=True)
    assert plan.recorded == [] and names(plan.to_train) == [("model_1", 4, 0)]


@pytest.fixture
def no_bench(monkeypatch, tmp_path):
    import mnist_cnn.plan

    monkeypatch.setattr(mnist_cnn.plan, "BENCH_JSON", tmp_path / "no_bench.json")


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


def test_estimate_leaves_out_runs_computed_with_another_cpu_kernel_library(results, no_bench):
    """One CPU name covers machines on oneDNN and on Eigen; a run that says which counts only
    where it matches, a run recorded before that was recorded counts everywhere."""
    for seed, kernels in ((1, "Eigen"), (3, "oneDNN")):  # 11 and 13 s/epoch
        folder = save_run(make_run("model_1", seed=seed), results)
        metrics = json.loads((folder / "metrics.json").read_text())
        metrics["cpu_kernels"] = kernels
        (folder / "metrics.json").write_text(json.dumps(metrics))
    plan = plan_study([RunConfig("model_1", seed=5)], results)
    five = RunConfig("model_1", seed=5)

    def per_epoch(kernels):
        estimate = estimate_time(plan, results, device=THIS_MACHINE, cpu_kernels=kernels)
        return estimate.seconds[five] / EPOCHS

    # Recorded: 10, 12 and 14 s/epoch saying nothing, 11 on Eigen, 13 on oneDNN.
    assert per_epoch("Eigen") == 11.5 and per_epoch("oneDNN") == 12.5 and per_epoch(None) == 12
    assert estimate_time(plan, results, THIS_MACHINE, cpu_kernels="Eigen").cpu_kernels == "Eigen"
