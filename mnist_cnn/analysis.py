"""The study's analysis, from the saved test probabilities only (never Keras).

Two levels, kept apart because they answer different questions:
- architectures, judged over seeds: each model's mean and interval, the original's result against
  where one new run of ours would fall (fidelity), differences between architectures (Welch,
  Holm), the probability that a run of one beats a run of another, each model's chance of being
  the best, the depth trend (Jonckheere–Terpstra), the seed-to-seed noise, the backend's effect,
  overfitting over seeds;
- relations against a margin of practical equivalence (`margins`, from runs.py): every pair of
  models, every step between depths and the backend's effect is better, worse, equal (its 90%
  interval inside ±margin) or undecided, on intervals from a two-way bootstrap over seeds and test images
  (paired on images) beside the seeds-only ones, with the seeds per model that would decide
  what is undecided; and the original's claims judged from those relations (numbers only:
  `findings` puts them in words);
- trained networks, one seed each: exact McNemar tests (do two networks differ on these 10,000
  images?), with how often two seeds of one architecture already "differ", confusion matrices,
  the most confidently wrong digits and the ensemble.
Every function takes scores, histories or arrays and returns plain values.
"""

import dataclasses
import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from . import resampling, stats
from .data import DEFAULT_DATASET, NUM_CLASSES
from .models import CONV_LAYERS, MODEL_NAMES
from .runs import (EPOCHS, HEADLINE_SEED, LOG_LOSS_MARGIN, OVERFIT_MARGIN, TEST_SIZE,
                   TYPICAL_ERROR, TYPICAL_LOG_LOSS)
from .scores import (accuracy, correctness, images_right, log_loss, per_image_log_loss,
                     predictions)
from .stats import CONFIDENCE, SIGNIFICANCE, holm
from .tables import signed, signed_interval, text_table

# Each model's parameter count and training FLOPs per image (scripts/count_costs.py).
COSTS = Path(__file__).resolve().parent / "reference" / "costs.json"
# A model with fewer seeds than this borrows the seed-to-seed SD pooled over all models: an SD
# from two runs is too rough to build an interval on.
POOL_BELOW = 3
# Overfitting is read from the second half of training (epochs 16-30 of 30): past the first
# epochs' fall, where a rising validation loss means the model is fitting noise.
OVERFIT_FROM_EPOCH = EPOCHS // 2 + 1
SHALLOWEST = "model_1"  # the only two-conv-layer model: every depth claim is also judged without it

SUPPORTED, PARTLY, NOT_SUPPORTED, UNDECIDED = (
    "supported", "partly supported", "not supported", "undecided")


def load_costs(path=COSTS):
    """Return {model: {"params": ..., "train_flops_per_image": ...}}."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


# --- measures -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """A test score as the analysis reads it: how to get it from a run and which way is better."""

    name: str                 # "accuracy" or "log_loss"
    label: str                # as a reader sees it
    higher_is_better: bool
    digits: int               # decimals shown
    unit: str                 # after a value ("%" or "")
    difference_unit: str      # after a difference ("pp" or "")
    bounds: tuple             # the values a run can take: intervals for one run are cut to them
    # Positive and skewed (a log loss): the interval for one run is built on the log of the
    # values, so that it stays above 0 and widens upwards, as such values spread.
    log_scale: bool = False

    def of(self, score):
        """Return this measure of a RunScore (accuracy in percent: images right / 100)."""
        return score.accuracy_percent if self.name == "accuracy" else score.log_loss

    def original(self, reference, model):
        """Return the original's value, from its logs (accuracy as images right / 100)."""
        values = reference["models"][model]
        if self.name == "accuracy":
            return images_right(values["test_accuracy"]) / (TEST_SIZE / 100)
        return values["test_loss"]

    def text(self, value):
        return f"{value:.{self.digits}f}{self.unit}"

    @property
    def difference_suffix(self):
        """Return what follows a difference: ' pp', or nothing for a unitless measure."""
        return f" {self.difference_unit}" if self.difference_unit else ""

    def difference_text(self, value):
        return signed(value, self.digits) + self.difference_suffix

    def difference_interval(self, low, high):
        """Return the interval of a difference, '[-0.10 pp, +0.04 pp]' (tables.signed_interval)."""
        return signed_interval(low, high, self.digits, self.difference_suffix)

    def better(self, a, b):
        """Whether value `a` is better than `b`."""
        return a > b if self.higher_is_better else a < b


ACCURACY = Measure("accuracy", "test accuracy", True, 2, "%", "pp", (0.0, 100.0))
LOG_LOSS = Measure("log_loss", "test log loss", False, 4, "", "", (0.0, math.inf),
                   log_scale=True)
MEASURES = (ACCURACY, LOG_LOSS)


def values(scores, measure):
    """Return {model: [the measure of each run]}."""
    return {name: [measure.of(s) for s in runs] for name, runs in scores.items()}


# --- practical equivalence: margins, and each run's score on every test image ------------

OVERFITTING_SLOPE = "overfitting_slope"  # the margin of a second-half validation-loss slope
# What each margin is measured in: a difference of accuracies, of log losses (natural log), of
# slopes in % of the mean validation loss per epoch.
MARGIN_UNITS = {"accuracy": "pp", "log_loss": "nats", OVERFITTING_SLOPE: "% per epoch"}


def margins(dataset=DEFAULT_DATASET):
    """Return {measure name: margin}: the differences `dataset`'s study calls practically none.

    Computed from the typical scores in runs.py: accuracy √(2p(1−p)/TEST_SIZE) in pp, one
    significant digit (p the typical error); log loss LOG_LOSS_MARGIN of the typical log loss;
    the overfitting slope OVERFIT_MARGIN on every data set.
    """
    if dataset not in TYPICAL_ERROR:
        raise ValueError(f"no margins for data set {dataset!r}: add its typical scores to runs.py")
    error = TYPICAL_ERROR[dataset]
    return {ACCURACY.name: stats.round_significant(
                100 * math.sqrt(2 * error * (1 - error) / TEST_SIZE), 1),
            LOG_LOSS.name: stats.round_significant(LOG_LOSS_MARGIN * TYPICAL_LOG_LOSS[dataset], 2),
            OVERFITTING_SLOPE: OVERFIT_MARGIN}


class PerImage:
    """Every run's score on each test image, {measure name: {model: (seeds, images) array}}.

    Accuracy as 100 × right (an array's mean is the run's accuracy in percent), log loss as each
    image's clipped cross-entropy. Hashed by content, so that the bootstrap over a study runs once
    however often notebooks and tests ask (functools.lru_cache).
    """

    def __init__(self, arrays):
        self.arrays = {measure: {name: np.atleast_2d(np.asarray(a, float))
                                 for name, a in by_model.items()}
                       for measure, by_model in arrays.items()}
        digest = hashlib.blake2b(digest_size=16)
        for measure, by_model in sorted(self.arrays.items()):
            for name, array in sorted(by_model.items()):
                digest.update(f"{measure}/{name}/{array.shape}".encode())
                digest.update(array.tobytes())
        self.key = digest.digest()

    def __getitem__(self, measure_name):
        return self.arrays[measure_name]

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, PerImage) and other.key == self.key


def per_image(runs_by_model, labels):
    """Return the PerImage of {model: [Run]} (models without runs left out), from the saved
    test probabilities."""
    runs_by_model = {name: runs for name, runs in runs_by_model.items() if runs}
    return PerImage({
        ACCURACY.name: {name: [100.0 * correctness(run.probs, labels) for run in runs]
                        for name, runs in runs_by_model.items()},
        LOG_LOSS.name: {name: [per_image_log_loss(run.probs, labels) for run in runs]
                        for name, runs in runs_by_model.items()}})


def _depth_arrays(by_model):
    """Return {conv layers: [each model's (seeds, images) array]} of {model: array}, the seven's
    (a user's model has no place among the original's depths)."""
    depths = {}
    for name, array in by_model.items():
        if name in CONV_LAYERS:
            depths.setdefault(CONV_LAYERS[name], []).append(array)
    return depths


@functools.lru_cache(maxsize=8)
def _draws(images):
    """Return {(measure name, model or conv layers): bootstrap draws of the mean} of a PerImage.

    One two-way bootstrap (resampling.two_way_bootstrap) for every measure, model and depth (a
    depth's runs pooled), so all of them see the same resampled images: every difference between
    two of them is paired on images.
    """
    table = {}
    for measure, by_model in images.arrays.items():
        table.update({(measure, name): array for name, array in by_model.items()})
        table.update({(measure, depth): np.concatenate(arrays)
                      for depth, arrays in _depth_arrays(by_model).items()})
    return resampling.two_way_bootstrap(table)


# --- architectures over seeds ------------------------------------------------------------

def seed_noise(scores, measure, without=()):
    """Return the seed-to-seed SD pooled over the models (those in `without` left out), and dof."""
    return stats.pooled_sd([v for name, v in values(scores, measure).items()
                            if name not in without])


# Means of whole image counts can tie exactly; float noise past this many decimals must not
# break a tie.
MEAN_DECIMALS = 9


def ranking(estimates, measure):
    """Return the models best first by mean, as tiers of models whose means tie (names sorted)."""
    level = {name: round(e.mean, MEAN_DECIMALS) for name, e in estimates.items()}
    order = sorted(level, key=lambda n: (-level[n] if measure.higher_is_better else level[n], n))
    tiers = []
    for name in order:
        if tiers and level[tiers[-1][0]] == level[name]:
            tiers[-1].append(name)
        else:
            tiers.append([name])
    return [tuple(tier) for tier in tiers]


def model_estimates(scores, measure, transform=None):
    """Return {model: Estimate} of the measure's mean over seeds (of `transform` of each value).

    A model with fewer than POOL_BELOW seeds uses the SD pooled over every model (marked
    `pooled`); the others their own.
    """
    by_model = values(scores, measure)
    if transform is not None:
        by_model = {name: [transform(v) for v in model_values]
                    for name, model_values in by_model.items()}
    sd, dof = stats.pooled_sd(list(by_model.values()))
    estimates = {}
    for name, model_values in by_model.items():
        if len(model_values) < POOL_BELOW and sd is not None:
            estimates[name] = stats.mean_estimate(model_values, sd, dof)
        else:
            estimates[name] = stats.mean_estimate(model_values)
    return estimates


@dataclass(frozen=True)
class Fidelity:
    """The original's result against the 95% prediction interval of one new run of ours."""

    model: str
    measure: str
    original: float
    mean: float
    low: float | None
    high: float | None
    seeds: int
    pooled: bool

    @property
    def inside(self):
        """Whether the original's value lies inside the interval (None without one)."""
        if self.low is None:
            return None
        # Both accuracies are whole images / 100: a tolerance far below one image absorbs the
        # floats' last bits, so that the same count is never called outside.
        slack = 1e-9 * max(1.0, abs(self.original))
        return bool(self.low - slack <= self.original <= self.high + slack)


def fidelity(scores, reference, measure):
    """Return one Fidelity per model with runs: is the original's result one we could get?"""
    entries = []
    means = model_estimates(scores, measure)
    built_on = model_estimates(scores, measure, math.log) if measure.log_scale else means
    for name, estimate in built_on.items():
        low, high = stats.prediction_interval(estimate)
        if low is not None and measure.log_scale:
            low, high = math.exp(low), math.exp(high)
        elif low is not None:  # a run's score cannot leave its range (accuracy ≤ 100%)
            low, high = max(low, measure.bounds[0]), min(high, measure.bounds[1])
        entries.append(Fidelity(name, measure.name, measure.original(reference, name),
                                means[name].mean, None if low is None else float(low),
                                None if high is None else float(high), estimate.n,
                                estimate.pooled))
    return entries


@dataclass(frozen=True)
class ArchitecturePair:
    """Two architectures compared over their seeds on one measure."""

    a: str
    b: str
    difference: stats.Difference   # mean(a) − mean(b), Welch
    p_holm: float | None
    p_a_beats_b: float             # P(a run of a scores better than a run of b)
    p_low: float
    p_high: float

    @property
    def significant(self):
        return self.p_holm is not None and self.p_holm < SIGNIFICANCE


def model_order(names):
    """Return `names` in the order pairs take them: the seven's, then users' models as given."""
    return ([name for name in MODEL_NAMES if name in names]
            + [name for name in names if name not in MODEL_NAMES])


def architecture_pairs(scores, measure):
    """Return every pair of models with runs: Welch test over seeds (Holm over all pairs) and
    the probability that a run of one beats a run of the other, with a bootstrap interval."""
    return list(_architecture_pairs(_hashable(scores), measure))


@functools.lru_cache(maxsize=16)
def _architecture_pairs(scores, measure):
    """architecture_pairs over hashable scores: the bootstraps run once per study and measure."""
    by_model = values(dict(scores), measure)
    names = model_order(by_model)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    differences = [stats.welch(by_model[a], by_model[b]) for a, b in pairs]
    testable = [i for i, d in enumerate(differences) if d.p_value is not None]
    adjusted = dict(zip(testable, holm([differences[i].p_value for i in testable])))
    sign = 1 if measure.higher_is_better else -1
    result = []
    for i, ((a, b), difference) in enumerate(zip(pairs, differences)):
        p, low, high = stats.prob_of_improvement_interval(
            [sign * v for v in by_model[a]], [sign * v for v in by_model[b]])
        result.append(ArchitecturePair(a, b, difference, adjusted.get(i), p, low, high))
    return tuple(result)


def best_probabilities(scores, measure):
    """Return {model: probability that its mean is the best of the study}."""
    return stats.prob_best(model_estimates(scores, measure), measure.higher_is_better)


def depth_groups(scores, measure, without=()):
    """Return [(conv layers, [values of every run of that depth])], shallowest first."""
    groups = {}
    for name, model_values in values(scores, measure).items():
        if name not in without:
            groups.setdefault(CONV_LAYERS[name], []).extend(model_values)
    return sorted(groups.items())


def depth_trend(scores, measure, without=(), better=True):
    """Test that the measure improves with depth over all runs (worsens, with `better=False`)."""
    groups = [v for _, v in depth_groups(scores, measure, without)]
    return stats.jonckheere(groups, increasing=measure.higher_is_better == better)


# --- relations: every pair and every depth step, against the margin ----------------------

def _negated(interval):
    return None if interval is None else (0.0 - interval[1], 0.0 - interval[0])  # never -0.0


_REVERSED = {stats.BETTER: stats.WORSE, stats.WORSE: stats.BETTER}


@dataclass(frozen=True)
class Comparison:
    """A against B on one measure: A − B, its intervals, the relation and what would decide it.

    For a pair of models A and B are in `model_order`; for a depth step A is the deeper
    depth and B the one before (conv layers). `interval` and `equivalence_interval` come from
    the two-way bootstrap over seeds and test images, paired on images, when per-image values
    are given (else from seeds only, Welch); either needs two runs or more on each side.
    """

    measure: str
    a: object
    b: object
    difference: float                  # mean(A) − mean(B)
    interval: tuple | None             # 95%: better or worse only when it excludes 0
    equivalence_interval: tuple | None  # 90%: equal when it lies inside ±margin
    seeds_interval: tuple | None       # 95%, Welch over seeds only
    relation: str                      # stats.BETTER, WORSE, EQUAL or UNDECIDED: A against B
    p_holm: float | None = None        # pairs: Welch over seeds, Holm over every pair
    seeds_to_decide: int | None = None  # undecided only: seeds per model, rounded for people
    unresolvable: bool = False         # undecided, and no practical number of seeds decides it

    def reversed(self):
        """Return B against A."""
        return dataclasses.replace(
            self, a=self.b, b=self.a, difference=0.0 - self.difference,
            interval=_negated(self.interval),
            equivalence_interval=_negated(self.equivalence_interval),
            seeds_interval=_negated(self.seeds_interval),
            relation=_REVERSED.get(self.relation, self.relation))


def _fewest_of(*counts):
    """Return the smallest count that is not None (None if none is)."""
    return min((n for n in counts if n is not None), default=None)


def _to_decide(difference, margin, seed_variance, floor, alpha=SIGNIFICANCE):
    """Return (seeds per model rounded for people, unresolvable) for an undecided difference.

    At the margin: a difference of the margin or more is decided by showing it, a smaller one by
    showing it within the margin (its 90% interval, centred where it is now, inside ±margin) or,
    where fewer seeds do it, by showing it (one just inside the margin is far easier to show
    than to fit). Showing it takes, with POWER, both what relation asks: the 95% interval over
    seeds and test images off 0 (the images' spread, `floor`, included) and Welch's test over
    seeds at `alpha` (Bonferroni's bound on Holm's correction, for pairs). Beyond
    stats.SEEDS_MOST seeds, or when `floor` is too wide for any number: (None, True). Without a
    seed SD: (None, False).
    """
    if seed_variance is None:
        return None, False
    over_images = stats.seeds_to_show_difference(difference, seed_variance, floor)
    over_seeds = stats.seeds_to_show_difference(difference, seed_variance, alpha=alpha)
    shown = None if None in (over_images, over_seeds) else max(over_images, over_seeds)
    n = _fewest_of(shown, stats.seeds_to_fit(margin - abs(difference), seed_variance, floor))
    return (None, True) if n is None else (stats.count_for_people(n), False)


def _compare(measure, margin, a, b, welch, values_a, values_b, draws, significant=None):
    """Return the Comparison of A against B, without the seeds to decide it.

    `welch`: stats.welch of their runs' values `values_a` and `values_b`; `draws`: the
    bootstrap draws of A's and B's means, or None; `significant`: for pairs, whether the Welch
    test stays below SIGNIFICANCE after Holm's correction.
    """
    seeds_interval = None if welch.low is None else (welch.low, welch.high)
    if draws is not None and min(len(values_a), len(values_b)) >= 2:
        differences = resampling.difference_draws(*draws)
        interval = resampling.bootstrap_interval(differences, CONFIDENCE)
        equivalence = resampling.bootstrap_interval(differences, stats.EQUIVALENCE_CONFIDENCE)
    elif draws is None and seeds_interval is not None:
        tost = stats.tost_welch(values_a, values_b, margin)
        interval, equivalence = seeds_interval, (tost.low, tost.high)
    else:
        interval = equivalence = None
    relation = stats.relation(welch.difference, interval or (None, None),
                              equivalence or (None, None), margin, measure.higher_is_better,
                              significant)
    return Comparison(measure.name, a, b, welch.difference, interval, equivalence,
                      seeds_interval, relation)


def _with_seeds(comparison, margin, seed_variance, sides, alpha=SIGNIFICANCE):
    """Return an undecided `comparison` with the seeds that would decide it; others unchanged.

    `sides`: (A's, B's) per-image arrays, one per model, or None (no image floor then).
    """
    if comparison.relation != stats.UNDECIDED:
        return comparison
    floor = 0.0 if sides is None else stats.image_floor(*sides)
    needed, unresolvable = _to_decide(comparison.difference, margin, seed_variance, floor, alpha)
    return dataclasses.replace(comparison, seeds_to_decide=needed, unresolvable=unresolvable)


def _hashable(scores):
    return tuple((name, tuple(runs)) for name, runs in scores.items())


def pair_comparisons(scores, measure, margin, per_image_values=None):
    """Return every pair of models with runs compared on `measure` (A − B, in `model_order`).

    Better or worse: Welch's test over seeds, Holm-adjusted over every pair, below
    SIGNIFICANCE, and (where per-image values are given) the two-way 95% interval off 0. Equal:
    the 90% interval inside ±`margin`. Undecided otherwise, with the seeds that would decide it
    (a difference to show at SIGNIFICANCE over the pairs, Bonferroni's bound on Holm's).
    """
    return list(_pair_comparisons(_hashable(scores), measure, margin, per_image_values))


@functools.lru_cache(maxsize=32)
def _pair_comparisons(scores, measure, margin, images):
    by_model = values(dict(scores), measure)
    sds = {name: e.sd for name, e in model_estimates(dict(scores), measure).items()}
    draws = None if images is None else _draws(images)
    pairs = _architecture_pairs(scores, measure)
    result = []
    for pair in pairs:
        a, b = pair.a, pair.b
        comparison = _compare(measure, margin, a, b, pair.difference, by_model[a], by_model[b],
                              None if draws is None else (draws[(measure.name, a)],
                                                          draws[(measure.name, b)]),
                              pair.significant)
        seed_variance = None if sds[a] is None or sds[b] is None else sds[a] ** 2 + sds[b] ** 2
        sides = None if images is None else ([images[measure.name][a]],
                                             [images[measure.name][b]])
        result.append(_with_seeds(dataclasses.replace(comparison, p_holm=pair.p_holm), margin,
                                  seed_variance, sides, SIGNIFICANCE / len(pairs)))
    return tuple(result)


def step_comparisons(scores, measure, margin, per_image_values=None):
    """Return each step between adjacent depths: the deeper depth's runs against the shallower's.

    A gain (BETTER) or a loss (WORSE): the 95% interval off 0 (two-way where per-image values
    are given, else Welch over seeds). Equal: the 90% interval inside ±`margin`.
    """
    return list(_step_comparisons(_hashable(scores), measure, margin, per_image_values))


def _depth_seed_variance(by_model, depth):
    """Return the seed variance of one run of each of `depth`'s models, averaged: a depth of m
    models, n seeds each, has a mean whose variance is this / n (SD pooled within its models)."""
    models = [v for name, v in by_model.items() if CONV_LAYERS[name] == depth]
    sd, _ = stats.pooled_sd(models)
    return None if sd is None else sd ** 2 / len(models)


@functools.lru_cache(maxsize=32)
def _step_comparisons(scores, measure, margin, images):
    scores = dict(scores)
    by_model = values(scores, measure)
    groups = depth_groups(scores, measure)
    draws = None if images is None else _draws(images)
    arrays = None if images is None else _depth_arrays(images[measure.name])
    result = []
    for (d1, v1), (d2, v2) in zip(groups, groups[1:]):
        comparison = _compare(measure, margin, d2, d1, stats.welch(v2, v1), v2, v1,
                              None if draws is None else (draws[(measure.name, d2)],
                                                          draws[(measure.name, d1)]))
        parts = [_depth_seed_variance(by_model, depth) for depth in (d1, d2)]
        seed_variance = None if None in parts else sum(parts)
        result.append(_with_seeds(comparison, margin, seed_variance,
                                  None if arrays is None else (arrays[d2], arrays[d1])))
    return tuple(result)


@dataclass(frozen=True)
class ModelMean:
    """A model's mean on one measure, with its interval over seeds and test images."""

    model: str
    measure: str
    mean: float
    interval: tuple | None        # 95%, two-way bootstrap (seeds only without per-image values)
    seeds_interval: tuple | None  # 95% t interval over seeds (pooled SD under POOL_BELOW seeds)
    seeds: int
    pooled: bool


def model_means(scores, measure, per_image_values=None):
    """Return {model: ModelMean} of `measure`; a two-way interval needs two seeds or more."""
    draws = None if per_image_values is None else _draws(per_image_values)
    means = {}
    for name, e in model_estimates(scores, measure).items():
        seeds_interval = None if e.low is None else (e.low, e.high)
        if draws is None:
            interval = seeds_interval
        else:
            interval = (resampling.bootstrap_interval(draws[(measure.name, name)])
                        if e.n >= 2 else None)
        means[name] = ModelMean(name, measure.name, e.mean, interval, seeds_interval, e.n,
                                e.pooled)
    return means


@dataclass(frozen=True)
class Power:
    """What the seeds recorded can detect, and who leads (pair_comparisons says how clearly)."""

    sd: float | None
    dof: int
    seeds: int                 # seeds per model today (the fewest any model has)
    detectable: float          # the smallest difference detectable now (POWER, SIGNIFICANCE)
    leaders: tuple             # the best by mean: every model tied first, else the two best
    best: float                # the best mean
    gap: float                 # the difference between the leaders' means (0 for a tie)


def power(scores, measure):
    """Return the seed-to-seed SD (without model_1, whose runs spread more), the difference the
    recorded seeds can detect, and the leaders by mean."""
    sd, dof = seed_noise(scores, measure, without=(SHALLOWEST,))
    if sd is None:
        sd, dof = seed_noise(scores, measure)
    seeds = min(len(runs) for runs in scores.values())
    estimates = model_estimates(scores, measure)
    tiers = ranking(estimates, measure)
    leaders = tiers[0] if len(tiers[0]) > 1 else tuple(n for tier in tiers for n in tier)[:2]
    best = estimates[leaders[0]].mean
    gap = round(abs(best - estimates[leaders[-1]].mean), MEAN_DECIMALS)  # a tie's gap is 0
    detectable = stats.detectable_difference(sd, seeds) if sd is not None else math.inf
    return Power(sd, dof, seeds, detectable, leaders, best, gap)


JAX = "jax"  # the backend whose runs the backend's effect sets against the others (TensorFlow)


def backend_effect(scores, measure, confidence=CONFIDENCE):
    """Return the effect of Keras on JAX (GPU) against TensorFlow (CPU) within models, or None.

    values ~ model + backend by least squares: only models with runs on both backends inform
    it. Backend and device change together here, so the effect is of the pair.
    """
    rows = [(name, s.backend == JAX, measure.of(s)) for name, runs in scores.items()
            for s in runs]
    try:
        return stats.additive_effect([v for *_, v in rows], [n for n, *_ in rows],
                                     [j for _, j, _ in rows], confidence)
    except ValueError:
        return None


@dataclass(frozen=True)
class BackendComparison:
    """Runs under Keras on JAX (GPU) against TensorFlow (CPU) within the same models, judged
    against the margin as a pair of models is (stats.relation)."""

    measure: str
    difference: float                   # JAX − TensorFlow, least squares within models
    interval: tuple                     # 95%: two-way over seeds and test images where given
    equivalence_interval: tuple         # 90%, the same way: equal when inside ±margin
    seeds_interval: tuple               # 95%, least squares over seeds only
    p_value: float                      # over seeds only
    relation: str                       # stats.BETTER, WORSE, EQUAL or UNDECIDED: JAX against TF
    models: tuple                       # the models with runs on both backends


def backend_comparison(scores, measure, margin, per_image_values=None):
    """Return the BackendComparison of `measure` against ±`margin`, or None without a model on
    both backends.

    With per-image values the intervals come from resampling.within_groups_bootstrap (seeds drawn
    within each model and backend, the same test images for every run); without them from the
    least-squares fit over seeds (backend_effect).
    """
    return _backend_comparison(_hashable(scores), measure, margin, per_image_values)


@functools.lru_cache(maxsize=16)
def _backend_comparison(scores, measure, margin, images):
    scores = dict(scores)
    effect = backend_effect(scores, measure)
    if effect is None:
        return None
    seeds_interval = (float(effect.low), float(effect.high))
    if images is None:
        tight = backend_effect(scores, measure, stats.EQUIVALENCE_CONFIDENCE)
        interval, equivalence = seeds_interval, (float(tight.low), float(tight.high))
    else:
        groups = {}
        for name, runs in scores.items():
            table, on = images[measure.name][name], np.array([s.backend == JAX for s in runs])
            if len(table) != len(runs):  # the rows must be these runs, in this order
                raise ValueError(f"{name} has {len(runs)} runs but {len(table)} rows of "
                                 "per-image values: pass the per-image values of these runs")
            groups[name] = (table[on], table[~on])
        _, draws = resampling.within_groups_bootstrap(groups)
        interval = resampling.bootstrap_interval(draws, CONFIDENCE)
        equivalence = resampling.bootstrap_interval(draws, stats.EQUIVALENCE_CONFIDENCE)
    models = tuple(name for name, runs in scores.items()
                   if len({s.backend == JAX for s in runs}) == 2)
    relation = stats.relation(effect.value, interval, equivalence, margin,
                              measure.higher_is_better)
    return BackendComparison(measure.name, effect.value, interval, equivalence, seeds_interval,
                             effect.p_value, relation, models)


# --- overfitting over seeds ----------------------------------------------------------------

@dataclass(frozen=True)
class CurveTrend:
    """One history's second half: the relative slopes of validation and training loss."""

    val_slope: float     # % of the mean validation loss per epoch
    p_rise: float        # one-sided p-value that validation loss rises
    train_slope: float   # % of the mean training loss per epoch

    @property
    def rises(self):
        """Validation loss rises significantly while training loss falls: overfitting."""
        return self.p_rise < SIGNIFICANCE and self.train_slope < 0


def curve_trend(history, from_epoch=OVERFIT_FROM_EPOCH):
    """Return the CurveTrend of one history from `from_epoch` (1-based) on."""
    val = np.asarray(history["val_loss"][from_epoch - 1:], float)
    train = np.asarray(history["loss"][from_epoch - 1:], float)
    val_fit, train_fit = stats.slope(val), stats.slope(train)
    return CurveTrend(100 * val_fit.slope / val.mean(), val_fit.p_rise,
                      100 * train_fit.slope / train.mean())


@dataclass(frozen=True)
class SeedsTrend:
    """A model's second-half validation-loss slope over its seeds."""

    estimate: stats.Estimate   # of the slope, % of the mean per epoch, with its t interval
    rising: int                # seeds whose validation loss rises while training loss falls
    train_slope: float         # the mean slope of training loss, % per epoch

    @property
    def rises(self):
        """Whether validation loss rises over the seeds (the interval lies above 0)."""
        return self.estimate.low is not None and self.estimate.low > 0



def seeds_trend(histories):
    """Return the SeedsTrend of one model's histories (one per seed)."""
    trends = [curve_trend(h) for h in histories]
    return SeedsTrend(stats.mean_estimate([t.val_slope for t in trends]),
                      sum(t.rises for t in trends),
                      float(np.mean([t.train_slope for t in trends])))


# --- the original's claims, judged: numbers only (findings puts them in words) -----------

def p_cell(p):
    """Return a p-value as a table shows it: '0.015', or '< 0.001' for the smallest."""
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"


def p_text(p):
    """Return 'p = 0.015', or 'p < 0.001' for the smallest: the one format of a p-value."""
    return f"p = {p:.2g}" if p >= 0.001 else "p < 0.001"


def open_questions(comparisons):
    """Return (seeds per model that decide every undecided comparison, whether some cannot be
    decided on this test set): the largest count over them, None when any is unresolvable."""
    open_ = [c for c in comparisons if c.relation == stats.UNDECIDED]
    if any(c.unresolvable for c in open_):
        return None, True
    counts = [c.seeds_to_decide for c in open_]
    return (max(counts) if counts and None not in counts else None), False


@dataclass(frozen=True)
class DepthVerdict:
    """"More conv layers, better `measure`", judged step by step between adjacent depths."""

    measure: str
    verdict: str
    steps: tuple                    # Comparisons: each depth against the one before
    runs: int
    trend: stats.Trend | None       # Jonckheere–Terpstra over all runs (evidence only)
    trend_without: stats.Trend | None  # the same without SHALLOWEST
    seeds_to_decide: int | None = None
    unresolvable: bool = False

    @property
    def id(self):
        return f"depth-{self.measure.replace('_', '-')}"


def _depth_verdict(scores, measure, margin, per_image_values=None):
    """Every step a gain: supported; some gain and no loss: partly; no gain, and a loss or every
    step equal: not supported; anything else: undecided."""
    groups = depth_groups(scores, measure)
    runs = sum(len(v) for _, v in groups)
    if len(groups) < 2:
        return DepthVerdict(measure.name, UNDECIDED, (), runs, None, None)
    steps = tuple(step_comparisons(scores, measure, margin, per_image_values))
    trend = depth_trend(scores, measure)
    without = (depth_trend(scores, measure, without=(SHALLOWEST,))
               if len(depth_groups(scores, measure, (SHALLOWEST,))) > 1 else None)
    relations = [s.relation for s in steps]
    gains, losses = relations.count(stats.BETTER), relations.count(stats.WORSE)
    if gains == len(steps):
        verdict = SUPPORTED
    elif gains and not losses:
        verdict = PARTLY
    elif not gains and (losses or relations.count(stats.EQUAL) == len(steps)):
        verdict = NOT_SUPPORTED
    else:
        verdict = UNDECIDED
    needed, unresolvable = open_questions(steps) if verdict == UNDECIDED else (None, False)
    return DepthVerdict(measure.name, verdict, steps, runs, trend, without, needed, unresolvable)


@dataclass(frozen=True)
class BestVerdict:
    """"`model` has the best `measure`", judged from its comparison with every other model."""

    model: str
    measure: str
    verdict: str
    against: tuple           # Comparisons of `model` (A) against each other model (B)
    rank: int | None         # 1-based by mean; models whose means tie share a rank
    models: int              # models ranked
    tied: tuple              # the models whose mean ties `model`'s
    best: tuple              # the models with the best mean
    means: dict              # {model: its mean}
    chances: dict            # {model: probability that its mean is the best}
    seeds_to_decide: int | None = None
    unresolvable: bool = False

    @property
    def id(self):
        return f"{self.model}-best"

    @property
    def leaders(self):
        """The models practically equal to `model` (it is tied with them)."""
        return tuple(c.b for c in self.against if c.relation == stats.EQUAL)


def _best_verdict(scores, measure, margin, per_image_values=None, claimed="model_7"):
    """Clearly better than every other model: supported; some model clearly better than it: not
    supported; none better, equal to some (the leaders) and better than the rest: partly
    supported; anything else: undecided."""
    if claimed not in scores or len(scores) < 2:
        return BestVerdict(claimed, measure.name, UNDECIDED, (), None, len(scores), (), (), {},
                           {})
    against = tuple(c if c.a == claimed else c.reversed()
                    for c in pair_comparisons(scores, measure, margin, per_image_values)
                    if claimed in (c.a, c.b))
    estimates = model_estimates(scores, measure)
    tiers = ranking(estimates, measure)
    tier = next(t for t in tiers if claimed in t)
    rank = 1 + sum(len(t) for t in tiers[:tiers.index(tier)])
    relations = [c.relation for c in against]
    if relations.count(stats.BETTER) == len(against):
        verdict = SUPPORTED
    elif stats.WORSE in relations:
        verdict = NOT_SUPPORTED
    elif stats.EQUAL in relations and stats.UNDECIDED not in relations:
        verdict = PARTLY
    else:
        verdict = UNDECIDED
    needed, unresolvable = open_questions(against) if verdict == UNDECIDED else (None, False)
    return BestVerdict(claimed, measure.name, verdict, against, rank,
                       sum(len(t) for t in tiers), tuple(n for n in tier if n != claimed),
                       tiers[0], {name: e.mean for name, e in estimates.items()},
                       best_probabilities(scores, measure), needed, unresolvable)


@dataclass(frozen=True)
class OverfittingVerdict:
    """"`model` overfits" (or does not), as its original curve says, judged over our seeds."""

    model: str
    original: CurveTrend          # the original's single curve: it says "overfits" if it rises
    ours: SeedsTrend | None       # over our seeds (None with fewer than two)
    high90: float | None          # the upper bound of our mean slope's 90% interval
    margin: float                 # the rise per epoch (%) that counts as overfitting
    overfits: bool | None         # ours: True a clear rise, False below the margin, None open
    verdict: str
    runs: int
    seeds_to_decide: int | None = None
    unresolvable: bool = False

    @property
    def id(self):
        return f"overfitting-{self.model}"


def _overfitting_verdict(name, histories, original_history, margin):
    """Ours overfits when the mean slope's 95% interval lies above 0; does not when its 90%
    interval stays below +margin; else undecided. Supported when that is the original's."""
    original = curve_trend(original_history)
    if len(histories) < 2:
        return OverfittingVerdict(name, original, None, None, margin, None, UNDECIDED,
                                  len(histories))
    ours = seeds_trend(histories)
    slopes = [curve_trend(h).val_slope for h in histories]
    high90 = stats.mean_estimate(slopes, confidence=stats.EQUIVALENCE_CONFIDENCE).high
    overfits = True if ours.rises else (False if high90 < margin else None)
    if overfits is not None:
        verdict = SUPPORTED if overfits == original.rises else NOT_SUPPORTED
        return OverfittingVerdict(name, original, ours, high90, margin, overfits, verdict,
                                  len(histories))
    # Decided by a clear rise (a rising mean shown above 0) or by the 90% interval's upper
    # bound below the margin, whichever takes fewer seeds.
    mean, variance = ours.estimate.mean, ours.estimate.sd ** 2
    n = _fewest_of(stats.seeds_to_show_difference(mean, variance, groups=1) if mean > 0 else None,
                   stats.seeds_to_fit(margin - mean, variance, groups=1))
    needed = None if n is None else stats.count_for_people(n)
    return OverfittingVerdict(name, original, ours, high90, margin, None, UNDECIDED,
                              len(histories), needed, n is None)


def judge_claims(scores, histories, reference, per_image_values=None, dataset=DEFAULT_DATASET,
                 scale=1.0):
    """Return the original's claims judged over seeds: [DepthVerdict × 2, BestVerdict,
    OverfittingVerdict per model], each with `id`, `verdict`, `seeds_to_decide`, `unresolvable`.

    `scores`: {model: [RunScore]}; `histories`: {model: [history of each run]}; `reference`:
    the original's results (original.load_original); `per_image_values`: a PerImage of the same
    runs (without it, intervals are over seeds only); `dataset`: whose margins apply, each
    multiplied by `scale` (the sensitivity of the verdicts to the margins).
    """
    margin = {name: value * scale for name, value in margins(dataset).items()}
    claims = [_depth_verdict(scores, m, margin[m.name], per_image_values) for m in MEASURES]
    claims.append(_best_verdict(scores, ACCURACY, margin[ACCURACY.name], per_image_values))
    claims += [_overfitting_verdict(name, histories.get(name, []),
                                    reference["models"][name]["history"],
                                    margin[OVERFITTING_SLOPE])
               for name in MODEL_NAMES]
    return claims


# --- trained networks, one seed each -------------------------------------------------------

@dataclass(frozen=True)
class McNemarResult:
    """Images only network a got right, only network b got right, and the exact p-value."""

    only_a: int
    only_b: int
    p_value: float


def mcnemar(correct_a, correct_b):
    """Return the exact (binomial) two-sided McNemar test of two per-image correctness arrays.

    Under the null hypothesis the two networks are equally accurate, so each image that exactly
    one of them gets right is equally likely to favour either: the smaller count is binomial
    (n = discordant images, p = 1/2). With no discordant image the p-value is 1.
    """
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if correct_a.shape != correct_b.shape or correct_a.ndim != 1:
        raise ValueError("pass two 1-D boolean arrays of the same length")
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    n = only_a + only_b
    if n == 0:
        return McNemarResult(0, 0, 1.0)
    p_value = scipy_stats.binomtest(min(only_a, only_b), n, 0.5, alternative="two-sided").pvalue
    return McNemarResult(only_a, only_b, min(1.0, float(p_value)))


@dataclass(frozen=True)
class PairTest:
    """Two trained networks compared on the same test images."""

    a: str
    b: str
    result: McNemarResult
    p_holm: float

    @property
    def significant(self):
        return self.p_holm < SIGNIFICANCE

    @property
    def better(self):
        """The network that got more of the discordant images right (None on a tie)."""
        if self.result.only_a == self.result.only_b:
            return None
        return self.a if self.result.only_a > self.result.only_b else self.b


def pairwise_mcnemar(correct):
    """Return McNemar's test for every pair of {name: correctness array}, Holm-adjusted."""
    names = list(correct)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    results = [mcnemar(correct[a], correct[b]) for a, b in pairs]
    adjusted = holm([result.p_value for result in results])
    return [PairTest(a, b, result, p) for (a, b), result, p in zip(pairs, results, adjusted)]


@dataclass(frozen=True)
class McNemarBySeed:
    """Per seed, McNemar between the models' networks of that seed; and, as a calibration, how
    often two seeds of the same architecture differ by the same test."""

    by_seed: dict = field(default_factory=dict)  # {seed: [PairTest]} (Holm within the seed)
    same_architecture: list = field(default_factory=list)  # [(model, seed a, seed b, result)]

    @property
    def same_architecture_share(self):
        """The share of same-architecture pairs with p < SIGNIFICANCE (no correction)."""
        if not self.same_architecture:
            return None
        return sum(r.p_value < SIGNIFICANCE for *_, r in self.same_architecture) / len(
            self.same_architecture)


def mcnemar_by_seed(runs_by_model, labels):
    """Return McNemar's tests within each seed and between the seeds of each architecture."""
    correct = {name: {run.config.seed: correctness(run.probs, labels) for run in runs}
               for name, runs in runs_by_model.items() if runs}
    seeds = sorted({seed for by_seed in correct.values() for seed in by_seed})
    by_seed = {}
    for seed in seeds:
        networks = {name: c[seed] for name, c in correct.items() if seed in c}
        if len(networks) > 1:
            by_seed[seed] = pairwise_mcnemar(networks)
    same = [(name, s1, s2, mcnemar(c[s1], c[s2])) for name, c in correct.items()
            for i, s1 in enumerate(sorted(c)) for s2 in sorted(c)[i + 1:]]
    return McNemarBySeed(by_seed, same)


def headline_networks(runs_by_model):
    """Return {model: its seed-HEADLINE_SEED run}: the networks the per-network sections show."""
    return {name: run for name, runs in runs_by_model.items() for run in runs
            if run.config.seed == HEADLINE_SEED}


def confusion_matrix(labels, predicted):
    """Return the 10 x 10 counts: row = true digit, column = predicted digit."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), int)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predicted)), 1)
    return matrix


def confident_mistakes(probs, labels, count):
    """Return the indices of the `count` wrong predictions made with the highest confidence."""
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels)
    wrong = np.flatnonzero(predictions(probs) != labels)
    confidence = probs[wrong].max(axis=1)
    return wrong[np.argsort(-confidence, kind="stable")[:count]]


def ensemble(prob_arrays):
    """Return the ensemble's probabilities: the mean of the models' probabilities."""
    return np.mean([np.asarray(p, np.float64) for p in prob_arrays], axis=0)


# --- tables for the analysis notebook (PrettyTables, which notebooks render as HTML) ------

def _interval(measure, low, high):
    return f"[{measure.text(low)}, {measure.text(high)}]" if low is not None else "—"


def estimates_table(scores, measure):
    """Return per model its seeds, mean and 95% interval of `measure` (pooled SD marked *)."""
    rows = []
    for name, e in model_estimates(scores, measure).items():
        rows.append([name, e.n, measure.text(e.mean),
                     _interval(measure, e.low, e.high) + (" *" if e.pooled else "")])
    return text_table(["Model", "Seeds", f"Mean {measure.label}",
                       f"{CONFIDENCE:.0%} interval"], rows, {"Model"})


def fidelity_table(scores, reference):
    """Return per model the original's results against our prediction intervals for one run."""
    rows = []
    accuracy_, loss = (fidelity(scores, reference, m) for m in MEASURES)
    for a, l in zip(accuracy_, loss):
        inside = {True: "yes", False: "no", None: "—"}
        rows.append([a.model, a.seeds, ACCURACY.text(a.original),
                     _interval(ACCURACY, a.low, a.high), inside[a.inside],
                     LOG_LOSS.text(l.original), _interval(LOG_LOSS, l.low, l.high),
                     inside[l.inside]])
    return text_table(["Model", "Seeds", "Original accuracy", "Our next run's accuracy (95%)",
                       "Accuracy inside", "Original log loss", "Our next run's log loss (95%)",
                       "Log loss inside"], rows, {"Model", "Accuracy inside", "Log loss inside"})


def pairs_table(scores, measure):
    """Return every pair of architectures: difference over seeds, Holm p, P(a run beats)."""
    rows = []
    for p in architecture_pairs(scores, measure):
        d = p.difference
        rows.append([f"{p.a} − {p.b}", measure.difference_text(d.difference),
                     measure.difference_interval(d.low, d.high) if d.low is not None else "—",
                     p_cell(p.p_holm) if p.p_holm is not None else "—",
                     f"{p.p_a_beats_b:.2f} [{p.p_low:.2f}, {p.p_high:.2f}]"])
    return text_table(["Models", "Difference", f"{CONFIDENCE:.0%} interval", "p (Holm)",
                       "P(a run of a beats b)"], rows, {"Models"})


def trend_table(scores):
    """Return the depth-trend tests: both measures, with and without model_1."""
    rows = []
    for measure in MEASURES:
        for without in ((), (SHALLOWEST,)):
            if len(depth_groups(scores, measure, without)) < 2:
                continue
            trend = depth_trend(scores, measure, without)
            runs = sum(len(v) for _, v in depth_groups(scores, measure, without))
            rows.append([measure.label, f"without {SHALLOWEST}" if without else "all models",
                         runs, f"{trend.statistic:g}", p_text(trend.p_value)])
    return text_table(["Measure", "Models", "Runs", "J", "One-sided p"], rows,
                      {"Measure", "Models"})


def overfitting_table(histories):
    """Return per model the second-half slope of validation loss over seeds, with its interval."""
    rows = []
    for name, model_histories in histories.items():
        trend = seeds_trend(model_histories)
        e = trend.estimate
        rows.append([name, e.n, f"{signed(e.mean, 2)}%",
                     signed_interval(e.low, e.high, 2, "%") if e.low is not None else "—",
                     f"{trend.rising} of {e.n}", f"{signed(trend.train_slope, 2)}%"])
    return text_table(["Model", "Seeds", "Validation loss per epoch", "95% interval",
                       "Seeds where it rises", "Training loss per epoch"], rows, {"Model"})


def mcnemar_table(by_seed):
    """Return per seed how many network pairs McNemar calls different, beside the calibration."""
    rows = [[f"seed {seed}", len(tests), sum(t.significant for t in tests),
             ", ".join(f"{t.better} > {t.b if t.better == t.a else t.a}"
                       for t in tests if t.significant) or "none"]
            for seed, tests in by_seed.by_seed.items()]
    return text_table(["Networks", "Pairs", "Different (Holm p < 0.05)", "Which"], rows,
                      {"Networks", "Which"})


def ensemble_table(probs, labels):
    """Return the ensemble's (mean of the models' probabilities) scores beside each model's."""
    scores = {name: (accuracy(p, labels), log_loss(p, labels)) for name, p in probs.items()}
    mixed = ensemble(list(probs.values()))
    best = max(scores, key=lambda name: scores[name][0])
    rows = [[f"ensemble of {len(probs)}", f"{accuracy(mixed, labels):.2%}",
             f"{log_loss(mixed, labels):.4f}"],
            [f"best single network ({best})", f"{scores[best][0]:.2%}",
             f"{scores[best][1]:.4f}"]]
    return text_table(["", "Test accuracy", "Test log loss"], rows, {""})
