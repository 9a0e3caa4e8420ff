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
from PIL import Image
from matplotlib.collections import PolyCollection
from matplotlib.colors import same_color
from matplotlib.figure import Figure

from mnist_cnn import plotting
from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.plotting import (MODEL_STYLES, PIXEL_RATIO, RANGE_FROM_EPOCH, accuracy_curves,
                                all_models_curves, confusion_matrices, curves, loss_curves,
                                metric_vs_cost, mistakes_gallery, sample_grid, save_fig,
                                setup_style, tradeoff_plot)
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
    assert ax.get_ylabel() == "categorical cross-entropy (log scale)"
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


def test_tradeoff_plot_draws_results_against_costs_that_do_not_depend_on_the_machine(
        seeds, reference):
    from mnist_cnn.analysis import load_costs

    rows = summary_rows([*seeds, make_run("model_4", 0, 0.995, 0.02)], reference)
    fig = tradeoff_plot(rows)
    assert len(fig.axes) == 4
    costs = load_costs()
    for ax, x_key in zip(fig.axes, ("params", "train_flops_per_image") * 2):
        assert ax.get_xscale() == "log"
        drawn = points(ax)
        # Ours (filled) and the original's (hollow) at each model's cost, in its style.
        for model in ("model_1", "model_4"):
            color, marker = MODEL_STYLES[model]
            at_cost = {style for (x, _), styles in drawn.items() if x == costs[model][x_key]
                       for style in styles}
            assert at_cost == {(color, marker, True), (color, marker, False)}
    assert [ax.get_xlabel() for ax in fig.axes[2:]] == [
        "parameters (log scale)", "training FLOPs per image (log scale)"]
    assert list(legend_entries(fig.legends[0])) == [
        "model_1", "model_4", "ours (filled)", "original (hollow)"]
    with pytest.raises(ValueError):
        tradeoff_plot(summary_rows([], reference))


def test_save_fig_writes_a_small_png_and_nothing_else(seeds, reference, tmp_path):
    fig = loss_curves(seeds, reference=reference)
    path = save_fig(fig, "loss_model_1", tmp_path / "figures")
    assert path == tmp_path / "figures" / "loss_model_1.png"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) < MAX_PNG_BYTES
    # Twice the pixels of the figure as shown, for high-DPI screens; a palette, not RGB.
    inline = io.BytesIO()
    fig.savefig(inline, format="png", dpi="figure", bbox_inches="tight")
    inline.seek(0)
    with Image.open(io.BytesIO(data)) as saved, Image.open(inline) as shown:
        assert abs(saved.width - PIXEL_RATIO * shown.width) <= PIXEL_RATIO
        assert saved.mode == "P"
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


def test_accuracy_curves_draw_the_error_on_a_log_axis(seeds, reference):
    fig = accuracy_curves(seeds[0], reference)
    ax = fig.axes[0]
    assert labels_of(ax) == ["train", "original train", "validation", "original validation"]
    # 100% − accuracy: 99.0–99.7% become errors 1.0–0.3%, a factor of three apart.
    assert np.allclose(ax.get_lines()[0].get_ydata(),
                       100 * (1 - np.array(seeds[0].history["accuracy"])))
    assert np.allclose(ax.get_lines()[2].get_ydata(),
                       100 * (1 - np.array(seeds[0].history["val_accuracy"])))
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "train and test error, in % (log scale)"
    assert ax.get_title() == "model_1 seed 0: error per epoch"
    assert accuracy_curves(seeds).axes[0].get_title() == "model_1: error per epoch (3 seeds)"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "train", "validation (test set)", "original train", "original validation"]
    perfect = make_run("model_1")
    perfect.history["accuracy"][-1] = 1.0  # every image right: still on the log axis
    assert min(accuracy_curves(perfect).axes[0].get_lines()[0].get_ydata()) > 0


def test_loss_axis_fits_the_epochs_after_the_first(seeds):
    run = make_run("model_2")
    run.history["val_loss"][0] = 5.0  # a first epoch 100x the rest, as batch norm can give
    ax = loss_curves(run).axes[0]
    low, high = ax.get_ylim()
    later = [*run.history["loss"][RANGE_FROM_EPOCH - 1:],
             *run.history["val_loss"][RANGE_FROM_EPOCH - 1:]]
    assert low <= min(later) and max(later) <= high < 5.0


def test_curves_refuses_an_unknown_metric(seeds):
    with pytest.raises(ValueError, match="metric"):
        curves(seeds[0], metric="f1")


def test_all_models_curves_draw_one_panel_per_model_over_its_seeds(seeds, reference):
    histories = {"model_1": [run.history for run in seeds],
                 "model_3": make_run("model_3", epochs=2).history}
    fig = all_models_curves(histories, reference)
    first, third, legend_cell = fig.axes[:3]
    assert (first.get_title(), third.get_title()) == ("model_1 (3 seeds)", "model_3 (1 seed)")
    assert first.get_shared_y_axes().joined(first, third) and first.get_yscale() == "log"
    assert first.get_ylabel() == "validation loss (log scale)"
    ours, original = first.get_lines()
    assert np.allclose(ours.get_ydata(), np.mean([run.history["val_loss"] for run in seeds], 0))
    assert list(original.get_ydata()) == reference["models"]["model_1"]["history"]["val_loss"]
    assert same_color(ours.get_color(), MODEL_STYLES["model_1"][0])
    assert same_color(third.get_lines()[0].get_color(), MODEL_STYLES["model_3"][0])
    band, = first.collections  # the min–max of the three seeds
    assert not third.collections  # one seed: no band
    assert not legend_cell.axison
    assert [text.get_text() for text in legend_cell.get_legend().get_texts()] == [
        "ours: mean", "ours: min–max", "the original"]
    assert "mean" in fig.get_suptitle() and "original" in fig.get_suptitle()


def test_confusion_matrices_draw_one_panel_per_model_with_the_wrong_counts():
    matrices = {"model_1": confusion(0), "model_2": confusion(1), "model_5": confusion(2)}
    fig = confusion_matrices(matrices)
    assert len(fig.axes) == len(matrices) + 1  # and the colour bar's
    for ax, (name, matrix) in zip(fig.axes, matrices.items()):
        wrong = matrix.sum() - np.trace(matrix)
        assert ax.get_title() == f"{name} seed 0: {wrong} wrong"  # the seed-0 networks
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


def test_metric_vs_cost_names_every_model_in_a_legend_on_a_log_cost_axis():
    fig = metric_vs_cost(cost_rows(), "params", "parameters")
    assert len(fig.axes) == 2
    for ax, y_label in zip(fig.axes, ("test accuracy (%)", "test log loss")):
        assert ax.get_xscale() == "log"
        assert ax.get_xlabel() == "parameters (log scale)" and ax.get_ylabel() == y_label
        assert len(labelled_ticks(ax.xaxis, *ax.get_xlim())) >= 3
        hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "white"]
        assert len(hollow) == 3  # the original's result of each model
    entries = legend_entries(fig.legends[0])
    assert list(entries) == ["model_1", "model_3", "model_5", "ours (filled)", "original (hollow)"]
    drawn = points(fig.axes[0])
    for row in cost_rows():
        style = entries[row["model"]]
        assert style in drawn[(row["params"], 100 * row["test_accuracy"])]  # ours: filled
        assert (*style[:2], False) in drawn[(row["params"], 100 * row["original_test_accuracy"])]
    without = metric_vs_cost(cost_rows(originals=False), "params", "parameters")
    assert list(legend_entries(without.legends[0])) == ["model_1", "model_3", "model_5"]
    with pytest.raises(ValueError):
        metric_vs_cost([], "params", "parameters")


@pytest.mark.parametrize("name", ["metric_vs_cost", "tradeoff_plot", "all_models_curves"])
def test_legends_name_every_model_without_covering_a_plot(name, seeds, reference):
    """The names of the points sit in a legend outside every plot: none can sit on a marker."""
    fig = draw(name, seeds, reference)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    plots = [ax for ax in fig.axes if ax.axison]
    assert legends and plots
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in plots:
            assert not box.overlaps(ax.get_window_extent(renderer)), (name, ax.get_title())
    # No two legend labels overlap either.
    texts = [text.get_window_extent(renderer) for legend in legends for text in legend.get_texts()]
    assert not any(a.overlaps(b) for i, a in enumerate(texts) for b in texts[i + 1:])


def test_every_figure_gives_a_model_the_same_colour_and_marker(seeds, reference):
    from mnist_cnn.analysis import load_costs

    rows = summary_rows([*seeds, make_run("model_4", 0, 0.995, 0.02)], reference)
    tradeoff = legend_entries(tradeoff_plot(rows).legends[0])
    cost_rows_ = [dict(row, test_accuracy=row["test_accuracy_mean"],
                       test_loss=row["test_loss_mean"], **load_costs()[row["model"]])
                  for row in rows if row["n_runs"]]
    cost = legend_entries(metric_vs_cost(cost_rows_, "params", "parameters").legends[0])
    curves_ = all_models_curves({"model_1": seeds[0].history,
                                 "model_4": make_run("model_4").history}, reference)
    titles = {ax.get_title().split()[0]: matplotlib.colors.to_hex(ax.title.get_color())
              for ax in curves_.axes if ax.axison}
    for model in ("model_1", "model_4"):
        color, marker = MODEL_STYLES[model]
        assert tradeoff[model] == cost[model] == (color, marker, True)
        assert titles[model] == color
    assert len(set(MODEL_STYLES.values())) == len(MODEL_NAMES)
    assert len({color for color, _ in MODEL_STYLES.values()}) == len(MODEL_NAMES)


def test_accuracy_curves_label_the_band_where_the_curves_end(seeds, reference):
    ax = accuracy_curves(seeds, reference).axes[0]
    ends = [line.get_ydata()[-1] for line in ax.get_lines()]
    low, high = min(ends), max(ends)
    assert high / low < 2.5  # synthetic errors ending 0.3–0.6%, as the study's do
    labels = labelled_ticks(ax.yaxis, low / 1.05, high * 1.05)
    assert len(labels) >= 3, labels  # not the one "0.5" of 1-2-5 ticks
    # Neighbouring labels over the whole axis stay apart: 12 points or more on the page.
    shown = [tick for tick in ax.yaxis.get_majorticklocs()
             if ax.get_ylim()[0] <= tick <= ax.get_ylim()[1]]
    heights = ax.transData.transform([(1, tick) for tick in shown])[:, 1]
    assert np.diff(heights).min() * 72 / ax.figure.dpi >= 12


def test_accuracy_curves_fit_the_epochs_after_the_first(seeds):
    run = make_run("model_6")
    run.history["val_accuracy"][0] = 0.1  # a first epoch at 90% error, as batch norm can give
    low, high = accuracy_curves(run).axes[0].get_ylim()
    later = 100 * (1 - np.array([*run.history["accuracy"][RANGE_FROM_EPOCH - 1:],
                                 *run.history["val_accuracy"][RANGE_FROM_EPOCH - 1:]]))
    assert low <= later.min() and later.max() <= high < 90


def confusion_panels(fig):
    return [ax for ax in fig.axes if ax.get_images()]


@pytest.mark.parametrize("models", [7, 3])
def test_confusion_matrices_share_one_colour_scale_shown_by_one_bar(models):
    matrices = {model: confusion(i) for i, model in enumerate(MODEL_NAMES[:models])}
    matrices[MODEL_NAMES[1]][3, 5] = 40  # one panel's largest count sets the scale of all
    fig = confusion_matrices(matrices)
    panels = confusion_panels(fig)
    assert len(panels) == models
    images = [ax.get_images()[0] for ax in panels]
    assert len({id(image.norm) for image in images}) == 1
    assert (images[0].norm.vmin, images[0].norm.vmax) == (1, 40)
    bars = [image.colorbar for image in images if image.colorbar is not None]
    assert len(bars) == 1 and bars[0].norm is images[0].norm
    assert "wrong predictions" in bars[0].ax.get_xlabel() + bars[0].ax.get_ylabel()
    axis = bars[0].ax.xaxis if bars[0].orientation == "horizontal" else bars[0].ax.yaxis
    assert labelled_ticks(axis, 1, 40) == ["1", "2", "3", "5", "10", "20", "30", "40"]
    # The bar covers no panel (with 7 panels it fills the empty cells of the last row).
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    box = bars[0].ax.get_window_extent(renderer)
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in panels)
    assert (bars[0].orientation == "horizontal") == (models == 7)


def test_confusion_matrices_name_the_seed_of_the_networks():
    matrices = {"model_1": confusion(0), "model_2": confusion(1)}
    assert [ax.get_title() for ax in confusion_panels(confusion_matrices(matrices, seed=3))] == [
        f"{name} seed 3: {matrix.sum() - np.trace(matrix)} wrong"
        for name, matrix in matrices.items()]
    assert confusion_panels(confusion_matrices(matrices, seed=None))[0].get_title().startswith(
        "model_1: ")


def test_confusion_matrices_label_rows_and_columns_with_class_names():
    names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot")
    [panel] = confusion_panels(confusion_matrices({"model_3": confusion(2)}, class_names=names))
    assert [label.get_text() for label in panel.get_xticklabels()] == list(names)
    assert [label.get_text() for label in panel.get_yticklabels()] == list(names)
    assert (panel.get_xlabel(), panel.get_ylabel()) == ("predicted class", "true class")


def test_sample_grid_titles_each_image_with_its_class_name():
    images = np.zeros((4, 28, 28), np.uint8)
    fig = sample_grid(images, [9, 0, 3, 3], count=4, start=0, class_names=[
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
        "Bag", "Ankle boot"])
    assert [ax.get_title() for ax in fig.axes] == ["Ankle boot", "T-shirt/top", "Dress", "Dress"]


def test_mistakes_gallery_title_says_whose_mistakes_it_shows():
    fig = mistakes_gallery(digits(3), [4, 1, 2], [9, 7, 3], [0.99, 0.9, 0.8])
    title, caption = fig.get_suptitle().split("\n")
    assert title == "the 3 test digits the seed-0 ensemble gets most confidently wrong"
    assert caption.startswith("caption: true digit → predicted digit")
    named = mistakes_gallery(digits(2), [4, 1], [9, 7], [0.99, 0.9], predictor="model_1 seed 2")
    assert named.get_suptitle().startswith("the 2 test digits model_1 seed 2 gets")


def dodges(ax):
    """Return {(colour, filled): how far (pixels) each result marker of `ax` is drawn to the
    right of its x}."""
    ax.figure.draw_without_rendering()
    return {(matplotlib.colors.to_hex(line.get_color()), line.get_markerfacecolor() != "white"):
            line.get_transform().transform(line.get_xydata()[0])[0]
            - ax.transData.transform(line.get_xydata()[0])[0]
            for line in ax.get_lines() if line.get_marker() not in ("None", "", None)}


def study_cost_rows():
    """Return metric_vs_cost rows of the seven models at their real costs."""
    from mnist_cnn.analysis import load_costs

    costs = load_costs()
    return [dict(model=name, test_accuracy=0.994 + i / 2000, test_loss=0.03 - i / 1000,
                 original_test_accuracy=0.995, original_test_loss=0.025, **costs[name])
            for i, name in enumerate(MODEL_NAMES)]


@pytest.mark.parametrize("cost_key, left, right, note", [
    ("train_flops_per_image", "model_6", "model_7",
     "side by side, left to right: model_6, model_7 (both 878M training FLOPs per image)"),
    ("params", "model_4", "model_2",
     "side by side, left to right: model_4, model_2 (both about 3.7M parameters)")])
def test_points_at_one_cost_are_drawn_side_by_side_and_named(cost_key, left, right, note):
    rows = study_cost_rows()
    fig = metric_vs_cost(rows, cost_key, dict(plotting.COST_AXES)[cost_key])
    assert fig.legends[0].get_title().get_text() == note
    half = plotting.DODGE_POINTS * fig.dpi / 72 / 2
    for ax in fig.axes:
        assert points(ax)  # the data stay at the true costs; only the drawing moves
        drawn = dodges(ax)
        for filled in (True, False):
            assert drawn[(MODEL_STYLES[left][0], filled)] == pytest.approx(-half)
            assert drawn[(MODEL_STYLES[right][0], filled)] == pytest.approx(half)
        assert drawn[(MODEL_STYLES["model_1"][0], True)] == 0  # alone at its cost
    without = metric_vs_cost(cost_rows(), "params", "parameters")
    assert without.legends[0].get_title().get_text() == ""


def test_tradeoff_plot_draws_both_columns_coincident_points_apart(seeds, reference):
    runs = [make_run(name, 0, 0.995, 0.02) for name in ("model_2", "model_4", "model_6",
                                                          "model_7")]
    fig = tradeoff_plot(summary_rows(runs, reference))
    assert fig.legends[0].get_title().get_text().split("\n") == [
        "side by side, left to right: model_4, model_2 (both about 3.7M parameters)",
        "side by side, left to right: model_6, model_7 (both 878M training FLOPs per image)"]
    for ax, (left, right) in zip(fig.axes, [("model_4", "model_2"), ("model_6", "model_7")] * 2):
        drawn = dodges(ax)
        assert (drawn[(MODEL_STYLES[right][0], True)] - drawn[(MODEL_STYLES[left][0], True)]
                == pytest.approx(plotting.DODGE_POINTS * fig.dpi / 72))


@pytest.mark.parametrize("name", ["metric_vs_cost", "tradeoff_plot"])
def test_a_parameter_axis_shows_1m(name, seeds, reference):
    ax = draw(name, seeds, reference).axes[0]  # parameters from 1.2M to 4.1M
    low, high = ax.get_xlim()
    assert low < 1e6 < high
    labels = labelled_ticks(ax.xaxis, low, high)
    assert labels[0] == "1M" and len(labels) >= 3
