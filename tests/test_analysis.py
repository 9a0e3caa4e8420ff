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
