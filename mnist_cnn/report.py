"""The summary table of the recorded runs, side by side with the original's results.

Works from saved runs (results/) and the original's parsed logs (mnist_cnn/reference/original.json,
shipped with the package) only, so
it never imports Keras. Every number shown comes from one of the two: runs are aggregated per model
(mean, sample std, min and max over seeds), and the original's columns repeat its own summary table.
"""

import json
import statistics
from pathlib import Path

import numpy as np
from prettytable import PrettyTable, TableStyle

from . import MnistCnnError
from .files import write_text
from .models import CONV_LAYERS, MODEL_NAMES
from .runs import HEADLINE_SEED, RESULTS_DIR, RunError, representatives

# The original notebook's parsed logs and summary table, package data (scripts/parse_seed.py).
ORIGINAL_REFERENCE = Path(__file__).resolve().parent / "reference" / "original.json"
README_MARKERS = ("<!-- results:start -->", "<!-- results:end -->")
BENCH_MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")
REPRODUCED_MARKERS = ("<!-- reproduced:start -->", "<!-- reproduced:end -->")
NO_VALUE = "—"      # a cell of a model without runs, or a range of a single run
NO_RUN = "no run"   # the Runs cell of a model without runs

# The original's four columns, spelled as its summary table spells them, then ours.
SUMMARY_FIELDS = ("Model #", "Number of Convolutional Layers", "Test Accuracy", "Test Log Loss",
                  "Original Accuracy", "Δ Accuracy", "Original Log Loss", "Δ Log Loss", "Params",
                  "s/epoch", "Runs")
SPREAD_FIELDS = ("Model #", "Seeds", "Original Accuracy", "Our Accuracy", "Our Accuracy Range",
                     "Original in Our Accuracy Range?", "Original Log Loss", "Our Log Loss",
                     "Our Log Loss Range", "Original in Our Log Loss Range?")
TEXT_FIELDS = {"Model #", "Number of Convolutional Layers", "Seeds"}  # left-aligned; numbers right


class ReadmeError(MnistCnnError, ValueError):
    """A README that has no place marked for the results table."""


def plural(n, word):
    """Return e.g. '1 run' or '3 runs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _check_reference(reference):
    """Raise ValueError unless `reference` holds every model's results and summary-table row."""
    printed = {row.get("model"): row for row in reference["summary_table"]}
    for name in MODEL_NAMES:
        if not {"history", "test_accuracy", "test_loss"} <= set(reference["models"].get(name, ())):
            raise ValueError(f"no results for {name}")
        if not {"conv_layers", "test_accuracy", "test_log_loss"} <= set(printed.get(name, ())):
            raise ValueError(f"no summary-table row for {name}")


def load_original(path=ORIGINAL_REFERENCE):
    """Return the original's parsed results (original.json); raise RunError if unreadable."""
    path = Path(path)
    try:
        reference = json.loads(path.read_text(encoding="utf-8"))
        _check_reference(reference)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else f"{type(e).__name__}: {e}"
        raise RunError(f"the original's results {path} are missing or unreadable ({reason}); "
                       f"restore it "
                       f"from git or rebuild it: python scripts/parse_seed.py") from None
    return reference


def _stats(values):
    """Return mean, sample std (0 for one value), min and max of `values`; Nones for none."""
    if not values:
        return None, None, None, None
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), std, min(values), max(values)


def _distinct(values):
    """Return the different `values`, sorted and comma-separated."""
    return ", ".join(sorted(set(values)))


def _device_kind(device):
    """Return the kind of a run's device, e.g. 'GPU' for 'GPU: NVIDIA H200'."""
    return device.split(":", 1)[0]


def _seconds_by_kind(runs):
    """Return {device kind: median s/epoch of the runs on it}, CPU first.

    Epochs on a GPU take seconds where a CPU takes minutes: one median over both says nothing.
    """
    kinds = sorted({_device_kind(run.metrics["device"]) for run in runs}, key=lambda k: k != "CPU")
    return {kind: statistics.median(run.seconds_per_epoch for run in runs
                                    if _device_kind(run.metrics["device"]) == kind)
            for kind in kinds}


def _seconds_text(by_kind):
    """Return the s/epoch cell: '110.9' for CPU runs, else '2.1 GPU' or '110.9 CPU, 2.1 GPU'."""
    if list(by_kind) == ["CPU"]:
        return f"{by_kind['CPU']:.1f}"
    return ", ".join(f"{seconds:.1f} {kind}" for kind, seconds in by_kind.items())


def _model_row(name, runs, reference):
    """Return the summary of one model's runs against the original's result."""
    original = reference["models"][name]
    original_printed = {row["model"]: row for row in reference["summary_table"]}[name]
    row = {"model": name, "conv_layers": CONV_LAYERS[name],
           "original_conv_layers": original_printed["conv_layers"],
           "n_runs": len(runs), "seeds": sorted(run.config.seed for run in runs),
           "original_test_accuracy": original["test_accuracy"],
           "original_test_loss": original["test_loss"],
           # The original's table as printed (it truncates some values: 99.19% for 0.99199998).
           "original_accuracy_text": original_printed["test_accuracy"],
           "original_loss_text": original_printed["test_log_loss"]}
    for metric in ("test_accuracy", "test_loss"):
        mean, std, low, high = _stats([run.metrics[metric] for run in runs])
        original_value = row[f"original_{metric}"]
        in_range = low <= original_value <= high if len(runs) > 1 else None
        row.update({f"{metric}_mean": mean, f"{metric}_std": std,
                    f"{metric}_min": low, f"{metric}_max": high,
                    f"delta_{metric}": None if mean is None else mean - original_value,
                    f"original_{metric}_in_range": in_range})
    if not runs:
        return row | dict.fromkeys(("epochs", "params", "seconds_per_epoch",
                                    "seconds_per_epoch_by_kind", "device", "backend"))
    return row | {
        "epochs": runs[0].config.epochs,
        "params": runs[0].metrics["params"]["total"],
        "seconds_per_epoch": statistics.median(run.seconds_per_epoch for run in runs),
        "seconds_per_epoch_by_kind": _seconds_by_kind(runs),
        "device": _distinct(run.metrics["device"] for run in runs),
        "backend": _distinct(run.metrics["backend"] for run in runs),
    }


def summary_rows(runs, reference=None):
    """Return one dict per model (MODEL_NAMES order) aggregating its runs over seeds.

    Keys: model, conv_layers, n_runs, seeds, epochs, test_accuracy_{mean,std,min,max},
    test_loss_{mean,std,min,max}, original_test_accuracy, original_test_loss, delta_test_accuracy,
    delta_test_loss (ours minus the original's), original_test_{accuracy,loss}_in_range (None
    for fewer than 2 runs), params, seconds_per_epoch (over all runs),
    seconds_per_epoch_by_kind ({'CPU': s, 'GPU': s}), device, backend; ours are None for a model
    without runs. The runs of one model must differ only in their seed.
    """
    reference = load_original() if reference is None else reference
    by_model = {name: [] for name in MODEL_NAMES}
    for run in runs:
        by_model[run.config.model].append(run)
    for name, model_runs in by_model.items():
        variants = {run.config.variant for run in model_runs}
        if len(variants) > 1:
            # Averaging a 1-epoch run with a 30-epoch one would describe neither.
            raise ValueError(f"the runs of {name} differ in more than their seed "
                             f"({', '.join(sorted(v or 'protocol' for v in variants))}): "
                             f"pass one configuration per model")
    return [_model_row(name, model_runs, reference) for name, model_runs in by_model.items()]


def protocol_runs(results_dir=RESULTS_DIR):
    """Return the protocol runs that represent the models: what the summary tables compare."""
    return [run for runs in representatives(results_dir, protocol_only=True).values()
            for run in runs]


def _resolve_rows(runs, results_dir, reference):
    """Return the summary rows of `runs`, or of the protocol runs under `results_dir`."""
    return summary_rows(protocol_runs(results_dir) if runs is None else runs, reference)


def _accuracy(mean, std=None):
    """Format an accuracy as '99.19%', or '99.21 ± 0.04%' when `std` is given."""
    return f"{100 * mean:.2f}%" if std is None else f"{100 * mean:.2f} ± {100 * std:.2f}%"


def _log_loss(mean, std=None):
    """Format a log loss as '0.0323', or '0.0231 ± 0.0012' when `std` is given."""
    return f"{mean:.4f}" if std is None else f"{mean:.4f} ± {std:.4f}"


def _spread(row, metric, formatter):
    """Format our mean of `metric`, with its std when there are several runs."""
    if not row["n_runs"]:
        return NO_VALUE
    several = row["n_runs"] > 1
    return formatter(row[f"{metric}_mean"], row[f"{metric}_std"] if several else None)


def _range(row, metric, formatter):
    """Format our min–max of `metric`; a dash for fewer than two runs."""
    if row["n_runs"] < 2:
        return NO_VALUE
    return f"{formatter(row[f'{metric}_min'])} – {formatter(row[f'{metric}_max'])}"


def _in_range(row, metric):
    """Say whether the original's value of `metric` lies within our min–max."""
    return {True: "yes", False: "no", None: NO_VALUE}[row[f"original_{metric}_in_range"]]


def _model_label(name):
    return name.replace("model_", "Model ")


def _summary_cells(row):
    """Return the SUMMARY_FIELDS cells of one summary row."""
    ran = row["n_runs"] > 0
    return [
        _model_label(row["model"]), row["original_conv_layers"],
        _spread(row, "test_accuracy", _accuracy), _spread(row, "test_loss", _log_loss),
        row["original_accuracy_text"],
        f"{100 * row['delta_test_accuracy']:+.2f} pp" if ran else NO_VALUE,
        row["original_loss_text"],
        f"{row['delta_test_loss']:+.4f}" if ran else NO_VALUE,
        f"{row['params']:,}" if ran else NO_VALUE,
        _seconds_text(row["seconds_per_epoch_by_kind"]) if ran else NO_VALUE,
        str(row["n_runs"]) if ran else NO_RUN,
    ]


def _spread_cells(row):
    """Return the SPREAD_FIELDS cells of one summary row."""
    return [
        _model_label(row["model"]), ", ".join(map(str, row["seeds"])) or NO_RUN,
        row["original_accuracy_text"], _spread(row, "test_accuracy", _accuracy),
        _range(row, "test_accuracy", _accuracy), _in_range(row, "test_accuracy"),
        row["original_loss_text"], _spread(row, "test_loss", _log_loss),
        _range(row, "test_loss", _log_loss), _in_range(row, "test_loss"),
    ]


def text_table(fields, rows, text_fields=TEXT_FIELDS):
    """Return a PrettyTable of `rows` under `fields`: `text_fields` left-aligned, numbers right."""
    table = PrettyTable(list(fields))
    for field in fields:
        table.align[field] = "l" if field in text_fields else "r"
    table.add_rows(rows)
    return table


def summary_table(runs=None, results_dir=RESULTS_DIR, reference=None):
    """Return the summary table: the original's columns, its values, differences and costs.

    `runs` defaults to the protocol runs under `results_dir`; `reference` to original.json.
    """
    rows = _resolve_rows(runs, results_dir, reference)
    return text_table(SUMMARY_FIELDS, [_summary_cells(row) for row in rows])


def seed_spread_table(runs=None, results_dir=RESULTS_DIR, reference=None):
    """Return per model the original's accuracy and log loss against our spread over seeds."""
    rows = _resolve_rows(runs, results_dir, reference)
    return text_table(SPREAD_FIELDS, [_spread_cells(row) for row in rows])


def summary_markdown(runs=None, results_dir=RESULTS_DIR, reference=None):
    """Return summary_table's content as a GitHub Markdown table."""
    table = summary_table(runs, results_dir, reference)
    table.set_style(TableStyle.MARKDOWN)
    return table.get_string()


def reproduction_markdown(runs=None, results_dir=RESULTS_DIR, reference=None):
    """Return the README's "What reproduced" list: per model, our seed-0 run against the original.

    Each line gives our test accuracy and log loss, the original's as its summary table prints
    them, and the differences (ours minus the original's); a closing line counts the models
    whose accuracy and log loss came out better than the original's.
    """
    reference = load_original() if reference is None else reference
    runs = protocol_runs(results_dir) if runs is None else runs
    headline = {run.config.model: run for run in runs if run.config.seed == HEADLINE_SEED}
    lines, better_accuracy, better_loss = [], 0, 0
    for name in MODEL_NAMES:
        original = reference["models"][name]
        accuracy_text, loss_text = _original_printed(reference, name)
        label = f"**{_model_label(name)}** ({CONV_LAYERS[name]} conv layers)"
        run = headline.get(name)
        if run is None:
            lines.append(f"- {label}: no seed-{HEADLINE_SEED} protocol run recorded yet; the "
                         f"original reports {accuracy_text} and log loss {loss_text}.")
            continue
        d_accuracy = run.test_accuracy - original["test_accuracy"]
        d_loss = run.test_loss - original["test_loss"]
        better_accuracy += d_accuracy > 0
        better_loss += d_loss < 0
        lines.append(f"- {label}: test accuracy {_accuracy(run.test_accuracy)} against the "
                     f"original's {accuracy_text} ({100 * d_accuracy:+.2f} pp); test log loss "
                     f"{_log_loss(run.test_loss)} against {loss_text} ({d_loss:+.4f}).")
    if headline:
        lines.append(f"\nOf the {plural(len(headline), 'model')} with a seed-{HEADLINE_SEED} run, "
                     f"{better_accuracy} came out with a higher test accuracy than the original's "
                     f"and {better_loss} with a lower test log loss. These are single runs; the "
                     f"notebooks show the spread over seeds where a model has several.")
    return "\n".join(lines)


def update_readme(readme_path, markdown, markers=None):
    """Replace the text between two marker lines of `readme_path`; return whether it changed.

    `markers` defaults to README_MARKERS (the results table); BENCH_MARKERS hold the
    benchmark's summary.
    """
    return update_readme_sections(readme_path, {markers or README_MARKERS: markdown})


def update_readme_sections(readme_path, sections):
    """Replace the text between each pair of marker lines, {markers: markdown}, in one write.

    Every pair is checked before anything is written, so a README that lacks one pair is left
    as it was. Return whether the file changed.
    """
    path = Path(readme_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ReadmeError(f"cannot read {path} ({e.strerror or e})") from None
    new = text
    for (start, end), markdown in sections.items():
        if new.count(start) != 1 or new.count(end) != 1 or new.index(start) > new.index(end):
            raise ReadmeError(f"{path} needs one {start} line and, after it, one {end} line "
                              f"around the place for the generated text")
        head, rest = new.split(start)
        tail = rest.split(end)[1]
        # Blank lines keep GitHub from reading the table as part of the HTML comment block.
        new = f"{head}{start}\n\n{markdown.strip()}\n\n{end}{tail}"
    if new == text:
        return False
    write_text(path, new)
    return True


def label_counts(y_train, y_test):
    """Return a table of how many images of each digit the training and test sets hold."""
    table = PrettyTable(["Digit", "Train", "Test"])
    table.align = "r"
    train, test = (np.bincount(labels, minlength=10) for labels in (y_train, y_test))
    table.add_rows([[digit, f"{a:,}", f"{b:,}"] for digit, (a, b) in enumerate(zip(train, test))])
    table.add_row(["all", f"{train.sum():,}", f"{test.sum():,}"], divider=False)
    return table


def _original_printed(reference, model):
    """Return the original's (accuracy, log loss) as its own summary table prints them."""
    row = next(row for row in reference["summary_table"] if row["model"] == model)
    return row["test_accuracy"], row["test_log_loss"]


def model_report(runs, reference=None):
    """Return a table of each run's test results, their mean ± std, and the original's result.

    Runs that are not the original protocol (stand-ins) are not set against the original.
    """
    runs = list(runs)
    reference = load_original() if reference is None else reference
    original = reference["models"][runs[0].config.model]
    table = PrettyTable(["Run", "Epochs", "Test Accuracy", "Test Log Loss", "s/epoch", "Device"])
    table.align = "r"
    table.align["Run"] = table.align["Device"] = "l"
    for run in runs:
        table.add_row([run.label, run.config.epochs, _accuracy(run.test_accuracy),
                       _log_loss(run.test_loss), f"{run.seconds_per_epoch:.1f}",
                       run.metrics["device"]])
    if len(runs) > 1:
        row = summary_rows(runs, reference)[MODEL_NAMES.index(runs[0].config.model)]
        table.add_row([f"mean ± std of {len(runs)}", runs[0].config.epochs,
                       _spread(row, "test_accuracy", _accuracy),
                       _spread(row, "test_loss", _log_loss),
                       _seconds_text(row["seconds_per_epoch_by_kind"]), ""])
    if not runs[0].config.is_protocol:
        return table
    table.add_row(["the original", len(original["history"]["loss"]),
                   *_original_printed(reference, runs[0].config.model),
                   f"{statistics.median(original['history']['epoch_seconds']):.1f}",
                   "CPU (Keras 2, TF 2.x)"])
    return table


def _curve_facts(history):
    """Return (best epoch, best val loss, last val loss, last train loss) of one history."""
    val = history["val_loss"]
    best = min(range(len(val)), key=val.__getitem__)
    return best + 1, val[best], val[-1], history["loss"][-1]


def observations(runs, reference=None):
    """Return short observations on one model's runs against the original, numbers computed."""
    runs = list(runs)
    reference = load_original() if reference is None else reference
    headline = min(runs, key=lambda run: run.config.seed)
    model = headline.config.model
    original = reference["models"][model]
    lines = []
    if headline.history["val_loss"][0] is not None:
        best, low, last, train = _curve_facts(headline.history)
        lines.append(f"{headline.label}: validation loss is lowest at epoch {best} of "
                     f"{headline.config.epochs} ({low:.4f}) and ends at {last:.4f}; the last "
                     f"train loss is {train:.4f}, so validation ends "
                     f"{'above' if last > train else 'below'} train by {abs(last - train):.4f}.")
    if not headline.config.is_protocol:
        lines.append(f"these runs are a stand-in ({headline.config.variant}), not the original "
                     f"protocol, so they are not compared with the original.")
        return "\n".join(f"- {line}" for line in lines)
    s_best, s_low, s_last, s_train = _curve_facts(original["history"])
    lines.append(f"the original: validation loss is lowest at epoch {s_best} ({s_low:.4f}) "
                 f"and ends at {s_last:.4f}; its last train loss is {s_train:.4f}.")
    row = summary_rows(runs, reference)[MODEL_NAMES.index(model)]
    several = f" (mean of {len(runs)} seeds)" if len(runs) > 1 else ""
    original_accuracy, original_loss = _original_printed(reference, model)
    lines.append(f"test accuracy {_accuracy(row['test_accuracy_mean'])}{several} against the "
                 f"original's {original_accuracy}: {100 * row['delta_test_accuracy']:+.2f} "
                 f"percentage points; test log loss {_log_loss(row['test_loss_mean'])} against "
                 f"{original_loss}.")
    if row["original_test_accuracy_in_range"] is not None:
        inside = {True: "inside", False: "outside"}
        lines.append(f"the original's accuracy lies "
                     f"{inside[row['original_test_accuracy_in_range']]} and its log loss "
                     f"{inside[row['original_test_loss_in_range']]} the range of our "
                     f"{len(runs)} seeds.")
    for run in runs:
        if run.metrics.get("resumed_after_epoch") and run.metrics.get("resume") != "exact":
            epoch = run.metrics["resumed_after_epoch"]
            lines.append(f"{run.label} was resumed after epoch {epoch} "
                         f"by an earlier version whose resume started the data order and dropout "
                         f"masks afresh, so its later epochs differ from an uninterrupted run's; "
                         f"it is kept as recorded.")
    return "\n".join(f"- {line}" for line in lines)


def conclusions(rows):
    """Return computed conclusions from summary_rows: best models, ranking against the original."""
    ran = [row for row in rows if row["n_runs"]]
    if not ran:
        return "- no protocol runs recorded yet."
    lines = []
    for metric, better, name, shown in (("test_accuracy", max, "test accuracy", _accuracy),
                                        ("test_loss", min, "test log loss", _log_loss)):
        ours = better(ran, key=lambda row: row[f"{metric}_mean"])
        seeds = better(rows, key=lambda row: row[f"original_{metric}"])
        lines.append(f"best {name} among the {plural(len(ran), 'model')} with protocol runs: "
                     f"{ours['model']} ({shown(ours[f'{metric}_mean'])}); the original's best of "
                     f"all "
                     f"{len(rows)}: {seeds['model']} ({shown(seeds[f'original_{metric}'])}).")
    if len(ran) > 1:
        ranked = sorted(ran, key=lambda row: -row["test_accuracy_mean"])
        original_ranked = sorted(ran, key=lambda row: -row["original_test_accuracy"])
        lines.append("ranking by test accuracy, ours: " + " > ".join(r["model"] for r in ranked))
        lines.append("the same models ranked by the original: "
                     + " > ".join(r["model"] for r in original_ranked))
    missing = [row["model"] for row in rows if not row["n_runs"]]
    if missing:
        lines.append("no protocol run recorded yet for: " + ", ".join(missing) + ".")
    return "\n".join(f"- {line}" for line in lines)
