"""Statistics over seeds: intervals, tests, a trend test and power, on plain arrays.

Pure functions of numbers, so the study's analysis (`analysis`), its tables and the tests call the
same code. Every random draw takes a seeded numpy Generator: the same inputs give the same output.
The bootstraps over seeds and test images are in `resampling`.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95     # of every interval
SIGNIFICANCE = 0.05   # of every test, family-wise (Holm) where a family of tests is made
POWER = 0.80          # the chance a difference of the stated size would be detected
RESAMPLES = 10_000    # bootstrap resamples and simulation draws
EXACT_LIMIT = 200_000  # arrangements a permutation test enumerates before it samples instead
RNG_SEED = 0          # every resampling starts from this seed: the same data, the same figures
EQUIVALENCE_CONFIDENCE = 0.90  # a TOST at α = 0.05 is a 90% interval inside ±margin (Lakens 2017)
LEVEL, EQUIVALENCE_LEVEL = f"{CONFIDENCE:.0%}", f"{EQUIVALENCE_CONFIDENCE:.0%}"  # as words say them

BETTER = "better"     # clearly different (significant, interval off 0), in the better direction
WORSE = "worse"       # clearly different, in the worse direction
EQUAL = "equal"       # practically equal: the 90% interval lies inside ±margin
UNDECIDED = "undecided"  # neither shown different nor shown equal


def rng():
    """Return the seeded generator every resampling uses."""
    return np.random.default_rng(RNG_SEED)


def holm(p_values):
    """Return Holm's step-down adjusted p-values, in the order given."""
    p_values = list(p_values)
    order = sorted(range(len(p_values)), key=p_values.__getitem__)
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def pooled_sd(groups):
    """Return the pooled within-group SD and its dof; (None, 0) when no group has two values."""
    groups = [np.asarray(g, float) for g in groups]
    dof = sum(g.size - 1 for g in groups if g.size > 1)
    if dof == 0:
        return None, 0
    squares = sum(float(((g - g.mean()) ** 2).sum()) for g in groups if g.size > 1)
    return math.sqrt(squares / dof), dof


@dataclass(frozen=True)
class Estimate:
    """A mean over runs, the SD it rests on, and its t interval; `pooled`: SD from all groups."""

    mean: float
    sd: float | None
    dof: int
    low: float | None
    high: float | None
    n: int
    pooled: bool = False


def mean_estimate(values, sd=None, dof=None, confidence=CONFIDENCE):
    """Return the mean and t interval of `values` (on `sd`/`dof` if given; none for one value)."""
    values = np.asarray(values, float)
    if values.size == 0:
        raise ValueError("no values")
    mean, pooled = float(values.mean()), sd is not None
    if not pooled:
        if values.size < 2:
            return Estimate(mean, None, 0, None, None, 1)
        sd, dof = float(values.std(ddof=1)), values.size - 1
    half = stats.t.ppf((1 + confidence) / 2, dof) * sd / math.sqrt(values.size)
    return Estimate(mean, sd, dof, mean - half, mean + half, int(values.size), pooled)


def prediction_interval(estimate, confidence=CONFIDENCE):
    """Return (low, high) where one new run falls with `confidence`; (None, None) without an SD."""
    if estimate.sd is None:
        return None, None
    half = (stats.t.ppf((1 + confidence) / 2, estimate.dof) * estimate.sd
            * math.sqrt(1 + 1 / estimate.n))
    return estimate.mean - half, estimate.mean + half


@dataclass(frozen=True)
class Difference:
    """mean(a) − mean(b) with Welch's t interval and two-sided p-value (None under 2 each)."""

    difference: float
    low: float | None
    high: float | None
    p_value: float | None


def _welch_parts(a, b):
    """Return mean(a) − mean(b), its SE and Welch dof; SE and dof None under two values each."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    difference = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return difference, None, None
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return difference, 0.0, None
    dof = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    return difference, se, dof


def welch(a, b, confidence=CONFIDENCE):
    """Return the difference of the means of `a` and `b` with Welch's interval and test."""
    difference, se, dof = _welch_parts(a, b)
    if se is None:
        return Difference(difference, None, None, None)
    if se == 0:
        return Difference(difference, difference, difference, 1.0 if difference == 0 else 0.0)
    half = stats.t.ppf((1 + confidence) / 2, dof) * se
    p_value = 2 * stats.t.sf(abs(difference) / se, dof)
    return Difference(difference, difference - half, difference + half, float(p_value))


@dataclass(frozen=True)
class Equivalence:
    """mean(a) − mean(b), its 90% Welch interval and TOST p-value (None under 2 each)."""

    difference: float
    low: float | None
    high: float | None
    p_value: float | None  # the larger one-sided p: under α exactly when low..high is in ±margin


def tost_welch(a, b, margin):
    """Test that mean(a) − mean(b) lies inside ±`margin`: two one-sided Welch tests (TOST)."""
    if margin < 0:
        raise ValueError("the margin must not be negative")
    difference, se, dof = _welch_parts(a, b)
    if se is None:
        return Equivalence(difference, None, None, None)
    if se == 0:
        return Equivalence(difference, difference, difference,
                           0.0 if abs(difference) < margin else 1.0)
    half = float(stats.t.ppf((1 + EQUIVALENCE_CONFIDENCE) / 2, dof) * se)
    above_lower = stats.t.sf((difference + margin) / se, dof)   # H0: difference <= −margin
    below_upper = stats.t.cdf((difference - margin) / se, dof)  # H0: difference >= +margin
    return Equivalence(difference, difference - half, difference + half,
                       float(max(above_lower, below_upper)))


def equivalent(low90, high90, margin):
    """Return whether the 90% interval lies strictly inside ±margin; False without one."""
    if low90 is None or high90 is None:
        return False
    return -margin < low90 and high90 < margin


def relation(difference, interval95, interval90, margin, higher_is_better=True, significant=None):
    """Return BETTER or WORSE if A − B is clearly not 0, else EQUAL within ±margin or UNDECIDED."""
    if interval95 is None and significant is None:
        raise ValueError("give the 95% interval or a significance flag")
    clear = difference != 0
    if significant is not None:
        clear = clear and significant
    if interval95 is not None:
        low, high = interval95
        clear = clear and low is not None and high is not None and (low > 0 or high < 0)
    if clear:  # a shown direction outranks "within the margin": EQUAL would hide an ordering
        return BETTER if (difference > 0) == higher_is_better else WORSE
    return EQUAL if equivalent(*interval90, margin) else UNDECIDED


def prob_of_improvement(a, b):
    """Return P(a run of A scores higher than a run of B), counting ties as half."""
    a, b = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    # Bouthillier et al. (2021)'s probability of outperforming: Mann-Whitney U over all pairs.
    return float(((a > b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size))


def prob_of_improvement_interval(a, b, confidence=CONFIDENCE, resamples=RESAMPLES):
    """Return (P(A > B), low, high): the percentile bootstrap interval over both models' seeds."""
    a, b, generator = np.asarray(a, float), np.asarray(b, float), rng()
    a_draws = a[generator.integers(0, a.size, (resamples, a.size))][:, :, None]
    b_draws = b[generator.integers(0, b.size, (resamples, b.size))][:, None, :]
    draws = ((a_draws > b_draws).mean(axis=(1, 2)) + 0.5 * (a_draws == b_draws).mean(axis=(1, 2)))
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return prob_of_improvement(a, b), float(low), float(high)


def complete_split_p(m, n):
    """Return the two-sided exact rank-test p of `m` runs all beating `n` runs (or all losing)."""
    return min(1.0, 2 / math.comb(m + n, m))


def prob_best(estimates, higher_is_better=True, draws=RESAMPLES):
    """Return {name: probability that its mean is the best}, leaving out models without an SD."""
    names = [name for name, e in estimates.items() if e.sd is not None and e.dof > 0]
    if not names:
        return {}
    generator = rng()
    sampled = np.stack([estimates[n].mean + estimates[n].sd / math.sqrt(estimates[n].n)
                        * generator.standard_t(estimates[n].dof, draws) for n in names])
    winner = sampled.argmax(axis=0) if higher_is_better else sampled.argmin(axis=0)
    counts = np.bincount(winner, minlength=len(names))
    return {name: float(count / draws) for name, count in zip(names, counts)}


def jonckheere_statistic(groups):
    """Return J: over ordered pairs of groups (i < j), the pairs x_i < x_j plus half the ties."""
    return float(_jonckheere([np.asarray(g, float) for g in groups]))


def _jonckheere(groups):
    """Return J of `groups`, or J of each row where every group is a (rows, size) array."""
    total = 0.0
    for i, lower in enumerate(groups):
        for upper in groups[i + 1:]:
            low, high = lower[..., :, None], upper[..., None, :]
            total = total + (low < high).sum(axis=(-2, -1)) + 0.5 * (low == high).sum(axis=(-2, -1))
    return total


def _assignments(indices, sizes):
    """Yield every way to deal `indices` into groups of `sizes`, the groups one after another."""
    if not sizes:
        yield ()
        return
    for chosen in itertools.combinations(indices, sizes[0]):
        rest = [i for i in indices if i not in chosen]
        for tail in _assignments(rest, sizes[1:]):
            yield chosen + tail


@dataclass(frozen=True)
class Trend:
    """A Jonckheere–Terpstra test that values increase along the groups' order."""

    statistic: float
    p_value: float
    exact: bool        # every arrangement counted (else sampled)
    permutations: int


def jonckheere(groups, increasing=True, resamples=RESAMPLES):
    """Test by permutation that values rise along `groups` (fall unless `increasing`); one-sided."""
    groups = [np.asarray(g, float) * (1 if increasing else -1) for g in groups if len(g)]
    if len(groups) < 2:
        raise ValueError("a trend needs at least two groups with values")
    values, sizes = np.concatenate(groups), [g.size for g in groups]
    observed = jonckheere_statistic(groups)
    arrangements = math.factorial(len(values)) // math.prod(map(math.factorial, sizes))
    exact = arrangements <= EXACT_LIMIT
    if exact:  # every way to deal the values into groups of these sizes, one per row
        rows = values[np.array(list(_assignments(list(range(len(values))), sizes)))]
    else:
        rows = rng().permuted(np.tile(values, (resamples, 1)), axis=1)
    bounds = np.cumsum([0] + sizes)
    statistics = _jonckheere([rows[:, bounds[k]:bounds[k + 1]] for k in range(len(sizes))])
    hits = int((statistics >= observed - 1e-9).sum())  # float noise must not break a tie
    if exact:
        return Trend(observed, hits / len(rows), True, len(rows))
    return Trend(observed, (1 + hits) / (1 + resamples), False, resamples)


def detectable_difference(sd, n, alpha=SIGNIFICANCE, power=POWER):
    """Return the smallest difference of means that `n` runs per model detect with `power`."""
    if n < 2:
        return math.inf
    dof = 2 * n - 2
    return (stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(power, dof)) * sd * math.sqrt(2 / n)


def _fewest(enough, most):
    """Return the fewest n ≥ 2 for which monotone `enough(n)` holds, or None beyond `most`."""
    high = 2
    while not enough(high):
        high *= 2
        if high > 2 * most:
            return None
    low = max(2, high // 2)
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle + 1, high)
    return low if low <= most else None


SEEDS_MOST = 1_000  # beyond this many seeds per model, a question is one the test set cannot decide


def _standard_error(seed_variance, floor, n):
    """Return the SE of a difference with `n` seeds per model, the test images' `floor` included."""
    return math.sqrt(seed_variance / n + floor)


def seeds_to_show_difference(difference, seed_variance, floor=0.0, groups=2, alpha=SIGNIFICANCE,
                             most=SEEDS_MOST):
    """Return the fewest seeds per model for a test at `alpha` to detect `difference`, or None."""
    if difference == 0:
        return None

    def enough(n):
        dof = groups * (n - 1)
        quantiles = stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(POWER, dof)
        return quantiles * _standard_error(seed_variance, floor, n) <= abs(difference)

    return _fewest(enough, most)


def seeds_to_fit(room, seed_variance, floor=0.0, groups=2, most=SEEDS_MOST):
    """Return the fewest seeds per model whose 90% interval half-width is below `room`, or None."""
    if room <= 0:
        return None
    quantile = (1 + EQUIVALENCE_CONFIDENCE) / 2
    return _fewest(lambda n: stats.t.ppf(quantile, groups * (n - 1))
                   * _standard_error(seed_variance, floor, n) < room, most)


def image_floor(side_a, side_b):
    """Return the variance of mean(A) − mean(B) that the test images add and seeds never remove."""
    def side(arrays):
        arrays = [np.atleast_2d(np.asarray(a, float)) for a in arrays]
        runs = sum(a.shape[0] for a in arrays)
        noise = sum(a.shape[0] * a.var(axis=0, ddof=1) for a in arrays if a.shape[0] > 1)
        return np.concatenate(arrays).mean(axis=0), noise / runs ** 2

    (mean_a, noise_a), (mean_b, noise_b) = side(side_a), side(side_b)
    difference = mean_a - mean_b
    if difference.size < 2:
        raise ValueError("an image floor needs two or more images")
    # Method of moments: the per-image difference's spread less what the seeds add to it.
    excess = float(difference.var(ddof=1) - np.mean(noise_a + noise_b))
    return max(0.0, excess) / difference.size


def round_significant(value, digits):
    """Return `value` to `digits` significant digits, halves away from 0; an int stays an int."""
    if value == 0:
        return value
    places = digits - 1 - math.floor(math.log10(abs(value)))
    step = 10.0 ** -places
    rounded = math.copysign(math.floor(abs(value) / step + 0.5) * step, value)
    if isinstance(value, int):
        return int(round(rounded))
    return round(rounded, max(places, 0))


def count_for_people(n):
    """Return `n` as a reader takes it: two significant digits under 100, one from 100 on."""
    return round_significant(int(n), 2 if n < 100 else 1)


@dataclass(frozen=True)
class Effect:
    """One coefficient of a linear model: its value, interval, p-value and detectable size."""

    value: float
    low: float
    high: float
    p_value: float
    detectable: float  # the smallest |effect| this design detects with POWER at SIGNIFICANCE
    dof: int


def additive_effect(values, groups, factor, confidence=CONFIDENCE):
    """Return the effect of a two-level `factor` (True − False) within groups, by least squares."""
    values, factor = np.asarray(values, float), np.asarray(factor, bool)
    names = sorted(set(groups))
    design = np.column_stack([[g == name for g in groups] for name in names] + [factor]).astype(float)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError("no group has runs at both levels of the factor")
    dof = len(values) - design.shape[1]
    if dof < 1:
        raise ValueError("too few runs to estimate the spread")
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = values - design @ coefficients
    variance = float(residual @ residual) / dof
    se = math.sqrt(variance * np.linalg.inv(design.T @ design)[-1, -1])
    value = float(coefficients[-1])
    half = stats.t.ppf((1 + confidence) / 2, dof) * se
    p_value = float(2 * stats.t.sf(abs(value) / se, dof)) if se > 0 else float(value == 0)
    detectable = (stats.t.ppf(1 - SIGNIFICANCE / 2, dof) + stats.t.ppf(POWER, dof)) * se
    return Effect(value, value - half, value + half, p_value, float(detectable), dof)


@dataclass(frozen=True)
class Slope:
    """A least-squares slope per step and its one-sided p-value for a rise."""

    slope: float
    p_rise: float


def slope(values):
    """Return the least-squares slope of `values` against their index, with P(rise) one-sided."""
    values = np.asarray(values, float)
    fit = stats.linregress(np.arange(values.size), values, alternative="greater")
    return Slope(float(fit.slope), float(fit.pvalue))
