"""The Ray executor against a real Ray cluster, which these tests start on this machine.

The cluster (a Ray head with 2 CPUs and a small object store) runs in a network and PID namespace
of this module's own, with only loopback up: Ray otherwise binds the machine's primary address,
and the test cluster's traffic must stay on loopback. Every command that talks to it runs in the
same namespace (nsenter); where no namespace can be made (it needs root), those tests skip.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.runs import RunConfig, checkpoint_dir, load_run, run_dir
from mnist_cnn.executors import CLUSTER_EXTRA, ray_installed

from helpers import heavy_modules_after

pytestmark = pytest.mark.cluster

HEAD = "127.0.0.1:6379"  # Ray's default port, free in a namespace of our own
# Short runs: 8 steps an epoch. Three epochs leave seconds between the first checkpoint and the
# end of a run, for the test that kills its worker.
SETTINGS = ["--epochs", "3", "--subset", "512", "--batch-size", "64", "--validation", "none"]
CONFIG = RunConfig("model_1", epochs=3, subset=512, batch_size=64, validation="none")
RAY_TASK_TITLE = "ray::train_as_ray_task"  # a Ray worker's process title while it trains a run
# Tokens are for real clusters; the test cluster and its drivers turn authentication off alike.
# Ray starts its workers at niceness 15: beside the other test processes (at 0) they got almost
# no CPU, and a 15 s run took 100 s.
RAY_ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_worker_niceness": "0"}
# What Ray's core says on stderr in a namespace without a route out, before any log setting holds.
NO_ROUTE_OUT = "Failed to determine local IP via external connectivity"


def mnist_cnn(*args, namespace=None, **how):
    """Run `python -m mnist_cnn.cli ARGS` (in `namespace`, if given) and return the result."""
    command = [sys.executable, "-m", "mnist_cnn.cli", *map(str, args)]
    return (namespace or subprocess).run(command, capture_output=True, text=True, env=RAY_ENV,
                                         timeout=300, **how)


# The namespace's first process: it brings loopback up, then reaps the processes that end in the
# namespace (as an init does), lest Ray's stopped processes linger as zombies that `ray stop`
# waits for.
NAMESPACE_INIT = """
import os, subprocess, time
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
print("ready", flush=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
"""


class Namespace:
    """A network and PID namespace with only loopback up, held by a process of this test's."""

    def __init__(self):
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
             sys.executable, "-c", NAMESPACE_INIT],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if self.holder.stdout.readline().strip() != "ready":
            why = self.holder.communicate()[1].strip().splitlines()
            raise OSError(why[-1] if why else f"unshare exited with {self.holder.returncode}")
        # The namespace's first process (pid 1 inside) is the holder's one child.
        [self.pid] = Path(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children").read_text(
            ).split()
        self.pid_namespace = os.readlink(f"/proc/{self.pid}/ns/pid")

    def command(self, command):
        return ["nsenter", "--target", self.pid, "--net", "--pid", "--mount", "--", *command]

    def run(self, command, **how):
        """subprocess.run `command` inside the namespace."""
        return subprocess.run(self.command(command), **how)

    def popen(self, command, **how):
        """subprocess.Popen `command` inside the namespace."""
        return subprocess.Popen(self.command(command), **how)

    def processes(self, title):
        """Return the PIDs (as this test sees them) of the namespace's processes named `title`."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if (entry.name.isdigit()
                        and os.readlink(entry / "ns" / "pid") == self.pid_namespace
                        and (entry / "cmdline").read_bytes().startswith(title.encode())):
                    found.append(int(entry.name))
            except OSError:  # it ended meanwhile
                continue
        return found

    @staticmethod
    def inner_pid(pid):
        """Return the PID that process `pid` has in its namespace (what its os.getpid() says)."""
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
        raise ValueError(f"no NSpid line for process {pid}")

    def close(self):
        """End every process in the namespace: its first process takes them all along."""
        self.holder.kill()  # --kill-child: the namespace's first process gets SIGKILL too
        self.holder.wait()


@pytest.fixture(scope="module")
def cluster():
    """Yield a Namespace whose Ray head listens at HEAD (2 CPUs); stop it after the tests."""
    if not ray_installed():
        pytest.skip(f"Ray is not installed: {CLUSTER_EXTRA}")
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        pytest.skip("no unshare or nsenter here to make a network namespace for the test cluster")
    try:
        namespace = Namespace()
    except OSError as e:
        pytest.skip(f"no network namespace for the test cluster (it needs root): {e}")
    # Ray's socket paths must stay short: a folder of its own directly under /tmp.
    ray_files = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    ray = str(Path(sys.executable).with_name("ray"))
    try:
        started = namespace.run(
            [ray, "start", "--head", "--num-cpus", "2", "--object-store-memory", "300000000",
             "--disable-usage-stats", "--include-dashboard", "false", "--temp-dir", ray_files],
            capture_output=True, text=True, env=RAY_ENV, timeout=120)
        assert started.returncode == 0, started.stdout + started.stderr
        yield namespace
    finally:
        try:
            namespace.run([ray, "stop", "--force"], capture_output=True, env=RAY_ENV, timeout=60)
        finally:
            namespace.close()
            shutil.rmtree(ray_files, ignore_errors=True)


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    """Return CONFIG's run trained in-process (the command without --ray), seed 0."""
    results = tmp_path_factory.mktemp("in_process")
    done = mnist_cnn("train", "model_1", *SETTINGS, "--results-dir", results)
    assert done.returncode == 0, done.stdout + done.stderr
    return load_run(run_dir(CONFIG, results))


def run_lines(stdout):
    """Return {seed: (worker, started s, finished s)} from the lines of the runs trained."""
    found = re.findall(r"^== model_1 seed (\d+), \S+: test accuracy .* \((worker \d+ on \S+), "
                       r"\d+\.\d min: (\d+) s to (\d+) s\)$", stdout, re.M)
    return {int(seed): (worker, int(start), int(end)) for seed, worker, start, end in found}


def test_a_run_trained_through_ray_equals_the_run_trained_in_process(cluster, in_process,
                                                                     tmp_path):
    done = mnist_cnn("train", "model_1", *SETTINGS, "--ray", HEAD, "--results-dir", tmp_path,
                     namespace=cluster)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(run_lines(done.stdout)) == [0], done.stdout  # its line names the worker
    run = load_run(run_dir(CONFIG, tmp_path))
    np.testing.assert_array_equal(run.probs, in_process.probs)
    assert run.history["loss"] == in_process.history["loss"]
    assert run.metrics["resumed_after_epoch"] is None
    assert not (tmp_path / ".checkpoints").exists()  # removed once the run was saved


def test_a_run_whose_worker_is_killed_resumes_on_a_retry_and_equals_the_run(
        cluster, in_process, tmp_path):
    results, checkpoints = tmp_path / "results", tmp_path / "shared"
    state = checkpoint_dir(CONFIG, results, checkpoints) / "state.json"
    with open(tmp_path / "driver.log", "w") as log:
        driver = cluster.popen(
            [sys.executable, "-m", "mnist_cnn.cli", "train", "model_1", *SETTINGS, "--ray", HEAD,
             "--checkpoint-dir", str(checkpoints), "--results-dir", str(results)],
            stdout=log, stderr=subprocess.STDOUT, env=RAY_ENV)
    try:
        deadline = time.monotonic() + 180
        while not state.exists():  # the first epoch is done
            assert driver.poll() is None, (tmp_path / "driver.log").read_text()
            assert time.monotonic() < deadline, "no checkpoint after 180 s"
            time.sleep(0.05)
        [worker] = cluster.processes(RAY_TASK_TITLE)
        killed = cluster.inner_pid(worker)
        os.kill(worker, signal.SIGKILL)
        driver.wait(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    out = (tmp_path / "driver.log").read_text()
    assert driver.returncode == 0, out
    [(name, _, _)] = run_lines(out).values()
    assert not name.startswith(f"worker {killed} "), out  # another worker took it to the end
    run = load_run(run_dir(CONFIG, results))
    assert run.metrics["resumed_after_epoch"] >= 1
    np.testing.assert_array_equal(run.probs, in_process.probs)
    assert run.history == {**in_process.history, "epoch_seconds": run.history["epoch_seconds"]}
    assert not state.parent.exists() and checkpoints.is_dir()  # the folder we named stays


def test_two_runs_train_at_once_and_both_are_recorded(cluster, tmp_path):
    done = mnist_cnn("train", "model_1", "--epochs", 1, "--subset", 256, "--validation", "none",
                     "--seed", 1, 2, "--ray", HEAD, "--cpus-per-run", 1, "--results-dir",
                     tmp_path, namespace=cluster)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = run_lines(done.stdout)
    assert sorted(runs) == [1, 2], done.stdout
    (one, start_1, end_1), (two, start_2, end_2) = runs.values()
    assert one != two and start_1 < end_2 and start_2 < end_1, done.stdout  # side by side
    assert "== study: 2 of 2 runs recorded" in done.stdout
    for seed in (1, 2):
        config = RunConfig("model_1", epochs=1, subset=256, validation="none", seed=seed)
        assert load_run(run_dir(config, tmp_path)).config == config


REFUSING_STUDY = """
import sys
from pathlib import Path
from mnist_cnn.runs import ConfigError, RunConfig
from mnist_cnn.executors import RayTasks, run_study
from mnist_cnn.plan import plan_study

results, attempts = Path(sys.argv[1]), Path(sys.argv[2])


def refuse(config, data, checkpoints, environment, cpus, runs_at_once=1):
    with open(attempts, "a") as f:  # each attempt leaves a line
        f.write(f"seed {config.seed}\\n")
    raise ConfigError(f"made-up bad input for seed {config.seed}")


class Refusing(RayTasks):
    task = staticmethod(refuse)


plan = plan_study([RunConfig("model_1", epochs=1, seed=seed) for seed in (0, 1)], results)
try:
    list(run_study(plan, results, Refusing(sys.argv[3], cpus_per_run=1)))
except ConfigError as e:
    print(f"ended: {e}")
"""


def test_bad_input_in_a_task_is_not_retried_and_ends_the_study(cluster, tmp_path):
    attempts = tmp_path / "attempts"
    done = cluster.run([sys.executable, "-c", REFUSING_STUDY, tmp_path / "results", attempts,
                        HEAD], capture_output=True, text=True, env=RAY_ENV, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"ended: made-up bad input for seed \d\n", done.stdout), done.stdout
    tried = attempts.read_text().splitlines()
    assert tried and len(tried) == len(set(tried)), tried  # each run tried once at most
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("options, words", [
    (["--ray", "127.0.0.1:1"], "no Ray cluster answers at 127.0.0.1:1"),
    (["--ray", HEAD, "--cpus-per-run", "3"], "no node of the Ray cluster has 3 CPUs"),
], ids=["unreachable", "too many cpus"])
def test_a_cluster_that_cannot_train_the_runs_gets_one_line(cluster, tmp_path, options, words):
    started = time.monotonic()
    done = mnist_cnn("train", "model_1", *SETTINGS, *options, "--results-dir",
                     tmp_path / "results", namespace=cluster)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = [line for line in done.stderr.strip().splitlines() if NO_ROUTE_OUT not in line]
    assert line.startswith("mnist-cnn: error: ") and words in line, line
    assert not (tmp_path / "results").exists()  # nothing written
    assert time.monotonic() - started < 60  # not Ray's minutes of trying


HEAVY = ("ray", "tensorflow", "keras")


@pytest.mark.parametrize("command", [["train", "model_1"], ["reproduce", "--seeds", "7"]])
def test_without_ray_the_ray_option_names_the_extra_to_install(command, tmp_path):
    # As if Ray were not installed: `import ray` fails.
    done, heavy = heavy_modules_after(
        [*command, "--ray", "local", "--results-dir", tmp_path / "results"], HEAVY,
        cwd=tmp_path, blocked=("ray",))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"mnist-cnn: error: --ray needs Ray, which is not installed here: {CLUSTER_EXTRA}"]
    assert heavy == []  # it stopped before loading Keras
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("command", [["list"], ["train", "--help"], ["reproduce", "--help"]])
def test_commands_that_train_nothing_import_neither_ray_nor_tensorflow(command, tmp_path):
    done, heavy = heavy_modules_after(command, HEAVY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert heavy == [], done.stdout
