"""The study's figures across models and images: confusion matrices, digits, mistakes, and
results against cost.

`confusion_matrices` shows where each model errs; `sample_grid` and `mistakes_gallery` show
images with their labels, or the digits a predictor gets most confidently wrong;
`metric_vs_cost` and `tradeoff_plot` set each model's test results against its size and
training cost, one colour and marker per model (plot_style.MODEL_STYLES), named in a legend
outside the plots. The style that every figure shares is plot_style's.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import offset_copy

from .analysis import ACCURACY, LOG_LOSS, load_costs
from .data import DEFAULT_DATASET, get_dataset
from .plot_style import DPI, FIGSIZE, MIN_WIDTH_PX, log_axis, model_style, plain_number, styled
from .runs import EPOCHS, HEADLINE_SEED

DIGIT_INCHES = 0.75   # width of one digit in sample_grid (rows get a quarter more, for the title)
GALLERY_INCHES = 1.0  # width of one digit in mistakes_gallery (its caption is wider)
CELL_INCHES = 0.21    # one cell of a confusion matrix: room for a 2-digit count at 10 pt
BAR_INCHES = 1.3      # a colour bar beside the panels, with its ticks and two-line label
DODGE_DECADES = 0.02  # result points closer than this on a log cost axis would hide each other:
DODGE_POINTS = 9.0    # they are drawn this far apart (in points), side by side, and a note says so
MARK_COLOR = "#d62728"  # the frame of a marked digit in mistakes_gallery
# Whose mistakes mistakes_gallery shows unless told: the analysis notebook's ensemble, the mean
# probabilities of the seed-0 networks (networks.headline_networks).
GALLERY_PREDICTOR = f"the seed-{HEADLINE_SEED} ensemble"


@styled
def confusion_matrices(matrices, columns=3, title=None, seed=HEADLINE_SEED,
                       dataset=DEFAULT_DATASET):
    """Return one confusion-matrix panel per model, wrong cells shaded, in `dataset`'s classes."""
    if not matrices:
        raise ValueError("confusion_matrices needs at least one matrix")
    names = list(matrices)
    matrices = {name: np.asarray(matrices[name]) for name in names}
    size = len(next(iter(matrices.values())))
    columns = min(columns, len(names))
    rows = -(-len(names) // columns)
    spec = get_dataset(dataset)
    named = any(len(name) > 1 for name in spec.class_names)  # words, not digits: on end below
    # The matrix, tick labels and axis label; class names need room beside and below it.
    panel = size * CELL_INCHES + (1.5 if named else 0.55)
    bar_aside = not _bar_fits_spare_cells(rows, columns, len(names))
    # Saved figures are cropped to their content: a quarter inch to spare keeps MIN_WIDTH_PX.
    width = max(MIN_WIDTH_PX / DPI + 0.25, columns * panel + (BAR_INCHES if bar_aside else 0))
    fig, axes = plt.subplots(rows, columns, squeeze=False, dpi=DPI, layout="constrained",
                             figsize=(width, rows * (panel + 0.3) + 0.4))
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
        ax.set_xticklabels(spec.class_names, rotation=90 if named else 0)
        ax.set_yticklabels(spec.class_names)
        ax.tick_params(length=0)
        ax.grid(False)
        if index % columns == 0:
            ax.set_ylabel(f"true {spec.label_word}")
        if index + columns >= len(names):  # lowest panel of its column
            ax.set_xlabel(f"predicted {spec.label_word}")
    for ax in axes.flat[len(names):]:
        fig.delaxes(ax)
    _count_bar(fig, image, axes, len(names), top)
    fig.suptitle(title if title is not None else f"wrong predictions per true and predicted "
                 f"{spec.label_word} (grey diagonal: right)")
    return fig


def _bar_fits_spare_cells(rows, columns, panels):
    """Whether the last row has two empty cells or more, where the colour bar can lie."""
    return rows * columns - panels >= 2


def _count_bar(fig, image, axes, panels, top):
    """Add the panels' one colour bar: in the spare cells of the last row, or right of them."""
    rows, columns = axes.shape
    spare = rows * columns - panels
    ticks = [tick for tick in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500, 1000) if tick <= top]
    ticks += [top] if top >= 1.25 * ticks[-1] else []  # the largest count, where it stands apart
    in_spare_cells = _bar_fits_spare_cells(rows, columns, panels)
    label = "wrong predictions in a cell" + (" " if in_spare_cells else "\n")  # across or up
    style = dict(extend="min", label=label + "(log scale; white: none)")
    if in_spare_cells:
        holder = fig.add_subplot(axes[0, 0].get_subplotspec().get_gridspec()[-1, -spare:])
        holder.set_axis_off()
        bar = fig.colorbar(image, cax=holder.inset_axes([0.08, 0.45, 0.84, 0.08]),
                           orientation="horizontal", **style)
        axis = bar.ax.xaxis
    else:
        bar = fig.colorbar(image, ax=list(axes.flat[:panels]), shrink=0.6, aspect=30, **style)
        axis = bar.ax.yaxis
    axis.set_major_locator(ticker.FixedLocator(ticks))
    axis.set_major_formatter(ticker.FuncFormatter(plain_number))
    axis.set_minor_formatter(ticker.NullFormatter())
    return bar


def _digit_grid(count, columns, inches, caption_lines, extra_height=0.0):
    """Return (figure, axes) for `count` digits in `columns` columns, at least MIN_WIDTH_PX wide."""
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


@styled
def sample_grid(images, labels, count=20, columns=10, start=1, class_names=None):
    """Return a grid of `count` grey images from index `start`, each titled with its label."""
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


def class_samples(images, labels, class_names, columns=5):
    """Return a grid of the first training image of each class, titled with its class name."""
    labels = np.asarray(labels)
    first = [int((labels == label).argmax()) for label in range(len(class_names))]
    return sample_grid(np.asarray(images)[first], labels[first], count=len(first),
                       columns=columns, start=0, class_names=class_names)


@styled
def mistakes_gallery(images, true_labels, predicted, confidences, marked=None, columns=8,
                     marked_label="wrong in all models", title=None,
                     predictor=GALLERY_PREDICTOR):
    """Return the digits `predictor` gets wrong, most confident first, captioned 'true 4 → 9'."""
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
    """Return (offsets in points, groups) that set points of about one cost side by side."""
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
    """Draw the result points, the original's hollow; return the side-by-side note or None."""
    offsets, groups = _side_by_side([point["x"] for point in points])
    corners = []  # artists drawn with an offset do not widen the data limits: these do
    for point, offset in zip(points, offsets):
        error = point.get("yerr") or 0
        corners += [(point["x"], point["y"] - error), (point["x"], point["y"] + error)]
        if point.get("original") is not None:
            corners.append((point["x"], point["original"]))
        color, marker = model_style(point["model"])
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
    """Add a legend under the plots: each model's colour and marker, ours and the original's."""
    note = note or {}
    handles = [Line2D([], [], color=model_style(name)[0], marker=model_style(name)[1],
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


# (measure, axis label) of the results against cost; a row holds each in the measure's unit.
RESULT_AXES = ((ACCURACY, "test accuracy (%)"), (LOG_LOSS, "test log loss"))
# (cost key, axis label) of the costs that do not depend on the machine.
COST_AXES = (("params", "parameters"), ("train_flops_per_image", "training FLOPs per image"))


@styled
def metric_vs_cost(rows, cost_key, cost_label, title=None):
    """Return test accuracy (left) and test log loss (right) against a cost, one point per model."""
    rows = [row for row in rows if row.get(ACCURACY.name) is not None]
    if not rows:
        raise ValueError("metric_vs_cost needs at least one model with results")
    fig, axes = plt.subplots(1, 2, figsize=(FIGSIZE[0], FIGSIZE[1] + 0.5), dpi=DPI,
                             layout="constrained")
    for (measure, label), ax in zip(RESULT_AXES, axes):
        note = _result_points(ax, [
            dict(x=row[cost_key], y=row[measure.name], model=row["model"],
                 original=row.get(f"original_{measure.name}")) for row in rows], cost_label)
        log_axis(ax, "x", ticker.EngFormatter(sep=""), label=cost_label, power_of_ten=True)
        ax.set_ylabel(label)
    _model_legend(fig, [row["model"] for row in rows],
                  any(row.get(f"original_{measure.name}") is not None
                      for row in rows for measure, _ in RESULT_AXES), title=note)
    fig.suptitle(title if title is not None else f"test results against {cost_label}")
    return fig


def _original_beside(row, measure):
    """Return the original's result to draw beside a row: only for a protocol run on its data."""
    return row[f"original_{measure.name}"] if row["epochs"] == EPOCHS else None


@styled
def tradeoff_plot(rows, costs=None):
    """Return a 2x2 figure: test accuracy and log loss against parameters and training FLOPs."""
    costs = load_costs() if costs is None else costs
    rows = [row for row in rows if row["n_runs"]]
    if not rows:
        raise ValueError("tradeoff_plot needs at least one model with runs")
    fig, axes = plt.subplots(2, 2, sharex="col", sharey="row", dpi=DPI, layout="constrained",
                             figsize=(FIGSIZE[0], FIGSIZE[1] * 1.5))
    notes = {}  # each column's, the same in both rows
    for (measure, y_label), ax_row in zip(RESULT_AXES, axes):
        for (x_key, x_label), ax in zip(COST_AXES, ax_row):
            notes[x_key] = _result_points(ax, [
                dict(x=costs[row["model"]][x_key], y=row[f"{measure.name}_mean"],
                     yerr=row[f"{measure.name}_sd"], model=row["model"],
                     original=_original_beside(row, measure)) for row in rows], x_label)
        ax_row[0].set_ylabel(y_label)
    for (_, x_label), ax in zip(COST_AXES, axes[-1]):
        log_axis(ax, "x", ticker.EngFormatter(sep=""), label=x_label, power_of_ten=True)
    _model_legend(fig, [row["model"] for row in rows],
                  any(_original_beside(row, measure) is not None
                      for row in rows for measure, _ in RESULT_AXES),
                  {row["model"]: f" ({row['epochs']} epochs)" for row in rows
                   if row["epochs"] != EPOCHS},
                  "\n".join(note for note in notes.values() if note) or None)
    fig.suptitle("test results against model size and training cost (ours: mean ± std of seeds)")
    return fig
