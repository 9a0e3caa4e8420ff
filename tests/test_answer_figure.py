"""The README's figure (`mnist_cnn.answer_figure`): every run per model, the original marked."""

import matplotlib.pyplot as plt
import pytest

from mnist_cnn.answer_figure import answer_figure, answer_figure_of
from mnist_cnn.findings import analyse
from mnist_cnn.models import MODEL_NAMES

from helpers import ACCURACIES, make_study


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return analyse(make_study(tmp_path_factory.mktemp("graded"), ACCURACIES))


def artists(fig):
    """Return {gid: artist} of the figure's one plot."""
    [ax] = fig.axes
    return {a.get_gid(): a for a in ax.get_children() if a.get_gid()}


def test_the_figure_draws_one_point_per_run_and_marks_the_original():
    accuracies = {"model_1": [99.2, 99.3], "model_2": [99.4, 99.45, 99.5],
                  "model_3": [99.5], "model_6": [99.6, 99.6]}
    originals = {"model_1": 99.25, "model_2": 99.46, "model_3": None, "model_6": 99.7}
    fig = answer_figure(accuracies, originals, 0.1)
    try:
        drawn = artists(fig)
        for name, values in accuracies.items():
            assert list(drawn[f"runs:{name}"].get_ydata()) == values
            assert len(set(drawn[f"runs:{name}"].get_xdata())) == len(values)  # none hidden
            assert list(drawn[f"mean:{name}"].get_ydata()) == [sum(values) / len(values)] * 2
        for name, original in originals.items():
            if original is None:
                assert f"original:{name}" not in drawn
            else:
                assert list(drawn[f"original:{name}"].get_ydata()) == [original]
        band = drawn["margin"]  # ±0.1 pp around the best mean, model_6's 99.6%
        assert band.get_y() == pytest.approx(99.5)
        assert band.get_y() + band.get_height() == pytest.approx(99.7)
        # Models of one depth side by side, a wider gap between depths.
        x = {name: drawn[f"mean:{name}"].get_xdata()[0] for name in accuracies}
        assert x["model_3"] - x["model_2"] == pytest.approx(1.0)
        assert x["model_2"] - x["model_1"] > 1.0 and x["model_6"] - x["model_3"] > 1.0
        labels = [t.get_text() for t in fig.axes[0].texts]
        assert labels == ["2 conv layers", "3 conv layers", "7 conv layers"]
    finally:
        plt.close(fig)


def test_the_figure_of_a_study_shows_every_run_and_the_originals_results(graded):
    fig = answer_figure_of(graded)
    try:
        drawn = artists(fig)
        assert sum(len(drawn[f"runs:{name}"].get_ydata()) for name in MODEL_NAMES) == 21
        model_1 = drawn["original:model_1"].get_ydata()[0]
        assert model_1 == pytest.approx(99.20)  # 9,920 images right in the original's log
    finally:
        plt.close(fig)
