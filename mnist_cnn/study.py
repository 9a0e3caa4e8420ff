"""Run a study of many runs: plan it, estimate its time, and train it through an executor.

The plan (`plan_study`) says which of a study's runs are recorded, which are to be trained and
the epoch after which an interrupted run resumes; the estimate (`estimate_time`) times the runs
to train from the runs recorded on this machine, or its benchmark; `run_study` trains them
through an executor, in this process (`InProcess`), in worker processes on this machine
(`LocalProcesses`) or as Ray tasks on a cluster (`RayTasks`), and hands back one `RunResult` per
run. The `*_lines` functions word all of it for the `mnist-cnn` command.

Planning and estimating read run files only; Keras is imported where a run is trained, Ray only
by `RayTasks` when it trains.
"""

import concurrent.futures
import contextlib
import importlib.util
import json
import logging
import math
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import MnistCnnError
from .data import DATASET_NAMES, DEFAULT_DATASET
from .machine import cpu_device, machine_name
from .runs import (TEST_SIZE, TRAIN_SIZE, Run, RunConfig, RunError, checkpoints_folder, load_run,
                   read_checkpoint, recorded_run, remove_checkpoint, run_dir, run_folders,
                   save_run)

LOGS = ".logs"  # the worker processes' logs, one per run, inside the results folder (git-ignored)
# Workers share one accelerator: each takes GPU memory as it needs it, not all of it up front.
WORKER_ENV = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
# The thread counts a run trains with; a worker gets this process's values, so that a run
# trained there uses the same threads (and gives the same numbers) as one trained here.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
# Ray, for `RayTasks`: the extra that installs it, and how often a task whose worker or node died
# is run again (each time from the run's last checkpoint).
CLUSTER_EXTRA = "pip install 'mnist-cnn[cluster]'"
RAY_TASK_RETRIES = 3
DEFAULT_CPUS_PER_RUN = 2  # the cores the protocol runs were timed on (results/, benchmarks/)
JOIN_TIMEOUT_S = 10  # to open a connection to a cluster's head before Ray itself tries for minutes
# For the time estimate, read without importing Keras:
BENCH_JSON = Path("benchmarks") / "bench.json"  # `mnist-cnn bench --json`, relative like README
VALIDATION_STEP_SHARE = 1 / 3  # a validation batch runs forward only: ~1/3 of a training step


def protocol_configs(models, seeds, dataset=DEFAULT_DATASET, builder=None):
    """Return the protocol runs of `models` and `seeds` on `dataset`, each once, seed by seed.

    With `builder`, `models` holds the NAME of the user's model that it builds (custom.py).
    """
    # Seed by seed: whatever finishes before an interruption covers the models evenly.
    return list(dict.fromkeys(RunConfig(model, seed=seed, dataset=dataset, builder=builder)
                              for seed in seeds for model in models))


@dataclass
class PlannedRun:
    """One run of a study: its config, its recorded run (or None), its checkpoint's epochs."""

    config: RunConfig
    recorded: Run | None
    resumes_after: int  # epochs its checkpoint has done; 0: it starts from the first epoch


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


def _epochs_done(config, results_dir, checkpoints):
    """Return the epochs that the checkpoint of `config` has done (0 without a usable one)."""
    try:
        state = read_checkpoint(config, results_dir, checkpoints)
    except ValueError:
        return 0  # `train` will ignore it too
    return state["epochs_done"] if state else 0


def plan_study(configs, results_dir, retrain=False, checkpoints=None):
    """Return the Plan for `configs` (each once, in order) under `results_dir`.

    Checkpoints are looked for in `checkpoints` (default: <results_dir>/.checkpoints). A recorded
    run that cannot be read stops the study now (RunError), not after hours of training; with
    `retrain` it is trained again like the others.
    """
    runs = []
    for config in dict.fromkeys(configs):
        try:
            recorded = recorded_run(config, results_dir)
        except RunError:
            if not retrain:
                raise
            recorded = None
        runs.append(PlannedRun(config, recorded, _epochs_done(config, results_dir, checkpoints)))
    return Plan(runs, retrain)


@dataclass
class Estimate:
    """How long a plan's runs take to train on `device`: seconds per config (None: unknown)."""

    device: str
    seconds: dict
    sources: list

    def left(self, configs):
        """Return (estimated seconds to train `configs`, how many of them are unknown)."""
        known = [self.seconds[c] for c in configs if self.seconds.get(c) is not None]
        return sum(known), len(configs) - len(known)


def _recorded_timings(results_dir):
    """Return (config, device, median s/epoch) of every readable run under `results_dir`.

    An unreadable run is left out: it is no reason to refuse an estimate.
    """
    timings = []
    for folder in (f for dataset in DATASET_NAMES for f in run_folders(results_dir, dataset)):
        try:
            run = load_run(folder)
        except RunError:
            continue
        seconds = [s for s in run.history["epoch_seconds"] if s is not None]
        if seconds:
            timings.append((run.config, run.metrics["device"], statistics.median(seconds)))
    return timings


def _bench_timings(device):
    """Return ({model: fp32 ms per training step}, batch size) from BENCH_JSON.

    Only if it was measured on `device`; ({}, None) otherwise or when it is missing or unreadable.
    """
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
    """Return (estimated s/epoch of `config` on `device`, where it comes from), or (None, None).

    The median s/epoch of the model's runs recorded on `device` with the same batch size (any
    seed, epochs or learning rate): full-training-set runs if there are any, else subset runs,
    scaled by the epochs' work in steps (`_epoch_steps`), as is a difference in validation.
    Without such runs: the benchmark's ms/step (if it timed `device`) times `_epoch_steps`;
    without that, another model's runs on `device` scaled by training FLOPs (`_scaled_by_flops`,
    with `flops` for users' models).
    """
    same = [(recorded, seconds * _epoch_steps(config) / _epoch_steps(recorded))
            for recorded, ran_on, seconds in timings
            if ran_on == device and recorded.model == config.model
            and recorded.batch_size == config.batch_size]
    full = [seconds for recorded, seconds in same if recorded.subset is None]
    if full:
        return statistics.median(full), "the recorded runs' s/epoch"
    if same:
        return (statistics.median(seconds for _, seconds in same),
                "subset runs' s/epoch scaled to 60,000 images")
    ms_per_step, batch_size = bench[0].get(config.model), bench[1]
    if ms_per_step is not None and batch_size == config.batch_size:
        return ms_per_step / 1000 * _epoch_steps(config), f"{BENCH_JSON.as_posix()}'s ms/step"
    return _scaled_by_flops(config, device, timings, flops)


def _scaled_by_flops(config, device, timings, extra=None):
    """Return (s/epoch of `config` scaled from another model's runs on `device`, source).

    The model whose training FLOPs per image are nearest to `config.model`'s (on a log scale)
    among those with full-training-set runs on `device` at the same batch size: its median
    s/step times the ratio of the FLOPs. (None, None) without such runs, or where the FLOPs of
    `config.model` are unknown: the seven's are in the cost table, users' models' in `extra`.
    Rough: a step's fixed costs do not scale with FLOPs, so this is the estimate of last resort.
    """
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


def estimate_time(plan, results_dir, device=None, flops=None):
    """Return the Estimate of the time `plan`'s runs to train take on `device`.

    `device` defaults to this machine (`machine_name()`). Each run: the s/epoch of the runs
    recorded on it (or its benchmark) times the epochs left to train. `flops` gives the training
    FLOPs per image of users' models ({NAME: FLOPs}), to scale the seven's times by.
    """
    device = device or machine_name()
    timings, bench = _recorded_timings(results_dir), _bench_timings(device)
    seconds, sources = {}, []
    for planned in plan.to_train:
        per_epoch, source = _seconds_per_epoch(planned.config, device, timings, bench, flops)
        seconds[planned.config] = (None if per_epoch is None
                                   else per_epoch * (planned.config.epochs - planned.resumes_after))
        if source is not None and source not in sources:
            sources.append(source)
    return Estimate(device, seconds, sources)


def _duration(seconds):
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 100 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _name(config):
    return f"{config.model} seed {config.seed}"


def plan_lines(plan, estimate=None):
    """Return the lines that say what `plan` trains and how long it takes (`estimate`)."""
    from .report import plural

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
    here, sources = f"on this machine ({estimate.device})", " and ".join(estimate.sources)
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


@dataclass
class RunResult:
    """What became of one run of a study.

    `status` is "trained", "skipped" (recorded already) or "failed" (`error` says why, `log`
    holds the worker's output); `worker` names where it trained; `started_s` and `finished_s`
    count from the study's start.
    """

    config: RunConfig
    status: str
    path: Path | None = None
    minutes: float = 0.0
    worker: str | None = None
    error: str | None = None
    run: Run | None = None
    log: Path | None = None
    started_s: float | None = None
    finished_s: float | None = None


def result_lines(result):
    """Return the lines that report a finished run, for people reading the command's output.

    '== model_5 seed 0: test accuracy ... -> results/model_5/seed_0 (worker 4242, 5.1 min: 3 s
    to 309 s)' for a trained run, 'up to date: ...' and the same without the part in brackets
    for a recorded one, '== FAILED model_5 seed 0 (...): why; see LOG' for a failed one.
    """
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
    """Return the study's state after `results` (all that `run_study` yielded so far).

    Runs recorded of all, those that failed, those to go and the estimated training time left.
    """
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


def run_study(plan, results_dir, executor, verbose=2, checkpoints=None):
    """Yield a RunResult for each run of `plan`: the recorded ones first, then as they train.

    `executor` trains the runs to train (`InProcess()`, `LocalProcesses(jobs)` or
    `RayTasks(address)`), checkpointing them in `checkpoints` (default:
    <results_dir>/.checkpoints); `verbose` is Keras' fit verbosity in this process. A bad-input
    error (MnistCnnError) ends the study.
    """
    began = time.time()
    for planned in plan.runs:
        if planned.recorded is not None and not plan.retrain:
            yield RunResult(planned.config, "skipped", planned.recorded.path, run=planned.recorded)
    configs = [planned.config for planned in plan.to_train]
    if configs:
        yield from executor.train(configs, Path(results_dir), verbose, began, checkpoints)


class InProcess:
    """Train runs one after another in this process; Ctrl-C stops it, the same call resumes."""

    name = "this process"

    def train(self, configs, results_dir, verbose, began, checkpoints=None):
        """Yield the RunResult of each of `configs`, trained in order."""
        data = load_datasets(configs)  # before TensorFlow: a bad data file stops it at once
        from . import training  # looked up per call: tests stand a fake `train` in

        for config in configs:
            started = time.time()
            run = training.train(config, data[config.dataset], results_dir=results_dir,
                                 checkpoints=checkpoints, verbose=verbose)
            yield RunResult(config, "trained", run.path, (time.time() - started) / 60, self.name,
                            run=run, started_s=started - began, finished_s=time.time() - began)


def load_datasets(configs):
    """Return {data set: its arrays} for the data sets that `configs` train on, each verified."""
    from .data import load_dataset

    return {name: load_dataset(name) for name in dict.fromkeys(c.dataset for c in configs)}


def worker_environment():
    """Return the variables a worker sets before it imports Keras (None: unset it)."""
    return {**WORKER_ENV, **{name: os.environ.get(name) for name in THREAD_VARIABLES}}


def _error_line(error):
    """Return 'ErrorType: the first line of its message'."""
    why = str(error).strip().splitlines()
    return f"{type(error).__name__}: {why[0] if why else ''}"


def log_path(config, results_dir):
    """Return the file that holds the output of the worker that trains `config`."""
    return Path(results_dir) / LOGS / f"{run_dir(config, '.').as_posix().replace('/', '_')}.log"


def _start_worker():
    """Prepare a worker process: Ctrl-C is the parent's to handle; its log lines appear whole."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # idle: the parent stops the pool itself
    sys.stdout.reconfigure(line_buffering=True)


def _interrupt_once(signum, frame):
    # A run that trains stops at the first SIGINT (Ctrl-C reaches the whole process group, and
    # the parent passes it on too): one KeyboardInterrupt, not a second inside its clean-up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _output_to(path):
    """Append this process's stdout and stderr (file descriptors 1 and 2) to `path` meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(path, "a") as log:  # a resumed run's log goes on from the interrupted one
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


_worker_data = {}  # each data set this worker process trains on, loaded once


def _apply_environment(environment):
    """Set this process's variables to `environment` (None: unset the variable)."""
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def train_in_worker(config, results_dir, verbose, environment, began, checkpoints,
                    runs_at_once=1):
    """Train `config` in this worker process, its output in its log; return its RunResult.

    `environment` (`worker_environment()`) is set before Keras is imported, so its thread
    counts and GPU memory settings hold for every run the worker trains; `runs_at_once` is
    how many workers share the machine, which the run records.
    """
    started = time.time()
    _apply_environment(environment)
    log = log_path(config, results_dir)
    signal.signal(signal.SIGINT, _interrupt_once)
    try:
        with _output_to(log):
            try:
                from .training import train

                if config.dataset not in _worker_data:
                    _worker_data.update(load_datasets([config]))
                run = train(config, _worker_data[config.dataset], results_dir=results_dir,
                            checkpoints=checkpoints, verbose=verbose, runs_at_once=runs_at_once)
            except KeyboardInterrupt:
                print("interrupted: the same command resumes this run from its checkpoint")
                raise
            except Exception as e:
                if not isinstance(e, MnistCnnError):  # its one line says it all
                    traceback.print_exc()
                raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return RunResult(config, "trained", run.path, (time.time() - started) / 60,
                     f"worker {os.getpid()}", run=run, log=log, started_s=started - began,
                     finished_s=time.time() - began)


class LocalProcesses:
    """Train runs in `jobs` worker processes on this machine, sharing its CPUs and accelerator.

    Each worker (a `spawn`ed process, so that no Keras state is inherited) trains one run at a
    time with this process's thread settings and writes its output to `log_path`; runs come
    back in the order they finish. Ctrl-C stops every worker at once; their runs resume.
    """

    task = staticmethod(train_in_worker)  # a module-level function: workers import it by name

    def __init__(self, jobs):
        self.jobs = jobs

    def train(self, configs, results_dir, verbose, began, checkpoints=None):
        """Yield the RunResult of each of `configs` as it finishes.

        `verbose` is not used: a worker's log gets one line per epoch, never a progress bar.
        """
        load_datasets(configs)  # a missing or corrupt data file stops the study before any worker
        runs_at_once = min(self.jobs, len(configs))
        pool = concurrent.futures.ProcessPoolExecutor(
            self.jobs, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker)
        pending, running = list(configs), {}
        try:
            while pending or running:
                # No more runs handed out than there are workers: the pool queues what it is
                # given, and a queued run could not be taken back when the study stops.
                while pending and len(running) < self.jobs:
                    config = pending.pop(0)
                    running[pool.submit(self.task, config, results_dir, 2, worker_environment(),
                                        began, checkpoints, runs_at_once)] = config
                done, _ = concurrent.futures.wait(running,
                                                  return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    yield self._result(future, running.pop(future), results_dir, began)
        except BaseException:  # bad input, Ctrl-C, or the caller stopped reading
            for worker in multiprocessing.active_children():
                with contextlib.suppress(OSError):
                    os.kill(worker.pid, signal.SIGINT)  # stops its run at a resumable point
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _result(future, config, results_dir, began):
        """Return the RunResult of a finished future; re-raise bad input and Ctrl-C."""
        try:
            return future.result()
        except MnistCnnError:
            raise
        except Exception as e:  # a crash, or the worker process died (BrokenProcessPool)
            return RunResult(config, "failed", worker="a worker process", error=_error_line(e),
                             log=log_path(config, results_dir), finished_s=time.time() - began)


def ray_installed():
    """Return whether Ray can be imported here, without importing it."""
    return importlib.util.find_spec("ray") is not None  # None too where an import is blocked


def _cores():
    """Return the number of CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _host_and_port(address):
    """Return (host, port) of a HOST:PORT (or ray://HOST:PORT) address; None for another form."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    return (host.strip("[]"), int(port)) if colon and host and port.isdigit() else None


def _thread_environment(environment, cpus):
    """Return `environment` with the thread counts of a run that holds `cpus` of this node's cores.

    The driver's own thread settings where it made any, so that the run trains as in the
    driver's process. Otherwise as many threads as the run holds cores; where that is every core,
    none at all: TensorFlow's default (every core), as in-process, and not the OMP_NUM_THREADS
    that Ray gives its workers.
    """
    if any(environment.get(name) is not None for name in THREAD_VARIABLES):
        return environment
    threads = max(1, math.floor(cpus))
    if threads >= _cores():
        return environment
    return {**environment, "OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads)}


def train_as_ray_task(config, data, checkpoints, environment, cpus, runs_at_once=1):
    """Train `config` in this Ray worker; return (its unsaved Run, the worker's name, minutes).

    The run's checkpoint, under `checkpoints` (a folder every node reaches), outlives the task:
    a retry after its worker or node died resumes from it, and the driver removes it once it has
    saved the run. `environment` and the thread counts are set before Keras is imported.
    """
    started = time.monotonic()
    _apply_environment(_thread_environment(environment, cpus))
    from .training import train

    run = train(config, data, checkpoints=Path(checkpoints), save=False, verbose=2,
                runs_at_once=runs_at_once)
    minutes = (time.monotonic() - started) / 60
    return run, f"worker {os.getpid()} on {socket.gethostname()}", minutes


class RayTasks:
    """Train each run as a Ray task, on a running Ray cluster or on one started here.

    `address` is "local" (start Ray on this machine, with its cores), "auto" (the cluster this
    machine belongs to) or the head's HOST:PORT. A task holds `cpus_per_run` CPUs and
    `gpus_per_run` GPUs (0.25: four runs share a GPU). Workers get MNIST through Ray's object
    store and send each run back as a value, which this process saves under its results folder:
    they need no access to its disk, only to the checkpoints folder (on a multi-node cluster,
    shared storage). A task whose worker or node dies is run again (RAY_TASK_RETRIES times) and
    resumes from the run's last checkpoint; bad input is not retried and ends the study.
    """

    task = staticmethod(train_as_ray_task)  # what each Ray task runs (tests stand in others)

    def __init__(self, address, cpus_per_run=DEFAULT_CPUS_PER_RUN, gpus_per_run=0):
        if not ray_installed():
            raise MnistCnnError(f"--ray needs Ray, which is not installed here: {CLUSTER_EXTRA}")
        if not address:
            raise MnistCnnError("--ray needs an address: local, auto or the head's HOST:PORT")
        if not (math.isfinite(cpus_per_run) and cpus_per_run > 0):
            raise MnistCnnError(f"--cpus-per-run must be a positive number, got {cpus_per_run}")
        if not (math.isfinite(gpus_per_run) and gpus_per_run >= 0):
            raise MnistCnnError(f"--gpus-per-run must be 0 or more, got {gpus_per_run}")
        if gpus_per_run > 1 and gpus_per_run != int(gpus_per_run):
            # Ray shares a GPU between tasks, never a task between part-used GPUs.
            raise MnistCnnError(f"--gpus-per-run above 1 must be a whole number, got "
                                f"{gpus_per_run}")
        self.address, self.cpus_per_run, self.gpus_per_run = address, cpus_per_run, gpus_per_run

    def train(self, configs, results_dir, verbose, began, checkpoints=None):
        """Yield the RunResult of each of `configs` as its task finishes, its run saved here.

        `verbose` is not used: a worker's output (a line per epoch) stays in Ray's logs on its
        node, and this process prints a line per finished run.
        """
        import ray

        data = load_datasets(configs)  # a missing or corrupt data file stops it before Ray starts
        self._connect(ray)
        pending = {}
        try:
            self._check_a_node_fits(ray)
            task = ray.remote(self.task).options(
                num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run,
                max_retries=RAY_TASK_RETRIES, retry_exceptions=False)
            # Absolute: a worker's working folder is not this process's.
            shared = str(checkpoints_folder(results_dir, checkpoints).resolve())
            data_refs = {name: ray.put(arrays) for name, arrays in data.items()}
            environment, at_once = worker_environment(), self._runs_per_node(ray, len(configs))
            pending = {task.remote(config, data_refs[config.dataset], shared, environment,
                                   self.cpus_per_run, at_once): config for config in configs}
            while pending:
                [done], _ = ray.wait(list(pending), num_returns=1)
                yield self._result(ray, done, pending.pop(done), results_dir, checkpoints, began)
        except BaseException:  # bad input, Ctrl-C, or the caller stopped reading
            for ref in pending:
                ray.cancel(ref)  # a running run stops; its checkpoint stays for the next call
            raise
        finally:
            ray.shutdown()

    def _connect(self, ray):
        """Start Ray here or join the cluster at the address; one line (MnistCnnError) if not."""
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}  # the study reports
        if self.address == "local":
            if self.cpus_per_run > _cores():
                raise MnistCnnError(f"--cpus-per-run {self.cpus_per_run:g} is more than this "
                                    f"machine's {_cores()} cores")
            ray.init(address="local", num_cpus=_cores(), include_dashboard=False, **quiet)
            return
        target = _host_and_port(self.address)
        if target is not None:
            # Ray tries to reach an address for minutes; a refused connection is an answer now.
            try:
                socket.create_connection(target, timeout=JOIN_TIMEOUT_S).close()
            except OSError as e:
                raise MnistCnnError(
                    f"no Ray cluster answers at {self.address} ({e.strerror or e}): start one "
                    "(ray start --head) or pass its head's HOST:PORT to --ray") from None
        try:
            ray.init(address=self.address, **quiet)
        except Exception as e:  # no cluster found ("auto"), a missing or wrong token, ...
            raise MnistCnnError(f"cannot join the Ray cluster at {self.address}: "
                                f"{_error_line(e)} (is it up? If it checks tokens: "
                                "RAY_AUTH_MODE=token, and its token in ~/.ray/auth_token or "
                                "RAY_AUTH_TOKEN)") from None

    def _check_a_node_fits(self, ray):
        """Stop with one line where no node has a run's CPUs and GPUs (its task would wait)."""
        nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
        if any(node.get("CPU", 0) >= self.cpus_per_run and node.get("GPU", 0) >= self.gpus_per_run
               for node in nodes):
            return
        sizes = ", ".join(sorted({f"{node.get('CPU', 0):g} CPUs and {node.get('GPU', 0):g} GPUs"
                                  for node in nodes}))
        raise MnistCnnError(f"no node of the Ray cluster has {self.cpus_per_run:g} CPUs and "
                            f"{self.gpus_per_run:g} GPUs for a run (its nodes: {sizes}): lower "
                            "--cpus-per-run or --gpus-per-run")

    def _runs_per_node(self, ray, runs):
        """Return the most of `runs` that one node trains at once (its CPUs, GPUs per run)."""
        fits = []
        for node in (node["Resources"] for node in ray.nodes() if node["Alive"]):
            by_cpu = math.floor(node.get("CPU", 0) / self.cpus_per_run)
            by_gpu = (math.floor(node.get("GPU", 0) / self.gpus_per_run) if self.gpus_per_run
                      else by_cpu)
            fits.append(min(by_cpu, by_gpu))
        return max(1, min(runs, max(fits, default=1)))

    @staticmethod
    def _result(ray, ref, config, results_dir, checkpoints, began):
        """Return the RunResult of a finished task, its run saved; re-raise bad input."""
        try:
            run, worker, minutes = ray.get(ref)
        except ray.exceptions.RayTaskError as e:  # training raised
            if isinstance(e.cause, MnistCnnError):
                raise e.cause from None
            return RunResult(config, "failed", worker=f"worker {e.pid} on {e.ip}",
                             error=_error_line(e.cause), finished_s=time.time() - began)
        except ray.exceptions.RayError as e:  # its worker or node died, again and again
            return RunResult(config, "failed", worker="a Ray worker", error=_error_line(e),
                             finished_s=time.time() - began)
        save_run(run, results_dir)
        remove_checkpoint(config, results_dir, checkpoints)
        finished = time.time() - began
        return RunResult(config, "trained", run.path, minutes, worker, run=run,
                         started_s=max(0.0, finished - minutes * 60), finished_s=finished)
