"""The analysis beyond the original, against cases computed by hand."""

import math

import numpy as np
import pytest

from mnist_cnn import analysis


def pair(only_a, only_b, both=5, neither=2):
    """Return correctness arrays with the given counts of each agreement pattern."""
    a = [True] * only_a + [False] * only_b + [True] * both + [False] * neither
    b = [False] * only_a + [True] * only_b + [True] * both + [False] * neither
    return np.array(a), np.array(b)


@pytest.mark.parametrize("only_a, only_b, p_value", [
    (0, 0, 1.0),                # no disagreement at all
    (3, 3, 1.0),                # a tie: 2 * P(X <= 3 | n=6) = 2 * 42/64 > 1, capped
    (5, 0, 2 / 32),             # all five discordant images favour a: 2 * (1/2)^5
    (1, 9, 2 * 11 / 1024),      # 2 * (C(10,0) + C(10,1)) / 2^10
    (2, 7, 2 * 46 / 512),       # 2 * (1 + 9 + 36) / 2^9
])
def test_mcnemar_matches_hand_computed_cases(only_a, only_b, p_value):
    result = analysis.mcnemar(*pair(only_a, only_b))
    assert (result.only_a, result.only_b) == (only_a, only_b)
    assert result.p_value == pytest.approx(p_value, rel=1e-12)


def test_mcnemar_large_n_against_the_binomial_sum():
    only_a, only_b = 600, 400
    n = only_a + only_b
    exact = 2 * sum(math.comb(n, k) for k in range(only_b + 1)) / 2 ** n
    result = analysis.mcnemar(*pair(only_a, only_b, both=8000, neither=1000))
    assert result.p_value == pytest.approx(exact, rel=1e-9)
    assert result.p_value < 1e-9


def test_mcnemar_refuses_arrays_of_different_length():
    with pytest.raises(ValueError):
        analysis.mcnemar([True, False], [True])


def test_holm_adjusts_step_down_and_keeps_order():
    # Sorted: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to 0.06 (monotone).
    assert analysis.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert analysis.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_pairwise_mcnemar_names_the_better_model_and_applies_holm():
    a, b = pair(1, 9)
    tests = analysis.pairwise_mcnemar({"model_1": a, "model_2": b, "model_3": b.copy()})
    assert [(t.a, t.b) for t in tests] == [("model_1", "model_2"), ("model_1", "model_3"),
                                           ("model_2", "model_3")]
    assert tests[0].better == "model_2" and tests[2].better is None
    # Three tests: the two equal smallest p-values are multiplied by 3 and 2, then made monotone.
    assert tests[0].p_holm == pytest.approx(3 * 22 / 1024)
    assert tests[2].p_holm == 1.0


def test_mean_interval_uses_students_t():
    interval = analysis.mean_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2 degrees of freedom) * std / sqrt(n)
    assert (interval.mean, interval.std, interval.n) == (2.0, 1.0, 3)
    assert (interval.low, interval.high) == pytest.approx((2 - half, 2 + half))
    assert analysis.mean_interval([0.99]).low is None


def test_difference_interval_is_welchs():
    interval = analysis.difference_interval([1.0, 2.0, 3.0], [0.0, 0.0, 3.0])
    se = math.sqrt(1 / 3 + 3 / 3)
    dof = (1 / 3 + 1) ** 2 / ((1 / 3) ** 2 / 2 + 1 ** 2 / 2)
    assert interval.mean == pytest.approx(1.0) and interval.std == pytest.approx(se)
    assert dof == pytest.approx(3.2)
    # t(0.975, 3.2) from tables lies between t(.975, 3) = 3.182 and t(.975, 4) = 2.776.
    assert 1 + 2.776 * se < interval.high < 1 + 3.182 * se


def test_scores_confusion_matrix_and_mistakes():
    labels = np.array([0, 1, 2, 2])
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0, 0, 0, 0, 0],     # right
                      [0.6, 0.4, 0, 0, 0, 0, 0, 0, 0, 0],     # wrong, confidence 0.6
                      [0, 0, 1.0, 0, 0, 0, 0, 0, 0, 0],       # right, probability 1
                      [0, 0.95, 0.05, 0, 0, 0, 0, 0, 0, 0]])  # wrong, confidence 0.95
    assert analysis.accuracy(probs, labels) == 0.5
    expected = -(math.log(0.9) + math.log(0.4) + math.log(1 - 1e-7) + math.log(0.05)) / 4
    assert analysis.log_loss(probs, labels) == pytest.approx(expected)
    matrix = analysis.confusion_matrix(labels, analysis.predictions(probs))
    assert matrix.shape == (10, 10) and matrix.sum() == 4
    assert (matrix[0, 0], matrix[1, 0], matrix[2, 2], matrix[2, 1]) == (1, 1, 1, 1)
    assert analysis.confident_mistakes(probs, labels, 5).tolist() == [3, 1]
    mean = analysis.ensemble([probs, probs[::-1]])
    assert mean[0, 0] == pytest.approx(0.45) and mean.sum(axis=1) == pytest.approx(np.ones(4))


def probs_right_on(labels, right, confidence=0.9):
    """Return probabilities that put `confidence` on the label where `right`, else on label+1."""
    n = len(labels)
    probs = np.full((n, 10), (1 - confidence) / 9)
    guess = np.where(right, labels, (labels + 1) % 10)
    probs[np.arange(n), guess] = confidence
    return probs


@pytest.fixture(scope="module")
def labels():
    return np.arange(2000) % 10


def models_with_accuracies(labels, accuracies):
    """Return {model: probs} where model i is right on its first accuracies[i] share of images."""
    n = len(labels)
    return {name: probs_right_on(labels, np.arange(n) < round(share * n))
            for name, share in accuracies.items()}


FLAT = {"loss": [0.3, 0.1, 0.05], "val_loss": [0.2, 0.08, 0.07]}       # ends 0% above its low
TURNING = {"loss": [0.3, 0.1, 0.02], "val_loss": [0.2, 0.05, 0.09]}    # ends 80% above its low
DEPTH = {"model_a": 2, "model_b": 3, "model_c": 7}


def claims_for(labels, accuracies, histories=None, original=None, models=None):
    probs = models_with_accuracies(labels, accuracies)
    histories = histories or {name: FLAT for name in probs}
    original = original or {name: FLAT for name in probs}
    return analysis.check_claims(probs, labels, DEPTH, histories, original,
                                 claimed_best="model_c", models=models or list(DEPTH))


def test_claims_supported_when_deeper_models_are_clearly_better(labels):
    claims = claims_for(labels, {"model_a": 0.90, "model_b": 0.95, "model_c": 0.99})
    assert [c.verdict for c in claims[:3]] == [analysis.SUPPORTED] * 3
    assert "model_c over model_a" in claims[0].evidence


def test_claims_not_supported_when_a_shallower_model_is_better(labels):
    claims = claims_for(labels, {"model_a": 0.99, "model_b": 0.95, "model_c": 0.90})
    assert [c.verdict for c in claims[:3]] == [analysis.NOT_SUPPORTED] * 3


def test_claims_undecided_without_differences_or_runs(labels):
    same = claims_for(labels, {"model_a": 0.95, "model_b": 0.95, "model_c": 0.95})
    assert [c.verdict for c in same[:3]] == [analysis.UNDECIDED] * 3
    # model_c best among those recorded, but model_b has no run yet.
    partial = claims_for(labels, {"model_a": 0.90, "model_c": 0.99})
    assert partial[2].verdict == analysis.UNDECIDED and "no run yet for model_b" in partial[2].evidence
    # Deeper better so far, but a model is missing: not yet supported; a counterexample refutes.
    assert partial[0].verdict == analysis.UNDECIDED and "no run yet for model_b" in partial[0].evidence
    refuted = claims_for(labels, {"model_a": 0.99, "model_c": 0.90})
    assert refuted[0].verdict == analysis.NOT_SUPPORTED
    claimed_missing = claims_for(labels, {"model_a": 0.90, "model_b": 0.99})
    assert claimed_missing[2].verdict == analysis.UNDECIDED
    one_depth = analysis.check_claims(models_with_accuracies(labels, {"model_a": 0.9}), labels,
                                      DEPTH, {}, {}, claimed_best="model_c")
    assert one_depth[0].verdict == analysis.UNDECIDED


def test_overfitting_claims_compare_our_curves_with_the_originals(labels):
    accuracies = {"model_a": 0.9, "model_b": 0.9, "model_c": 0.9}
    ours = {"model_a": TURNING, "model_b": FLAT, "model_c": TURNING}
    original = {"model_a": TURNING, "model_b": FLAT, "model_c": FLAT}
    claims = {c.statement.split()[0]: c for c in claims_for(labels, accuracies, ours, original)[3:]}
    assert claims["model_a"].statement.startswith("model_a overfits")
    assert claims["model_a"].verdict == analysis.SUPPORTED
    assert claims["model_b"].statement.startswith("model_b does not overfit")
    assert claims["model_b"].verdict == analysis.SUPPORTED
    assert claims["model_c"].verdict == analysis.NOT_SUPPORTED  # ours turns up, the original's not
    assert "lowest at epoch 2 (0.0500), last 0.0900 (+80%)" in claims["model_a"].evidence


def test_tables_render_what_the_analysis_found(labels):
    probs = models_with_accuracies(labels, {"model_a": 0.90, "model_b": 0.95, "model_c": 0.99})
    correct = {name: analysis.correctness(p, labels) for name, p in probs.items()}
    pairs = analysis.pairs_table(analysis.pairwise_mcnemar(correct))
    first = dict(zip(pairs.field_names, pairs.rows[0]))
    # model_a is right on the first 90% of the images, model_c on the first 99%: 180 discordant.
    assert (first["Model a"], first["Model b"], first["Only a right"], first["Only b right"],
            first["Better (p < 0.05)"]) == ("model_a", "model_c", 0, 180, "model_c")
    mixed = analysis.ensemble_table(probs, labels)
    assert mixed.rows[1][0] == "best single model (model_c)" and mixed.rows[1][1] == "99.00%"
    claims = analysis.claims_table(claims_for(labels, {"model_a": 0.9, "model_c": 0.99}))
    assert claims.rows[0][1] == analysis.UNDECIDED  # model_b has no run yet
    assert "<table>" in claims.get_html_string()


def test_seeds_table_gives_t_intervals_over_seeds():
    from helpers import make_run

    runs = [make_run("model_1", seed, accuracy, 0.03)
            for seed, accuracy in enumerate((0.990, 0.992, 0.994))]
    table = analysis.seeds_table({"model_1": runs, "model_2": [make_run("model_2")]})
    # Mean 99.20%, std 0.2 points, half width t(0.975, 2) * 0.2 / sqrt(3) = 0.4968 points.
    assert table.rows[0] == ["model_1", 3, "99.20 [98.70, 99.70]", "0.0300 [0.0300, 0.0300]"]
    assert table.rows[1] == ["model_2", 1, "99.00 (one run)", "0.0300 (one run)"]


def test_headline_runs_and_status_banner(tmp_path):
    from helpers import make_run
    from mnist_cnn.runs import save_run

    for run in (make_run("model_1", 0), make_run("model_1", 1), make_run("model_3", 2),
                make_run("model_2", 0, epochs=2)):
        save_run(run, tmp_path)
    headline = analysis.headline_runs(tmp_path)
    assert [(name, run.config.seed) for name, run in headline.items()] == [("model_1", 0)]
    banner = analysis.status_markdown(headline)
    assert banner.startswith("**Incomplete study:**") and "1 of 7 models (model_1)" in banner
    assert "still missing: model_2, model_3, model_4" in banner
    complete = analysis.status_markdown({name: None for name in analysis.MODEL_NAMES})
    assert complete.startswith("**All 7 models**")


def test_differences_table_needs_two_models_with_seeds():
    from helpers import make_run

    a = [make_run("model_1", s, acc, 0.03) for s, acc in enumerate((0.990, 0.992, 0.994))]
    b = [make_run("model_3", s, acc, 0.02) for s, acc in enumerate((0.995, 0.996))]
    table = analysis.differences_table({"model_1": a, "model_3": b, "model_2": a[:1]})
    assert len(table.rows) == 1 and table.rows[0][0] == "model_1 − model_3"
    interval = analysis.difference_interval([0.990, 0.992, 0.994], [0.995, 0.996])
    assert table.rows[0][1] == (f"{100 * interval.mean:.2f} [{100 * interval.low:.2f}, "
                                f"{100 * interval.high:.2f}]")
    assert table.rows[0][1].startswith("-0.35 [")
    assert not analysis.differences_table({"model_1": a}).rows
