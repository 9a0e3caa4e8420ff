"""Check the figures' shared style: every figure is readable on GitHub (width, fonts, ticks),
gives each model one colour and marker, keeps its legends off the plots, and save_fig writes a
small PNG atomically."""

import io
import os
import subprocess
import sys

import matplotlib
import matplotlib.image
import numpy as np
import pytest
from PIL import Image

from mnist_cnn import plot_style
from mnist_cnn.comparison_plots import (confusion_matrices, metric_vs_cost, mistakes_gallery,
                                        sample_grid, tradeoff_plot)
from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.plot_style import MODEL_STYLES, PIXEL_RATIO, model_style, save_fig, setup_style
from mnist_cnn.report import summary_rows
from mnist_cnn.training_plots import all_models_curves, error_curves, loss_curves

from figure_checks import (close_figures, confusion, cost_rows, digits,  # noqa: F401 (fixtures)
                           labelled_ticks, legend_entries, reference, seeds, visible_texts)
from helpers import make_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 100_000
MIN_WIDTH_PX = 600
MIN_FONT_SIZE = 10
# rcParams that would make unreadable figures: the figure functions must not pick them up.
TINY_FONTS = {"font.size": 6, "axes.titlesize": 6, "axes.labelsize": 6, "xtick.labelsize": 5,
              "ytick.labelsize": 5, "legend.fontsize": 5, "figure.titlesize": 6,
              "figure.dpi": 50, "figure.figsize": (3, 2)}


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
        assert tuple(matplotlib.rcParams["figure.figsize"]) == plot_style.FIGSIZE
        assert matplotlib.rcParams["figure.dpi"] == plot_style.DPI
        assert matplotlib.rcParams["axes.grid"] is True


@pytest.mark.parametrize("chosen, expected", [(None, "agg"), ("svg", "svg")])
def test_import_picks_agg_only_without_a_backend_and_never_keras(chosen, expected):
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    if chosen:
        env["MPLBACKEND"] = chosen
    code = ("import sys, matplotlib, mnist_cnn.plot_style, mnist_cnn.training_plots, "
            "mnist_cnn.comparison_plots, mnist_cnn.report; "
            "print(matplotlib.get_backend().lower(), 'keras' in sys.modules, "
            "'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == [expected, "False", "False"]


# --- Readability: every figure function, drawn from synthetic runs and arrays ---------------


def draw(name, seeds, reference):
    """Return the figure `name` of the study, drawn from synthetic data."""
    if name == "loss_curves":
        return loss_curves(seeds, reference)
    if name == "loss_curves_single":
        return loss_curves(seeds[0], reference)
    if name == "error_curves":
        return error_curves(seeds, reference)
    if name == "all_models_curves":
        return all_models_curves({"model_1": seeds[0].history, "model_2": seeds[1].history},
                                 reference)
    if name == "confusion_matrices":
        return confusion_matrices({model: confusion(i) for i, model in enumerate(MODEL_NAMES)})
    if name == "confusion_matrix_single":
        return confusion_matrices({"model_5": confusion(4)}, dataset="fashion-mnist")
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


FIGURE_NAMES = ("loss_curves", "loss_curves_single", "error_curves", "all_models_curves",
                "confusion_matrices", "confusion_matrix_single", "mistakes_gallery",
                "mistakes_gallery_few", "metric_vs_cost", "tradeoff_plot", "sample_grid",
                "sample_grid_few_columns")


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


@pytest.mark.parametrize("name", ["metric_vs_cost", "tradeoff_plot"])
def test_a_parameter_axis_shows_1m(name, seeds, reference):
    ax = draw(name, seeds, reference).axes[0]  # parameters from 1.2M to 4.1M
    low, high = ax.get_xlim()
    assert low < 1e6 < high
    labels = labelled_ticks(ax.xaxis, low, high)
    assert labels[0] == "1M" and len(labels) >= 3


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
    cost_rows_ = [dict(row, accuracy=row["accuracy_mean"], log_loss=row["log_loss_mean"],
                       **load_costs()[row["model"]])
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


def test_a_model_outside_the_seven_gets_a_style_of_none_of_them():
    own = model_style("my_model")
    assert own not in MODEL_STYLES.values()
    assert own[0] not in {color for color, _ in MODEL_STYLES.values()}
    assert model_style("model_3") == MODEL_STYLES["model_3"]
