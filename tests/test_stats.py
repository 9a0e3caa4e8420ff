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


def test_detectable_difference_and_the_seeds_to_show_it():
    # (t(0.975, 8) + t(0.80, 8)) * sd * sqrt(2 / n) for sd 1, n 5.
    assert stats.detectable_difference(1.0, 5) == pytest.approx(
        (T_975_8 + T_80_8) * math.sqrt(2 / 5), rel=1e-5)
    # Seed variance 2 · 0.067² (two models), no image floor: the classic count.
    n = stats.seeds_to_show_difference(0.037, 2 * 0.067 ** 2, most=100_000)
    assert stats.detectable_difference(0.067, n) <= 0.037 < stats.detectable_difference(0.067, n - 1)
    # The normal approximation 2 (z(0.975) + z(0.8))^2 (sd / d)^2 = 51.5; t adds a seed or two.
    assert 52 <= n <= 55
    assert stats.seeds_to_show_difference(0.0, 2 * 0.067 ** 2) is None
    assert stats.seeds_to_show_difference(1e-9, 2.0, most=1000) is None


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


def test_equivalent_needs_the_90_interval_strictly_inside_the_margin():
    assert stats.equivalent(-0.09, 0.099, 0.1)      # just inside
    assert not stats.equivalent(-0.09, 0.101, 0.1)  # just outside above
    assert not stats.equivalent(-0.1, 0.05, 0.1)    # touching the margin is not inside
    assert not stats.equivalent(None, None, 0.1)    # no interval shows nothing
    assert stats.EQUIVALENCE_CONFIDENCE == 0.90


def test_tost_welch_against_a_hand_computation():
    # a = 1, 2, 3 and b = 0, 0, 3: difference 1, SE sqrt(1/3 + 3/3), 3.2 Welch dof (see above).
    a, b, se, dof = [1.0, 2.0, 3.0], [0.0, 0.0, 3.0], math.sqrt(4 / 3), 3.2
    half = stats.stats.t.ppf(0.95, dof) * se
    # t(0.95, 3.2) from tables lies between t(.95, 4) = 2.132 and t(.95, 3) = 2.353.
    assert 2.132 * se < half < 2.353 * se
    for margin in (3.7, 3.6):  # the upper end 1 + half = 3.6496 is inside 3.7, outside 3.6
        tost = stats.tost_welch(a, b, margin)
        p = max(stats.stats.t.sf((1 + margin) / se, dof), stats.stats.t.cdf((1 - margin) / se, dof))
        assert tost.difference == pytest.approx(1.0)
        assert (tost.low, tost.high) == pytest.approx((1 - half, 1 + half))
        assert tost.p_value == pytest.approx(p)
        assert (tost.p_value < 0.05) == stats.equivalent(tost.low, tost.high, margin)
    assert stats.tost_welch(a, b, 3.7).p_value == pytest.approx(0.04796, abs=1e-5)
    assert stats.tost_welch(a, b, 3.6).p_value == pytest.approx(0.05211, abs=1e-5)
    assert stats.tost_welch([1.0], b, 1.0).p_value is None
    assert stats.tost_welch([2.0, 2.0], [2.0, 2.0], 0.1).p_value == 0.0  # no spread, inside


@pytest.mark.parametrize("difference, interval95, interval90, higher, expected", [
    (0.5, (0.2, 0.8), (0.25, 0.75), True, stats.BETTER),    # clearly above 0, higher is better
    (0.5, (0.2, 0.8), (0.25, 0.75), False, stats.WORSE),    # the same, lower is better
    (-0.5, (-0.8, -0.2), (-0.75, -0.25), True, stats.WORSE),
    (-0.5, (-0.8, -0.2), (-0.75, -0.25), False, stats.BETTER),
    (0.01, (-0.05, 0.07), (-0.04, 0.06), True, stats.EQUAL),  # 90% inside ±0.1
    (0.01, (-0.05, 0.07), (-0.04, 0.06), False, stats.EQUAL),
    (0.01, (-0.2, 0.22), (-0.15, 0.17), True, stats.UNDECIDED),  # neither
    (0.05, (0.02, 0.08), (0.03, 0.07), True, stats.BETTER),  # tiny but clear: direction wins
    (-0.05, (-0.08, -0.02), (-0.07, -0.03), True, stats.WORSE),
])
def test_relation_on_constructed_differences(difference, interval95, interval90, higher, expected):
    assert stats.relation(difference, interval95, interval90, 0.1, higher) == expected


def test_relation_with_a_holm_flag():
    inside, wide = (0.03, 0.07), (-0.15, 0.17)
    assert stats.relation(0.05, None, inside, 0.1, significant=True) == stats.BETTER
    assert stats.relation(0.05, None, inside, 0.1, False, significant=True) == stats.WORSE
    assert stats.relation(0.05, None, inside, 0.1, significant=False) == stats.EQUAL
    assert stats.relation(0.05, None, wide, 0.1, significant=False) == stats.UNDECIDED
    # Holm removes significance the raw 95% interval shows: not clearly different.
    assert stats.relation(0.05, (0.02, 0.08), inside, 0.1, significant=False) == stats.EQUAL
    with pytest.raises(ValueError):
        stats.relation(0.05, None, inside, 0.1)


def test_seeds_to_show_a_difference_with_and_without_an_image_floor():
    # A floor only the test images set: no number of seeds brings the SE below √floor, so a
    # difference under (t + t) · √floor is never shown.
    assert stats.seeds_to_show_difference(0.05, 2 * 0.067 ** 2, floor=0.03 ** 2) is None
    # A floor adds seeds: SE(n)² = 0.009 / n + 0.0004 against 0.1 / (t(0.975) + t(0.8)).
    with_floor = stats.seeds_to_show_difference(0.1, 0.009, floor=0.0004)

    def shown(n):
        dof = 2 * (n - 1)
        quantiles = stats.stats.t.ppf(0.975, dof) + stats.stats.t.ppf(0.8, dof)
        return quantiles * math.sqrt(0.009 / n + 0.0004) <= 0.1

    assert shown(with_floor) and not shown(with_floor - 1)
    assert with_floor > stats.seeds_to_show_difference(0.1, 0.009) + 1
    # A stricter alpha (Bonferroni over 21 pairs) asks for more seeds.
    assert (stats.seeds_to_show_difference(0.2, 0.009, alpha=0.05 / 21)
            > stats.seeds_to_show_difference(0.2, 0.009))
    assert stats.seeds_to_show_difference(0.0, 0.009) is None


def test_seeds_to_fit_an_interval_inside_the_margin():
    # Room 0.05, seed variance 0.02 (SD 0.1 per model): t(0.95, 2(n − 1)) · √(0.02 / n) < 0.05.
    n = stats.seeds_to_fit(0.05, 0.02)

    def half(k):
        return stats.stats.t.ppf(0.95, 2 * (k - 1)) * math.sqrt(0.02 / k)

    assert half(n) < 0.05 <= half(n - 1)
    assert 20 <= n <= 25  # normal approximation: 1.645² · 0.02 / 0.05² = 21.6
    assert stats.seeds_to_fit(0.0, 0.02) is None and stats.seeds_to_fit(-0.1, 0.02) is None
    assert stats.seeds_to_fit(0.05, 0.02, floor=0.04 ** 2) is None  # 1.645 · 0.04 > 0.05
    assert stats.seeds_to_fit(0.05, 0.02, most=10) is None
    assert stats.seeds_to_fit(0.05, 0.0) == 2


def test_image_floor_is_the_images_spread_less_the_seeds():
    # Two models, images alike across seeds: the floor is the variance over images of the
    # per-image difference, over the images. A: right on images 0-1 of 4, B on 0 and 2.
    a = np.array([[1, 1, 0, 0], [1, 1, 0, 0]], float)
    b = np.array([[1, 0, 1, 0], [1, 0, 1, 0]], float)
    difference = np.array([0, 1, -1, 0])
    assert stats.image_floor([a], [b]) == pytest.approx(difference.var(ddof=1) / 4)
    # Seeds that disagree on an image: image 0 right in one seed of two. The seeds' share of the
    # per-image variance (s² = 0.5 at image 0, over 2 runs: 0.25 / image) comes off.
    c = np.array([[1, 0, 0, 0], [0, 0, 0, 0]], float)
    zero = np.zeros((2, 4))
    mean_difference = np.array([0.5, 0, 0, 0])
    expected = (mean_difference.var(ddof=1) - 0.25 / 4) / 4
    assert stats.image_floor([c], [zero]) == pytest.approx(expected)
    # Identical sides have no floor; it never goes below 0.
    assert stats.image_floor([a], [a]) == 0.0
    assert stats.image_floor([np.array([[1, 0], [0, 1]], float)], [np.zeros((2, 2))]) == 0.0
    # A side of two models pools their runs: the floor of [a, a] against [b] is a's against b's.
    assert stats.image_floor([a, a], [b]) == pytest.approx(stats.image_floor([a], [b]))


@pytest.mark.parametrize("value, digits, expected", [
    (0.0997, 1, 0.1), (0.3837, 1, 0.4), (0.0025000000000000005, 2, 0.0025), (150, 1, 200),
    (149, 1, 100), (42, 2, 42), (-0.36, 1, -0.4), (0, 1, 0)])
def test_round_significant(value, digits, expected):
    result = stats.round_significant(value, digits)
    assert result == expected and type(result) is type(expected)


def test_a_count_for_people_keeps_two_digits_then_one():
    assert [stats.count_for_people(n) for n in (2, 13, 42, 99, 100, 137, 150, 949, 950, 1000)] == [
        2, 13, 42, 99, 100, 100, 200, 900, 1000, 1000]


def test_the_interval_levels_are_written_from_their_confidences():
    assert (stats.LEVEL, stats.EQUIVALENCE_LEVEL) == (f"{100 * stats.CONFIDENCE:.0f}%",
                                                      f"{100 * stats.EQUIVALENCE_CONFIDENCE:.0f}%")
    assert stats.EQUIVALENCE_CONFIDENCE == 1 - 2 * stats.SIGNIFICANCE  # a TOST at α is 1 − 2α
