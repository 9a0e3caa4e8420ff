"""What the figure tests share: the original's values and synthetic runs, synthetic images and
matrices, and readers of what a figure drew (labelled ticks, legend entries, result points,
visible texts).

The test files import the fixtures from here by name, which makes them theirs."""

import matplotlib
import matplotlib.text
import numpy as np
import pytest

from mnist_cnn.original import load_original

from helpers import make_run


@pytest.fixture(autouse=True)
def close_figures():
    """Close the figures a test made, so pyplot does not accumulate them."""
    yield
    matplotlib.pyplot.close("all")


@pytest.fixture(scope="module")
def reference():
    return load_original()


@pytest.fixture(scope="module")
def seeds():
    """Return three protocol runs of model_1."""
    return [make_run("model_1", seed) for seed in range(3)]


def digits(count, seed=0):
    """Return `count` 28x28 uint8 'digits': a bright random box on black, as plain as a digit."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for image, (top, left) in zip(images, rng.integers(4, 14, (count, 2))):
        image[top:top + 10, left:left + 8] = 255
    return images


def confusion(seed):
    """Return a 10x10 confusion matrix with a big diagonal and a few small errors."""
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, 4, (10, 10)) * (rng.random((10, 10)) < 0.3)
    np.fill_diagonal(matrix, 980)
    return matrix


def cost_rows(originals=True):
    """Return metric_vs_cost rows for three models, with the original's results or not."""
    rows = [dict(model="model_1", accuracy=99.2, log_loss=0.031, params=1_199_882),
            dict(model="model_3", accuracy=99.4, log_loss=0.024, params=1_858_122),
            dict(model="model_5", accuracy=99.5, log_loss=0.020, params=4_078_666)]
    if originals:
        for row, (accuracy, loss) in zip(rows, ((99.2, 0.032), (99.47, 0.023), (99.6, 0.019))):
            row.update(original_accuracy=accuracy, original_log_loss=loss)
    return rows


def labelled_ticks(axis, low, high):
    """Return the labels of `axis`'s major ticks between `low` and `high` that show a label."""
    axis.figure.draw_without_rendering()
    locations = [value for value in axis.get_majorticklocs() if low <= value <= high]
    labels = axis.get_major_formatter().format_ticks(locations)
    return [label for label in labels if label]


def legend_entries(legend):
    """Return {label: (colour, marker, filled)} of a legend's marker entries."""
    return {text.get_text(): (matplotlib.colors.to_hex(handle.get_color()), handle.get_marker(),
                              handle.get_markerfacecolor() != "white")
            for handle, text in zip(legend.legend_handles, legend.get_texts())}


def points(ax):
    """Return {(x, y): {(colour, marker, filled), ...}} of the markers drawn on `ax`."""
    drawn = {}
    for line in ax.get_lines():
        if line.get_marker() not in ("None", "", None):
            drawn.setdefault((float(line.get_xdata()[0]), float(line.get_ydata()[0])), set()).add(
                (matplotlib.colors.to_hex(line.get_color()), line.get_marker(),
                 line.get_markerfacecolor() != "white"))
    return drawn


def visible_texts(fig):
    """Return the figure's texts that a reader sees: visible and not empty."""
    fig.draw_without_rendering()  # creates the tick labels and lays the figure out
    return [text for text in fig.findobj(matplotlib.text.Text)
            if text.get_visible() and text.get_text().strip()
            and all(parent.get_visible() for parent in (text.axes, text.figure) if parent)]
