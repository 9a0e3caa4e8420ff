"""Check the figures: what each draws, and that save_fig writes a small PNG atomically."""

import os
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from mnist_cnn import plotting
from mnist_cnn.plotting import loss_curves, sample_grid, save_fig, setup_style, tradeoff_plot
from mnist_cnn.report import load_original, summary_rows

from helpers import make_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 150_000


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
