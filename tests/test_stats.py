"""Statistics over seeds, against cases computed by hand or by brute force."""

import itertools
import math

import numpy as np
import pytest

from mnist_cnn import stats

T_975_2 = 4.302652729911275   # t(0.975) with 2 degrees of freedom, from tables
T_975_8, T_80_8 = 2.306004135, 0.888889  # t(0.975) and t(0.80) with 8 degrees of freedom


def test_holm_adjusts_step_down_and_keeps_order():
    # Sorted: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to 0.06 (monotone).
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_mean_estimate_uses_students_t():
    estimate = stats.mean_estimate([1.0, 2.0, 3.0])
    half = T_975_2 / math.sqrt(3)  # t * sd / sqrt(n), sd = 1
    assert (estimate.mean, estimate.sd, estimate.dof, estimate.n) == (2.0, 1.0, 2, 3)
    assert (estimate.low, estimate.high) == pytest.approx((2 - half, 2 + half))
    assert not estimate.pooled
    assert stats.mean_estimate([0.99]).low is None


def test_pooled_sd_and_an_estimate_that_borrows_it():
    # Within-group squares: (1-2)^2 + (3-2)^2 = 2 and (4-5)^2 + (6-5)^2 = 2; dof 1 + 1.
    sd, dof = stats.pooled_sd([[1.0, 3.0], [4.0, 6.0], [9.0]])
    assert (sd, dof) == (pytest.approx(math.sqrt(4 / 2)), 2)
    borrowed = stats.mean_estimate([9.0], sd, dof)
    assert borrowed.pooled and borrowed.low == pytest.approx(9 - T_975_2 * sd)
    assert stats.pooled_sd([[1.0], [2.0]]) == (None, 0)


def test_prediction_interval_for_one_new_run():
    low, high = stats.prediction_interval(stats.mean_estimate([1.0, 2.0, 3.0]))
    half = T_975_2 * 1.0 * math.sqrt(1 + 1 / 3)
    assert (low, high) == pytest.approx((2 - half, 2 + half))
    assert stats.prediction_interval(stats.mean_estimate([5.0])) == (None, None)


def test_welch_interval_and_p_value():
    difference = stats.welch([1.0, 2.0, 3.0], [0.0, 0.0, 3.0])
    se = math.sqrt(1 / 3 + 3 / 3)
    dof = (1 / 3 + 1) ** 2 / ((1 / 3) ** 2 / 2 + 1 ** 2 / 2)
    assert difference.difference == pytest.approx(1.0) and dof == pytest.approx(3.2)
    # t(0.975, 3.2) from tables lies between t(.975, 3) = 3.182 and t(.975, 4) = 2.776.
    assert 1 + 2.776 * se < difference.high < 1 + 3.182 * se
    # t = 1 / se = 0.866 on 3.2 dof: two-sided p between those of 3 dof (0.450) and 4 (0.435).
    assert 0.435 < difference.p_value < 0.450
    assert stats.welch([1.0], [2.0, 3.0]).p_value is None


def test_probability_of_improvement_counts_pairs_and_half_the_ties():
    # a = 1, 2, 3 against b = 2, 2: 2 losses, 2 ties, 2 wins out of 6 pairs.
    assert stats.prob_of_improvement([1, 2, 3], [2, 2]) == pytest.approx((2 + 0.5 * 2) / 6)
    # a = 3, 4 against b = 1, 2, 3: 3 beats 1 and 2, ties 3; 4 beats all three.
    assert stats.prob_of_improvement([3, 4], [1, 2, 3]) == pytest.approx(5.5 / 6)
    assert stats.prob_of_improvement_interval([5, 6, 7], [1, 2]) == (1.0, 1.0, 1.0)
    p, low, high = stats.prob_of_improvement_interval([1, 3, 5], [2, 4, 6])
    assert p == pytest.approx(3 / 9) and 0 <= low < p < high <= 1


def test_probability_of_being_best_follows_the_means():
    far = {"a": stats.mean_estimate([10.0, 10.1, 9.9]), "b": stats.mean_estimate([1.0, 1.1, 0.9])}
    assert stats.prob_best(far) == {"a": 1.0, "b": 0.0}
    assert stats.prob_best(far, higher_is_better=False) == {"a": 0.0, "b": 1.0}
    same = {name: stats.mean_estimate([1.0, 2.0, 3.0]) for name in "abcd"}
    chances = stats.prob_best(same)
    assert sum(chances.values()) == pytest.approx(1) and all(0.2 < p < 0.3 for p in chances.values())


def brute_force_trend_p(groups):
    """Share of all orderings of the values into the groups' sizes with J at least the observed."""
    def j(parts):
        return sum((x < y) + 0.5 * (x == y) for i, low in enumerate(parts)
                   for high in parts[i + 1:] for x in low for y in high)

    sizes = [len(g) for g in groups]
    values = [v for g in groups for v in g]
    observed, hits, total = j(groups), 0, 0
    for order in itertools.permutations(values):
        cut = np.cumsum([0] + sizes)
        hits += j([order[cut[k]:cut[k + 1]] for k in range(len(sizes))]) >= observed
        total += 1
    return observed, hits / total


@pytest.mark.parametrize("groups", [[[1, 3], [2, 5], [4, 6]], [[2, 2], [1, 3], [2]],
                                    [[6, 5], [4, 3], [2, 1]]])
def test_jonckheere_matches_a_brute_force_permutation_count(groups):
    observed, p = brute_force_trend_p(groups)
    trend = stats.jonckheere(groups)
    assert trend.exact and trend.statistic == observed
    assert trend.p_value == pytest.approx(p)


def test_jonckheere_hand_counted_statistic_and_direction():
    # (1,3) vs (2,5): 1<2, 1<5, 3<5 = 3; vs (4,6): 4; (2,5) vs (4,6): 2<4, 2<6, 5<6 = 3.
    assert stats.jonckheere_statistic([[1, 3], [2, 5], [4, 6]]) == 10
    rising = [[1, 2], [3, 4], [5, 6]]
    assert stats.jonckheere(rising).p_value == pytest.approx(1 / 90)  # the one best ordering
    assert stats.jonckheere(rising, increasing=False).p_value == 1.0


def test_jonckheere_samples_when_there_are_too_many_orderings(monkeypatch):
    groups = [[1, 3], [2, 5], [4, 6]]
    exact = stats.jonckheere(groups).p_value
    monkeypatch.setattr(stats, "EXACT_LIMIT", 0)
    sampled = stats.jonckheere(groups)
    assert not sampled.exact and sampled.permutations == stats.RESAMPLES
    assert sampled.p_value == pytest.approx(exact, abs=0.02)


def test_detectable_difference_and_seeds_needed():
    # (t(0.975, 8) + t(0.80, 8)) * sd * sqrt(2 / n) for sd 1, n 5.
    assert stats.detectable_difference(1.0, 5) == pytest.approx(
        (T_975_8 + T_80_8) * math.sqrt(2 / 5), rel=1e-5)
    n = stats.seeds_needed(0.037, 0.067)
    assert stats.detectable_difference(0.067, n) <= 0.037 < stats.detectable_difference(0.067, n - 1)
    # The normal approximation 2 (z(0.975) + z(0.8))^2 (sd / d)^2 = 51.5; t adds a seed or two.
    assert 52 <= n <= 55
    assert stats.seeds_needed(0.0, 0.067) is None
    assert stats.seeds_needed(1e-9, 1.0, most=1000) is None


def test_additive_effect_within_groups():
    # Group a: level 0 -> 1, 3; level 1 -> 2, 4. Group b: 5, 7 and 6, 8. The factor adds 1 in
    # each group; residuals are all ±1: variance 8 / (8 - 3) = 1.6, SE^2 = 1.6 / 2 = 0.8.
    effect = stats.additive_effect([1, 3, 2, 4, 5, 7, 6, 8], list("aaaabbbb"),
                                   [0, 0, 1, 1, 0, 0, 1, 1])
    se = math.sqrt(0.8)
    assert effect.value == pytest.approx(1.0) and effect.dof == 5
    assert effect.high - effect.value == pytest.approx(2.570582 * se, rel=1e-5)  # t(0.975, 5)
    assert effect.p_value == pytest.approx(0.3144, abs=1e-3)  # t = 1.118 on 5 dof
    with pytest.raises(ValueError):  # the factor never varies within a group
        stats.additive_effect([1, 2, 3, 4], list("aabb"), [0, 0, 1, 1])


def test_slope_and_its_one_sided_p():
    rising = stats.slope([1.0, 2.1, 2.9, 4.0, 5.1])
    assert rising.slope == pytest.approx(1.01) and rising.p_rise < 0.001
    assert stats.slope([5.0, 4.0, 3.1, 2.0, 1.0]).p_rise > 0.999
