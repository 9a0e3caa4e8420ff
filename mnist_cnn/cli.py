"""The `mnist-cnn` command: list, inspect, fetch data, train, reproduce, tabulate, plot, bench.

Bad input (unknown model, non-positive numbers, corrupt data or run files) ends with one line on
stderr and exit code 2, before anything is written.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import MnistCnnError
from .machine import cpu_device, machine_name
from .models import CONV_LAYERS, MODEL_NAMES, check_model_name
from .runs import (RESULTS_DIR, TEST_SIZE, TRAIN_SIZE, RunConfig, RunError, load_run,
                   read_checkpoint, representatives, run_dir, run_folders, train_arguments)

DEFAULT_SEEDS = (0,)  # the headline run; `reproduce --seeds 0 1 2 3 4` for the multi-seed study
README = Path("README.md")
LOGS = ".logs"       # worker logs of `--jobs N`, inside the results folder (ignored by git)
WORKER_POLL_S = 1.0  # how often the parent checks on its workers
# Workers share one accelerator: each takes GPU memory as it needs it, not all of it up front.
WORKER_ENV = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
# For `reproduce`'s time estimate, read without importing Keras:
BENCH_JSON = Path("benchmarks") / "bench.json"  # `mnist-cnn bench --json`, relative like README
VALIDATION_STEP_SHARE = 1 / 3  # a validation batch runs forward only: ~1/3 of a training step


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """Print a one-line error and exit 2 (argparse's default prints the usage too)."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _cmd_list(args):
    print(f"{'model':<9} {'conv layers':>11}  protocol runs in {args.results_dir}")
    for name, runs in representatives(args.results_dir, protocol_only=True).items():
        seeds = [run.config.seed for run in runs]
        print(f"{name:<9} {CONV_LAYERS[name]:>11}  "
              f"{'seeds ' + ', '.join(map(str, seeds)) if seeds else '-'}")


def _cmd_summary(args):
    from .models import build_model, summary_text

    print(summary_text(build_model(check_model_name(args.model))))


def _cmd_data(args):
    from .data import FINGERPRINTS, fingerprint, locate_mnist

    arrays, source = locate_mnist(refetch=args.refetch, log=print)
    print(f"MNIST from {source}")
    for key, (shape, digest) in FINGERPRINTS.items():
        ok = "ok" if fingerprint(arrays[key]) == digest else "MISMATCH"
        print(f"  {key:<8} {str(arrays[key].shape):<16} sha256 {digest[:16]}...  {ok}")


def _train_all(configs, results_dir, verbose, jobs=1, reuse=False, retrain=False):
    """Train every config (data loaded once) and print one result line per run.

    With `reuse` (reproduce), a config whose run is recorded is not trained again unless
    `retrain`: `train_or_load` decides, here or in each worker.
    """
    if jobs > 1:
        return _train_in_workers(configs, results_dir, jobs, reuse, retrain)
    from .data import load_mnist
    from .training import train, train_or_load

    data = load_mnist()
    for config in configs:
        if reuse:
            run = train_or_load(config, data, retrain=retrain, results_dir=results_dir,
                                verbose=verbose)
        else:
            run = train(config, data, results_dir=results_dir, verbose=verbose)
        print(f"== {run.label}: test accuracy {run.test_accuracy:.4f}, test log loss "
              f"{run.test_loss:.4f}, {run.seconds_per_epoch:.1f} s/epoch -> {run.path}",
              flush=True)


def _worker_arguments(config, reuse, retrain):
    """Return the `mnist-cnn` arguments a worker process runs for `config`."""
    if not reuse:
        return train_arguments(config)
    return (["reproduce", "--models", config.model, "--seeds", str(config.seed)]
            + (["--retrain"] if retrain else []))


def _train_in_workers(configs, results_dir, jobs, reuse=False, retrain=False):
    """Train the configs in `jobs` concurrent worker processes sharing one device."""
    env = {**os.environ, **WORKER_ENV}
    logs = Path(results_dir) / LOGS
    logs.mkdir(parents=True, exist_ok=True)
    pending, running, failed = list(configs), {}, []
    began = time.monotonic()

    def at():
        return f"at {time.monotonic() - began:.0f} s"

    while pending or running:
        while pending and len(running) < jobs:
            config = pending.pop(0)
            log = logs / f"{run_dir(config, '.').as_posix().replace('/', '_')}.log"
            command = [sys.executable, "-m", "mnist_cnn.cli",
                       *_worker_arguments(config, reuse, retrain),
                       "--results-dir", str(results_dir)]
            with open(log, "w") as out:
                worker = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
            running[worker] = (config, log)
            print(f"== started {config.model} seed {config.seed} {at()} (log: {log})", flush=True)
        time.sleep(WORKER_POLL_S)
        for worker in [w for w in running if w.poll() is not None]:
            config, log = running.pop(worker)
            if worker.returncode:
                failed.append(config)
                print(f"== FAILED {config.model} seed {config.seed} {at()} (exit "
                      f"{worker.returncode}); see {log}", flush=True)
            else:
                print(f"{log.read_text().strip().splitlines()[-1]} ({at()})", flush=True)
    if failed:
        raise SystemExit(1)


def _verbosity():
    """Keras' fit verbosity: a progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def _cmd_train(args):
    settings = {field.name: getattr(args, field.name) for field in RunConfig.options()
                if field.name != "seed"}
    configs = [RunConfig(model, seed=seed, **settings)
               for model in args.models for seed in args.seed]
    _train_all(configs, args.results_dir, verbose=_verbosity(), jobs=args.jobs)


def _recorded_timings(results_dir):
    """Return (config, device, median s/epoch) of every readable run under `results_dir`.

    An unreadable run is left out: it is no reason to refuse an estimate.
    """
    timings = []
    for folder in run_folders(results_dir):
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


def _seconds_per_epoch(config, device, timings, bench):
    """Return (estimated s/epoch of `config` on `device`, where it comes from), or (None, None).

    The median s/epoch of the model's runs recorded on `device` with the same batch size (any
    seed, epochs or learning rate): full-training-set runs if there are any, else subset runs,
    scaled by the epochs' work in steps (`_epoch_steps`), as is a difference in validation.
    Without such runs: the benchmark's ms/step (if it timed `device`) times `_epoch_steps`;
    without that, another model's runs on `device` scaled by training FLOPs (`_scaled_by_flops`).
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
    return _scaled_by_flops(config, device, timings)


def _scaled_by_flops(config, device, timings):
    """Return (s/epoch of `config` scaled from another model's runs on `device`, source).

    The model whose training FLOPs per image are nearest to `config.model`'s (on a log scale)
    among those with full-training-set runs on `device` at the same batch size: its median
    s/step times the ratio of the FLOPs. (None, None) without such runs. Rough: a step's fixed
    costs do not scale with FLOPs, so this is the estimate of last resort.
    """
    from .analysis import load_costs  # the architectures' FLOPs, only when it comes to this

    flops = {name: cost["train_flops_per_image"] for name, cost in load_costs().items()}
    per_step = {}
    for recorded, ran_on, seconds in timings:
        if (ran_on == device and recorded.subset is None and recorded.model != config.model
                and recorded.batch_size == config.batch_size):
            per_step.setdefault(recorded.model, []).append(seconds / _epoch_steps(recorded))
    if not per_step:
        return None, None
    nearest = min(per_step, key=lambda name: (abs(math.log(flops[name] / flops[config.model])),
                                              name))
    seconds = (statistics.median(per_step[nearest]) * flops[config.model] / flops[nearest]
               * _epoch_steps(config))
    return seconds, f"{nearest}'s s/epoch scaled by training FLOPs"


def _epochs_done(config, results_dir):
    """Return the epochs that the checkpoint of `config` has done (0 without a usable one)."""
    try:
        state = read_checkpoint(config, results_dir)
    except ValueError:
        return 0  # `train` will ignore it too
    return state["epochs_done"] if state else 0


def _duration(seconds):
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 100 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _reproduce_plan(configs, recorded, results_dir, retrain=False, device=None):
    """Return the lines `reproduce` prints before it trains.

    How many of `configs` are `recorded`, which are to be trained (all with `retrain`) and
    roughly how long they take on this machine (`device`, default `machine_name()`): the
    s/epoch of the runs recorded on it (or its benchmark) times the epochs left to train.
    """
    from .report import plural

    todo = list(configs) if retrain else [c for c in configs if c not in recorded]
    counts = f"{len(recorded)} of {plural(len(configs), 'run')} recorded"
    if not todo:
        if len(configs) == 1:
            return [f"{counts}; nothing to train"]
        return [f"all {len(configs)} runs recorded; nothing to train"]
    device = device or machine_name()
    timings, bench = _recorded_timings(results_dir), _bench_timings(device)
    names, total, sources, unknown = [], 0.0, [], []
    for config in todo:
        done = _epochs_done(config, results_dir)
        names.append(f"{config.model} seed {config.seed}"
                     + (f" (resumes after epoch {done})" if done else ""))
        seconds, source = _seconds_per_epoch(config, device, timings, bench)
        if seconds is None:
            unknown.append(f"{config.model} seed {config.seed}")
            continue
        total += seconds * (config.epochs - done)
        if source not in sources:
            sources.append(source)
    what = f"retraining all {len(todo)}" if retrain else f"{len(todo)} to train"
    here = f"on this machine ({device})"
    if not sources:
        estimate = (f"time to train: unknown {here}: no run of these models recorded or "
                    "benchmarked on it")
    elif not unknown:
        estimate = f"time to train: about {_duration(total)} {here}, from {' and '.join(sources)}"
    else:
        estimate = (f"time to train: about {_duration(total)} {here} for "
                    f"{len(todo) - len(unknown)} of the {len(todo)}, from {' and '.join(sources)}; "
                    f"unknown for {', '.join(unknown)} (no run of the model recorded or "
                    "benchmarked on this machine)")
    return [f"{counts}; {what}: {', '.join(names)}", estimate]


def _cmd_reproduce(args):
    # Seed by seed: whatever finishes before an interruption covers the models evenly.
    configs = list(dict.fromkeys(RunConfig(model, seed=seed)
                                 for seed in args.seeds for model in args.models))
    recorded = []
    for config in configs:  # a corrupt run stops the command now, not after hours of training
        folder = run_dir(config, args.results_dir)
        if folder.exists() and (args.retrain or load_run(folder).config == config):
            recorded.append(config)
    for line in _reproduce_plan(configs, recorded, args.results_dir, args.retrain):
        print(line, flush=True)
    _train_all(configs, args.results_dir, verbose=_verbosity(), jobs=args.jobs, reuse=True,
               retrain=args.retrain)


def _cmd_table(args):
    from .report import (README_MARKERS, REPRODUCED_MARKERS, protocol_runs,
                         reproduction_markdown, seed_spread_table, summary_markdown,
                         summary_table, update_readme_sections)

    runs = protocol_runs(args.results_dir)
    if args.update_readme:
        changed = update_readme_sections(args.update_readme, {
            README_MARKERS: summary_markdown(runs),
            REPRODUCED_MARKERS: reproduction_markdown(runs)})
        print(f"{args.update_readme}: {'updated' if changed else 'already current'}")
    elif args.markdown:
        print(summary_markdown(runs))
    else:
        print(summary_table(runs))
        if len(runs) > len({run.config.model for run in runs}):  # some model has seeds
            print(seed_spread_table(runs))


def _cmd_bench(args):
    import json

    from .speed.bench import (check_targets, load_bench, readme_markdown, results_document,
                              run_bench)
    from .files import write_json, write_text
    from .report import BENCH_MARKERS, update_readme

    for path in (args.json, args.report):  # fail before minutes of timing, not after
        if path is not None and not path.parent.is_dir():
            raise MnistCnnError(f"cannot write {path}: folder {path.parent} does not exist")
    if args.from_json:
        result = load_bench(args.from_json)
    else:
        result = run_bench(args.models, steps=args.steps, precisions=args.precision,
                           repeats=args.repeats, accuracy_images=args.accuracy_images,
                           torch=True if args.torch else None,
                           command="mnist-cnn " + " ".join(args.argv))
    for target, met, detail in check_targets(result):
        print(f"{'met' if met else 'NOT met'}: {target} ({detail})")
    if not args.from_json:  # a re-rendered result is already saved
        if args.json:
            write_json(args.json, result)
            print(f"wrote {args.json}")
        else:
            print(json.dumps(result, indent=1))
    if args.report:
        write_text(args.report, results_document(result))
        print(f"wrote {args.report}")
    if args.update_readme:
        changed = update_readme(args.update_readme, readme_markdown(result), BENCH_MARKERS)
        print(f"{args.update_readme}: {'updated' if changed else 'already current'}")


def _cmd_plot(args):
    from .data import load_mnist
    from .plotting import (FIGURES_DIR, loss_curves, sample_grid, save_fig, setup_style,
                           tradeoff_plot)
    from .report import load_original, summary_rows

    setup_style()
    figures_dir = args.figures_dir or FIGURES_DIR
    reference = load_original()
    (x_train, y_train), _ = load_mnist()
    written = [save_fig(sample_grid(x_train, y_train), "sample_digits", figures_dir)]
    # As in the notebooks: the runs that represent each model.
    shown = representatives(args.results_dir)
    for name, runs in shown.items():
        if runs:
            written.append(save_fig(loss_curves(runs, reference=reference), f"loss_{name}",
                                    figures_dir))
    all_runs = [run for runs in shown.values() for run in runs]
    if all_runs:
        written.append(save_fig(tradeoff_plot(summary_rows(all_runs, reference)), "tradeoff",
                                figures_dir))
    for path in written:
        print(path)


def build_parser():
    """Return the argument parser of `mnist-cnn`."""
    parser = _Parser(prog="mnist-cnn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    def command(name, handler, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def jobs_option(sub):
        sub.add_argument("--jobs", type=int, default=1, help="train this many runs at once, "
                         "each in its own process (for an accelerator with room to spare)")

    def results_option(sub):
        sub.add_argument("--results-dir", type=Path, default=RESULTS_DIR,
                         help="where runs are recorded (default: %(default)s)")

    results_option(command("list", _cmd_list, "list the models and their recorded runs"))
    command("summary", _cmd_summary, "print a model's layers and parameter counts").add_argument(
        "model", metavar="MODEL")
    command("data", _cmd_data, "fetch MNIST if needed, verify it, print source and fingerprints"
            ).add_argument("--refetch", action="store_true",
                           help="replace the cached mnist.npz (after a corrupt-file error)")

    train = command("train", _cmd_train, "train models and record the runs")
    train.add_argument("models", nargs="+", metavar="MODEL")
    for field in RunConfig.options():  # one option per RunConfig field, as runs.py describes
        option = {key: value for key, value in field.metadata.items() if key != "flag"}
        if field.name == "seed":
            option.update(nargs="+", default=[field.default], help=option["help"] + "; one run "
                          "per seed (default: %(default)s)")
        else:
            option.update(default=field.default, help=option["help"] + " (default: %(default)s)")
        train.add_argument(field.metadata["flag"], dest=field.name, **option)
    jobs_option(train)
    results_option(train)

    reproduce = command("reproduce", _cmd_reproduce,
                        "train every missing protocol run; skip the recorded ones")
    reproduce.add_argument("--models", nargs="+", default=list(MODEL_NAMES), metavar="MODEL")
    reproduce.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS),
                           metavar="SEED")
    reproduce.add_argument("--retrain", action="store_true",
                           help="train again even where a run is recorded")
    jobs_option(reproduce)
    results_option(reproduce)

    table = command("table", _cmd_table, "print the summary table of the recorded runs")
    table.add_argument("--markdown", action="store_true", help="as a Markdown table")
    table.add_argument("--update-readme", type=Path, nargs="?", const=README, metavar="README",
                       help="rewrite the results table and the 'What reproduced' list in README.md "
                       "between their markers")
    results_option(table)

    plot = command("plot", _cmd_plot, "save the sample digits, loss curves and trade-off plot")
    plot.add_argument("--figures-dir", type=Path, default=None,
                      help="default: figures, or $MNIST_CNN_FIGURES_DIR when set")
    results_option(plot)

    from .speed import ACCURACY_IMAGES, DEFAULT_REPEATS, DEFAULT_STEPS, PRECISION_NAMES
    bench = command("bench", _cmd_bench, "time the original-style baseline, our training path and "
                    "a PyTorch peer, step for step")
    bench.add_argument("--models", nargs="+", default=list(MODEL_NAMES), metavar="MODEL")
    bench.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                       help="training steps per timed block (default: %(default)s)")
    bench.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                       help="timed blocks per candidate; medians are reported "
                       "(default: %(default)s)")
    bench.add_argument("--precision", nargs="+", choices=PRECISION_NAMES, default=["fp32"],
                       help="our path's precision(s); the baseline is always fp32 "
                       "(default: fp32)")
    bench.add_argument("--accuracy-images", type=int, default=ACCURACY_IMAGES, metavar="N",
                       help="also train one epoch on N images per candidate and report test "
                       "accuracy; 0 skips it (default: %(default)s)")
    bench.add_argument("--torch", action="store_true",
                       help="require the PyTorch peer (by default it runs when torch is "
                       "installed)")
    bench.add_argument("--json", type=Path, metavar="FILE", help="write the results here "
                       "(default: print them)")
    bench.add_argument("--from-json", type=Path, metavar="FILE",
                       help="time nothing: write --report/--update-readme from a saved result")
    bench.add_argument("--report", type=Path, metavar="FILE",
                       help="also write a Markdown report, e.g. benchmarks/RESULTS.md")
    bench.add_argument("--update-readme", type=Path, nargs="?", const=README, metavar="README",
                       help="rewrite the speed-up summary in README.md between its markers")
    return parser


def main(argv=None):
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        for model in getattr(args, "models", []):
            check_model_name(model)
        if getattr(args, "jobs", 1) < 1:
            raise MnistCnnError(f"--jobs must be at least 1, got {args.jobs}")
        args.handler(args)
    except MnistCnnError as e:
        print(f"mnist-cnn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mnist-cnn: interrupted; run the same command again to resume from the last "
              "finished epoch", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
