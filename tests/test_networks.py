"""The trained networks one by one: McNemar's tests, confusion matrices, mistakes, ensemble."""

import math

import numpy as np
import pytest

from mnist_cnn import analysis_tables, networks


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
    result = networks.mcnemar(*pair(only_a, only_b))
    assert (result.only_a, result.only_b) == (only_a, only_b)
    assert result.p_value == pytest.approx(p_value, rel=1e-12)


def test_mcnemar_large_n_against_the_binomial_sum():
    only_a, only_b = 600, 400
    n = only_a + only_b
    exact = 2 * sum(math.comb(n, k) for k in range(only_b + 1)) / 2 ** n
    result = networks.mcnemar(*pair(only_a, only_b, both=8000, neither=1000))
    assert result.p_value == pytest.approx(exact, rel=1e-9)
    assert result.p_value < 1e-9


def test_mcnemar_refuses_arrays_of_different_length():
    with pytest.raises(ValueError):
        networks.mcnemar([True, False], [True])


def test_pairwise_mcnemar_names_the_better_model_and_applies_holm():
    a, b = pair(1, 9)
    tests = networks.pairwise_mcnemar({"model_1": a, "model_2": b, "model_3": b.copy()})
    assert [(t.a, t.b) for t in tests] == [("model_1", "model_2"), ("model_1", "model_3"),
                                           ("model_2", "model_3")]
    assert tests[0].better == "model_2" and tests[2].better is None
    # Three tests: the two equal smallest p-values are multiplied by 3 and 2, then made monotone.
    assert tests[0].p_holm == pytest.approx(3 * 22 / 1024)
    assert tests[2].p_holm == 1.0


def confusion_probs():
    labels = np.array([0, 1, 2, 2])
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0, 0, 0, 0, 0],     # right
                      [0.6, 0.4, 0, 0, 0, 0, 0, 0, 0, 0],     # wrong, confidence 0.6
                      [0, 0, 1.0, 0, 0, 0, 0, 0, 0, 0],       # right, probability 1
                      [0, 0.95, 0.05, 0, 0, 0, 0, 0, 0, 0]])  # wrong, confidence 0.95
    return probs, labels


def test_confusion_matrix_mistakes_and_ensemble():
    probs, labels = confusion_probs()
    matrix = networks.confusion_matrix(labels, networks.predictions(probs))
    assert matrix.shape == (10, 10) and matrix.sum() == 4
    assert (matrix[0, 0], matrix[1, 0], matrix[2, 2], matrix[2, 1]) == (1, 1, 1, 1)
    assert networks.confident_mistakes(probs, labels, 5).tolist() == [3, 1]
    mean = networks.ensemble([probs, probs[::-1]])
    assert mean[0, 0] == pytest.approx(0.45) and mean.sum(axis=1) == pytest.approx(np.ones(4))


def test_mcnemar_by_seed_and_the_same_architecture_calibration():
    from helpers import make_run
    from mnist_cnn.scores import test_labels

    runs = {"model_1": [make_run("model_1", s, a, 0.03) for s, a in enumerate((0.99, 0.991))],
            "model_2": [make_run("model_2", 0, 0.995, 0.02)]}
    result = networks.mcnemar_by_seed(runs, test_labels())
    assert list(result.by_seed) == [0]  # seed 1 has one network only
    [test] = result.by_seed[0]
    # make_run's networks are wrong on the first images: 9,900 right against 9,950.
    assert (test.result.only_a, test.result.only_b) == (0, 50) and test.better == "model_2"
    [(model, s1, s2, same)] = result.same_architecture
    assert (model, s1, s2, same.only_a, same.only_b) == ("model_1", 0, 1, 0, 10)
    assert result.same_architecture_share == 1.0  # p = 2^-9: "different", though one architecture
    table = analysis_tables.mcnemar_table(result)
    assert table.rows[0][:3] == ["seed 0", 1, 1]

