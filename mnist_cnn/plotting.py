"""The study's figures: digits, training curves, confusion matrices, and results against cost.

Each function draws from saved runs or plain arrays (never Keras) and returns a matplotlib Figure
made with `plt.subplots`, so a notebook shows it inline; none calls `plt.show()`. `save_fig`
writes a figure as a small PNG for figures/ and the README.

Readers see the figures on GitHub, so every figure is drawn for that page: at least
`MIN_WIDTH_PX` pixels wide (saved and inline), no text under `MIN_FONT_SIZE` points whatever the
caller's rcParams (each function draws under `STYLE`), log axes labelled with plain numbers at
1, 2 and 5 per decade (or finer), train and validation told apart by colour and line style, and
the original's curves in a lighter tint of the same colour, thinner, in a line style of their own.
"""

import functools
import io
import math
import os
from pathlib import Path

import matplotlib.pyplot as plt  # without a display matplotlib falls back to Agg by itself
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image  # matplotlib's own dependency

from .files import atomic_path
from .models import MODEL_NAMES
from .runs import EPOCHS, Run

# Where figures go, relative to the working folder; MNIST_CNN_FIGURES_DIR moves them (the test
# suite sends the notebooks' figures to a temporary folder, so it never rewrites figures/).
FIGURES_DIR = Path(os.environ.get("MNIST_CNN_FIGURES_DIR") or "figures")
FIGSIZE = (7.5, 4.5)  # inches: one plot; at DPI, 750 px wide, about GitHub's page width
DPI = 100             # keeps a saved PNG at a few tens of KB
MIN_WIDTH_PX = 600    # no figure is narrower, saved or shown inline
MIN_FONT_SIZE = 10    # points: no text is smaller
DIGIT_INCHES = 0.75   # width of one digit in sample_grid (rows get a quarter more, for the title)
GALLERY_INCHES = 1.0  # width of one digit in mistakes_gallery (its caption is wider)
CELL_INCHES = 0.21    # one cell of a confusion matrix: room for a 2-digit count at 10 pt
MARKERS_BELOW = 10    # runs with fewer epochs get a marker on every epoch
LATE_FROM_EPOCH = 10  # all_models_curves' second row starts here, past the first epochs' drop
MIN_LOG_SPAN = 0.65   # decades: a log axis shows at least this much, so 3 ticks get labels
# The multiples of each power of ten that a log axis may label, sparsest first (see _log_axis).
LOG_SUBS = ((1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0), tuple(np.arange(1.0, 10.0)))
MARK_COLOR = "#d62728"  # the frame of a marked digit in mistakes_gallery

# Every figure is drawn under these settings (setup_style also makes them matplotlib's defaults).
STYLE = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": MIN_FONT_SIZE,
    "axes.titlesize": 12,
    "figure.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": MIN_FONT_SIZE,
    "ytick.labelsize": MIN_FONT_SIZE,
    "legend.fontsize": MIN_FONT_SIZE,
    "legend.title_fontsize": MIN_FONT_SIZE,
}

# The curves of curves(): per metric, (history key, label) of train and validation, y label.
CURVE_KEYS = {
    "loss": ((("loss", "train"), ("val_loss", "validation")), "categorical cross-entropy"),
    "accuracy": ((("accuracy", "train"), ("val_accuracy", "validation")), "accuracy"),
}
KEY_LABELS = {"loss": "training loss", "val_loss": "validation loss",
              "accuracy": "training accuracy", "val_accuracy": "validation accuracy"}
# Ours: one colour and line style per curve; the original's: a lighter tint, thinner, dotted.
OURS = {"train": dict(color="C0", linestyle="-", linewidth=2),
        "validation": dict(color="C1", linestyle="--", linewidth=2)}


def _tint(color, amount=0.45):
    """Return `color` mixed with `amount` of white."""
    return tuple((1 - amount) * c + amount for c in mcolors.to_rgb(color))


ORIGINAL = {"train": dict(color=_tint("C0"), linestyle=":", linewidth=1.6),
            "validation": dict(color=_tint("C1"), linestyle="-.", linewidth=1.6)}
# One colour and marker per model, the same in every figure.
MODEL_COLORS = {name: f"C{i}" for i, name in enumerate(MODEL_NAMES)}
MODEL_MARKERS = dict(zip(MODEL_NAMES, "osD^vPX"))


def setup_style():
    """Set matplotlib's defaults for the study's figures (the notebooks' Setup cell calls it)."""
    plt.rcParams.update(STYLE)


def _styled(draw):
    """Make `draw` build its figure under STYLE, whatever the caller's rcParams."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper


def _plain_number(value, _position=None):
    """Format a tick as a plain number: 0.02, 0.5, 3."""
    return f"{value:g}"


def _log_axis(ax, which="y", formatter=None):
    """Make `which` axis of `ax` logarithmic with at least three labelled ticks in view.

    Call it once everything is drawn. Over four decades only the powers of ten get labels;
    otherwise the sparsest of 1-2-5, 1-2-3-5 and 1..9 multiples (not on x, where they would
    crowd) that labels three ticks within the data, or else the densest. A view under
    MIN_LOG_SPAN decades is widened to it first, so that 1..9 labels three ticks in view.
    """
    axis, get_lim, set_lim = ((ax.yaxis, ax.get_ylim, ax.set_ylim) if which == "y" else
                              (ax.xaxis, ax.get_xlim, ax.set_xlim))
    getattr(ax, f"set_{which}scale")("log")
    low, high = get_lim()
    if math.log10(high / low) < MIN_LOG_SPAN:
        middle = math.log10(low * high) / 2
        low, high = 10 ** (middle - MIN_LOG_SPAN / 2), 10 ** (middle + MIN_LOG_SPAN / 2)
        set_lim(low, high)
    shared = (ax.get_shared_y_axes() if which == "y" else ax.get_shared_x_axes()).get_siblings(ax)
    data = [sibling.dataLim.intervaly if which == "y" else sibling.dataLim.intervalx
            for sibling in shared]
    data_low, data_high = min(pair[0] for pair in data), max(pair[1] for pair in data)
    candidates = LOG_SUBS[1:] if math.log10(high / low) <= 4 else LOG_SUBS[:1]
    if which == "x" and len(candidates) > 1:
        candidates = candidates[:-1]
    for subs in candidates:
        locator = ticker.LogLocator(10, subs=subs, numticks=40)
        ticks = locator.tick_values(low, high)
        if np.sum((ticks >= data_low) & (ticks <= data_high)) >= 3:
            break
    axis.set_major_locator(locator)
    axis.set_major_formatter(formatter or ticker.FuncFormatter(_plain_number))
    axis.set_minor_formatter(ticker.NullFormatter())


def _accuracy_axis(ax, values):
    """Give `ax` a y range from the lowest accuracy drawn to 100%, labelled in percent."""
    low = min(float(np.nanmin(np.asarray(v, float))) for v in values)
    room = max(1 - low, 1e-3)
    ax.set_ylim(low - 0.05 * room, 1 + 0.02 * room)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{100 * value:g}%"))


def _finite(values):
    """Whether a history list has a number for every epoch (None: not recorded)."""
    return all(value is not None for value in values)


def _default_title(runs, metric):
    """Return e.g. 'model_1: loss per epoch (3 seeds)', naming any setting off the protocol."""
    if len(runs) == 1:
        return f"{runs[0].label}: {metric} per epoch"
    config = runs[0].config
    extra = "" if config.is_protocol else f", {config.epochs} epochs, {config.variant}"
    return f"{config.model}: {metric} per epoch ({len(runs)} seeds{extra})"


@_styled
def curves(runs, reference=None, metric="loss", title=None, ax=None):
    """Return a figure of train (blue, solid) and validation (orange, dashed) `metric` per epoch.

    `metric`: "loss" (log y axis) or "accuracy" (linear, in percent, up to 100%). `runs`: one
    Run, or several runs of one configuration (different seeds): their mean is drawn, with the
    min–max over seeds shaded. `reference`: the original.json dict, to draw the original's curves
    of the same model too (lighter, thinner, dotted / dash-dotted), or None. `ax`: draw there
    instead of a new figure.
    """
    if metric not in CURVE_KEYS:
        raise ValueError(f"metric must be one of {', '.join(CURVE_KEYS)}, got {metric!r}")
    keys, y_label = CURVE_KEYS[metric]
    runs = [runs] if isinstance(runs, Run) else list(runs)
    if not runs:
        raise ValueError(f"{metric}_curves needs at least one run")
    if len({(run.config.model, run.config.variant) for run in runs}) > 1:
        raise ValueError(f"{metric}_curves draws the runs of one model and configuration at a time")
    model, epochs = runs[0].config.model, runs[0].config.epochs
    if ax is None:
        _, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI, layout="constrained")

    x = np.arange(1, epochs + 1)
    marker = "o" if epochs < MARKERS_BELOW else None  # a line of one or two points needs dots
    ours, originals, drawn = [], [], []
    for key, label in keys:
        if not all(_finite(run.history[key]) for run in runs):
            continue  # trained with validation="none": no validation curve to draw
        values = np.array([run.history[key] for run in runs], dtype=float)
        if len(runs) == 1:
            line, = ax.plot(x, values[0], label=label, marker=marker, **OURS[label])
            ours.append((line, label))
        else:
            line, = ax.plot(x, values.mean(axis=0), label=f"{label} (mean)", marker=marker,
                            **OURS[label])
            band = ax.fill_between(x, values.min(axis=0), values.max(axis=0), alpha=0.2,
                                   color=OURS[label]["color"], linewidth=0,
                                   label=f"{label} (min–max)")
            ours.append(((band, line), f"{label}: mean, min–max of {len(runs)} seeds"))
        drawn.append(values)
        if reference is not None:
            original = reference["models"][model]["history"][key]
            line, = ax.plot(np.arange(1, len(original) + 1), original, label=f"original {label}",
                            zorder=1.5, **ORIGINAL[label])
            originals.append((line, f"original {label}"))
            drawn.append(original)

    if metric == "loss":
        _log_axis(ax)
    elif drawn:
        _accuracy_axis(ax, drawn)
    ax.set_xlabel("epoch")
    ax.set_ylabel(y_label)
    ax.set_title(title if title is not None else _default_title(runs, metric))
    handles, labels = zip(*(ours + originals))
    ax.legend(handles, labels)
    return ax.figure


def loss_curves(runs, reference=None, title=None, ax=None):
    """Return a figure of the train and validation loss per epoch: `curves(metric="loss")`."""
    return curves(runs, reference, "loss", title, ax)


def accuracy_curves(runs, reference=None, ax=None, title=None):
    """Return a figure of the train and validation accuracy per epoch (`curves`, in percent)."""
    return curves(runs, reference, "accuracy", title, ax)


@_styled
def all_models_curves(histories, reference, key="val_loss", title=None):
    """Return one history key of every model per epoch: ours (left) beside the original's (right).

    `histories`: {model: history dict}, e.g. each model's seed-0 run's `.history`; `reference`:
    the original.json dict (None: our panel only). One colour and marker per model, the same in
    all panels; the panels of a row share their y axis (log for a loss). Where a run goes past
    LATE_FROM_EPOCH, a second row shows the epochs from there on a linear axis of their own,
    where the first epochs' large losses no longer squash the curves together. A model of ours
    trained for fewer epochs than the protocol says so in the legend.
    """
    if not histories:
        raise ValueError("all_models_curves needs at least one history")
    panels = [("ours", histories)]
    if reference is not None:
        panels.append(("original", {name: model["history"]
                                    for name, model in reference["models"].items()}))
    names = [*MODEL_NAMES, *(name for name in histories if name not in MODEL_NAMES)]
    names = [name for name in names if any(name in drawn for _, drawn in panels)]
    curves_of = [{name: values for name in names
                  if (values := panel_histories.get(name, {}).get(key)) and _finite(values)}
                 for _, panel_histories in panels]
    if not any(curves_of):
        raise ValueError(f"no history holds {key!r}")
    late = any(len(values) > LATE_FROM_EPOCH for curves in curves_of for values in curves.values())
    rows = 2 if late else 1
    fig, axes = plt.subplots(rows, len(panels), sharey="row", squeeze=False, dpi=DPI,
                             figsize=(FIGSIZE[0], FIGSIZE[1] * (1.75 if late else 1) + 0.6),
                             layout="constrained")
    for row, first in enumerate((1, LATE_FROM_EPOCH)[:rows]):
        for (panel, _), curves, ax in zip(panels, curves_of, axes[row]):
            for name, values in curves.items():
                shown = values[first - 1:]  # empty for a run that ends before `first`
                if shown:
                    ax.plot(np.arange(first, len(values) + 1), shown,
                            color=MODEL_COLORS.get(name, "0.3"),
                            marker=MODEL_MARKERS.get(name, "o"), markersize=5, linewidth=1.6,
                            markevery=(1 if len(shown) < MARKERS_BELOW
                                       else (names.index(name) % 5, 5)))
            ax.set_title(panel if row == 0 else f"{panel}, epochs {LATE_FROM_EPOCH} on")
            ax.set_xlabel("epoch")
        if "loss" not in key:
            _accuracy_axis(axes[row, 0], [line.get_ydata() for ax in axes[row]
                                          for line in ax.get_lines()])
        elif row == 0:
            _log_axis(axes[0, 0])  # the late row stays linear: its range is narrow
        axes[row, 0].set_ylabel(KEY_LABELS.get(key, key))
    short = {name: len(h[key]) for name, h in histories.items() if len(h.get(key) or ()) < EPOCHS}
    handles = [Line2D([], [], color=MODEL_COLORS.get(name, "0.3"), linewidth=1.6,
                      marker=MODEL_MARKERS.get(name, "o"), markersize=5,
                      label=name + (f" (ours: {short[name]} epochs)" if name in short else ""))
               for name in names]
    fig.legend(handles=handles, loc="outside lower center", ncol=4 if not short else 3)
    fig.suptitle(title if title is not None
                 else f"{KEY_LABELS.get(key, key)} per epoch, all models")
    return fig


@_styled
def confusion_matrices(matrices, columns=3, title=None):
    """Return a grid of confusion matrices, one per model, that shows where the models err.

    `matrices`: {model: 10x10 counts, row = true digit, column = predicted digit}, e.g. from
    analysis.confusion_matrix. Each wrong cell shows its count and is shaded by it (one colour
    scale for all models, so panels compare); empty cells stay white and the diagonal (right
    answers, which would swamp the scale) is grey. Each panel is titled with its model and errors.
    """
    if not matrices:
        raise ValueError("confusion_matrices needs at least one matrix")
    names = list(matrices)
    matrices = {name: np.asarray(matrices[name]) for name in names}
    size = len(next(iter(matrices.values())))
    columns = min(columns, len(names))
    rows = -(-len(names) // columns)
    panel = size * CELL_INCHES + 0.55  # the matrix, tick labels and axis label
    fig, axes = plt.subplots(rows, columns, squeeze=False, dpi=DPI, layout="constrained",
                             figsize=(max(FIGSIZE[0], columns * panel), rows * (panel + 0.3) + 0.4))
    off_diagonal = ~np.eye(size, dtype=bool)
    top = max(2, max(int(matrix[off_diagonal].max()) for matrix in matrices.values()))
    # Log-scaled, so that single mistakes show beside the common confusions: a count of 1 is
    # already light red, 0 (under the scale) white, the diagonal (masked) grey.
    cmap = mcolors.ListedColormap(plt.get_cmap("Reds")(np.linspace(0.15, 1, 256))).with_extremes(
        under="white", bad="0.85")
    norm = mcolors.LogNorm(1, top)
    for index, (ax, name) in enumerate(zip(axes.flat, names)):
        matrix = matrices[name]
        shown = np.where(matrix > 0, matrix, 0.5)  # a zero would be masked, like the diagonal
        ax.imshow(np.ma.masked_where(~off_diagonal, shown), cmap=cmap, norm=norm)
        for true, predicted in zip(*np.nonzero(off_diagonal & (matrix > 0))):
            count = int(matrix[true, predicted])
            ax.text(predicted, true, str(count), ha="center", va="center",
                    color="white" if norm(count) > 0.5 else "black")
        ax.set_title(f"{name}: {int(matrix[off_diagonal].sum())} wrong")
        ax.set_xticks(range(size))
        ax.set_yticks(range(size))
        ax.tick_params(length=0)
        ax.grid(False)
        if index % columns == 0:
            ax.set_ylabel("true digit")
        if index + columns >= len(names):  # lowest panel of its column
            ax.set_xlabel("predicted digit")
    for ax in axes.flat[len(names):]:
        fig.delaxes(ax)
    fig.suptitle(title if title is not None else
                 "wrong predictions per true and predicted digit (grey diagonal: right)")
    return fig


def _digit_grid(count, columns, inches, caption_lines, extra_height=0.0):
    """Return (figure, axes) for `count` digits in `columns` columns, at least MIN_WIDTH_PX wide.

    Each digit gets `inches` (more with few columns, so that the figure, cropped to its content,
    stays wide) and `caption_lines` lines of title; `extra_height`: inches for a suptitle, legend.
    The height leaves the digits a little more room than the width does, so they fill the width.
    """
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    cell = max(inches, FIGSIZE[0] / columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False, dpi=DPI, layout="constrained",
                             figsize=(cell * columns,
                                      rows * (cell + 0.2 * caption_lines + 0.1) + extra_height))
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    for ax in axes.flat[count:]:
        fig.delaxes(ax)  # an incomplete last row
    return fig, axes.flat[:count]


@_styled
def sample_grid(images, labels, count=20, columns=10, start=1):
    """Return a grid of `count` grey digits from index `start`, each titled with its label.

    The defaults show x_train[1..20], as the original does. `labels` may be class numbers or one-hot
    rows; `images` uint8 or float, with or without a trailing channel axis.
    """
    images = np.asarray(images)[start:start + count]
    labels = np.asarray(labels)[start:start + count]
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    _, axes = _digit_grid(len(images), columns, DIGIT_INCHES, caption_lines=1)
    for ax, image, label in zip(axes, images, labels):
        ax.imshow(image.squeeze(), cmap="gray")
        ax.set_title(str(int(label)))
        ax.set_axis_off()
    return axes[0].figure


@_styled
def mistakes_gallery(images, true_labels, predicted, confidences, marked=None, columns=8,
                     marked_label="wrong in all models", title=None):
    """Return a gallery of digits captioned 'true 4 → 9' over '(0.99)': the predicted digit's
    probability.

    `images`: 28x28 digits (uint8 or float, with or without a channel axis); `true_labels`,
    `predicted`, `confidences` one per image. `marked`: booleans aligned with the images; the
    marked digits get a red frame, which a legend explains with `marked_label`.
    """
    images = np.asarray(images)
    count = len(images)
    if count == 0:
        raise ValueError("mistakes_gallery needs at least one image")
    marked = np.zeros(count, bool) if marked is None else np.asarray(marked, bool)
    if marked.shape != (count,) or not (len(true_labels) == len(predicted) == len(confidences)
                                        == count):
        raise ValueError("pass one label, prediction, confidence and mark per image")
    fig, axes = _digit_grid(count, columns, GALLERY_INCHES, caption_lines=2,
                            extra_height=0.4 + 0.35 * bool(marked.any()))
    for ax, image, true, guess, confidence, mark in zip(axes, images, true_labels, predicted,
                                                        confidences, marked):
        ax.imshow(image.squeeze(), cmap="gray")
        ax.set_title(f"true {int(true)} → {int(guess)}\n({float(confidence):.2f})")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(bool(mark))
            spine.set(edgecolor=MARK_COLOR, linewidth=3)
    fig.suptitle(title if title is not None else
                 "caption: true digit → predicted digit (probability given to it)")
    if marked.any():
        fig.legend(handles=[Patch(facecolor="none", edgecolor=MARK_COLOR, linewidth=3,
                                  label=f"red frame: {marked_label}")],
                   loc="outside lower center", frameon=False)
    return fig


def _label_points(ax, points, offset=(7, 0)):
    """Write each (x, y, label) of `points` beside its point, nudged apart where labels overlap.

    A label goes right of its point, or left where it would cross the axes' right edge.
    """
    texts = [ax.annotate(label, (x, y), xytext=offset, textcoords="offset points", va="center")
             for x, y, label in points]
    figure = ax.figure
    figure.draw_without_rendering()  # settle the layout: label extents in pixels
    renderer = figure.canvas.get_renderer()
    right = ax.get_window_extent(renderer).x1
    for text in texts:
        if text.get_window_extent(renderer).x1 > right:
            text.set(x=-offset[0], horizontalalignment="right")
    for _ in range(100):
        boxes = [text.get_window_extent(renderer) for text in texts]
        moved = False
        for i, first in enumerate(boxes):
            for j in range(i + 1, len(boxes)):
                second = boxes[j]
                if not first.overlaps(second):
                    continue
                upper, lower = (i, j) if first.y0 + first.y1 >= second.y0 + second.y1 else (j, i)
                overlap = min(first.y1, second.y1) - max(first.y0, second.y0)
                step = (overlap / 2 + 1) * 72 / figure.dpi  # pixels to points
                for index, sign in ((upper, 1), (lower, -1)):
                    dx, dy = texts[index].xyann
                    texts[index].xyann = (dx, dy + sign * step)
                moved = True
                break
            if moved:
                break
        if not moved:
            break
    return texts


def _result_points(ax, points, log_x=None):
    """Draw and label result points: dicts with x, y, model, label, and optionally yerr,
    filled (False: hollow) and original (the original's y, hollow, joined by a dotted line).

    `log_x`: a tick formatter, to make the x axis logarithmic with it.
    """
    for point in points:
        color = MODEL_COLORS.get(point["model"], "0.3")
        style = dict(color=color, markersize=7, linestyle="none", zorder=3,
                     marker=MODEL_MARKERS.get(point["model"], "o"),
                     markerfacecolor=color if point.get("filled", True) else "white")
        ax.errorbar(point["x"], point["y"], yerr=point.get("yerr") or None, capsize=3, **style)
        if point.get("original") is not None:
            ax.plot(point["x"], point["original"], **{**style, "markerfacecolor": "white",
                                                      "zorder": 2.5})
            ax.plot([point["x"]] * 2, [point["y"], point["original"]], color=color,
                    linewidth=1, linestyle=":", zorder=2)
    ax.margins(x=0.25, y=0.15)  # room for the labels of the outermost points
    if log_x is not None:
        _log_axis(ax, "x", log_x)
    _label_points(ax, [(point["x"], point["y"], point["label"]) for point in points])


# (result key, axis label, factor to the unit shown) of the results against cost.
RESULT_AXES = (("test_accuracy", "test accuracy (%)", 100), ("test_loss", "test log loss", 1))


@_styled
def metric_vs_cost(rows, cost_key, cost_label, title=None):
    """Return test accuracy (left) and test log loss (right) against a cost, one point per model.

    `rows`: dicts with model, test_accuracy, test_loss and `cost_key` (e.g. params, or training
    FLOPs per image from analysis.load_costs), and optionally original_test_accuracy and
    original_test_loss, drawn as hollow markers joined to ours by a dotted line. The cost axis is
    logarithmic, with engineering prefixes (2M, 500M, 1G); each point is labelled with its model.
    """
    rows = [row for row in rows if row.get("test_accuracy") is not None]
    if not rows:
        raise ValueError("metric_vs_cost needs at least one model with results")
    fig, axes = plt.subplots(1, 2, figsize=(FIGSIZE[0], FIGSIZE[1] + 0.3), dpi=DPI,
                             layout="constrained")
    for (key, label, scale), ax in zip(RESULT_AXES, axes):
        _result_points(ax, [
            dict(x=row[cost_key], y=scale * row[key], model=row["model"], label=row["model"],
                 original=None if row.get(f"original_{key}") is None
                 else scale * row[f"original_{key}"]) for row in rows],
            log_x=ticker.EngFormatter(sep=""))
        ax.set_xlabel(cost_label)
        ax.set_ylabel(label)
    if any(row.get(f"original_{key}") is not None for row in rows for key, _, _ in RESULT_AXES):
        fig.legend(handles=[
            Line2D([], [], marker="o", color="0.3", linestyle="none", markersize=7, label="ours"),
            Line2D([], [], marker="o", color="0.3", markerfacecolor="white", linestyle="none",
                   markersize=7, label="original")], loc="outside lower center", ncol=2)
    fig.suptitle(title if title is not None else f"test results against {cost_label}")
    return fig


@_styled
def tradeoff_plot(rows):
    """Return a 2x2 figure: test accuracy and log loss against parameters and seconds per epoch.

    `rows`: report.summary_rows(...); models without runs are left out. With several seeds the
    points are means and the error bars sample standard deviations; runs shorter than the
    protocol are drawn hollow and labelled with their epochs.
    """
    rows = [row for row in rows if row["n_runs"]]
    if not rows:
        raise ValueError("tradeoff_plot needs at least one model with runs")
    fig, axes = plt.subplots(2, 2, sharex="col", sharey="row", dpi=DPI, layout="constrained",
                             figsize=(FIGSIZE[0] + 0.5, FIGSIZE[1] * 1.5))
    xs = (("params", "parameters (millions)", 1e-6), ("seconds_per_epoch", "seconds per epoch", 1))
    for (y_key, y_label, y_scale), ax_row in zip(RESULT_AXES, axes):
        for (x_key, _, x_scale), ax in zip(xs, ax_row):
            _result_points(ax, [
                dict(x=x_scale * row[x_key], y=y_scale * row[f"{y_key}_mean"],
                     yerr=y_scale * row[f"{y_key}_std"], model=row["model"],
                     filled=row["epochs"] == EPOCHS,
                     label=row["model"] if row["epochs"] == EPOCHS
                     else f"{row['model']} ({row['epochs']} ep.)") for row in rows])
        ax_row[0].set_ylabel(y_label)
    for (_, x_label, _), ax in zip(xs, axes[-1]):
        ax.set_xlabel(x_label)
    fig.suptitle("test results against model size and training time per epoch")
    return fig


def save_fig(fig, name, figures_dir=FIGURES_DIR):
    """Write `fig` to <figures_dir>/<name>.png atomically; return the path.

    The figure is cropped to its content, as a notebook shows it, and stored with a palette of
    256 colours, which looks the same and takes a third of the bytes.
    """
    path = Path(figures_dir) / f"{name}.png"
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=DPI, bbox_inches="tight")
    rendered.seek(0)
    with Image.open(rendered) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    with atomic_path(path) as tmp:
        # No "Software" stamp (Pillow writes none): the same figure gives the same bytes.
        small.save(tmp, format="png", optimize=True)
    return path
