"""Measure what training a run as a Ray task adds to training it in-process, on this machine.

Run it on a quiet machine (no training or benchmark beside it), with the cluster extra:

    python benchmarks/ray_overhead.py [--repeats 3] [--subset 2048] [--json FILE]
    python benchmarks/ray_overhead.py --update-docs     # docs/cluster.md's summary, from the JSON

Both paths train the same short runs one after another with the machine's cores: first
in-process, then as tasks on a Ray started here (`ray.init(address="local")`), through the
function `RayTasks` sends to its workers. Reported (medians, seconds): Ray's start, MNIST into the
object store, an empty task's round trip, the first run on a fresh worker (its start and the
TensorFlow import), and each later run's time in the driver against in-process training, whose
difference is the per-run overhead (scheduling, the result's transfer, saving it).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from mnist_cnn.files import write_json
from mnist_cnn.machine import machine_name
from mnist_cnn.runs import RunConfig, save_run
from mnist_cnn.executors import train_as_ray_task, worker_environment
from mnist_cnn.tables import signed

JSON = Path(__file__).with_name("ray_overhead.json")
DOC = Path(__file__).resolve().parents[1] / "docs" / "cluster.md"  # where the summary is shown
MARKERS = ("<!-- ray-overhead:start -->", "<!-- ray-overhead:end -->")


def seconds(function, *args, **kwargs):
    """Return (what `function` returned, the wall seconds it took)."""
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def in_process(configs, data, results_dir):
    """Return (seconds to import Keras, each run's seconds trained in this process)."""
    _, import_seconds = seconds(__import__, "mnist_cnn.training")
    from mnist_cnn.training import train

    return import_seconds, [seconds(train, config, data, results_dir=results_dir, verbose=0)[1]
                            for config in configs]


def through_ray(configs, data, results_dir, checkpoints):
    """Return the Ray path's timings: start, object store, round trip and each run's seconds."""
    import ray

    cores = len(os.sched_getaffinity(0))
    _, start = seconds(ray.init, address="local", num_cpus=cores, include_dashboard=False,
                       log_to_driver=False)
    try:
        data_ref, put = seconds(ray.put, data)
        empty = ray.remote(lambda: None)
        ray.get(empty.remote())  # a worker started, outside the timing
        round_trips = [seconds(lambda: ray.get(empty.remote()))[1] for _ in range(20)]
        task = ray.remote(train_as_ray_task).options(num_cpus=cores, max_retries=0)
        runs = []
        for config in configs:
            started = time.perf_counter()
            run, _, minutes = ray.get(task.remote(config, data_ref, str(checkpoints),
                                                  worker_environment(), cores))
            save_run(run, results_dir)
            runs.append({"driver_s": time.perf_counter() - started, "in_task_s": minutes * 60})
    finally:
        ray.shutdown()
    return {"ray_start_s": start, "mnist_put_s": put,
            "empty_task_round_trip_s": statistics.median(round_trips), "runs": runs}


def overhead_markdown(result):
    """Return docs/cluster.md's summary of a measurement `result` (ray_overhead.json)."""
    runs = result["in_process_run_s"]
    spread = max(runs) - min(runs)
    versions = result["versions"]
    return (
        f"Measured by `benchmarks/ray_overhead.py` on {result['date'][:10]} "
        f"({result['device']}, {result['cores']} cores used; "
        f"TensorFlow {versions['tensorflow']}, Keras {versions['keras']}, Ray {versions['ray']}), "
        f"with {len(runs)} short runs of model_1 ({result['config']['subset']:,} images, "
        f"{result['config']['epochs']} epoch) per path: Ray started in "
        f"{result['ray_start_s']:.1f} s and took MNIST into its object store in "
        f"{result['mnist_put_s']:.2f} s; an empty task's round trip took "
        f"{result['empty_task_round_trip_s'] * 1000:.1f} ms. The first run on a fresh worker "
        f"took {result['first_run_extra_s']:.1f} s longer than in-process (the worker's start "
        f"and its TensorFlow import). Each later run took "
        f"{signed(result['per_run_overhead_s'], 2)} s "
        f"against in-process training ({statistics.median(runs[1:]):.1f} s; medians): "
        "scheduling, the result's way back and its saving. "
        + (f"The difference is smaller than the spread of the in-process runs themselves "
           f"({min(runs):.1f}–{max(runs):.1f} s): too small to tell from noise with "
           f"{len(runs)} runs per path."
           if abs(result["per_run_overhead_s"]) < spread else
           f"The in-process runs themselves spread over {min(runs):.1f}–{max(runs):.1f} s."))


def main(argv=None):
    """Time both paths and write the result as JSON; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per path (default: 3)")
    parser.add_argument("--subset", type=int, default=2048, help="training images per run")
    parser.add_argument("--json", type=Path, default=JSON, help="default: %(default)s")
    parser.add_argument("--update-docs", action="store_true",
                        help="write the summary of --json into docs/cluster.md; measure nothing")
    args = parser.parse_args(argv)
    if args.update_docs:
        from mnist_cnn.readme import update_readme

        result = json.loads(args.json.read_text())
        changed = update_readme(DOC, overhead_markdown(result), MARKERS)
        print(f"{DOC}: {'updated' if changed else 'already current'}")
        return 0
    if args.repeats < 2:
        parser.error("--repeats must be at least 2: the first Ray run starts its worker")
    from mnist_cnn.data import load_mnist

    data = load_mnist()
    configs = [RunConfig("model_1", epochs=1, subset=args.subset, validation="none", seed=seed)
               for seed in range(args.repeats)]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        import_seconds, here = in_process(configs, data, scratch / "in_process")
        ray_timings = through_ray(configs, data, scratch / "ray", scratch / "checkpoints")
    later = ray_timings["runs"][1:]
    import ray
    from mnist_cnn.training import describe_device, library_versions

    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_name(), "device": describe_device(),
        "cores": len(os.sched_getaffinity(0)),
        "versions": {**library_versions(), "ray": ray.__version__},
        "config": configs[0].to_dict(),
        "keras_import_s": import_seconds, "in_process_run_s": here, **ray_timings,
        "first_run_extra_s": ray_timings["runs"][0]["driver_s"] - statistics.median(here),
        "per_run_overhead_s": (statistics.median(run["driver_s"] for run in later)
                               - statistics.median(here[1:])),
    }
    write_json(args.json, result)
    for key in ("ray_start_s", "mnist_put_s", "empty_task_round_trip_s", "first_run_extra_s",
                "per_run_overhead_s"):
        print(f"{key:<26} {result[key]:8.3f}")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
