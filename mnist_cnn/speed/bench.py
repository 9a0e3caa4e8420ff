"""Time our training path against the original-style baseline and a PyTorch peer (`bench`).

Candidates, per model, all on the same images:
    baseline  what the original (and most users) write: `Sequential`, `compile` with defaults,
              `fit` on numpy arrays, the protocol's batch size, fp32
    ours      mnist_cnn.training's path (`training_model` + `make_dataset`), fp32 or bf16
    torch     `torch_peer`, fp32 or bf16 autocast (only when PyTorch is installed), in a
              `torch_worker` process of its own: PyTorch beside TensorFlow can crash
Each timed block is one `fit` (one epoch) of `steps` batches. After one untimed warm-up block
each, the candidates take turns, so drift on a shared machine hits all of them alike; the
result is the median over the repeats. The machine's matmul peak is measured the same way.
"""

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import MnistCnnError, import_keras
from ..models import CONV_LAYERS, build_model, training_flops_per_image
from ..runs import BATCH_SIZE, LOSS, OPTIMIZER
from . import (ACCURACY_IMAGES, DEFAULT_REPEATS, DEFAULT_STEPS, PRECISION_NAMES,
               check_bench_settings)

keras = import_keras()

WARMUP_BLOCKS = 1        # untimed blocks first: graph tracing, oneDNN kernel creation
WORKER_EXIT_S = 30       # how long a finished PyTorch worker may take to exit
PEAK_SIZE = 4096         # side of the square matmul that measures the machine's peak
PEAK_MATMULS = 3         # matmuls per peak block; the peak blocks take turns with the models
BASELINE_SEEDS = (0, 1)  # the accuracy check trains the baseline twice: its seed-to-seed gap
PEAK_TARGET = 0.85       # fp32 target: this share of the matmul peak, unless the baseline has it
MODEL_1_SPEEDUP_TARGET = 1.3  # fp32 target for the overhead-bound model_1
BF16_SPEEDUP_TARGET = 1.6     # bf16 target against the fp32 baseline, conv-heavy models
CONV_HEAVY_MIN_LAYERS = 3     # "conv-heavy": three or more conv layers (model_2 to model_7)


class BenchError(MnistCnnError):
    """A benchmark request that cannot run as asked."""


def train_flops_per_step(name, batch_size=BATCH_SIZE):
    """Return the FLOPs of one training step of `batch_size` images."""
    return training_flops_per_image(name) * batch_size


def matmul_block(precision="fp32", size=PEAK_SIZE, count=PEAK_MATMULS):
    """Return a block that runs `count` size x size TensorFlow matmuls in `precision`."""
    import tensorflow as tf

    dtype = {"fp32": tf.float32, "bf16": tf.bfloat16}[precision]
    a = tf.cast(tf.random.stateless_uniform((size, size), seed=(1, 2)), dtype)

    def block():
        for _ in range(count):
            tf.matmul(a, a).numpy()
    return block


def matmul_gflops(ms_per_matmul, size=PEAK_SIZE):
    """Return the GFLOP/s of one size x size matmul that took `ms_per_matmul`."""
    return 2 * size ** 3 / (ms_per_matmul / 1000) / 1e9


def _baseline(name, x, y, batch_size):
    """Return (model, block): original-style training; a call fits one epoch, returns History."""
    model = build_model(name)
    model.compile(loss=LOSS, optimizer=OPTIMIZER, metrics=["accuracy"])
    return model, lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)


def _ours(name, x, y, batch_size, precision):
    """Return (model, block): our training path; a call fits one epoch, returns History."""
    from ..training import compile_model, make_dataset, training_model

    model = compile_model(training_model(name, precision))
    data = make_dataset(x, y, batch_size, seed=0)
    return model, lambda: model.fit(**data, epochs=1, verbose=0)


def local_timer(block):
    """Return a function that runs `block` in this process and returns its seconds."""
    def timer():
        start = time.perf_counter()
        block()
        return time.perf_counter() - start
    return timer


class TorchWorker:
    """The PyTorch peer's process (`torch_worker`): builds peers and times their blocks."""

    def __init__(self, x, y):
        self.version = None
        self._scratch = tempfile.TemporaryDirectory(prefix="mnist-cnn-bench-")
        images = Path(self._scratch.name) / "images.npz"
        np.savez(images, x=x, y=y)
        # The worker imports this very copy of the package, wherever the parent runs from.
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, (package_root, os.environ.get("PYTHONPATH"))))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mnist_cnn.speed.torch_worker", str(images)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def _ask(self, **request):
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            code = self._process.wait()
            raise BenchError(f"the PyTorch worker stopped (exit code {code}, its messages are "
                             f"above): reinstall PyTorch, or uninstall it to bench without it")
        reply = json.loads(line)
        if "error" in reply:
            raise BenchError(f"the PyTorch worker failed: {reply['error']}")
        return reply

    def build(self, key, name, precision, batch_size):
        """Build peer `key` for model `name` in the worker, replacing an earlier peer `key`."""
        self.version = self._ask(op="build", key=key, model=name, precision=precision,
                                 batch_size=batch_size)["torch"]

    def run(self, key):
        """Train peer `key` one epoch; return the worker's reply: its seconds and last loss."""
        return self._ask(op="run", key=key)

    def timer(self, key, name, precision, batch_size):
        """Build peer `key` for model `name`; return a function that times one of its blocks."""
        self.build(key, name, precision, batch_size)
        return lambda: self.run(key)["seconds"]

    def close(self):
        """End the worker (it exits when its stdin closes) and remove its images."""
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        try:
            self._process.wait(timeout=WORKER_EXIT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()
        self._scratch.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def time_candidates(timers, repeats, warmup=WARMUP_BLOCKS):
    """Return {candidate: [ms per unit in each repeat]}, the candidates taking turns.

    `timers` maps each candidate to (timer, units): a callable that runs one block and returns
    its seconds, and how many steps (or matmuls) one block runs.
    """
    for timer, _ in timers.values():
        for _ in range(warmup):
            timer()
    samples = {key: [] for key in timers}
    for _ in range(repeats):
        for key, (timer, units) in timers.items():
            samples[key].append(round(timer() / units * 1000, 2))
    return samples


def _accuracy(name, data, images, precisions, batch_size, log):
    """Train one epoch on `images` training images per candidate; return its metrics.

    The baseline trains twice (seeds 0 and 1): the gap between its two runs is the yardstick
    for "within noise". Both the epoch's training accuracy (batch statistics) and the test
    accuracy (moving statistics, which lag after so few steps in the batch-norm models) are
    kept.
    """
    from ..data import prepare
    from ..training import make_dataset

    (x_train, y_train), (x_test, y_test) = data
    x, y = prepare(x_train[:images], y_train[:images])
    x_test, y_test = prepare(x_test, y_test)
    metrics = {}

    def record(key, model, history, test):
        loss, accuracy = model.evaluate(*test, verbose=0)
        metrics[key] = {"train_accuracy": round(float(history.history["accuracy"][-1]), 5),
                        "test_loss": round(float(loss), 5),
                        "test_accuracy": round(float(accuracy), 5)}

    # The timing blocks, run once each on the accuracy images: one block is one epoch.
    for seed in BASELINE_SEEDS:
        keras.utils.set_random_seed(seed)
        model, epoch = _baseline(name, x, y, batch_size)
        record(f"baseline_seed{seed}", model, epoch(), (x_test, y_test, batch_size))
    test = make_dataset(x_test, y_test, batch_size)
    for precision in precisions:
        keras.utils.set_random_seed(BASELINE_SEEDS[0])
        model, epoch = _ours(name, x, y, batch_size, precision)
        record(precision, model, epoch(), (test["x"], test.get("y")))
    log(f"  {name} after 1 epoch on {images:,} images, test (train) accuracy: " + ", ".join(
        f"{key} {m['test_accuracy']:.4f} ({m['train_accuracy']:.4f})"
        for key, m in metrics.items()))
    return metrics


def machine():
    """Describe the machine the benchmark ran on."""
    from ..machine import cpu_name

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "system": platform.system(),
            "release": platform.release(), "python": platform.python_version()}


def run_bench(models, steps=DEFAULT_STEPS, precisions=("fp32",), repeats=DEFAULT_REPEATS,
              accuracy_images=ACCURACY_IMAGES, torch=None, data=None, command=None, log=print):
    """Benchmark `models`; return the result dict that `--json` writes."""
    check_bench_settings(models, steps, repeats, accuracy_images, precisions,
                         None if data is None else len(data[0][0]))
    from ..data import load_mnist, prepare
    from ..training import library_versions
    from .torch_peer import torch_available

    data = data if data is not None else load_mnist()
    (x_train, y_train), _ = data
    if torch is None:
        torch = torch_available()
    elif torch and not torch_available():
        raise BenchError("--torch needs PyTorch: pip install torch (or drop --torch)")
    images = steps * BATCH_SIZE
    x, y = prepare(x_train[:images], y_train[:images])

    peak_precisions = sorted({"fp32", *precisions}, key=PRECISION_NAMES.index)
    rows, peaks_seen = [], {p: [] for p in peak_precisions}
    # PyTorch runs in a process of its own; `worker` is None when it is not timed.
    with (TorchWorker(x, y) if torch else contextlib.nullcontext()) as worker:
        for name in models:
            flops = train_flops_per_step(name)
            # The machine's peak is timed in turn with the models, so drift hits it alike.
            timers = {f"matmul_{p}": (local_timer(matmul_block(p)), PEAK_MATMULS)
                      for p in peak_precisions}
            timers["baseline"] = (local_timer(_baseline(name, x, y, BATCH_SIZE)[1]), steps)
            for precision in precisions:
                timers[f"ours_{precision}"] = (
                    local_timer(_ours(name, x, y, BATCH_SIZE, precision)[1]), steps)
                if worker:
                    key = f"torch_{precision}"
                    timers[key] = (worker.timer(key, name, precision, BATCH_SIZE), steps)
            log(f"{name}: timing {', '.join(timers)} ({steps} steps x {repeats} repeats)")
            samples = time_candidates(timers, repeats)
            peaks = {p: round(matmul_gflops(statistics.median(samples[f"matmul_{p}"])), 1)
                     for p in peak_precisions}
            for p in peak_precisions:
                peaks_seen[p].append(peaks[p])
            log("  matmul peak: " + ", ".join(f"{v} GFLOP/s {p}" for p, v in peaks.items()))
            quality = (_accuracy(name, data, accuracy_images, precisions, BATCH_SIZE, log)
                       if accuracy_images else {})
            baseline = statistics.median(samples["baseline"])
            for precision in precisions:
                ours = statistics.median(samples[f"ours_{precision}"])
                torch_key = f"torch_{precision}"
                torch_ms = statistics.median(samples[torch_key]) if torch_key in samples else None
                rows.append({
                    "model": name, "precision": precision,
                    "baseline_ms_per_step": round(baseline, 2),
                    "ours_ms_per_step": round(ours, 2),
                    "torch_ms_per_step": None if torch_ms is None else round(torch_ms, 2),
                    "speedup": round(baseline / ours, 3),
                    "train_gflop_per_step": round(flops / 1e9, 3),
                    "gflops_per_s": round(flops / ours / 1e6, 1),
                    "baseline_gflops_per_s": round(flops / baseline / 1e6, 1),
                    "peak_gflops": peaks[precision], "fp32_peak_gflops": peaks["fp32"],
                    "peak_fraction": round(flops / ours / 1e6 / peaks[precision], 3),
                    "baseline_peak_fraction": round(flops / baseline / 1e6 / peaks["fp32"], 3),
                    "accuracy": {key: value for key, value in quality.items()
                                 if key.startswith("baseline") or key == precision},
                    "peak_samples_ms_per_matmul": samples[f"matmul_{precision}"],
                    "samples_ms_per_step": {
                        "baseline": samples["baseline"], "ours": samples[f"ours_{precision}"],
                        **({"torch": samples[torch_key]} if torch_key in samples else {})},
                })
                log(f"  {precision}: baseline {baseline:.1f} ms/step, ours {ours:.1f} "
                    f"({baseline / ours:.2f}x)"
                    + (f", torch {torch_ms:.1f}" if torch_ms is not None else ""))
    return {
        "results": rows,
        # The machine's peak over the whole run: the median of the per-model measurements.
        **{f"{p}_peak_gflops": round(statistics.median(v), 1) for p, v in peaks_seen.items()},
        "settings": {"steps": steps, "repeats": repeats, "warmup_blocks": WARMUP_BLOCKS,
                     "batch_size": BATCH_SIZE, "accuracy_images": accuracy_images,
                     "precisions": list(precisions), "torch": bool(torch)},
        "machine": machine(),
        "versions": {**library_versions(),
                     **({"torch": worker.version} if worker and worker.version else {})},
        "backend": keras.backend.backend(),
        "command": command,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def load_bench(path):
    """Return a result saved by `--json`; a missing or damaged file is a BenchError."""
    try:
        result = json.loads(Path(path).read_text())
        for row in result["results"]:
            for key in ("model", "precision", "speedup", "samples_ms_per_step"):
                row[key]  # noqa: B018  (a KeyError means the file is not a bench result)
        result["settings"]["steps"], result["machine"]["cpu"]  # noqa: B018
    except FileNotFoundError:
        raise BenchError(f"{path} does not exist: run mnist-cnn bench --json {path} first") \
            from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BenchError(f"{path} is not a readable benchmark result ({type(e).__name__}: {e}); "
                         f"run mnist-cnn bench --json {path} again") from None
    return result


def check_targets(result):
    """Return (target, met, detail) for each of the issue's targets the result can judge."""
    checks = []
    for row in result["results"]:
        name, speedup = row["model"], row["speedup"]
        if row["precision"] == "fp32":
            if name == "model_1":
                checks.append((f"{name} fp32 >= {MODEL_1_SPEEDUP_TARGET}x baseline",
                               speedup >= MODEL_1_SPEEDUP_TARGET, f"{speedup:.2f}x"))
                # The median can be won by the baseline's slow blocks alone; say so.
                best = best_block_speedup(row)
                checks.append((f"{name} fp32 >= {MODEL_1_SPEEDUP_TARGET}x baseline, best block "
                               f"against best block", best >= MODEL_1_SPEEDUP_TARGET,
                               f"{best:.2f}x"))
            checks.append((f"{name} fp32 at least as fast as the baseline", speedup >= 1.0,
                           f"{speedup:.2f}x"))
            if row["baseline_peak_fraction"] < PEAK_TARGET:
                checks.append((f"{name} fp32 >= {PEAK_TARGET:.0%} of the matmul peak",
                               row["peak_fraction"] >= PEAK_TARGET,
                               f"{row['peak_fraction']:.0%} (baseline "
                               f"{row['baseline_peak_fraction']:.0%})"))
        elif row["precision"] == "bf16" and CONV_LAYERS[name] >= CONV_HEAVY_MIN_LAYERS:
            checks.append((f"{name} bf16 >= {BF16_SPEEDUP_TARGET}x the fp32 baseline",
                           speedup >= BF16_SPEEDUP_TARGET, f"{speedup:.2f}x"))
    return checks


def _cell(value, fmt):
    return "-" if value is None else format(value, fmt)


def best_block_speedup(row):
    """Return the baseline's best block over ours' best block: the ratio without slow blocks."""
    samples = row["samples_ms_per_step"]
    return min(samples["baseline"]) / min(samples["ours"])


def results_markdown(result):
    """Return the benchmark's timings as a Markdown table, one row per model and precision."""
    lines = ["| model | precision | baseline ms/step | ours ms/step | speedup "
             "| best blocks: baseline / ours | PyTorch ms/step | ours GFLOP/s | % of peak "
             "| baseline % of fp32 peak |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["results"]:
        samples = row["samples_ms_per_step"]
        lines.append(
            f"| {row['model']} | {row['precision']} | {row['baseline_ms_per_step']:.1f} "
            f"| {row['ours_ms_per_step']:.1f} | {row['speedup']:.2f}x "
            f"| {min(samples['baseline']):.1f} / {min(samples['ours']):.1f} "
            f"({best_block_speedup(row):.2f}x) "
            f"| {_cell(row['torch_ms_per_step'], '.1f')} | {row['gflops_per_s']:.0f} "
            f"| {row['peak_fraction']:.0%} | {row['baseline_peak_fraction']:.0%} |")
    return "\n".join(lines)


def accuracy_markdown(result):
    """Return the one-epoch accuracy check as a Markdown table: test (training) accuracy."""
    columns = {}  # model -> {candidate: metrics}
    for row in result["results"]:
        columns.setdefault(row["model"], {}).update(row.get("accuracy") or {})
    keys = [f"baseline_seed{seed}" for seed in BASELINE_SEEDS] + list(
        result["settings"]["precisions"])
    names = [f"baseline, seed {seed}" for seed in BASELINE_SEEDS] + [
        f"ours {p}, seed {BASELINE_SEEDS[0]}" for p in result["settings"]["precisions"]]
    lines = ["| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for model, metrics in columns.items():
        cells = [f"{metrics[k]['test_accuracy']:.4f} ({metrics[k]['train_accuracy']:.4f})"
                 if k in metrics else "-" for k in keys]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_markdown(result):
    """Return the short summary of a benchmark result for docs/speed.md: the speed-up ratios."""
    parts = []
    for precision in PRECISION_NAMES:
        rows = [row for row in result["results"] if row["precision"] == precision]
        if rows:
            parts.append(f"- {precision}: " + ", ".join(
                f"{row['model']} {row['speedup']:.2f}x ({best_block_speedup(row):.2f}x)"
                for row in rows))
    settings, machine_info = result["settings"], result["machine"]
    return (f"Speed-up of our path over the original-style baseline, per training step: medians of "
            f"{settings['repeats']} blocks of {settings['steps']} steps (in brackets: best block "
            f"against best block), batch {settings['batch_size']}, {machine_info['cpu']}, "
            f"{machine_info['cores']} cores. bf16 is against the fp32 baseline. Details, "
            f"PyTorch and accuracy: [benchmarks/RESULTS.md](../benchmarks/RESULTS.md).\n\n"
            + "\n".join(parts))


def results_document(result):
    """Return benchmarks/RESULTS.md for a benchmark result: setup, table, targets, method."""
    settings, info = result["settings"], result["machine"]
    versions = ", ".join(f"{key} {value}" for key, value in sorted(result["versions"].items()))
    peak_text = ", ".join(f"{result[f'{p}_peak_gflops']} GFLOP/s {p}" for p in PRECISION_NAMES
                          if f"{p}_peak_gflops" in result)
    targets = "\n".join(f"- {'met' if met else 'NOT met'}: {target} ({detail})"
                         for target, met, detail in check_targets(result))
    accuracy = (f"""## Accuracy after one epoch

Each candidate trained one epoch on the first {settings['accuracy_images']:,} training images;
the baseline twice (seeds 0 and 1), so the gap between its two runs shows the seed-to-seed
noise. Cells: test accuracy on the 10,000 test images (the epoch's mean training accuracy).
After so few steps the batch-norm models' moving statistics still lag behind their batch
statistics, which makes their test accuracy noisy; the training accuracy is the steadier
signal.

{accuracy_markdown(result)}""" if settings["accuracy_images"]
                else "The accuracy check was skipped (--accuracy-images 0).")
    return f"""# Training speed: original-style baseline, our path, PyTorch

Generated by `mnist-cnn bench` from [bench.json](bench.json); do not edit by hand.

- Command: `{result['command'] or 'mnist-cnn bench'}`
- Date: {result['date']}
- Machine: {info['cpu']}, {info['cores']} cores, {info['system']} {info['release']}
- Keras backend: {result['backend']}; versions: {versions}
- Matmul peak ({PEAK_SIZE}x{PEAK_SIZE} TensorFlow matmul, median over the models' runs): \
{peak_text}

{results_markdown(result)}

Times are medians of {settings['repeats']} blocks of {settings['steps']} training steps
(batch {settings['batch_size']}) after {settings['warmup_blocks']} untimed block per candidate;
the candidates took turns. "baseline" is the original's way: `Sequential`, `compile` with defaults,
`fit` on numpy arrays, fp32; its time is the same on both precision rows, so the bf16 speed-up
is against the fp32 baseline. The baseline's blocks are often bimodal: a new `fit` on numpy
arrays starts a tf.data pipeline whose autotuner competes with the two compute threads, and
some blocks run far slower than others. The "best blocks" column leaves those out: it is the
fairest view of steady training inside a long epoch, where that start-up weighs less.
"ours" is `mnist_cnn.training` (`training_model` + `make_dataset`). GFLOP/s count 3x the
forward pass's multiply-adds x 2. "% of peak" compares with the matmul peak of the row's
precision, timed in blocks of {PEAK_MATMULS} matmuls that took turns with that model's
candidates (drift on a shared machine moves both). Per-block samples are in bench.json.

{accuracy}

## Targets

{targets}
"""
