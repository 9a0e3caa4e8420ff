"""The study's figures: sample digits, loss curves per model, and accuracy against cost.

Each function draws from saved runs (never Keras) and returns a matplotlib Figure made with
`plt.subplots`, so a notebook shows it inline; none calls `plt.show()`. `save_fig` writes a
figure as a small PNG for figures/ and the README.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt  # without a display matplotlib falls back to Agg by itself
import numpy as np

from .files import atomic_path
from .runs import EPOCHS, Run

# Where figures go, relative to the working folder; MNIST_CNN_FIGURES_DIR moves them (the test
# suite sends the notebooks' figures to a temporary folder, so it never rewrites figures/).
FIGURES_DIR = Path(os.environ.get("MNIST_CNN_FIGURES_DIR") or "figures")
FIGSIZE = (6, 3.6)   # inches: one plot, readable at GitHub's page width
DPI = 80             # keeps a saved PNG at a few tens of KB
DIGIT_INCHES = 0.7   # width of one digit in sample_grid (rows get a quarter more, for the title)
MARKERS_BELOW = 10   # runs with fewer epochs get a marker on every epoch
LOSS_YSCALE = "log"  # losses fall ~100x in 30 epochs; a log axis keeps the late epochs readable
ORIGINAL_STYLE = dict(color="0.55", linewidth=1)  # the original's curves: grey and thin, behind ours
# (history key, label, line style) of the curves in loss_curves.
LOSS_KEYS = (("loss", "train", "-"), ("val_loss", "validation", "--"))


def setup_style():
    """Set matplotlib's defaults for the study's figures (the notebooks' Setup cell calls it)."""
    plt.rcParams.update({
        "figure.figsize": FIGSIZE,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
    })


def sample_grid(images, labels, count=20, columns=10, start=1):
    """Return a grid of `count` grey digits from index `start`, each titled with its label.

    The defaults show x_train[1..20], as the original does. `labels` may be class numbers or one-hot
    rows; `images` uint8 or float, with or without a trailing channel axis.
    """
    images = np.asarray(images)[start:start + count]
    labels = np.asarray(labels)[start:start + count]
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False, dpi=DPI,
                             figsize=(columns * DIGIT_INCHES, rows * DIGIT_INCHES * 1.25))
    for ax, image, label in zip(axes.flat, images, labels):
        ax.imshow(image.squeeze(), cmap="gray")
        ax.set_title(str(int(label)))
    for ax in axes.flat:
        ax.set_axis_off()
    for ax in axes.flat[len(images):]:
        fig.delaxes(ax)  # an incomplete last row
    return fig


def _default_title(runs):
    """Return e.g. 'model_1: loss per epoch (3 seeds)', naming any setting off the protocol."""
    if len(runs) == 1:
        return f"{runs[0].label}: loss per epoch"
    config = runs[0].config
    extra = "" if config.is_protocol else f", {config.epochs} epochs, {config.variant}"
    return f"{config.model}: loss per epoch ({len(runs)} seeds{extra})"


def loss_curves(runs, reference=None, title=None, ax=None):
    """Return a figure of train (solid) and validation (dashed) loss per epoch.

    `runs`: one Run, or several runs of one configuration (different seeds): their mean is
    drawn, with the min–max over seeds shaded. `reference`: the original.json dict, to draw the
    original's curves of the same model in grey, or None. `ax`: draw there instead of a new figure.
    """
    runs = [runs] if isinstance(runs, Run) else list(runs)
    if not runs:
        raise ValueError("loss_curves needs at least one run")
    if len({(run.config.model, run.config.variant) for run in runs}) > 1:
        raise ValueError("loss_curves draws the runs of one model and configuration at a time")
    model, epochs = runs[0].config.model, runs[0].config.epochs
    if ax is None:
        _, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)

    x = np.arange(1, epochs + 1)
    marker = "o" if epochs < MARKERS_BELOW else None  # a line of one or two points needs dots
    for (key, label, style), color in zip(LOSS_KEYS, ("C0", "C1")):
        if any(value is None for run in runs for value in run.history[key]):
            continue  # trained with validation="none": no validation loss to draw
        values = np.array([run.history[key] for run in runs], dtype=float)
        if len(runs) == 1:
            ax.plot(x, values[0], style, color=color, label=label, marker=marker)
        else:
            ax.plot(x, values.mean(axis=0), style, color=color, label=f"{label} (mean)",
                    marker=marker)
            ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=color, alpha=0.2,
                            linewidth=0, label=f"{label} (min–max)")
        if reference is not None:
            original = reference["models"][model]["history"][key]
            ax.plot(np.arange(1, len(original) + 1), original, style, label=f"original {label}",
                    zorder=1, **ORIGINAL_STYLE)

    ax.set_yscale(LOSS_YSCALE)
    ax.set_xlabel("epoch")
    ax.set_ylabel("categorical cross-entropy")
    ax.set_title(title if title is not None else _default_title(runs))
    ax.legend()
    return ax.figure


def tradeoff_plot(rows):
    """Return a 2x2 figure: test accuracy and log loss against parameters and seconds per epoch.

    `rows`: report.summary_rows(...); models without runs are left out. With several seeds the
    points are means and the error bars sample standard deviations; runs shorter than the
    protocol are drawn hollow and labelled with their epochs.
    """
    rows = [row for row in rows if row["n_runs"]]
    if not rows:
        raise ValueError("tradeoff_plot needs at least one model with runs")
    fig, axes = plt.subplots(2, 2, sharex="col", sharey="row", dpi=DPI,
                             figsize=(FIGSIZE[0] * 1.5, FIGSIZE[1] * 1.5))
    # (summary-row key, axis label, factor to the unit shown)
    ys = (("test_accuracy", "test accuracy (%)", 100), ("test_loss", "test log loss", 1))
    xs = (("params", "parameters (millions)", 1e-6), ("seconds_per_epoch", "seconds per epoch", 1))
    for (y_key, y_label, y_scale), ax_row in zip(ys, axes):
        for (x_key, _, x_scale), ax in zip(xs, ax_row):
            for row in rows:
                x, y = x_scale * row[x_key], y_scale * row[f"{y_key}_mean"]
                full = row["epochs"] == EPOCHS
                # Runs shorter than the protocol: hollow markers, labelled with their epochs.
                ax.errorbar(x, y, yerr=y_scale * row[f"{y_key}_std"], fmt="o", color="C0",
                            capsize=2, markersize=4, fillstyle="full" if full else "none")
                label = row["model"] if full else f"{row['model']} ({row['epochs']} ep.)"
                ax.annotate(label, (x, y), xytext=(4, 3), textcoords="offset points",
                            fontsize=7)
            ax.margins(x=0.2, y=0.15)  # room for the labels of the outermost points
        ax_row[0].set_ylabel(y_label)
    for (_, x_label, _), ax in zip(xs, axes[-1]):
        ax.set_xlabel(x_label)
    fig.suptitle("test results against model size and training time per epoch")
    fig.tight_layout()
    return fig


def save_fig(fig, name, figures_dir=FIGURES_DIR):
    """Write `fig` to <figures_dir>/<name>.png atomically; return the path."""
    path = Path(figures_dir) / f"{name}.png"
    with atomic_path(path) as tmp:
        # No "Software" stamp: the same figure gives the same bytes whatever matplotlib wrote it.
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight",
                    metadata={"Software": None})
    return path
