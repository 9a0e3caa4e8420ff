"""Check the figures across models and images: confusion matrices, sample digits, the mistakes
gallery, and test results against cost with coincident points drawn side by side."""

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import same_color

from mnist_cnn import comparison_plots
from mnist_cnn.comparison_plots import (COST_AXES, DODGE_POINTS, class_samples,
                                        confusion_matrices, metric_vs_cost, mistakes_gallery,
                                        sample_grid, tradeoff_plot)
from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.plot_style import MODEL_STYLES
from mnist_cnn.report import summary_rows

from figure_checks import (close_figures, confusion, cost_rows, digits,  # noqa: F401 (fixtures)
                           labelled_ticks, legend_entries, points, reference, seeds,
                           visible_texts)
from helpers import make_run


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


def test_sample_grid_titles_each_image_with_its_class_name():
    images = np.zeros((4, 28, 28), np.uint8)
    fig = sample_grid(images, [9, 0, 3, 3], count=4, start=0, class_names=[
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
        "Bag", "Ankle boot"])
    assert [ax.get_title() for ax in fig.axes] == ["Ankle boot", "T-shirt/top", "Dress", "Dress"]


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
    [panel] = confusion_panels(confusion_matrices({"model_3": confusion(2)},
                                                  dataset="fashion-mnist"))
    assert [label.get_text() for label in panel.get_xticklabels()] == list(names)
    assert [label.get_text() for label in panel.get_yticklabels()] == list(names)
    assert (panel.get_xlabel(), panel.get_ylabel()) == ("predicted class", "true class")


def test_confusion_matrices_label_mnist_with_upright_digits():
    [panel] = confusion_panels(confusion_matrices({"model_3": confusion(2)}))
    assert [label.get_text() for label in panel.get_xticklabels()] == [str(d) for d in range(10)]
    assert {label.get_rotation() for label in panel.get_xticklabels()} == {0}
    assert (panel.get_xlabel(), panel.get_ylabel()) == ("predicted digit", "true digit")


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_one_confusion_matrix_keeps_its_title_labels_and_bar_inside_the_figure(dataset):
    fig = confusion_matrices({"model_5": confusion(4)}, dataset=dataset)
    texts = visible_texts(fig)
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    assert len(texts) > 30  # the title, the axes' labels, every class name, count and bar tick
    for text in texts:
        box = text.get_window_extent(renderer)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and box.y1 <= page.y1, text.get_text()


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
        assert all(same_color(spine.get_edgecolor(), comparison_plots.MARK_COLOR)
                   for spine in ax.spines.values())
    assert not any(ax.get_xticks().size or ax.get_yticks().size for ax in fig.axes)
    assert [text.get_text() for text in fig.legends[0].get_texts()] == [
        "red frame: wrong in all models"]
    plain = mistakes_gallery(digits(2), [4, 1], [9, 7], [0.99, 0.5])
    assert not plain.legends
    assert not any(spine.get_visible() for ax in plain.axes for spine in ax.spines.values())
    with pytest.raises(ValueError):
        mistakes_gallery(digits(2), [4, 1], [9, 7], [0.99, 0.5], marked=[True])


def test_mistakes_gallery_title_says_whose_mistakes_it_shows():
    fig = mistakes_gallery(digits(3), [4, 1, 2], [9, 7, 3], [0.99, 0.9, 0.8])
    title, caption = fig.get_suptitle().split("\n")
    assert title == "the 3 test digits the seed-0 ensemble gets most confidently wrong"
    assert caption.startswith("caption: true digit → predicted digit")
    named = mistakes_gallery(digits(2), [4, 1], [9, 7], [0.99, 0.9], predictor="model_1 seed 2")
    assert named.get_suptitle().startswith("the 2 test digits model_1 seed 2 gets")


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
        assert style in drawn[(row["params"], row["accuracy"])]  # ours: filled
        assert (*style[:2], False) in drawn[(row["params"], row["original_accuracy"])]
    without = metric_vs_cost(cost_rows(originals=False), "params", "parameters")
    assert list(legend_entries(without.legends[0])) == ["model_1", "model_3", "model_5"]
    with pytest.raises(ValueError):
        metric_vs_cost([], "params", "parameters")


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


def test_tradeoff_plot_of_another_data_set_draws_no_original(reference):
    from mnist_cnn.scores import test_labels

    fashion = [make_run(model, 0, 0.93, 0.25, dataset="fashion-mnist")
               for model in ("model_1", "model_4")]
    fig = tradeoff_plot(summary_rows(fashion, reference, test_labels(), dataset="fashion-mnist"))
    assert list(legend_entries(fig.legends[0])) == ["model_1", "model_4"]  # no filled/hollow key
    assert all(filled for ax in fig.axes for styles in points(ax).values()
               for *_, filled in styles)


def test_class_samples_show_the_first_image_of_each_class_by_name():
    labels = np.array([2, 0, 1, 0, 2])
    images = np.arange(5, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
    fig = class_samples(images, labels, ["Coat", "Bag", "Shirt"])
    assert [ax.get_title() for ax in fig.axes] == ["Coat", "Bag", "Shirt"]
    assert [int(ax.get_images()[0].get_array()[0, 0]) for ax in fig.axes] == [1, 2, 0]


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
    return [dict(model=name, accuracy=99.4 + i / 20, log_loss=0.03 - i / 1000,
                 original_accuracy=99.5, original_log_loss=0.025, **costs[name])
            for i, name in enumerate(MODEL_NAMES)]


@pytest.mark.parametrize("cost_key, left, right, note", [
    ("train_flops_per_image", "model_6", "model_7",
     "side by side, left to right: model_6, model_7 (both 878M training FLOPs per image)"),
    ("params", "model_4", "model_2",
     "side by side, left to right: model_4, model_2 (both about 3.7M parameters)")])
def test_points_at_one_cost_are_drawn_side_by_side_and_named(cost_key, left, right, note):
    rows = study_cost_rows()
    fig = metric_vs_cost(rows, cost_key, dict(COST_AXES)[cost_key])
    assert fig.legends[0].get_title().get_text() == note
    half = DODGE_POINTS * fig.dpi / 72 / 2
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
                == pytest.approx(DODGE_POINTS * fig.dpi / 72))
