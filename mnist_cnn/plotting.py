"""The study's figures: digits, training curves, confusion matrices, and results against cost.

Each function draws from saved runs or plain arrays (never Keras) and returns a matplotlib Figure
made with `plt.subplots`, so a notebook shows it inline; none calls `plt.show()`. `save_fig`
writes a figure as a small PNG for figures/ and the README, at twice its size in pixels
(`figure_png`), so that it stays sharp on high-DPI screens; notebooks show that PNG at half.

Readers see the figures on GitHub, so every figure is drawn for that page: at least
`MIN_WIDTH_PX` pixels wide (saved and inline), no text under `MIN_FONT_SIZE` points whatever the
caller's rcParams (each function draws under `STYLE`), log axes labelled "(log scale)" with plain
numbers at 1, 2 and 5 per decade (or finer), train and validation told apart by colour and line
style, the original's curves in a lighter tint of the same colour, thinner, in a line style of
their own, and every model in one colour and marker (`MODEL_STYLES`) in every figure that shows
several models, named in a legend outside the plots.
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
from matplotlib.transforms import offset_copy
from PIL import Image  # matplotlib's own dependency

from .files import atomic_path
from .models import MODEL_NAMES
from .runs import EPOCHS, HEADLINE_SEED, Run

# Where figures go, relative to the working folder; MNIST_CNN_FIGURES_DIR moves them (the test
# suite sends the notebooks' figures to a temporary folder, so it never rewrites figures/).
FIGURES_DIR = Path(os.environ.get("MNIST_CNN_FIGURES_DIR") or "figures")
FIGSIZE = (7.5, 4.5)  # inches: one plot; at DPI, 750 px wide, about GitHub's page width
DPI = 100             # pixels per inch as a page shows the figure: 750 px wide
PIXEL_RATIO = 2       # a saved PNG has this many pixels per pixel shown: sharp on high-DPI screens
MIN_WIDTH_PX = 600    # no figure is narrower, saved or shown inline
MIN_FONT_SIZE = 10    # points: no text is smaller
DIGIT_INCHES = 0.75   # width of one digit in sample_grid (rows get a quarter more, for the title)
GALLERY_INCHES = 1.0  # width of one digit in mistakes_gallery (its caption is wider)
CELL_INCHES = 0.21    # one cell of a confusion matrix: room for a 2-digit count at 10 pt
MARKERS_BELOW = 10    # runs with fewer epochs get a marker on every epoch
RANGE_FROM_EPOCH = 2  # a loss axis fits the epochs from here: the first epoch's loss, often
                      # 100x the rest, would squash them into a flat line
MIN_ERROR = 1e-3      # percent: an error of 0 (every image right) drawn on a log axis
MIN_LOG_SPAN = 0.65   # decades: a log axis shows at least this much, so 3 ticks get labels
# The multiples of each power of ten that a log axis may label, sparsest first (see _log_axis).
LOG_SUBS = ((1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0), tuple(np.arange(1.0, 10.0)))
# The multiples a log axis may label where its curves end, densest first (neighbours at least
# 0.08, 0.1, 0.12 and 0.17 decades apart), and the least room between two labels there, in points.
DENSE_SUBS = ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0), (1.0, 2.0, 3.0, 4.0, 5.0, 7.0),
              (1.0, 2.0, 3.0, 4.0, 6.0), (1.0, 2.0, 3.0, 5.0))
DENSE_GAP = 1.2 * MIN_FONT_SIZE
DODGE_DECADES = 0.02  # result points closer than this on a log cost axis would hide each other:
DODGE_POINTS = 9.0    # they are drawn this far apart (in points), side by side, and a note says so
MARK_COLOR = "#d62728"  # the frame of a marked digit in mistakes_gallery
# Whose mistakes mistakes_gallery shows unless told: the analysis notebook's ensemble, the mean
# probabilities of the seed-0 networks (analysis.headline_networks).
GALLERY_PREDICTOR = f"the seed-{HEADLINE_SEED} ensemble"

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
    "accuracy": ((("accuracy", "train"), ("val_accuracy", "validation")),
                 "train and test error, in %"),
}
# What the legend calls a curve, where that differs from its label: validation is on the test
# set, which the error axis names.
LEGEND_NAMES = {"accuracy": {"validation": "validation (test set)"}}
KEY_LABELS = {"loss": "training loss", "val_loss": "validation loss",
              "accuracy": "training accuracy", "val_accuracy": "validation accuracy"}
# Ours: one colour and line style per curve; the original's: a lighter tint, thinner, and in a
# line style of its own: dotted (train) and dash-dotted (validation).
OURS = {"train": dict(color="C0", linestyle="-", linewidth=2),
        "validation": dict(color="C1", linestyle="--", linewidth=2)}


def _tint(color, amount=0.45):
    """Return `color` mixed with `amount` of white."""
    return tuple((1 - amount) * c + amount for c in mcolors.to_rgb(color))


ORIGINAL = {"train": dict(color=_tint("C0"), linestyle=":", linewidth=1.6),
            "validation": dict(color=_tint("C1"), linestyle="-.", linewidth=1.6)}
# One colour and marker per model, the same in every figure of the study: matplotlib's tab10
# colours, spelled out so that no rcParams can change them.
MODEL_STYLES = dict(zip(MODEL_NAMES, zip(
    ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"), "osD^vPX")))
MODEL_COLORS = {name: color for name, (color, _) in MODEL_STYLES.items()}
MODEL_MARKERS = {name: marker for name, (_, marker) in MODEL_STYLES.items()}
OTHER_STYLE = ("0.3", "o")  # a model outside the study's seven
# The original's run in all_models_curves: dark grey and dashed, apart from every model's colour.
ORIGINAL_LINE = dict(color="0.2", linestyle="--", linewidth=1.3)


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


def _log_axis(ax, which="y", formatter=None, label=None, power_of_ten=False, dense=None):
    """Make `which` axis of `ax` logarithmic with at least three labelled ticks in view.

    `label`: the axis label, to which " (log scale)" is added. `power_of_ten`: widen a view
    that holds no power of ten to the nearest one, so that a round number (1M) anchors the
    scale. `dense`: (low, high), a band (where curves end) that gets more labels
    (`_dense_ticks`).

    Call it once everything is drawn. Over four decades only the powers of ten get labels;
    otherwise the sparsest of 1-2-5, 1-2-3-5 and 1..9 multiples (1..9 on x only within a
    decade, where they do not crowd) that labels three ticks within the data, or else the
    densest. A view under MIN_LOG_SPAN decades is widened to it first, so that 1..9 labels
    three ticks in view.
    """
    axis, get_lim, set_lim = ((ax.yaxis, ax.get_ylim, ax.set_ylim) if which == "y" else
                              (ax.xaxis, ax.get_xlim, ax.set_xlim))
    getattr(ax, f"set_{which}scale")("log")
    low, high = get_lim()
    if math.log10(high / low) < MIN_LOG_SPAN:
        middle = math.log10(low * high) / 2
        low, high = 10 ** (middle - MIN_LOG_SPAN / 2), 10 ** (middle + MIN_LOG_SPAN / 2)
        set_lim(low, high)
    if power_of_ten and math.floor(math.log10(high)) < math.ceil(math.log10(low)):
        below, above = 10.0 ** math.floor(math.log10(low)), 10.0 ** math.ceil(math.log10(high))
        if math.log10(low / below) <= math.log10(above / high):
            low = below / 1.1
        else:
            high = above * 1.1
        set_lim(low, high)
    shared = (ax.get_shared_y_axes() if which == "y" else ax.get_shared_x_axes()).get_siblings(ax)
    data = [sibling.dataLim.intervaly if which == "y" else sibling.dataLim.intervalx
            for sibling in shared]
    data_low, data_high = min(pair[0] for pair in data), max(pair[1] for pair in data)
    candidates = LOG_SUBS[1:] if math.log10(high / low) <= 4 else LOG_SUBS[:1]
    if which == "x" and len(candidates) > 1 and math.log10(high / low) > 1:
        candidates = candidates[:-1]  # 1..9 per decade crowds a wide x axis
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for subs in candidates:
        # Counted here, not by LogLocator.tick_values, which falls back to linear ticks when
        # its own would be too few.
        ticks = np.array([sub * 10.0 ** decade for decade in decades for sub in subs])
        if np.sum((ticks >= data_low) & (ticks <= data_high)) >= 3:
            break
    fixed = _dense_ticks(ax, which, decades, subs, dense) if dense else None
    axis.set_major_locator(ticker.FixedLocator(fixed) if fixed else
                           ticker.LogLocator(10, subs=subs, numticks=40))
    axis.set_major_formatter(formatter or ticker.FuncFormatter(_plain_number))
    axis.set_minor_formatter(ticker.NullFormatter())
    if label is not None:
        axis.set_label_text(f"{label} (log scale)")


def _dense_ticks(ax, which, decades, subs, band):
    """Return the ticks of a log axis over `decades`: within `band` (low, high), with one more
    on each side, the densest DENSE_SUBS multiples that leave DENSE_GAP points between labels,
    and elsewhere its `subs` multiples; None where even the sparsest crowd.

    The room is measured on the axes as placed before the layout, which moves them little.
    """
    low, high = ax.get_ylim() if which == "y" else ax.get_xlim()
    box = ax.get_position()
    inches = (box.height * ax.figure.get_figheight() if which == "y" else
              box.width * ax.figure.get_figwidth())
    points_per_decade = 72 * inches / math.log10(high / low)
    sparse = [sub * 10.0 ** decade for decade in decades for sub in subs]
    for dense_subs in DENSE_SUBS:
        ticks = [sub * 10.0 ** decade for decade in decades for sub in dense_subs]
        inside = [index for index, tick in enumerate(ticks) if band[0] <= tick <= band[1]]
        first = (inside[0] if inside else np.searchsorted(ticks, band[0])) - 1
        last = (inside[-1] + 1) if inside else int(np.searchsorted(ticks, band[1]))
        band_ticks = ticks[max(first, 0):last + 1]
        shown = sorted({*band_ticks, *(tick for tick in sparse
                                       if not band_ticks[0] <= tick <= band_ticks[-1])})
        gaps = np.diff(np.log10([tick for tick in shown if low <= tick <= high]))
        if not gaps.size or gaps.min() * points_per_decade >= DENSE_GAP:
            return shown
    return None


def _fit_from_epoch(ax, arrays, first=RANGE_FROM_EPOCH):
    """Set a y range (before the log scale) over the values of `arrays` from epoch `first` on.

    Only where a curve has more than MARKERS_BELOW epochs; an earlier epoch above the range
    runs off the top of the plot.
    """
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

    `metric`: "loss", or "accuracy", drawn as the error (100% − accuracy), where the 99.0–99.7%
    that tell the models apart become 1.0–0.3% apart; both on a log y axis that fits the
    epochs from RANGE_FROM_EPOCH on (an error axis also labels more ticks where the curves
    end, and its legend says that validation is on the test set). `runs`: one Run, or several
    runs of one configuration (different seeds): their mean is drawn, with the min–max over
    seeds shaded. `reference`: the original.json dict, to draw the original's curves of the same
    model too (lighter, thinner, dotted for train and dash-dotted for validation), or None.
    `ax`: draw there instead of a new figure.
    """
    if metric not in CURVE_KEYS:
        raise ValueError(f"metric must be one of {', '.join(CURVE_KEYS)}, got {metric!r}")
    keys, y_label = CURVE_KEYS[metric]
    names = LEGEND_NAMES.get(metric, {})
    shown = _error if metric == "accuracy" else (lambda values: np.asarray(values, float))
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
        values = shown([run.history[key] for run in runs])
        if len(runs) == 1:
            line, = ax.plot(x, values[0], label=label, marker=marker, **OURS[label])
            ours.append((line, names.get(label, label)))
        else:
            line, = ax.plot(x, values.mean(axis=0), label=f"{label} (mean)", marker=marker,
                            **OURS[label])
            band = ax.fill_between(x, values.min(axis=0), values.max(axis=0), alpha=0.2,
                                   color=OURS[label]["color"], linewidth=0,
                                   label=f"{label} (min–max)")
            ours.append(((band, line),
                         f"{names.get(label, label)}: mean, min–max of {len(runs)} seeds"))
        drawn.extend(values)
        if reference is not None:
            original = shown(reference["models"][model]["history"][key])
            line, = ax.plot(np.arange(1, len(original) + 1), original, label=f"original {label}",
                            zorder=1.5, **ORIGINAL[label])
            originals.append((line, f"original {label}"))
            drawn.append(original)

    _fit_from_epoch(ax, drawn)
    dense = None
    if metric == "accuracy":  # the errors that tell the models apart: where the curves end
        ends = [values[-1] for values in drawn]
        dense = (min(ends), max(ends))
    _log_axis(ax, label=y_label, dense=dense)
    ax.set_xlabel("epoch")
    ax.set_title(title if title is not None else _default_title(
        runs, "loss" if metric == "loss" else "error"))
    handles, labels = zip(*(ours + originals))
    ax.legend(handles, labels)
    return ax.figure


def loss_curves(runs, reference=None, title=None, ax=None):
    """Return a figure of the train and validation loss per epoch: `curves(metric="loss")`."""
    return curves(runs, reference, "loss", title, ax)


def accuracy_curves(runs, reference=None, ax=None, title=None):
    """Return a figure of the train and validation error (100% − accuracy) per epoch: `curves`."""
    return curves(runs, reference, "accuracy", title, ax)


def _model_style(name):
    """Return the (colour, marker) of model `name` in every figure."""
    return MODEL_STYLES.get(name, OTHER_STYLE)


@_styled
def all_models_curves(histories, reference, key="val_loss", title=None, columns=4):
    """Return one small panel per model of one history key per epoch, ours against the original.

    `histories`: {model: [history dicts of its seeds]} (a single dict counts as one seed);
    `reference`: the original.json dict, whose run of each model is drawn dashed in dark grey
    (None: ours only). Ours: the mean over seeds in the model's colour, the min–max band shaded.
    The panels share both axes, a log y axis (for a loss, fitted to the epochs from
    RANGE_FROM_EPOCH on; an accuracy drawn as its error), and a last cell holds the legend.
    Each panel names its model and seeds.
    """
    histories = {name: [value] if isinstance(value, dict) else list(value)
                 for name, value in histories.items()}
    histories = {name: [h for h in runs if h.get(key) and _finite(h[key])]
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
        color, _ = _model_style(name)
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
    _log_axis(first)
    label = KEY_LABELS.get(key, key) if "loss" in key else f"{KEY_LABELS.get(key, key)} error, %"
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{label} (log scale)")
    for ax in axes[-1, :]:
        ax.set_xlabel("epoch")  # the legend's cell shows no axis, so no label either
    fig.suptitle(title if title is not None else
                 f"{KEY_LABELS.get(key, key)} per epoch: our seeds' mean and range, "
                 f"and the original's run")
    return fig


@_styled
def confusion_matrices(matrices, columns=3, title=None, seed=HEADLINE_SEED, class_names=None):
    """Return a grid of confusion matrices, one per model, that shows where the models err.

    `matrices`: {model: 10x10 counts, row = true digit, column = predicted digit}, e.g. from
    analysis.confusion_matrix, of each model's network trained with `seed` (the networks that
    analysis.headline_networks picks; None: unnamed). Each wrong cell shows its count and is
    shaded by it on one colour scale for all models, which one colour bar shows, so panels
    compare; empty cells stay white and the diagonal (right answers, which would swamp the
    scale) is grey. Each panel is titled with its network and errors. `class_names` labels the
    rows and columns by class (Fashion-MNIST's garments) instead of by digit.
    """
    if not matrices:
        raise ValueError("confusion_matrices needs at least one matrix")
    names = list(matrices)
    matrices = {name: np.asarray(matrices[name]) for name in names}
    size = len(next(iter(matrices.values())))
    columns = min(columns, len(names))
    rows = -(-len(names) // columns)
    kind = "digit" if class_names is None else "class"
    # The matrix, tick labels and axis label; class names need room beside and below it.
    panel = size * CELL_INCHES + (0.55 if class_names is None else 1.5)
    fig, axes = plt.subplots(rows, columns, squeeze=False, dpi=DPI, layout="constrained",
                             figsize=(max(FIGSIZE[0], columns * panel), rows * (panel + 0.3) + 0.4))
    off_diagonal = ~np.eye(size, dtype=bool)
    top = max(2, max(int(matrix[off_diagonal].max()) for matrix in matrices.values()))
    # Log-scaled, so that single mistakes show beside the common confusions: a count of 1 is
    # already light red, 0 (under the scale) white, the diagonal (masked) grey.
    cmap = mcolors.ListedColormap(plt.get_cmap("Reds")(np.linspace(0.15, 1, 256))).with_extremes(
        under="white", bad="0.85")
    norm = mcolors.LogNorm(1, top)
    network = "" if seed is None else f" seed {seed}"
    for index, (ax, name) in enumerate(zip(axes.flat, names)):
        matrix = matrices[name]
        shown = np.where(matrix > 0, matrix, 0.5)  # a zero would be masked, like the diagonal
        image = ax.imshow(np.ma.masked_where(~off_diagonal, shown), cmap=cmap, norm=norm)
        for true, predicted in zip(*np.nonzero(off_diagonal & (matrix > 0))):
            count = int(matrix[true, predicted])
            ax.text(predicted, true, str(count), ha="center", va="center",
                    color="white" if norm(count) > 0.5 else "black")
        ax.set_title(f"{name}{network}: {int(matrix[off_diagonal].sum())} wrong")
        ax.set_xticks(range(size))
        ax.set_yticks(range(size))
        if class_names is not None:
            ax.set_xticklabels(class_names, rotation=90)
            ax.set_yticklabels(class_names)
        ax.tick_params(length=0)
        ax.grid(False)
        if index % columns == 0:
            ax.set_ylabel(f"true {kind}")
        if index + columns >= len(names):  # lowest panel of its column
            ax.set_xlabel(f"predicted {kind}")
    for ax in axes.flat[len(names):]:
        fig.delaxes(ax)
    _count_bar(fig, image, axes, len(names), top)
    fig.suptitle(title if title is not None else
                 f"wrong predictions per true and predicted {kind} (grey diagonal: right)")
    return fig


def _count_bar(fig, image, axes, panels, top):
    """Add the one colour bar of confusion_matrices' panels (the first `panels` of `axes`):
    across the empty cells of an incomplete last row, or else right of the panels."""
    rows, columns = axes.shape
    spare = rows * columns - panels
    ticks = [tick for tick in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500, 1000) if tick <= top]
    ticks += [top] if top >= 1.25 * ticks[-1] else []  # the largest count, where it stands apart
    style = dict(extend="min", label="wrong predictions in a cell (log scale; white: none)")
    if spare >= 2:
        holder = fig.add_subplot(axes[0, 0].get_subplotspec().get_gridspec()[-1, -spare:])
        holder.set_axis_off()
        bar = fig.colorbar(image, cax=holder.inset_axes([0.08, 0.45, 0.84, 0.08]),
                           orientation="horizontal", **style)
        axis = bar.ax.xaxis
    else:
        bar = fig.colorbar(image, ax=list(axes.flat[:panels]), shrink=0.6, aspect=30, **style)
        axis = bar.ax.yaxis
    axis.set_major_locator(ticker.FixedLocator(ticks))
    axis.set_major_formatter(ticker.FuncFormatter(_plain_number))
    axis.set_minor_formatter(ticker.NullFormatter())
    return bar


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
def sample_grid(images, labels, count=20, columns=10, start=1, class_names=None):
    """Return a grid of `count` grey images from index `start`, each titled with its label.

    The defaults show x_train[1..20], as the original does. `labels` may be class numbers or one-hot
    rows; `images` uint8 or float, with or without a trailing channel axis. `class_names` titles
    each image with its class's name (label k: class_names[k]) instead of its number.
    """
    images = np.asarray(images)[start:start + count]
    labels = np.asarray(labels)[start:start + count]
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    # A name needs about twice a digit's width: wider cells keep neighbouring titles apart.
    inches = DIGIT_INCHES if class_names is None else 2 * DIGIT_INCHES
    _, axes = _digit_grid(len(images), columns, inches, caption_lines=1)
    for ax, image, label in zip(axes, images, labels):
        ax.imshow(image.squeeze(), cmap="gray")
        ax.set_title(str(int(label)) if class_names is None else class_names[int(label)])
        ax.set_axis_off()
    return axes[0].figure


@_styled
def mistakes_gallery(images, true_labels, predicted, confidences, marked=None, columns=8,
                     marked_label="wrong in all models", title=None,
                     predictor=GALLERY_PREDICTOR):
    """Return a gallery of the test digits that `predictor` gets wrong, most confident first,
    captioned 'true 4 → 9' over '(0.99)': the predicted digit's probability.

    `images`: 28x28 digits (uint8 or float, with or without a channel axis), e.g. from
    analysis.confident_mistakes; `true_labels`, `predicted`, `confidences` one per image.
    `marked`: booleans aligned with the images; the marked digits get a red frame, which a
    legend explains with `marked_label`. `predictor` names in the title whose mistakes these are
    (default: the analysis notebook's ensemble of the seed-0 networks); `title` replaces it.
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
                 f"the {count} test digits {predictor} gets most confidently wrong\n"
                 "caption: true digit → predicted digit (probability given to it)")
    if marked.any():
        fig.legend(handles=[Patch(facecolor="none", edgecolor=MARK_COLOR, linewidth=3,
                                  label=f"red frame: {marked_label}")],
                   loc="outside lower center", frameon=False)
    return fig


def _side_by_side(xs):
    """Return (offsets, groups) for points at costs `xs` on a log axis.

    Costs within DODGE_DECADES of each other form a group whose points would hide each other:
    they are drawn DODGE_POINTS apart, centred on their cost, in the order of their costs (ties
    in the given order). `offsets`: points to the right, one per cost; `groups`: the indices of
    each group of two or more, left to right.
    """
    groups = []
    for index in sorted(range(len(xs)), key=lambda index: (xs[index], index)):
        if groups and math.log10(xs[index] / xs[groups[-1][-1]]) < DODGE_DECADES:
            groups[-1].append(index)
        else:
            groups.append([index])
    groups = [group for group in groups if len(group) > 1]
    offsets = [0.0] * len(xs)
    for group in groups:
        for place, index in enumerate(group):
            offsets[index] = (place - (len(group) - 1) / 2) * DODGE_POINTS
    return offsets, groups


def _side_by_side_note(points, groups, cost_label):
    """Return the lines that name the points drawn side by side (`_side_by_side`), or None."""
    lines = []
    for group in groups:
        costs = [points[index]["x"] for index in group]
        mean = math.exp(np.mean(np.log(costs)))
        cost = (ticker.EngFormatter(sep="")(float(f"{costs[0]:.3g}")) if len(set(costs)) == 1
                else "about " + ticker.EngFormatter(sep="")(float(f"{mean:.2g}")))
        names = [points[index]["model"] for index in group]
        lines.append(f"side by side, left to right: {', '.join(names)} "
                     f"({'both' if len(names) == 2 else 'all'} {cost} {cost_label})")
    return "\n".join(lines) or None


def _result_points(ax, points, cost_label):
    """Draw result points: dicts with x, y, model, and optionally yerr and original (the
    original's y: the same marker hollow, joined to ours by a dotted line).

    Points at about the same cost are drawn side by side (`_side_by_side`); returns the note
    that says so (`cost_label`: what x is), or None.
    """
    offsets, groups = _side_by_side([point["x"] for point in points])
    corners = []  # artists drawn with an offset do not widen the data limits: these do
    for point, offset in zip(points, offsets):
        error = point.get("yerr") or 0
        corners += [(point["x"], point["y"] - error), (point["x"], point["y"] + error)]
        if point.get("original") is not None:
            corners.append((point["x"], point["original"]))
        color, marker = _model_style(point["model"])
        style = dict(color=color, markersize=7, linestyle="none", zorder=3, marker=marker,
                     transform=offset_copy(ax.transData, ax.figure, x=offset, units="points"))
        ax.errorbar(point["x"], point["y"], yerr=point.get("yerr") or None, capsize=3, **style)
        if point.get("original") is not None:
            ax.plot(point["x"], point["original"], **{**style, "markerfacecolor": "white",
                                                      "zorder": 2.5})
            ax.plot([point["x"]] * 2, [point["y"], point["original"]], color=color,
                    linewidth=1, linestyle=":", zorder=2, transform=style["transform"])
    ax.update_datalim(corners)
    ax.autoscale_view()
    ax.margins(x=0.1, y=0.12)
    return _side_by_side_note(points, groups, cost_label)


def _model_legend(fig, models, original, note=None, title=None):
    """Add a legend under the plots naming each model's colour and marker, and, when
    `original`, the filled (ours) and hollow (the original's) markers. `note`: {model: text
    added to its name}; `title`: lines over the legend (which points are drawn side by side)."""
    note = note or {}
    handles = [Line2D([], [], color=_model_style(name)[0], marker=_model_style(name)[1],
                      linestyle="none", markersize=7, label=name + note.get(name, ""))
               for name in models]
    if original:
        handles += [
            Line2D([], [], marker="o", color="0.3", linestyle="none", markersize=7,
                   label="ours (filled)"),
            Line2D([], [], marker="o", color="0.3", markerfacecolor="white", linestyle="none",
                   markersize=7, label="original (hollow)")]
    return fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5),
                      title=title, columnspacing=1.2, handletextpad=0.3)


# (result key, axis label, factor to the unit shown) of the results against cost.
RESULT_AXES = (("test_accuracy", "test accuracy (%)", 100), ("test_loss", "test log loss", 1))
# (cost key, axis label) of the costs that do not depend on the machine.
COST_AXES = (("params", "parameters"), ("train_flops_per_image", "training FLOPs per image"))


@_styled
def metric_vs_cost(rows, cost_key, cost_label, title=None):
    """Return test accuracy (left) and test log loss (right) against a cost, one point per model.

    `rows`: dicts with model, test_accuracy, test_loss and `cost_key` (e.g. params, or training
    FLOPs per image from analysis.load_costs), and optionally original_test_accuracy and
    original_test_loss, drawn as hollow markers joined to ours by a dotted line. The cost axis is
    logarithmic, with engineering prefixes (1M, 500M, 1G) and a power of ten in view; a legend
    names each model's marker, and over it which points sit side by side at one cost.
    """
    rows = [row for row in rows if row.get("test_accuracy") is not None]
    if not rows:
        raise ValueError("metric_vs_cost needs at least one model with results")
    fig, axes = plt.subplots(1, 2, figsize=(FIGSIZE[0], FIGSIZE[1] + 0.5), dpi=DPI,
                             layout="constrained")
    for (key, label, scale), ax in zip(RESULT_AXES, axes):
        note = _result_points(ax, [
            dict(x=row[cost_key], y=scale * row[key], model=row["model"],
                 original=None if row.get(f"original_{key}") is None
                 else scale * row[f"original_{key}"]) for row in rows], cost_label)
        _log_axis(ax, "x", ticker.EngFormatter(sep=""), label=cost_label, power_of_ten=True)
        ax.set_ylabel(label)
    _model_legend(fig, [row["model"] for row in rows],
                  any(row.get(f"original_{key}") is not None
                      for row in rows for key, _, _ in RESULT_AXES), title=note)
    fig.suptitle(title if title is not None else f"test results against {cost_label}")
    return fig


@_styled
def tradeoff_plot(rows, costs=None):
    """Return a 2x2 figure: test accuracy and log loss against parameters and training FLOPs.

    Costs that do not depend on the machine, unlike seconds per epoch. `rows`:
    report.summary_rows(...); models without runs are left out. Points are means over seeds
    with sample standard deviations as error bars; the original's results are the same markers
    hollow; points at about the same cost sit side by side, as the legend's title says. Runs
    shorter than the protocol are not set against the original, and the legend gives their
    epochs. `costs`: analysis.load_costs() (the default).
    """
    if costs is None:
        from .analysis import load_costs  # reads a JSON file; analysis never imports Keras

        costs = load_costs()
    rows = [row for row in rows if row["n_runs"]]
    if not rows:
        raise ValueError("tradeoff_plot needs at least one model with runs")
    fig, axes = plt.subplots(2, 2, sharex="col", sharey="row", dpi=DPI, layout="constrained",
                             figsize=(FIGSIZE[0], FIGSIZE[1] * 1.5))
    notes = {}  # each column's, the same in both rows
    for (y_key, y_label, y_scale), ax_row in zip(RESULT_AXES, axes):
        for (x_key, x_label), ax in zip(COST_AXES, ax_row):
            notes[x_key] = _result_points(ax, [
                dict(x=costs[row["model"]][x_key], y=y_scale * row[f"{y_key}_mean"],
                     yerr=y_scale * row[f"{y_key}_std"], model=row["model"],
                     original=y_scale * row[f"original_{y_key}"] if row["epochs"] == EPOCHS
                     else None) for row in rows], x_label)
        ax_row[0].set_ylabel(y_label)
    for (_, x_label), ax in zip(COST_AXES, axes[-1]):
        _log_axis(ax, "x", ticker.EngFormatter(sep=""), label=x_label, power_of_ten=True)
    _model_legend(fig, [row["model"] for row in rows], any(row["epochs"] == EPOCHS for row in rows),
                  {row["model"]: f" ({row['epochs']} epochs)" for row in rows
                   if row["epochs"] != EPOCHS},
                  "\n".join(note for note in notes.values() if note) or None)
    fig.suptitle("test results against model size and training cost (ours: mean ± std of seeds)")
    return fig


def figure_png(fig):
    """Return `fig` as PNG bytes at PIXEL_RATIO times its size, cropped to its content.

    Stored with a palette of 256 colours, which looks the same and takes a third of the bytes.
    """
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=DPI * PIXEL_RATIO, bbox_inches="tight")
    rendered.seek(0)
    with Image.open(rendered) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    out = io.BytesIO()
    # No "Software" stamp (Pillow writes none): the same figure gives the same bytes.
    small.save(out, format="png", optimize=True)
    return out.getvalue()


def save_fig(fig, name, figures_dir=FIGURES_DIR):
    """Write `fig` to <figures_dir>/<name>.png (`figure_png`) atomically; return the path."""
    path = Path(figures_dir) / f"{name}.png"
    data = figure_png(fig)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return path
