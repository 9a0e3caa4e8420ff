"""Check the curves over epochs: what loss_curves, error_curves and all_models_curves draw, their
titles and legends, and their log axes fitted to the epochs after the first."""

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import same_color
from matplotlib.figure import Figure

from mnist_cnn.plot_style import MODEL_STYLES
from mnist_cnn.training_plots import (RANGE_FROM_EPOCH, all_models_curves, curves, error_curves,
                                      loss_curves)

from figure_checks import close_figures, labelled_ticks, reference, seeds  # noqa: F401 (fixtures)
from helpers import make_run


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
    assert ax.get_title() == "model_1: loss per epoch (mean of 3 seeds)"


def test_title_names_a_configuration_off_the_protocol():
    quick = [make_run("model_2", seed, epochs=2, subset=500) for seed in range(2)]
    ax = loss_curves(quick).axes[0]
    assert ax.get_title() == ("model_2: loss per epoch "
                              "(mean of 2 seeds, 2 epochs, epochs2_subset500)")
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


def styles(ax):
    """Return {label: (colour, line style)} of the lines of `ax`."""
    return {line.get_label(): (line.get_color(), line.get_linestyle()) for line in ax.get_lines()}


@pytest.mark.parametrize("draw_curves", [loss_curves, error_curves])
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


def test_a_models_curves_are_all_in_its_colour_and_in_no_other_models(reference):
    """One colour per model across the study: model_3's curves are shades and tints of model_3's
    colour (its hue; train exactly its colour), never another model's."""
    drawn = styles(loss_curves(make_run("model_3"), reference).axes[0])
    own = MODEL_STYLES["model_3"][0]
    assert same_color(drawn["train"][0], own)
    others = [color for name, (color, _) in MODEL_STYLES.items() if name != "model_3"]
    hue = matplotlib.colors.rgb_to_hsv(matplotlib.colors.to_rgb(own))[0]
    for color, _ in drawn.values():
        assert not any(same_color(color, other) for other in others)
        assert matplotlib.colors.rgb_to_hsv(matplotlib.colors.to_rgb(color))[0] == (
            pytest.approx(hue))


def test_the_original_is_dotted_for_train_and_dash_dotted_for_validation(seeds, reference):
    """As the captions in the README and the section notebooks say."""
    drawn = styles(error_curves(seeds[0], reference).axes[0])
    assert (drawn["original train"][1], drawn["original validation"][1]) == (":", "-.")


def test_several_seeds_legend_names_the_mean_band_and_the_original(seeds, reference):
    legend = loss_curves(seeds, reference).axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == [
        "train: mean, min–max of 3 seeds", "validation: mean, min–max of 3 seeds",
        "original train", "original validation"]


def test_error_curves_draw_the_error_on_a_log_axis(seeds, reference):
    fig = error_curves(seeds[0], reference)
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
    assert error_curves(seeds).axes[0].get_title() == "model_1: error per epoch (mean of 3 seeds)"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "train", "validation (test set)", "original train", "original validation"]
    perfect = make_run("model_1")
    perfect.history["accuracy"][-1] = 1.0  # every image right: still on the log axis
    assert min(error_curves(perfect).axes[0].get_lines()[0].get_ydata()) > 0


def test_loss_axis_fits_the_epochs_after_the_first(seeds):
    run = make_run("model_2")
    run.history["val_loss"][0] = 5.0  # a first epoch 100x the rest, as batch norm can give
    ax = loss_curves(run).axes[0]
    low, high = ax.get_ylim()
    later = [*run.history["loss"][RANGE_FROM_EPOCH - 1:],
             *run.history["val_loss"][RANGE_FROM_EPOCH - 1:]]
    assert low <= min(later) and max(later) <= high < 5.0


def test_error_curves_label_the_band_where_the_curves_end(seeds, reference):
    ax = error_curves(seeds, reference).axes[0]
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


def test_error_curves_fit_the_epochs_after_the_first(seeds):
    run = make_run("model_6")
    run.history["val_accuracy"][0] = 0.1  # a first epoch at 90% error, as batch norm can give
    low, high = error_curves(run).axes[0].get_ylim()
    later = 100 * (1 - np.array([*run.history["accuracy"][RANGE_FROM_EPOCH - 1:],
                                 *run.history["val_accuracy"][RANGE_FROM_EPOCH - 1:]]))
    assert low <= later.min() and later.max() <= high < 90


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
