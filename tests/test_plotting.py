"""Check the figures: what each draws, that each is readable on GitHub (width, fonts, ticks,
styles), and that save_fig writes a small PNG atomically."""

import io
import os
import subprocess
import sys

import matplotlib
import matplotlib.image
import matplotlib.text
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import same_color
from matplotlib.figure import Figure

from mnist_cnn import plotting
from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.plotting import (LATE_FROM_EPOCH, accuracy_curves, all_models_curves,
                                confusion_matrices, curves, loss_curves, metric_vs_cost,
                                mistakes_gallery, sample_grid, save_fig, setup_style,
                                tradeoff_plot)
from mnist_cnn.report import load_original, summary_rows
from mnist_cnn.runs import EPOCHS

from helpers import make_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 100_000
MIN_WIDTH_PX = 600
MIN_FONT_SIZE = 10
# rcParams that would make unreadable figures: the figure functions must not pick them up.
TINY_FONTS = {"font.size": 6, "axes.titlesize": 6, "axes.labelsize": 6, "xtick.labelsize": 5,
              "ytick.labelsize": 5, "legend.fontsize": 5, "figure.titlesize": 6,
              "figure.dpi": 50, "figure.figsize": (3, 2)}


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


def labels_of(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_single_run_draws_train_and_validation(seeds):
    fig = loss_curves(seeds[0])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert labels_of(ax) == ["train", "validation"]
    train, validation = ax.get_lines()
    assert list(train.get_xdata()) == list(range(1, 31))
    assert list(train.get_ydata()) == seeds[0].history["loss"]
    assert (train.get_linestyle(), validation.get_linestyle()) == ("-", "--")
    assert ax.get_ylabel() == "categorical cross-entropy"
    assert ax.get_title() == "model_1 seed 0: loss per epoch"


def test_reference_adds_the_seeds_curves(seeds, reference):
    ax = loss_curves(seeds[0], reference=reference).axes[0]
    assert labels_of(ax) == ["train", "original train", "validation", "original validation"]
    seed_train = ax.get_lines()[1]
    assert list(seed_train.get_ydata()) == reference["models"]["model_1"]["history"]["loss"]


def test_several_seeds_draw_the_mean_and_shade_the_spread(seeds, reference):
    ax = loss_curves(seeds, reference=reference).axes[0]
    assert len(ax.get_lines()) == 4  # ours (train, validation) + the original's
    mean = np.mean([run.history["val_loss"] for run in seeds], axis=0)
    assert np.allclose(ax.get_lines()[2].get_ydata(), mean)
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    assert ax.get_title() == "model_1: loss per epoch (3 seeds)"


def test_title_names_a_configuration_off_the_protocol():
    quick = [make_run("model_2", seed, epochs=2, subset=500) for seed in range(2)]
    ax = loss_curves(quick).axes[0]
    assert ax.get_title() == "model_2: loss per epoch (2 seeds, 2 epochs, epochs2_subset500)"
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2]
    single = loss_curves(quick[0]).axes[0]
    assert single.get_title() == "model_2 seed 0, epochs2_subset500: loss per epoch"


def test_run_without_validation_draws_train_loss_only():
    run = make_run("model_1", validation="none")
    run.history["val_loss"] = [None] * run.config.epochs
    assert labels_of(loss_curves(run).axes[0]) == ["train"]


def test_loss_curves_draws_on_a_given_axes(seeds):
    fig = Figure()
    ax = fig.add_subplot()
    assert loss_curves(seeds[0], title="mine", ax=ax) is fig
    assert ax.get_title() == "mine"


def test_loss_curves_refuses_mixed_models(seeds):
    with pytest.raises(ValueError, match="one model"):
        loss_curves([seeds[0], make_run("model_2")])


def test_sample_grid_titles_each_digit_with_its_label():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (25, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 25)
    fig = sample_grid(images, labels)
    assert len(fig.axes) == 20
    assert [ax.get_title() for ax in fig.axes] == [str(label) for label in labels[1:21]]
    assert np.array_equal(fig.axes[0].get_images()[0].get_array(), images[1])
    one_hot = np.eye(10)[labels]
    assert [ax.get_title() for ax in sample_grid(images[..., None], one_hot, count=7).axes] == [
        str(label) for label in labels[1:8]]


def test_tradeoff_plot_annotates_each_model_with_runs(seeds, reference):
    rows = summary_rows([*seeds, make_run("model_4", 0, 0.995, 0.02)], reference)
    fig = tradeoff_plot(rows)
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert sorted(text.get_text() for text in ax.texts) == ["model_1", "model_4"]
    with pytest.raises(ValueError):
        tradeoff_plot(summary_rows([], reference))


def test_save_fig_writes_a_small_png_and_nothing_else(seeds, reference, tmp_path):
    fig = loss_curves(seeds, reference=reference)
    path = save_fig(fig, "loss_model_1", tmp_path / "figures")
    assert path == tmp_path / "figures" / "loss_model_1.png"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) < MAX_PNG_BYTES
    assert save_fig(fig, "loss_model_1", tmp_path / "figures").read_bytes() == data
    assert os.listdir(tmp_path / "figures") == ["loss_model_1.png"]


def test_setup_style_sets_the_defaults():
    with matplotlib.rc_context():
        setup_style()
        assert tuple(matplotlib.rcParams["figure.figsize"]) == plotting.FIGSIZE
        assert matplotlib.rcParams["figure.dpi"] == plotting.DPI
        assert matplotlib.rcParams["axes.grid"] is True


@pytest.mark.parametrize("chosen, expected", [(None, "agg"), ("svg", "svg")])
def test_import_picks_agg_only_without_a_backend_and_never_keras(chosen, expected):
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    if chosen:
        env["MPLBACKEND"] = chosen
    code = ("import sys, matplotlib, mnist_cnn.plotting, mnist_cnn.report; "
            "print(matplotlib.get_backend().lower(), 'keras' in sys.modules, "
            "'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == [expected, "False", "False"]


# --- Readability: every figure function, drawn from synthetic runs and arrays ---------------


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
    rows = [dict(model="model_1", test_accuracy=0.992, test_loss=0.031, params=1_199_882),
            dict(model="model_3", test_accuracy=0.994, test_loss=0.024, params=1_858_122),
            dict(model="model_5", test_accuracy=0.995, test_loss=0.020, params=4_078_666)]
    if originals:
        for row, (accuracy, loss) in zip(rows, ((0.992, 0.032), (0.9947, 0.023), (0.996, 0.019))):
            row.update(original_test_accuracy=accuracy, original_test_loss=loss)
    return rows


def draw(name, seeds, reference):
    """Return the figure `name` of the study, drawn from synthetic data."""
    if name == "loss_curves":
        return loss_curves(seeds, reference)
    if name == "loss_curves_single":
        return loss_curves(seeds[0], reference)
    if name == "accuracy_curves":
        return accuracy_curves(seeds, reference)
    if name == "all_models_curves":
        return all_models_curves({"model_1": seeds[0].history, "model_2": seeds[1].history},
                                 reference)
    if name == "confusion_matrices":
        return confusion_matrices({model: confusion(i) for i, model in enumerate(MODEL_NAMES)})
    if name == "mistakes_gallery":
        return mistakes_gallery(digits(10), np.arange(10), (np.arange(10) + 1) % 10,
                                np.full(10, 0.99), marked=np.arange(10) % 3 == 0)
    if name == "mistakes_gallery_few":
        return mistakes_gallery(digits(2), [4, 7], [9, 1], [0.99, 0.5])
    if name == "metric_vs_cost":
        return metric_vs_cost(cost_rows(), "params", "parameters")
    if name == "tradeoff_plot":
        return tradeoff_plot(summary_rows([*seeds, make_run("model_4", 0, 0.995, 0.02)],
                                          reference))
    if name == "sample_grid":
        return sample_grid(digits(25), np.arange(25) % 10)
    if name == "sample_grid_few_columns":
        return sample_grid(digits(25), np.arange(25) % 10, count=6, columns=3)
    raise ValueError(name)


FIGURE_NAMES = ("loss_curves", "loss_curves_single", "accuracy_curves", "all_models_curves",
                "confusion_matrices", "mistakes_gallery", "mistakes_gallery_few",
                "metric_vs_cost", "tradeoff_plot", "sample_grid", "sample_grid_few_columns")


def visible_texts(fig):
    """Return the figure's texts that a reader sees: visible and not empty."""
    fig.draw_without_rendering()  # creates the tick labels and lays the figure out
    return [text for text in fig.findobj(matplotlib.text.Text)
            if text.get_visible() and text.get_text().strip()
            and all(parent.get_visible() for parent in (text.axes, text.figure) if parent)]


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_every_figure_is_wide_enough_saved_and_inline(name, seeds, reference, tmp_path):
    with matplotlib.rc_context(TINY_FONTS):
        fig = draw(name, seeds, reference)
    assert fig.get_size_inches()[0] * fig.dpi >= MIN_WIDTH_PX
    # As a notebook shows it: cropped to its content, at the figure's own dpi.
    inline = io.BytesIO()
    fig.savefig(inline, format="png", dpi="figure", bbox_inches="tight")
    inline.seek(0)
    assert matplotlib.image.imread(inline).shape[1] >= MIN_WIDTH_PX
    path = save_fig(fig, name, tmp_path)
    assert matplotlib.image.imread(path).shape[1] >= MIN_WIDTH_PX
    assert path.stat().st_size < MAX_PNG_BYTES


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_every_text_is_at_least_10_points_whatever_the_rc_params(name, seeds, reference):
    with matplotlib.rc_context(TINY_FONTS):
        fig = draw(name, seeds, reference)
        texts = visible_texts(fig)
    assert texts
    small = {text.get_text(): text.get_fontsize() for text in texts
             if text.get_fontsize() < MIN_FONT_SIZE}
    assert not small


def labelled_ticks(axis, low, high):
    """Return the labels of `axis`'s major ticks between `low` and `high` that show a label."""
    axis.figure.draw_without_rendering()
    locations = [value for value in axis.get_majorticklocs() if low <= value <= high]
    labels = axis.get_major_formatter().format_ticks(locations)
    return [label for label in labels if label]


def data_range(ax):
    values = np.concatenate([line.get_ydata() for line in ax.get_lines()])
    return values.min(), values.max()


@pytest.mark.parametrize("name", ["loss_curves", "loss_curves_single", "all_models_curves"])
def test_log_axes_label_three_plain_numbers_over_the_data(name, seeds, reference):
    ax = draw(name, seeds, reference).axes[0]
    assert ax.get_yscale() == "log"
    labels = labelled_ticks(ax.yaxis, *data_range(ax))
    assert len(labels) >= 3
    assert all(float(label) > 0 for label in labels)  # 0.02, 0.05, 0.1: no 10^-2 mathtext


def test_a_narrow_log_axis_still_labels_three_ticks():
    run = make_run("model_1")
    run.history["loss"] = [float(v) for v in np.linspace(0.028, 0.022, 30)]
    run.history["val_loss"] = [float(v) for v in np.linspace(0.027, 0.021, 30)]
    ax = loss_curves(run).axes[0]
    assert len(labelled_ticks(ax.yaxis, *ax.get_ylim())) >= 3


def styles(ax):
    """Return {label: (colour, line style)} of the lines of `ax`."""
    return {line.get_label(): (line.get_color(), line.get_linestyle()) for line in ax.get_lines()}


@pytest.mark.parametrize("draw_curves", [loss_curves, accuracy_curves])
def test_train_validation_and_the_original_look_different(draw_curves, seeds, reference):
    drawn = styles(draw_curves(seeds[0], reference).axes[0])
    (train_color, train_style), (validation_color, validation_style) = (
        drawn["train"], drawn["validation"])
    assert not same_color(train_color, validation_color)
    assert train_style != validation_style
    for label in ("train", "validation"):
        ours, original = drawn[label], drawn[f"original {label}"]
        assert not same_color(ours[0], original[0]) or ours[1] != original[1]
    # No two of the four curves share both colour and line style.
    assert len({(tuple(matplotlib.colors.to_rgb(c)), s) for c, s in drawn.values()}) == 4


def test_several_seeds_legend_names_the_mean_band_and_the_original(seeds, reference):
    legend = loss_curves(seeds, reference).axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == [
        "train: mean, min–max of 3 seeds", "validation: mean, min–max of 3 seeds",
        "original train", "original validation"]


def test_accuracy_curves_draw_accuracy_on_a_linear_axis_up_to_100_percent(seeds, reference):
    fig = accuracy_curves(seeds[0], reference)
    ax = fig.axes[0]
    assert labels_of(ax) == ["train", "original train", "validation", "original validation"]
    assert list(ax.get_lines()[0].get_ydata()) == seeds[0].history["accuracy"]
    assert list(ax.get_lines()[2].get_ydata()) == seeds[0].history["val_accuracy"]
    assert ax.get_yscale() == "linear"
    low, high = ax.get_ylim()
    lowest = min(min(line.get_ydata()) for line in ax.get_lines())
    assert low <= lowest < high and 1 <= high < 1.01
    assert ax.get_title() == "model_1 seed 0: accuracy per epoch"
    assert accuracy_curves(seeds).axes[0].get_title() == "model_1: accuracy per epoch (3 seeds)"


def test_curves_refuses_an_unknown_metric(seeds):
    with pytest.raises(ValueError, match="metric"):
        curves(seeds[0], metric="f1")


def test_all_models_curves_puts_ours_beside_the_original(seeds, reference):
    histories = {"model_1": seeds[0].history, "model_3": make_run("model_3", epochs=2).history}
    fig = all_models_curves(histories, reference)
    ours, original, ours_late, original_late = fig.axes
    assert (ours.get_title(), original.get_title()) == ("ours", "original")
    assert ours.get_shared_y_axes().joined(ours, original)
    # The second row: epochs from LATE_FROM_EPOCH, linear, its own y range shared across it.
    assert ours_late.get_title() == f"ours, epochs {LATE_FROM_EPOCH} on"
    assert ours_late.get_shared_y_axes().joined(ours_late, original_late)
    assert not ours_late.get_shared_y_axes().joined(ours_late, ours)
    assert ours_late.get_yscale() == "linear" and ours.get_yscale() == "log"
    assert len(ours_late.get_lines()) == 1  # model_3's 2 epochs never reach it
    late = ours_late.get_lines()[0]
    assert list(late.get_xdata()) == list(range(LATE_FROM_EPOCH, EPOCHS + 1))
    assert list(late.get_ydata()) == histories["model_1"]["val_loss"][LATE_FROM_EPOCH - 1:]
    # The falling curve's first epochs lie above the late row's range: they no longer set it.
    assert ours_late.get_ylim()[1] < histories["model_1"]["val_loss"][0]
    assert len(ours.get_lines()) == 2 and len(original.get_lines()) == len(MODEL_NAMES)
    assert list(ours.get_lines()[1].get_ydata()) == histories["model_3"]["val_loss"]
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend[0] == "model_1" and legend[2] == "model_3 (ours: 2 epochs)"
    assert len(legend) == len(MODEL_NAMES)
    # One colour per model, the same in both panels.
    colors = [line.get_color() for line in original.get_lines()]
    assert len(set(colors)) == len(MODEL_NAMES)
    assert [line.get_color() for line in ours.get_lines()] == [colors[0], colors[2]]


def test_confusion_matrices_draw_one_panel_per_model_with_the_wrong_counts():
    matrices = {"model_1": confusion(0), "model_2": confusion(1), "model_5": confusion(2)}
    fig = confusion_matrices(matrices)
    assert len(fig.axes) == len(matrices)
    for ax, (name, matrix) in zip(fig.axes, matrices.items()):
        wrong = matrix.sum() - np.trace(matrix)
        assert ax.get_title() == f"{name}: {wrong} wrong"
        shown = {(int(text.get_position()[1]), int(text.get_position()[0])): int(text.get_text())
                 for text in ax.texts}
        expected = {(t, p): int(matrix[t, p]) for t, p in zip(*np.nonzero(matrix))
                    if t != p}
        assert shown == expected  # every wrong cell's count, and no diagonal
        assert ax.get_images()[0].get_array().mask.diagonal().all()


def test_mistakes_gallery_frames_exactly_the_marked_digits():
    marked = np.array([True, False, False, True, False])
    fig = mistakes_gallery(digits(5), [4, 1, 2, 7, 9], [9, 7, 3, 1, 4],
                           [0.994, 0.5, 0.7, 0.9, 0.61], marked=marked)
    assert len(fig.axes) == 5
    assert fig.axes[0].get_title() == "true 4 → 9\n(0.99)"
    assert np.array_equal(fig.axes[1].get_images()[0].get_array(), digits(5)[1])
    framed = [all(spine.get_visible() for spine in ax.spines.values()) for ax in fig.axes]
    assert framed == list(marked)
    for ax in np.array(fig.axes)[marked]:
        assert all(same_color(spine.get_edgecolor(), plotting.MARK_COLOR)
                   for spine in ax.spines.values())
    assert not any(ax.get_xticks().size or ax.get_yticks().size for ax in fig.axes)
    assert [text.get_text() for text in fig.legends[0].get_texts()] == [
        "red frame: wrong in all models"]
    plain = mistakes_gallery(digits(2), [4, 1], [9, 7], [0.99, 0.5])
    assert not plain.legends
    assert not any(spine.get_visible() for ax in plain.axes for spine in ax.spines.values())
    with pytest.raises(ValueError):
        mistakes_gallery(digits(2), [4, 1], [9, 7], [0.99, 0.5], marked=[True])


def test_metric_vs_cost_labels_every_model_on_a_log_cost_axis():
    fig = metric_vs_cost(cost_rows(), "params", "parameters")
    assert len(fig.axes) == 2
    for ax, y_label in zip(fig.axes, ("test accuracy (%)", "test log loss")):
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel() == "parameters" and ax.get_ylabel() == y_label
        assert sorted(text.get_text() for text in ax.texts) == ["model_1", "model_3", "model_5"]
        assert len(labelled_ticks(ax.xaxis, *ax.get_xlim())) >= 3
        hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "white"]
        assert len(hollow) == 3  # the original's result of each model
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["ours", "original"]
    accuracy = [line.get_ydata()[0] for line in fig.axes[0].get_lines()
                if line.get_marker() == "o" and line.get_markerfacecolor() != "white"]
    assert accuracy == [99.2]
    without = metric_vs_cost(cost_rows(originals=False), "params", "parameters")
    assert not without.legends
    with pytest.raises(ValueError):
        metric_vs_cost([], "params", "parameters")
