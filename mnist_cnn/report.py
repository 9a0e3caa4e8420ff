"""The tables of the recorded runs: results beside the original's, costs, and each model's runs.

Works from saved runs (results/) and the original's parsed logs (mnist_cnn/reference/original.json,
shipped with the package) only, so it never imports Keras. Every number shown comes from one of the
two: our runs are scored from their saved test probabilities (`mnist_cnn.scores`) and aggregated
per model as every other table is (`stats.mean_estimate`: the mean and the sample SD over seeds),
in each measure's unit (`analysis.MEASURES`); the original's values are the ones its logs record
(`Measure.original`), never the rounded or truncated ones its summary table prints, so that every
Δ is the difference of the two numbers beside it.
"""

import statistics
from datetime import datetime

import numpy as np
from prettytable import TableStyle

from . import analysis, stats
from .analysis import MEASURES
from .data import DEFAULT_DATASET, is_original_data
from .models import CONV_LAYERS, MODEL_NAMES
from .original import load_original
from .runs import RESULTS_DIR, find_runs, representatives
from .scores import score_run
from .tables import HtmlTable, plural, text_table

NO_VALUE = "—"      # a cell of a model without runs, or a range of a single run
NO_RUN = "no run"   # the Seeds cell of a model without runs

# The results table: the original's columns (model and its conv layers, in digits as everywhere
# else), then each measure ours, the original's and the difference, and the seeds behind ours.
SUMMARY_FIELDS = ("Model", "Conv layers", "Test accuracy", "Original accuracy", "Δ accuracy",
                  "Test log loss", "Original log loss", "Δ log loss", "Seeds")
TEXT_FIELDS = {"Model", "Conv layers"}  # left-aligned; numbers right
# The columns that only runs on the original's data set have.
ORIGINAL_FIELDS = {"Original accuracy", "Δ accuracy", "Original log loss", "Δ log loss"}
# The cost table: what a model costs wherever it runs, then its seconds per epoch per device.
COST_FIELDS = ("Model", "Params", "Training FLOPs per image")
ORIGINAL_DEVICE = "unknown hardware (Keras 2, TF 2.x)"  # the original names none


def _distinct(values):
    """Return the different `values`, sorted and comma-separated."""
    return ", ".join(sorted(set(values)))


def _device_kind(device):
    """Return the kind of a run's device, e.g. 'GPU' for 'GPU: NVIDIA H200'."""
    return device.split(":", 1)[0]


def device_name(device):
    """Return a device as a reader names it: its kind, '(R)' and ' Processor' dropped."""
    name = device.split(":", 1)[-1].replace("(R)", "").replace(" Processor", "")
    return " ".join(name.split())


def _span(run):
    """Return (start, end) of a run's training in seconds since the epoch, from metrics.json."""
    end = datetime.fromisoformat(run.metrics["date"]).timestamp()
    return end - run.metrics["total_seconds"], end


def companions(run, others):
    """Return how many of `others` trained on a device of `run`'s name while `run` did."""
    start, end = _span(run)
    return sum(1 for other in others if other is not run
               and other.metrics["device"] == run.metrics["device"]
               and _span(other)[0] < end and start < _span(other)[1])


def _seconds_by_device(runs):
    """Return {device: median s/epoch of the runs on it}, CPUs first, in name order."""
    # An epoch takes seconds on a GPU, minutes on a CPU: times compare only on one machine.
    devices = sorted({run.metrics["device"] for run in runs},
                     key=lambda device: (_device_kind(device) != "CPU", device))
    return {device: statistics.median(run.seconds_per_epoch for run in runs
                                      if run.metrics["device"] == device)
            for device in devices}


def _model_row(name, runs, reference, labels=None, against_original=True):
    """Return the summary of one model's runs, against the original's result where it compares."""
    row = {"model": name, "conv_layers": CONV_LAYERS[name], "n_runs": len(runs),
           "seeds": sorted(run.config.seed for run in runs)}
    scores = [score_run(run, labels) for run in runs]
    for measure in MEASURES:
        original = measure.original(reference, name) if against_original else None
        estimate = stats.mean_estimate([measure.of(s) for s in scores]) if scores else None
        row.update({f"{measure.name}_mean": estimate and estimate.mean,
                    f"{measure.name}_sd": estimate and (estimate.sd or 0.0),  # 0 for one run
                    f"original_{measure.name}": original,
                    f"delta_{measure.name}": (estimate.mean - original
                                              if estimate and original is not None else None)})
    if not runs:
        return row | dict.fromkeys(("epochs", "params", "seconds_per_epoch",
                                    "seconds_per_epoch_by_device", "device", "backend"))
    return row | {
        "epochs": runs[0].config.epochs,
        "params": runs[0].metrics["params"]["total"],
        "seconds_per_epoch": statistics.median(run.seconds_per_epoch for run in runs),
        "seconds_per_epoch_by_device": _seconds_by_device(runs),
        "device": _distinct(run.metrics["device"] for run in runs),
        "backend": _distinct(run.metrics["backend"] for run in runs),
    }


def summary_rows(runs, reference=None, labels=None, dataset=DEFAULT_DATASET):
    """Return one dict per model (MODEL_NAMES order) aggregating its runs on `dataset` over seeds;
    the original's results beside them only on its data set."""
    reference = load_original() if reference is None else reference
    by_model = {name: [] for name in MODEL_NAMES}
    for run in runs:
        if run.config.dataset != dataset:
            raise ValueError(f"{run.label} is not a run on {dataset}: one data set per table")
        by_model[run.config.model].append(run)
    for name, model_runs in by_model.items():
        variants = {run.config.variant for run in model_runs}
        if len(variants) > 1:
            # Averaging a 1-epoch run with a 30-epoch one would describe neither.
            raise ValueError(f"the runs of {name} differ in more than their seed "
                             f"({', '.join(sorted(v or 'protocol' for v in variants))}): "
                             f"pass one configuration per model")
    return [_model_row(name, model_runs, reference, labels, is_original_data(dataset))
            for name, model_runs in by_model.items()]


def protocol_runs(results_dir=RESULTS_DIR, dataset=DEFAULT_DATASET):
    """Return the protocol runs that represent the models: what the summary tables compare."""
    return [run for runs in representatives(results_dir, True, dataset).values() for run in runs]


def _resolve_rows(runs, results_dir, reference, dataset=DEFAULT_DATASET):
    """Return the summary rows of `runs`, or of the protocol runs under `results_dir`."""
    return summary_rows(protocol_runs(results_dir, dataset) if runs is None else runs, reference,
                        dataset=dataset)


def _spread(row, measure):
    """Format our mean of `measure`, with its SD when there are several runs."""
    if not row["n_runs"]:
        return NO_VALUE
    mean = row[f"{measure.name}_mean"]
    return (measure.spread_text(mean, row[f"{measure.name}_sd"]) if row["n_runs"] > 1
            else measure.text(mean))


def delta_text(row, measure):
    """Return ours minus the original's as the difference of the two numbers shown (rounded)."""
    return measure.difference_text(round(row[f"{measure.name}_mean"], measure.digits)
                                   - round(row[f"original_{measure.name}"], measure.digits))


def _summary_cells(row):
    """Return the cells of one summary row: SUMMARY_FIELDS, the ORIGINAL_FIELDS only with it."""
    cells = [row["model"], str(row["conv_layers"])]
    for measure in MEASURES:
        cells.append(_spread(row, measure))
        if row[f"original_{measure.name}"] is not None:
            cells += [measure.text(row[f"original_{measure.name}"]),
                      delta_text(row, measure) if row["n_runs"] else NO_VALUE]
    return cells + [str(row["n_runs"]) if row["n_runs"] else NO_RUN]


def summary_table(runs=None, results_dir=RESULTS_DIR, reference=None, dataset=DEFAULT_DATASET):
    """Return the results table: our accuracy and log loss; on MNIST the original's and Δ too."""
    fields = [field for field in SUMMARY_FIELDS
              if is_original_data(dataset) or field not in ORIGINAL_FIELDS]
    rows = _resolve_rows(runs, results_dir, reference, dataset)
    return text_table(fields, [_summary_cells(row) for row in rows], TEXT_FIELDS)


def markdown_table(table):
    """Return a table as GitHub Markdown."""
    table.set_style(TableStyle.MARKDOWN)
    return table.get_string()


def summary_markdown(runs=None, results_dir=RESULTS_DIR, reference=None, dataset=DEFAULT_DATASET):
    """Return summary_table's content as a GitHub Markdown table."""
    return markdown_table(summary_table(runs, results_dir, reference, dataset))


def _device_field(device):
    """Return the cost table's column of one device, e.g. 's/epoch, GPU NVIDIA H200'."""
    return f"s/epoch, {_device_kind(device)} {device_name(device)}"


def cost_table(runs=None, results_dir=RESULTS_DIR):
    """Return what each model costs: parameters, training FLOPs and seconds per epoch per device."""
    runs = protocol_runs(results_dir) if runs is None else list(runs)
    costs = analysis.load_costs()
    devices = list(_seconds_by_device(runs)) if runs else []
    table = text_table([*COST_FIELDS, *map(_device_field, devices), "Seeds"], [], {"Model"})
    for name in MODEL_NAMES:
        model_runs = [run for run in runs if run.config.model == name]
        by_device = _seconds_by_device(model_runs)
        # Runs that shared a device train slower per epoch than one alone on it.
        shared = {run.metrics["device"] for run in model_runs if companions(run, runs)}
        table.add_row([
            name, f"{costs[name]['params']:,}",
            f"{costs[name]['train_flops_per_image'] / 1e6:,.0f} M",
            *(NO_VALUE if device not in by_device else
              f"{by_device[device]:.1f}" + (" (shared)" if device in shared else "")
              for device in devices),
            str(len(model_runs)) if model_runs else NO_RUN])
    return table


def cost_markdown(runs=None, results_dir=RESULTS_DIR):
    """Return cost_table's content as a GitHub Markdown table."""
    return markdown_table(cost_table(runs, results_dir))


def label_counts(y_train, y_test):
    """Return a table of how many images of each digit the training and test sets hold."""
    table = HtmlTable(["Digit", "Train", "Test"])
    table.align = "r"
    train, test = (np.bincount(labels, minlength=10) for labels in (y_train, y_test))
    table.add_rows([[digit, f"{a:,}", f"{b:,}"] for digit, (a, b) in enumerate(zip(train, test))])
    table.add_row(["all", f"{train.sum():,}", f"{test.sum():,}"], divider=False)
    return table


def _device_text(run, others):
    """Return a run's device as 'GPU: NVIDIA H200', with the runs it shared the device with."""
    text = f"{_device_kind(run.metrics['device'])}: {device_name(run.metrics['device'])}"
    beside = companions(run, others)
    return text + (f", shared with {plural(beside, 'other run')}" if beside else "")


def _median_label(on_device):
    """Label a device's row of seconds per epoch: 'median of 3 runs', or the one run's label."""
    if len(on_device) == 1:
        return f"{on_device[0].label}, the only run on this device"
    return f"median of {len(on_device)} runs"


def _shared_text(shared, runs):
    """Say how many of a device's `runs` trained beside other runs, as the run rows say it."""
    if not shared:
        return ""
    if shared == runs:
        return {1: ", shared with other runs", 2: ", both shared with other runs"}.get(
            runs, f", all {runs} shared with other runs")
    return f", {shared} of {runs} shared with other runs"


def model_report(runs, reference=None, results_dir=RESULTS_DIR):
    """Return a table of each run's test results, their mean ± std, and the original's result."""
    runs = list(runs)
    reference = load_original() if reference is None else reference
    def key(run):
        return run.config.model, run.config.variant, run.config.seed

    others = list(({key(run): run for run in find_runs(results_dir, protocol=False)}
                   | {key(run): run for run in runs}).values())
    original = reference["models"][runs[0].config.model]
    table = text_table(["Run", "Epochs", "Test accuracy", "Test log loss", "s/epoch", "Device"],
                       [], {"Run", "Device"})
    for run in runs:
        score = score_run(run)
        table.add_row([run.label, run.config.epochs,
                       *(measure.text(measure.of(score)) for measure in MEASURES),
                       f"{run.seconds_per_epoch:.1f}", _device_text(run, others)])
    if len(runs) > 1:
        row = summary_rows(runs, reference)[MODEL_NAMES.index(runs[0].config.model)]
        table.add_row([f"mean ± std of {plural(len(runs), 'seed')}", runs[0].config.epochs,
                       *(_spread(row, measure) for measure in MEASURES), "", ""])
    for device, seconds in _seconds_by_device(runs).items() if len(runs) > 1 else ():
        on_device = [run for run in runs if run.metrics["device"] == device]
        shared = sum(1 for run in on_device if companions(run, others))
        table.add_row([_median_label(on_device), "", "", "", f"{seconds:.1f}",
                       f"{_device_kind(device)}: {device_name(device)}"
                       + _shared_text(shared, len(on_device))])
    if not runs[0].config.is_protocol:
        return table
    model = runs[0].config.model
    table.add_row(["the original", len(original["history"]["loss"]),
                   *(measure.text(measure.original(reference, model)) for measure in MEASURES),
                   NO_VALUE,  # its hardware is unknown: its seconds compare with none of ours
                   ORIGINAL_DEVICE])
    return table
