"""The study's console wording: what `mnist-cnn train` and `reproduce` print about their runs.

The plan and its time estimate before training (`plan_lines`), each finished run
(`result_lines`) and the study's state after it (`state_line`), from the values that plan.py and
executors.py hand back.
"""

from .tables import plural


def _duration(seconds):
    """Return `seconds` as people read a duration: '40 s', '12 min' or '2.5 h'."""
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 100 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _name(config):
    """Return 'model_5 seed 0'."""
    return f"{config.model} seed {config.seed}"


def plan_lines(plan, estimate=None):
    """Return the lines that say what `plan` trains and how long it takes (`estimate`)."""
    todo, total = plan.to_train, len(plan.runs)
    counts = f"{len(plan.recorded)} of {plural(total, 'run')} recorded"
    if not todo:
        return [f"{counts}; nothing to train" if total == 1
                else f"all {total} runs recorded; nothing to train"]
    names = ", ".join(_name(p.config) + (f" (resumes after epoch {p.resumes_after})"
                                         if p.resumes_after else "") for p in todo)
    what = f"retraining all {len(todo)}" if plan.retrain else f"{len(todo)} to train"
    lines = [f"{counts}; {what}: {names}"]
    if estimate is None:
        return lines
    configs = [p.config for p in todo]
    seconds, unknown = estimate.left(configs)
    kernels = f", TensorFlow on {estimate.cpu_kernels}" if estimate.cpu_kernels else ""
    here = f"on this machine ({estimate.device}{kernels})"
    sources = " and ".join(estimate.sources)
    if not estimate.sources:
        lines.append(f"time to train: unknown {here}: no run of these models recorded or "
                     "benchmarked on it")
    elif not unknown:
        lines.append(f"time to train: about {_duration(seconds)} {here}, from {sources}")
    else:
        missing = ", ".join(_name(c) for c in configs if estimate.seconds.get(c) is None)
        lines.append(f"time to train: about {_duration(seconds)} {here} for "
                     f"{len(todo) - unknown} of the {len(todo)}, from {sources}; unknown for "
                     f"{missing} (no run of the model recorded or benchmarked on this machine)")
    return lines


def result_lines(result):
    """Return the lines that report a finished run, for people reading the command's output."""
    if result.status == "failed":
        return [f"== FAILED {_name(result.config)} ({result.worker}): {result.error}"
                + (f"; see {result.log}" if result.log else "")]
    run = result.run
    outcome = (f"== {run.label}: test accuracy {run.test_accuracy:.4f}, test log loss "
               f"{run.test_loss:.4f}, {run.seconds_per_epoch:.1f} s/epoch -> {result.path}")
    if result.status == "skipped":
        return [f"up to date: {run.label} ({result.path})", outcome]
    return [f"{outcome} ({result.worker}, {result.minutes:.1f} min: {result.started_s:.0f} s to "
            f"{result.finished_s:.0f} s)"]


def state_line(plan, results, estimate=None):
    """Return the study's state after `results`: runs recorded, failed, to go, and time left."""
    finished = {result.config for result in results}
    recorded = sum(result.status != "failed" for result in results)
    failed = len(results) - recorded
    left = [p.config for p in plan.to_train if p.config not in finished]
    line = f"== study: {recorded} of {len(plan.runs)} runs recorded"
    if failed:
        line += f", {failed} failed"
    if not left:
        return line
    line += f"; {len(left)} to go"
    if estimate is not None:
        seconds, unknown = estimate.left(left)
        line += (", time unknown" if unknown == len(left)
                 else f", about {_duration(seconds)} of training"
                 + (f" (unknown for {unknown})" if unknown else ""))
    return line
