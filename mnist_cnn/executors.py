"""Train a study's runs through an executor and hand back what became of each.

`run_study` trains the runs that a plan (plan.py) trains through an executor, in this process
(`InProcess`), in worker processes on this machine (`LocalProcesses`) or as Ray tasks on a
cluster (`RayTasks`), and hands back one `RunResult` per run. Each run resumes where its plan
says, from the checkpoint state the plan read.

Keras is imported where a run is trained, Ray only by `RayTasks` when it trains.
"""

import concurrent.futures
import contextlib
import importlib.util
import logging
import math
import multiprocessing
import os
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import MnistCnnError, error_line, fds_to
from .runs import Run, RunConfig, checkpoints_folder, remove_checkpoint, run_dir, save_run

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


@dataclass
class RunResult:
    """Record what became of one run of a study: trained, skipped or failed."""

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


def run_study(plan, results_dir, executor, verbose=2, checkpoints=None):
    """Yield a RunResult for each run of `plan`: the recorded ones first, then as they train."""
    began = time.time()
    for planned in plan.runs:
        if planned.recorded is not None and not plan.retrain:
            yield RunResult(planned.config, "skipped", planned.recorded.path, run=planned.recorded)
    if plan.to_train:
        yield from executor.train(plan.to_train, Path(results_dir), verbose, began, checkpoints)


class InProcess:
    """Train runs one after another in this process; Ctrl-C stops it, the same call resumes."""

    name = "this process"

    def train(self, planned_runs, results_dir, verbose, began, checkpoints=None):
        """Yield the RunResult of each of `planned_runs` (PlannedRun), trained in order."""
        # Before TensorFlow: a bad data file stops it at once.
        data = load_datasets(planned.config for planned in planned_runs)
        from . import training  # looked up per call: tests stand a fake `train` in

        for planned in planned_runs:
            config, started = planned.config, time.time()
            run = training.train(config, data[config.dataset], results_dir=results_dir,
                                 checkpoints=checkpoints, verbose=verbose,
                                 resume=planned.checkpoint)
            yield RunResult(config, "trained", run.path, (time.time() - started) / 60, self.name,
                            run=run, started_s=started - began, finished_s=time.time() - began)


def load_datasets(configs):
    """Return {data set: its arrays} for the data sets that `configs` train on, each verified."""
    from .data import load_dataset

    return {name: load_dataset(name) for name in dict.fromkeys(c.dataset for c in configs)}


def worker_environment():
    """Return the variables a worker sets before it imports Keras (None: unset it)."""
    return {**WORKER_ENV, **{name: os.environ.get(name) for name in THREAD_VARIABLES}}


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


_worker_data = {}  # each data set this worker process trains on, loaded once


def _apply_environment(environment):
    """Set this process's variables to `environment` (None: unset the variable)."""
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def train_in_worker(config, results_dir, verbose, environment, began, checkpoints,
                    runs_at_once=1, resume=None):
    """Train `config` in this worker process, its output in its log; return its RunResult."""
    started = time.time()
    # before Keras is imported: its thread and GPU memory settings hold for every run
    _apply_environment(environment)
    log = log_path(config, results_dir)
    signal.signal(signal.SIGINT, _interrupt_once)
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with fds_to(log):  # a resumed run's log goes on from the interrupted one
            try:
                from .training import train

                if config.dataset not in _worker_data:
                    _worker_data.update(load_datasets([config]))
                run = train(config, _worker_data[config.dataset], results_dir=results_dir,
                            checkpoints=checkpoints, verbose=verbose, runs_at_once=runs_at_once,
                            resume=resume)
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
    """Train runs in `jobs` spawned worker processes on this machine; Ctrl-C stops them all."""

    task = staticmethod(train_in_worker)  # a module-level function: workers import it by name

    def __init__(self, jobs):
        self.jobs = jobs

    def train(self, planned_runs, results_dir, verbose, began, checkpoints=None):
        """Yield the RunResult of each of `planned_runs` as it finishes."""
        # A missing or corrupt data file stops the study before any worker starts.
        load_datasets(planned.config for planned in planned_runs)
        runs_at_once = min(self.jobs, len(planned_runs))
        # spawned, not forked: a worker inherits no Keras state
        pool = concurrent.futures.ProcessPoolExecutor(
            self.jobs, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker)
        pending, running = list(planned_runs), {}
        try:
            while pending or running:
                # No more runs handed out than there are workers: the pool queues what it is
                # given, and a queued run could not be taken back when the study stops.
                while pending and len(running) < self.jobs:
                    planned = pending.pop(0)
                    running[pool.submit(self.task, planned.config, results_dir, 2,
                                        worker_environment(), began, checkpoints, runs_at_once,
                                        planned.checkpoint)] = planned.config
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
            return RunResult(config, "failed", worker="a worker process", error=error_line(e),
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
    """Return `environment` with the thread counts of a run holding `cpus` of the cores."""
    if any(environment.get(name) is not None for name in THREAD_VARIABLES):
        return environment
    threads = max(1, math.floor(cpus))
    # every core: TensorFlow's default, as in-process, not the OMP_NUM_THREADS Ray sets
    if threads >= _cores():
        return environment
    return {**environment, "OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads)}


def train_as_ray_task(config, data, checkpoints, environment, cpus, runs_at_once=1):
    """Train `config` in this Ray worker; return (its unsaved Run, worker's name, minutes)."""
    started = time.monotonic()
    _apply_environment(_thread_environment(environment, cpus))
    from .training import train

    run = train(config, data, checkpoints=Path(checkpoints), save=False, verbose=2,
                runs_at_once=runs_at_once)
    minutes = (time.monotonic() - started) / 60
    return run, f"worker {os.getpid()} on {socket.gethostname()}", minutes


class RayTasks:
    """Train each run as a Ray task, on a running Ray cluster or on one started here."""

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

    def train(self, planned_runs, results_dir, verbose, began, checkpoints=None):
        """Yield the RunResult of each of `planned_runs` as its task ends, its run saved here."""
        import ray

        configs = [planned.config for planned in planned_runs]
        data = load_datasets(configs)  # a missing or corrupt data file stops it before Ray starts
        self._connect(ray)
        pending = {}
        try:
            at_once = self._runs_per_node(ray, len(configs))
            task = ray.remote(self.task).options(
                num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run,
                max_retries=RAY_TASK_RETRIES, retry_exceptions=False)
            # Absolute: a worker's working folder is not this process's.
            shared = str(checkpoints_folder(results_dir, checkpoints).resolve())
            data_refs = {name: ray.put(arrays) for name, arrays in data.items()}
            environment = worker_environment()
            # no plan state: a retried task resumes from the epochs its dead worker added
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
                                f"{error_line(e)} (is it up? If it checks tokens: "
                                "RAY_AUTH_MODE=token, and its token in ~/.ray/auth_token or "
                                "RAY_AUTH_TOKEN)") from None

    def _runs_per_node(self, ray, runs):
        """Return the most of `runs` one node trains at once; one line where no node fits one."""
        nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
        fits = [min(math.floor(node.get("CPU", 0) / self.cpus_per_run),
                    math.floor(node.get("GPU", 0) / self.gpus_per_run) if self.gpus_per_run
                    else math.inf) for node in nodes]
        if max(fits, default=0) < 1:  # its task would wait for ever
            sizes = ", ".join(sorted({f"{node.get('CPU', 0):g} CPUs and {node.get('GPU', 0):g} "
                                      "GPUs" for node in nodes}))
            raise MnistCnnError(f"no node of the Ray cluster has {self.cpus_per_run:g} CPUs and "
                                f"{self.gpus_per_run:g} GPUs for a run (its nodes: {sizes}): "
                                "lower --cpus-per-run or --gpus-per-run")
        return min(runs, max(fits))

    @staticmethod
    def _result(ray, ref, config, results_dir, checkpoints, began):
        """Return the RunResult of a finished task, its run saved; re-raise bad input."""
        try:
            run, worker, minutes = ray.get(ref)
        except ray.exceptions.RayTaskError as e:  # training raised
            if isinstance(e.cause, MnistCnnError):
                raise e.cause from None
            return RunResult(config, "failed", worker=f"worker {e.pid} on {e.ip}",
                             error=error_line(e.cause), finished_s=time.time() - began)
        except ray.exceptions.RayError as e:  # its worker or node died, again and again
            return RunResult(config, "failed", worker="a Ray worker", error=error_line(e),
                             finished_s=time.time() - began)
        save_run(run, results_dir)
        remove_checkpoint(config, results_dir, checkpoints)
        finished = time.time() - began
        return RunResult(config, "trained", run.path, minutes, worker, run=run,
                         started_s=max(0.0, finished - minutes * 60), finished_s=finished)
