"""The `mnist-cnn` command: list, inspect, fetch data, train, reproduce, tabulate, plot, bench.

Bad input (unknown model, non-positive numbers, corrupt data or run files) ends with one line on
stderr and exit code 2, before anything is written.
"""

import argparse
import json
import sys
from pathlib import Path

from . import MnistCnnError
from .custom import OWN_MODEL_HINT, resolve_spec
from .data import DATASET_NAMES, DEFAULT_DATASET
from .models import CONV_LAYERS, MODEL_NAMES, check_model_name
from .runs import RESULTS_DIR, STUDY_SEEDS, RunConfig, dataset_dir, representatives
from .console import plan_lines, result_lines, state_line
from .executors import DEFAULT_CPUS_PER_RUN, InProcess, LocalProcesses, RayTasks, run_study
from .plan import estimate_time, plan_study, protocol_configs

README = Path("README.md")
SPEED_DOC = Path("docs") / "speed.md"  # where the benchmark's speed-up summary is shown


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """Print a one-line error and exit 2 (argparse's default prints the usage too)."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _cmd_list(args):
    print(f"{'model':<9} {'conv layers':>11}  protocol runs in "
          f"{dataset_dir(args.results_dir, args.dataset)}")
    for name, runs in representatives(args.results_dir, True, args.dataset).items():
        seeds = [run.config.seed for run in runs]
        print(f"{name:<9} {CONV_LAYERS[name]:>11}  "
              f"{'seeds ' + ', '.join(map(str, seeds)) if seeds else '-'}")


def _cmd_summary(args):
    from .models import build_model, summary_text

    print(summary_text(build_model(check_model_name(args.model))))


def _cmd_data(args):
    from .data import fingerprint, get_dataset, locate

    spec = get_dataset(args.dataset)
    arrays, source = locate(spec.name, refetch=args.refetch, log=print)
    print(f"{spec.title} from {source}")
    for key, (shape, digest) in spec.fingerprints.items():
        ok = "ok" if fingerprint(arrays[key]) == digest else "MISMATCH"
        print(f"  {key:<8} {str(arrays[key].shape):<16} sha256 {digest[:16]}...  {ok}")


def _executor(args):
    """Return the executor that --jobs or --ray choose; a contradiction ends with one line."""
    ray_options = {name: getattr(args, name) for name in ("cpus_per_run", "gpus_per_run")
                   if getattr(args, name) is not None}
    if args.ray is None:
        if ray_options:
            raise MnistCnnError(f"--{next(iter(ray_options)).replace('_', '-')} needs --ray")
        return InProcess() if args.jobs == 1 else LocalProcesses(args.jobs)
    if args.jobs != 1:
        raise MnistCnnError("--jobs and --ray exclude each other: on Ray, --cpus-per-run and "
                            "--gpus-per-run decide how many runs train at once")
    return RayTasks(args.ray, **ray_options)


def _run_study(plan, args, executor, estimate=None):
    """Train what `plan` trains through `executor`; print each run's line and the state."""
    results = []
    for result in run_study(plan, args.results_dir, executor, verbose=_verbosity(),
                            checkpoints=args.checkpoint_dir):
        results.append(result)
        for line in result_lines(result):
            print(line, flush=True)
        if result.status != "skipped" and len(plan.to_train) > 1:
            print(state_line(plan, results, estimate), flush=True)
    if any(result.status == "failed" for result in results):
        raise SystemExit(1)


def _verbosity():
    """Keras' fit verbosity: a progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def _models(args):
    """Return the command's model names, or --name's with --model; raise where they conflict."""
    if args.builder is None and args.name is None:
        return args.models
    if args.builder is None:
        raise MnistCnnError(f"--name {args.name} names a model of yours: pass the function that "
                            "builds it too (--model PATH:FUNCTION)")
    if args.name is None:
        raise MnistCnnError("--model needs --name NAME: the name its runs are recorded under")
    if args.models:
        raise MnistCnnError(f"--model trains a model of yours alone: leave out "
                            f"{' '.join(args.models)} (train them in a command of their own)")
    # Made absolute, so that workers in other folders find the file.
    args.builder = resolve_spec(args.builder)
    return [args.name]


def _own_architecture(config, args):
    """Return the checked architecture record of `config`'s own model ({} for the seven)."""
    if config.builder is None:
        return {}
    from .training import own_model  # Keras: the user's function builds a Keras model anyway

    return own_model(config, args.results_dir)[1]


def _cmd_train(args):
    models = _models(args)
    if not models:
        raise MnistCnnError("train needs models: name some of model_1 ... model_7, "
                            + OWN_MODEL_HINT)
    settings = {field.name: getattr(args, field.name) for field in RunConfig.options()
                if field.name != "seed"}
    configs = [RunConfig(model, seed=seed, **settings)
               for model in models for seed in args.seed]
    executor = _executor(args)
    _own_architecture(configs[0], args)  # a slow check (it builds the model): after the rest
    _run_study(plan_study(configs, args.results_dir, retrain=True,
                          checkpoints=args.checkpoint_dir), args, executor)


def _cmd_reproduce(args):
    models = _models(args) or list(MODEL_NAMES)
    executor = _executor(args)  # before the plan: a bad option must not wait for it
    configs = protocol_configs(models, args.seeds, args.dataset, builder=args.builder)
    record = _own_architecture(configs[0], args)
    plan = plan_study(configs, args.results_dir, args.retrain, checkpoints=args.checkpoint_dir)
    flops = {args.name: record["train_flops_per_image"]} if record else None
    estimate = estimate_time(plan, args.results_dir, flops=flops) if plan.to_train else None
    for line in plan_lines(plan, estimate):
        print(line, flush=True)
    _run_study(plan, args, executor, estimate)


def _cmd_table(args):
    from .readme import COST_MARKERS, README_MARKERS, update_readme_sections
    from .report import cost_markdown, protocol_runs, summary_markdown, summary_table

    runs = protocol_runs(args.results_dir, args.dataset)
    if args.update_readme:
        if args.dataset != DEFAULT_DATASET:
            raise MnistCnnError("the README's tables are MNIST's and its answer covers both data "
                                "sets: run --update-readme without --dataset")
        from .answer import ANSWER_MARKERS, readme_answer
        from .answer_figure import save_readme_figure

        changed = update_readme_sections(args.update_readme, {
            README_MARKERS: summary_markdown(runs),
            COST_MARKERS: cost_markdown(runs),
            ANSWER_MARKERS: readme_answer(args.results_dir)})
        print(f"{args.update_readme}: {'updated' if changed else 'already current'}")
        # After the README: one without its markers stops the command before anything is written.
        figure = save_readme_figure(args.update_readme, args.results_dir)
        if figure is not None:
            print(f"{figure}: written")
    elif args.markdown:
        print(summary_markdown(runs, dataset=args.dataset))
    else:
        print(summary_table(runs, dataset=args.dataset))


def _cmd_findings(args):
    if args.compared is not None:
        _compare(args)
        return
    from .findings import NoRunsError, analyse, findings_json, transfer
    from .findings_tables import transfer_table
    from .report import markdown_table
    from .words import findings_markdown

    study = analyse(args.results_dir, dataset=args.dataset)
    studies = {args.dataset: study}
    if not study.on_original_data:  # the same claims on the original's data, where recorded
        try:
            studies = {DEFAULT_DATASET: analyse(args.results_dir), **studies}
        except NoRunsError:
            pass
    if args.json:
        answer = findings_json(study)
        if len(studies) > 1:
            answer["transfer"] = transfer(studies)
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        print(findings_markdown(study))
        if len(studies) > 1:
            print("\n**The same claims on both data sets.**\n\n"
                  + markdown_table(transfer_table(studies)))


def _compare(args):
    """Print the models that --models names side by side (the original's claims are not judged)."""
    from .comparison import compare_models, comparison_json, comparison_markdown

    study = compare_models(args.compared, args.results_dir, args.dataset)
    if args.json:
        print(json.dumps(comparison_json(study), indent=2, ensure_ascii=False))
    else:
        print(comparison_markdown(study))


def _cmd_bench(args):
    from .speed import check_bench_settings

    # Bad input fails before minutes of timing, and before TensorFlow's import.
    for path in (args.json, args.report):
        if path is not None and not path.parent.is_dir():
            raise MnistCnnError(f"cannot write {path}: folder {path.parent} does not exist")
    if not args.from_json:
        check_bench_settings(args.models, args.steps, args.repeats, args.accuracy_images,
                             args.precision)
    from .speed.bench import (check_targets, load_bench, readme_markdown, results_document,
                              run_bench)
    from .files import write_json, write_text
    from .readme import BENCH_MARKERS, update_readme

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
    from .comparison_plots import class_samples, sample_grid, tradeoff_plot
    from .data import get_dataset, is_original_data, load_dataset
    from .original import load_original
    from .plot_style import FIGURES_DIR, save_fig, setup_style
    from .report import summary_rows
    from .training_plots import loss_curves

    setup_style()
    spec = get_dataset(args.dataset)
    on_original_data = is_original_data(spec.name)
    figures_dir = dataset_dir(args.figures_dir or FIGURES_DIR, spec.name)  # as its runs lie
    reference = load_original()
    (x_train, y_train), _ = load_dataset(spec.name)
    if on_original_data:
        samples, samples_name = sample_grid(x_train, y_train), "sample_digits"
    else:
        samples, samples_name = class_samples(x_train, y_train, spec.class_names), "sample_images"
    written = [save_fig(samples, samples_name, figures_dir)]
    # As in the notebooks: the runs that represent each model; the original's curves on its data.
    shown = representatives(args.results_dir, dataset=spec.name)
    for name, runs in shown.items():
        if runs:
            written.append(save_fig(loss_curves(runs, reference if on_original_data else None),
                                    f"loss_{name}", figures_dir))
    all_runs = [run for runs in shown.values() for run in runs]
    if all_runs:
        written.append(save_fig(tradeoff_plot(summary_rows(all_runs, reference,
                                                           dataset=spec.name)),
                                "tradeoff", figures_dir))
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

    def execution_options(sub):
        sub.add_argument("--jobs", type=int, default=1, help="train this many runs at once, "
                         "each in its own process (for an accelerator with room to spare)")
        sub.add_argument("--ray", metavar="ADDRESS", help="train each run as a Ray task: "
                         "'local' starts Ray on this machine, 'auto' joins the cluster this "
                         "machine belongs to, HOST:PORT the cluster whose head is there (needs "
                         "the cluster extra)")
        sub.add_argument("--cpus-per-run", type=float, metavar="N", help="CPUs that each run's "
                         f"Ray task holds (default: {DEFAULT_CPUS_PER_RUN})")
        sub.add_argument("--gpus-per-run", type=float, metavar="N", help="GPUs that each run's "
                         "Ray task holds; 0.25 puts four runs on one GPU (default: 0)")
        sub.add_argument("--checkpoint-dir", type=Path, metavar="DIR", help="where unfinished "
                         "runs keep their checkpoints; with --ray on several machines, a folder "
                         "they all share (default: .checkpoints in the results folder)")

    def dataset_option(sub):
        sub.add_argument("--dataset", choices=DATASET_NAMES, default=DEFAULT_DATASET,
                         help="the data set (default: %(default)s)")

    def results_option(sub):
        sub.add_argument("--results-dir", type=Path, default=RESULTS_DIR,
                         help="where runs are recorded (default: %(default)s)")

    def name_option(sub):
        sub.add_argument("--name", metavar="NAME", help="with --model: the name your model's runs "
                         "are recorded under (results/<data set>/NAME/), a plain name not of the "
                         "seven")

    listing = command("list", _cmd_list, "list the models and their recorded runs")
    dataset_option(listing)
    results_option(listing)
    command("summary", _cmd_summary, "print a model's layers and parameter counts").add_argument(
        "model", metavar="MODEL")
    data = command("data", _cmd_data,
                   "fetch a data set if needed, verify it, print source and fingerprints")
    data.add_argument("--refetch", action="store_true",
                      help="replace Keras' cached copy (after a corrupt-file error)")
    dataset_option(data)

    train = command("train", _cmd_train, "train models and record the runs")
    train.add_argument("models", nargs="*", metavar="MODEL")
    for field in RunConfig.options():  # one option per RunConfig field, as runs.py describes
        option = {key: value for key, value in field.metadata.items() if key != "flag"}
        if field.name == "seed":
            option.update(nargs="+", default=[field.default], help=option["help"] + "; one run "
                          "per seed (default: %(default)s)")
        elif field.default is None:  # its help says what leaving it out does
            option.update(default=None)
        else:
            option.update(default=field.default, help=option["help"] + " (default: %(default)s)")
        train.add_argument(field.metadata["flag"], dest=field.name, **option)
    name_option(train)
    execution_options(train)
    results_option(train)

    reproduce = command("reproduce", _cmd_reproduce,
                        "train every missing protocol run; skip the recorded ones")
    reproduce.add_argument("--models", nargs="+", metavar="MODEL",
                           help="the models to train (default: all seven)")
    builder = next(field for field in RunConfig.options() if field.name == "builder")
    reproduce.add_argument(builder.metadata["flag"], dest="builder",
                           metavar=builder.metadata["metavar"], help=builder.metadata["help"])
    name_option(reproduce)
    reproduce.add_argument("--seeds", nargs="+", type=int, default=list(STUDY_SEEDS),
                           metavar="SEED")
    reproduce.add_argument("--retrain", action="store_true",
                           help="train again even where a run is recorded")
    dataset_option(reproduce)
    execution_options(reproduce)
    results_option(reproduce)

    table = command("table", _cmd_table, "print the summary table of the recorded runs")
    table.add_argument("--markdown", action="store_true", help="as a Markdown table")
    table.add_argument("--update-readme", type=Path, nargs="?", const=README, metavar="README",
                       help="rewrite the answer, the results table and the findings in "
                       "README.md between their markers, and the answer's figure in "
                       "figures/answer.png beside it")
    dataset_option(table)
    results_option(table)

    findings = command("findings", _cmd_findings,
                       "judge the original's claims over the recorded seeds, in plain words")
    findings.add_argument("--json", action="store_true",
                          help="one JSON object: claims (id, statement, verdict, evidence) and "
                          "fidelity (one entry per model); with --models: models and pairs")
    findings.add_argument("--models", dest="compared", nargs="+", metavar="NAME",
                          help="compare these recorded models instead, two or more of the seven "
                          "and yours (by their --name): their means, every pair's relation, "
                          "intervals and seeds to decide; the original's claims are judged "
                          "without --models, over the seven")
    dataset_option(findings)
    results_option(findings)

    plot = command("plot", _cmd_plot, "save the sample digits, loss curves and trade-off plot")
    plot.add_argument("--figures-dir", type=Path, default=None,
                      help="default: figures, or $MNIST_CNN_FIGURES_DIR when set; another data "
                      "set's figures go to a folder of its name in it")
    dataset_option(plot)
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
    bench.add_argument("--update-docs", dest="update_readme", type=Path, nargs="?",
                       const=SPEED_DOC, metavar="FILE", help="rewrite the speed-up summary "
                       f"between its markers in {SPEED_DOC} (or FILE)")
    return parser


def main(argv=None):
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        hint = OWN_MODEL_HINT if args.command in ("train", "reproduce") else ""
        for model in getattr(args, "models", None) or []:
            check_model_name(model, hint=hint)
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
