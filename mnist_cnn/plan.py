"""Plan a study of many runs and estimate the time it takes to train.

The plan (`plan_study`) says which of a study's runs are recorded, which are to be trained and
where each resumes: it reads each run's checkpoint once and hands its state on, through the
executors (executors.py), to `train`. The estimate (`estimate_time`) times the runs to train from
the runs recorded on this machine, or its benchmark.

Both read run files only, never Keras.
"""

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from .data import DATASET_NAMES, DEFAULT_DATASET
from .machine import cpu_device, machine_name, tensorflow_cpu_kernels
from .runs import (TEST_SIZE, TRAIN_SIZE, Run, RunConfig, RunError, load_run, read_checkpoint,
                   recorded_run, run_folders)

# For the time estimate, read without importing Keras:
BENCH_JSON = Path("benchmarks") / "bench.json"  # `mnist-cnn bench --json`, relative like README
VALIDATION_STEP_SHARE = 1 / 3  # a validation batch runs forward only: ~1/3 of a training step


def protocol_configs(models, seeds, dataset=DEFAULT_DATASET, builder=None):
    """Return the protocol runs of `models` and `seeds` on `dataset`, each once, seed by seed."""
    # Seed by seed: whatever finishes before an interruption covers the models evenly.
    return list(dict.fromkeys(RunConfig(model, seed=seed, dataset=dataset, builder=builder)
                              for seed in seeds for model in models))


@dataclass
class PlannedRun:
    """Hold one run of a study: its config, its recorded run (or None) and its checkpoint."""

    config: RunConfig
    recorded: Run | None
    checkpoint: dict | None  # {}: none, start at epoch 1; None: unusable, `train` removes it

    @property
    def resumes_after(self):
        """Return the epochs its checkpoint has done (0: it starts from the first epoch)."""
        return (self.checkpoint or {}).get("epochs_done", 0)


@dataclass
class Plan:
    """A study's runs, in the order they are trained; with `retrain`, all are trained again."""

    runs: list
    retrain: bool = False

    @property
    def recorded(self):
        return [planned for planned in self.runs if planned.recorded is not None]

    @property
    def to_train(self):
        return [planned for planned in self.runs if self.retrain or planned.recorded is None]


def _checkpoint_state(config, results_dir, checkpoints):
    """Return the state of the checkpoint of `config`: {} without one, None if it is unusable."""
    try:
        return read_checkpoint(config, results_dir, checkpoints) or {}
    except ValueError:
        return None  # `train` says why it ignores it, as where it is trained on its own


def plan_study(configs, results_dir, retrain=False, checkpoints=None):
    """Return the Plan of `configs`; an unreadable recorded run raises RunError unless `retrain`."""
    runs = []
    for config in dict.fromkeys(configs):
        try:
            recorded = recorded_run(config, results_dir)
        except RunError:
            if not retrain:
                raise
            recorded = None
        runs.append(PlannedRun(config, recorded,
                                _checkpoint_state(config, results_dir, checkpoints)))
    return Plan(runs, retrain)


@dataclass
class Estimate:
    """How long a plan's runs take to train on `device`: seconds per config (None: unknown)."""

    device: str
    seconds: dict
    sources: list
    cpu_kernels: str | None = None  # TensorFlow's kernel library on that CPU, where it counted

    def left(self, configs):
        """Return (estimated seconds to train `configs`, how many of them are unknown)."""
        known = [self.seconds[c] for c in configs if self.seconds.get(c) is not None]
        return sum(known), len(configs) - len(known)


def _recorded_timings(results_dir, cpu_kernels=None):
    """Return (config, device, median s/epoch) of every readable run under `results_dir`.

    With `cpu_kernels`, leave out the runs that record another kernel library (runs recorded
    before it was recorded stay in: their name is all there is to go by).
    """
    timings = []
    for folder in (f for dataset in DATASET_NAMES for f in run_folders(results_dir, dataset)):
        try:
            run = load_run(folder)
        except RunError:
            continue
        if cpu_kernels and run.metrics.get("cpu_kernels", cpu_kernels) != cpu_kernels:
            continue
        if run.seconds_per_epoch is not None:
            timings.append((run.config, run.metrics["device"], run.seconds_per_epoch))
    return timings


def _bench_timings(device):
    """Return ({model: fp32 ms/step}, batch size) from BENCH_JSON on `device`, else ({}, None)."""
    try:
        result = json.loads(Path(BENCH_JSON).read_text())
        machine = result["machine"]
        if cpu_device(machine["cpu"], machine["cores"]) != device:
            return {}, None
        return ({row["model"]: float(row["ours_ms_per_step"]) for row in result["results"]
                 if row["precision"] == "fp32"}, int(result["settings"]["batch_size"]))
    except (OSError, ValueError, KeyError, TypeError):
        return {}, None


def _epoch_steps(config):
    """Return an epoch's work in training steps: its batches, plus validation's share."""
    steps = math.ceil((config.subset or TRAIN_SIZE) / config.batch_size)
    if config.validation == "test":
        steps += VALIDATION_STEP_SHARE * math.ceil(TEST_SIZE / config.batch_size)
    return steps


def _seconds_per_epoch(config, device, timings, bench, flops=None):
    """Return (estimated s/epoch of `config` on `device`, its source), or (None, None)."""
    same = [(recorded, seconds * _epoch_steps(config) / _epoch_steps(recorded))
            for recorded, ran_on, seconds in timings
            if ran_on == device and recorded.model == config.model
            and recorded.batch_size == config.batch_size]
    full = [seconds for recorded, seconds in same if recorded.subset is None]
    if full:
        return statistics.median(full), "the recorded runs' s/epoch"
    if same:
        return (statistics.median(seconds for _, seconds in same),
                f"subset runs' s/epoch scaled to {TRAIN_SIZE:,} images")
    ms_per_step, batch_size = bench[0].get(config.model), bench[1]
    if ms_per_step is not None and batch_size == config.batch_size:
        return ms_per_step / 1000 * _epoch_steps(config), f"{BENCH_JSON.as_posix()}'s ms/step"
    return _scaled_by_flops(config, device, timings, flops)


def _scaled_by_flops(config, device, timings, extra=None):
    """Return (s/epoch of `config` scaled by FLOPs from another model's runs, source)."""
    from .analysis import load_costs  # the architectures' FLOPs, only when it comes to this

    flops = {name: cost["train_flops_per_image"] for name, cost in load_costs().items()}
    flops.update(extra or {})
    if config.model not in flops:
        return None, None
    per_step = {}
    for recorded, ran_on, seconds in timings:
        if (ran_on == device and recorded.subset is None and recorded.model != config.model
                and recorded.model in flops and recorded.batch_size == config.batch_size):
            per_step.setdefault(recorded.model, []).append(seconds / _epoch_steps(recorded))
    if not per_step:
        return None, None
    nearest = min(per_step, key=lambda name: (abs(math.log(flops[name] / flops[config.model])),
                                              name))
    seconds = (statistics.median(per_step[nearest]) * flops[config.model] / flops[nearest]
               * _epoch_steps(config))
    return seconds, f"{nearest}'s s/epoch scaled by training FLOPs"


def estimate_time(plan, results_dir, device=None, flops=None, cpu_kernels=None):
    """Return the Estimate of the time `plan`'s runs take to train on `device`.

    Without `device`, on this machine, with TensorFlow's CPU kernel library here on a CPU.
    """
    if device is None:
        device = machine_name()
        cpu_kernels = tensorflow_cpu_kernels() if device.startswith("CPU") else None
    timings, bench = _recorded_timings(results_dir, cpu_kernels), _bench_timings(device)
    seconds, sources = {}, []
    for planned in plan.to_train:
        per_epoch, source = _seconds_per_epoch(planned.config, device, timings, bench, flops)
        seconds[planned.config] = (None if per_epoch is None
                                   else per_epoch * (planned.config.epochs - planned.resumes_after))
        if source is not None and source not in sources:
            sources.append(source)
    return Estimate(device, seconds, sources, cpu_kernels)
