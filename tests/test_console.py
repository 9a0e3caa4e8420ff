"""The study's console wording, from made-up plans, estimates and results."""

from mnist_cnn.console import plan_lines, state_line
from mnist_cnn.executors import RunResult
from mnist_cnn.plan import Estimate, Plan, PlannedRun
from mnist_cnn.runs import RunConfig

from helpers import make_run

THIS_MACHINE = "CPU: test (2 cores)"
ONE, THREE = RunConfig("model_1", seed=1), RunConfig("model_1", seed=3)


def study():
    """Return (a plan of model_1 seeds 0, 1 and 3 with seed 0 recorded and seed 3 interrupted
    after epoch 12, its estimate: 6 min a run to train)."""
    plan = Plan([PlannedRun(RunConfig("model_1"), make_run("model_1"), {}),
                 PlannedRun(ONE, None, {}), PlannedRun(THREE, None, {"epochs_done": 12})])
    return plan, Estimate(THIS_MACHINE, {ONE: 360, THREE: 360}, ["the recorded runs' s/epoch"])


def test_plan_lines_name_the_runs_to_train_where_they_resume_and_the_time_they_take():
    plan, estimate = study()
    assert plan_lines(plan, estimate) == [
        "1 of 3 runs recorded; 2 to train: model_1 seed 1, model_1 seed 3 (resumes after epoch "
        "12)", "time to train: about 12 min on this machine (CPU: test (2 cores)), from the "
        "recorded runs' s/epoch"]
    unknown = Estimate(THIS_MACHINE, {ONE: 360, THREE: None}, ["the recorded runs' s/epoch"])
    assert plan_lines(plan, unknown)[1] == (
        "time to train: about 6 min on this machine (CPU: test (2 cores)) for 1 of the 2, from "
        "the recorded runs' s/epoch; unknown for model_1 seed 3 (no run of the model recorded "
        "or benchmarked on this machine)")

    eigen = Estimate(THIS_MACHINE, {ONE: 360, THREE: 360}, ["the recorded runs' s/epoch"], "Eigen")
    assert plan_lines(plan, eigen)[1] == (  # the library the estimate matched runs on
        "time to train: about 12 min on this machine (CPU: test (2 cores), TensorFlow on Eigen), "
        "from the recorded runs' s/epoch")


def test_state_counts_the_runs_recorded_and_the_time_left():
    plan, estimate = study()
    done = [RunResult(RunConfig("model_1"), "skipped"), RunResult(ONE, "trained")]
    assert state_line(plan, done, estimate) == (
        "== study: 2 of 3 runs recorded; 1 to go, about 6 min of training")
    done.append(RunResult(THREE, "failed", error="it broke"))
    assert state_line(plan, done, estimate) == "== study: 2 of 3 runs recorded, 1 failed"
