"""The study's figures over epochs: one model's training curves, and every model's side by side.

`loss_curves` and `error_curves` (both `curves`) draw one model's train and validation loss or
error (100% − accuracy) per epoch, of one run or the mean of several seeds, beside the
original's run, all in the model's colour: ours solid (train) and dashed, darker (validation),
the original's in a lighter tint, thinner, dotted (train) and dash-dotted (validation).
`all_models_curves` draws one panel per model, in its colour. The style that every figure
shares is plot_style's.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .models import MODEL_NAMES
from .plot_style import DPI, FIGSIZE, log_axis, model_style, styled
from .runs import Run, recorded_every_epoch

MARKERS_BELOW = 10    # runs with fewer epochs get a marker on every epoch
RANGE_FROM_EPOCH = 2  # a loss axis fits the epochs from here: the first epoch's loss, often
                      # 100x the rest, would squash them into a flat line
MIN_ERROR = 1e-3      # percent: an error of 0 (every image right) drawn on a log axis

# The curves of curves(): per metric, (history key, label) of train and validation, y label.
CURVE_KEYS = {
    "loss": ((("loss", "train"), ("val_loss", "validation")), "categorical cross-entropy"),
    "accuracy": ((("accuracy", "train"), ("val_accuracy", "validation")),
                 "train and test error, in %"),
}
# What the legend calls a curve, where that differs from its label: validation is on the test
# set, which the error axis names.
LEGEND_NAMES = {"accuracy": {"validation": "validation (test set)"}}
KEY_LABELS = {"loss": "training loss", "val_loss": "validation loss",
              "accuracy": "training accuracy", "val_accuracy": "validation accuracy"}
# Every curve of one model in its colour (one colour per model across the study): validation a
# darker shade than train, the original's a lighter tint and thinner; each in a line style of
# its own: ours solid (train) and dashed (validation), the original's dotted and dash-dotted.
OURS = {"train": dict(linestyle="-", linewidth=2),
        "validation": dict(linestyle="--", linewidth=2)}
ORIGINAL = {"train": dict(linestyle=":", linewidth=1.6),
            "validation": dict(linestyle="-.", linewidth=1.6)}
VALIDATION_SHADE = 0.45  # the share of black in validation's shade of the model's colour
ORIGINAL_TINT = 0.3      # the share of white in the original's tint: light, still legible


def _mix(color, other, amount):
    """Return `color` mixed with `amount` of `other` (both RGB colours)."""
    return tuple((1 - amount) * c + amount * o
                 for c, o in zip(mcolors.to_rgb(color), mcolors.to_rgb(other)))


def curve_colors(model):
    """Return {(whose, curve): colour} of `model`'s curves, all from the model's colour."""
    train = mcolors.to_rgb(model_style(model)[0])
    validation = _mix(train, "black", VALIDATION_SHADE)
    return {("ours", "train"): train, ("ours", "validation"): validation,
            ("original", "train"): _mix(train, "white", ORIGINAL_TINT),
            ("original", "validation"): _mix(validation, "white", ORIGINAL_TINT)}

# The original's run in all_models_curves: dark grey and dashed, apart from every model's colour.
ORIGINAL_LINE = dict(color="0.2", linestyle="--", linewidth=1.3)


def _fit_from_epoch(ax, arrays, first=RANGE_FROM_EPOCH):
    """Set a y range (before the log scale) over the values of `arrays` from epoch `first` on."""
    late = [np.asarray(values, float)[first - 1:] for values in arrays
            if len(values) > MARKERS_BELOW]
    late = np.concatenate(late) if late else np.array([])
    late = late[np.isfinite(late) & (late > 0)]
    if late.size:
        low, high = late.min(), late.max()
        ax.set_ylim(low / 1.15, high * 1.15)


def _error(values):
    """Return accuracies (0 to 1) as errors in percent, an error of 0 as MIN_ERROR."""
    return np.maximum(100 * (1 - np.asarray(values, float)), MIN_ERROR)


def _default_title(runs, drawn):
    """Return the title that says which runs the figure shows, and any setting off the protocol."""
    if len(runs) == 1:
        return f"{runs[0].label}: {drawn} per epoch"
    config = runs[0].config
    extra = "" if config.is_protocol else f", {config.epochs} epochs, {config.variant}"
    return (f"{config.model}{config.on_dataset}: {drawn} per epoch "
            f"(mean of {len(runs)} seeds{extra})")


@styled
def curves(runs, reference=None, metric="loss", title=None, ax=None):
    """Return a figure of train and validation loss or error per epoch, beside the original's."""
    if metric not in CURVE_KEYS:
        raise ValueError(f"metric must be one of {', '.join(CURVE_KEYS)}, got {metric!r}")
    keys, y_label = CURVE_KEYS[metric]
    names = LEGEND_NAMES.get(metric, {})
    drawn_name = "error" if metric == "accuracy" else metric
    shown = _error if metric == "accuracy" else (lambda values: np.asarray(values, float))
    runs = [runs] if isinstance(runs, Run) else list(runs)
    if not runs:
        raise ValueError(f"{drawn_name}_curves needs at least one run")
    if len({(run.config.model, run.config.variant) for run in runs}) > 1:
        raise ValueError(f"{drawn_name}_curves draws the runs of one model and configuration "
                         "at a time")
    model, epochs = runs[0].config.model, runs[0].config.epochs
    if ax is None:
        _, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI, layout="constrained")

    x = np.arange(1, epochs + 1)
    colors = curve_colors(model)
    marker = "o" if epochs < MARKERS_BELOW else None  # a line of one or two points needs dots
    ours, originals, drawn = [], [], []
    for key, label in keys:
        if not all(recorded_every_epoch(run.history[key]) for run in runs):
            continue  # trained with validation="none": no validation curve to draw
        values = shown([run.history[key] for run in runs])
        if len(runs) == 1:
            line, = ax.plot(x, values[0], label=label, marker=marker,
                            color=colors["ours", label], **OURS[label])
            ours.append((line, names.get(label, label)))
        else:
            line, = ax.plot(x, values.mean(axis=0), label=f"{label} (mean)", marker=marker,
                            color=colors["ours", label], **OURS[label])
            band = ax.fill_between(x, values.min(axis=0), values.max(axis=0), alpha=0.2,
                                   color=colors["ours", label], linewidth=0,
                                   label=f"{label} (min–max)")
            ours.append(((band, line),
                         f"{names.get(label, label)}: mean, min–max of {len(runs)} seeds"))
        drawn.extend(values)
        if reference is not None:
            original = shown(reference["models"][model]["history"][key])
            line, = ax.plot(np.arange(1, len(original) + 1), original, label=f"original {label}",
                            zorder=1.5, color=colors["original", label], **ORIGINAL[label])
            originals.append((line, f"original {label}"))
            drawn.append(original)

    _fit_from_epoch(ax, drawn)
    dense = None
    if metric == "accuracy":  # the errors that tell the models apart: where the curves end
        ends = [values[-1] for values in drawn]
        dense = (min(ends), max(ends))
    log_axis(ax, label=y_label, dense=dense)
    ax.set_xlabel("epoch")
    ax.set_title(title if title is not None else _default_title(runs, drawn_name))
    handles, labels = zip(*(ours + originals))
    ax.legend(handles, labels)
    return ax.figure


def loss_curves(runs, reference=None, title=None, ax=None):
    """Return a figure of the train and validation loss per epoch: `curves(metric="loss")`."""
    return curves(runs, reference, "loss", title, ax)


def error_curves(runs, reference=None, title=None, ax=None):
    """Return a figure of the train and validation error (100% − accuracy) per epoch: `curves`."""
    return curves(runs, reference, "accuracy", title, ax)


@styled
def all_models_curves(histories, reference, key="val_loss", title=None, columns=4):
    """Return one small panel per model of one history key per epoch, ours against the original."""
    histories = {name: [value] if isinstance(value, dict) else list(value)
                 for name, value in histories.items()}
    histories = {name: [h for h in runs if h.get(key) and recorded_every_epoch(h[key])]
                 for name, runs in histories.items()}
    names = [name for name in [*MODEL_NAMES, *histories] if histories.get(name)]
    names = list(dict.fromkeys(names))
    if not names:
        raise ValueError(f"no history holds {key!r}")
    rows = -(-(len(names) + 1) // columns)  # one cell more, for the legend
    fig, axes = plt.subplots(rows, columns, sharex=True, sharey=True, squeeze=False, dpi=DPI,
                             figsize=(FIGSIZE[0], 2.3 * rows + 0.7), layout="constrained")
    shown = _error if "accuracy" in key else (lambda values: np.asarray(values, float))
    drawn = []
    for ax, name in zip(axes.flat, names):
        color, _ = model_style(name)
        values = shown([h[key] for h in histories[name]])
        x = np.arange(1, values.shape[1] + 1)
        ax.plot(x, values.mean(axis=0), color=color, linewidth=2)
        if len(values) > 1:
            ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=color, alpha=0.25,
                            linewidth=0)
        drawn.extend(values)
        if reference is not None and name in reference["models"]:
            original = shown(reference["models"][name]["history"][key])
            ax.plot(np.arange(1, len(original) + 1), original, **ORIGINAL_LINE)
            drawn.append(original)
        seeds = len(values)
        ax.set_title(f"{name} ({seeds} {'seed' if seeds == 1 else 'seeds'})", color=color)
    legend_ax = axes.flat[len(names)]
    legend_ax.set_axis_off()
    for ax in axes.flat[len(names) + 1:]:
        fig.delaxes(ax)
    legend_ax.legend(handles=[
        Line2D([], [], color="0.45", linewidth=2, label="ours: mean"),
        Patch(color="0.45", alpha=0.25, label="ours: min–max"),
        *([Line2D([], [], label="the original", **ORIGINAL_LINE)] if reference else [])],
        loc="center", frameon=False)
    first = axes.flat[0]
    first.xaxis.set_major_locator(ticker.MultipleLocator(10))
    if "loss" in key:
        _fit_from_epoch(first, drawn)
    log_axis(first)
    label = KEY_LABELS.get(key, key) if "loss" in key else f"{KEY_LABELS.get(key, key)} error, %"
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{label} (log scale)")
    for ax in axes[-1, :]:
        ax.set_xlabel("epoch")  # the legend's cell shows no axis, so no label either
    fig.suptitle(title if title is not None else
                 f"{KEY_LABELS.get(key, key)} per epoch: our seeds' mean and range, "
                 f"and the original's run")
    return fig
