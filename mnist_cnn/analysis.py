"""The study's analysis, from the saved test probabilities only (never Keras): the
architectures, judged over seeds.

Each model's mean and interval, the original's result against where one new run of ours would
fall (fidelity), differences between architectures (Welch, Holm), the probability that a run of
one beats a run of another, each model's chance of being the best, the depth trend
(Jonckheere–Terpstra), the seed-to-seed noise and what the recorded seeds can detect (power);
the margins of practical equivalence and each run's score on every test image.
Beside it: `relations` (every pair, every depth step and the backend's effect against the
margins), `claims` (the original's claims judged from them), `networks` (the trained networks
one seed each) and `analysis_tables` (the analysis notebook's tables). Every function takes
scores or arrays and returns plain values.
"""

import functools
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import resampling, stats
from .data import DEFAULT_DATASET
from .models import CONV_LAYERS, MODEL_NAMES, SECTIONS
from .resampling import POOL_BELOW
from .runs import LOG_LOSS_MARGIN, OVERFIT_MARGIN, TEST_SIZE, TYPICAL_ERROR, TYPICAL_LOG_LOSS
from .scores import correctness, images_right, per_image_log_loss
from .stats import SIGNIFICANCE, holm
from .tables import signed, signed_interval

# Each model's parameter count and training FLOPs per image (scripts/count_costs.py).
COSTS = Path(__file__).resolve().parent / "reference" / "costs.json"
# The only architecture of the fewest conv layers: every depth claim is also judged without it.
SHALLOWEST, = SECTIONS[min(SECTIONS)]


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

    def spread_text(self, mean, sd):
        """Return a mean with the SD of its runs: '99.21 ± 0.04%', '0.0231 ± 0.0012'."""
        return f"{mean:.{self.digits}f} ± {sd:.{self.digits}f}{self.unit}"

    @property
    def difference_suffix(self):
        """Return what follows a difference: ' pp', or nothing for a unitless measure."""
        return f" {self.difference_unit}" if self.difference_unit else ""

    def difference_text(self, value, unit=True):
        """Return a difference, '+0.16 pp'; a table's cell leaves the unit to its header."""
        return signed(value, self.digits) + (self.difference_suffix if unit else "")

    def difference_interval(self, low, high, unit=True):
        """Return the interval of a difference, '[-0.10 pp, +0.04 pp]' (tables.signed_interval)."""
        return signed_interval(low, high, self.digits, self.difference_suffix if unit else "")

    def difference_header(self, header):
        """Return a table's header for differences, with their unit: 'Difference (pp)'."""
        return f"{header} ({self.difference_unit})" if self.difference_unit else header

    @property
    def better_text(self):
        """Return what a better value is, as the depth claims say it: 'a higher test accuracy'."""
        return f"a {'higher' if self.higher_is_better else 'lower'} {self.label}"


ACCURACY = Measure("accuracy", "test accuracy", True, 2, "%", "pp", (0.0, 100.0))
LOG_LOSS = Measure("log_loss", "test log loss", False, 4, "", "", (0.0, math.inf),
                   log_scale=True)
MEASURES = (ACCURACY, LOG_LOSS)
MEASURE_NAMED = {measure.name: measure for measure in MEASURES}  # as verdicts and pairs name them


def values(scores, measure):
    """Return {model: [the measure of each run]}."""
    return {name: [measure.of(s) for s in runs] for name, runs in scores.items()}


# --- practical equivalence: margins, and each run's score on every test image ------------

OVERFITTING_SLOPE = "overfitting_slope"  # the margin of a second-half validation-loss slope
# What each margin is measured in: a difference of accuracies, of log losses (natural log), of
# slopes in % of the mean validation loss per epoch.
MARGIN_UNITS = {"accuracy": "pp", "log_loss": "nats", OVERFITTING_SLOPE: "% per epoch"}


def margins(dataset=DEFAULT_DATASET):
    """Return {measure name: margin}: the differences `dataset`'s study calls practically none."""
    if dataset not in TYPICAL_ERROR:
        raise ValueError(f"no margins for data set {dataset!r}: add its typical scores to runs.py")
    error = TYPICAL_ERROR[dataset]
    return {ACCURACY.name: stats.round_significant(
                100 * math.sqrt(2 * error * (1 - error) / TEST_SIZE), 1),
            LOG_LOSS.name: stats.round_significant(LOG_LOSS_MARGIN * TYPICAL_LOG_LOSS[dataset], 2),
            OVERFITTING_SLOPE: OVERFIT_MARGIN}


class PerImage:
    """Every run's score on each test image, {measure name: {model: (seeds, images) array}}."""

    def __init__(self, arrays):
        self.arrays = {measure: {name: np.atleast_2d(np.asarray(a, float))
                                 for name, a in by_model.items()}
                       for measure, by_model in arrays.items()}
        # Hashed by content, so that the cached bootstrap (_draws) runs once per study.
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
    """Return the PerImage of {model: [Run]}, from the saved test probabilities."""
    runs_by_model = {name: runs for name, runs in runs_by_model.items() if runs}
    return PerImage({
        ACCURACY.name: {name: [100.0 * correctness(run.probs, labels) for run in runs]
                        for name, runs in runs_by_model.items()},
        LOG_LOSS.name: {name: [per_image_log_loss(run.probs, labels) for run in runs]
                        for name, runs in runs_by_model.items()}})


def _depth_arrays(by_model):
    """Return {conv layers: [each model's (seeds, images) array]}, of the seven models only."""
    depths = {}
    for name, array in by_model.items():
        if name in CONV_LAYERS:
            depths.setdefault(CONV_LAYERS[name], []).append(array)
    return depths


@functools.lru_cache(maxsize=8)
def _draws(images):
    """Return {(measure name, model or conv layers): bootstrap draws of the mean} of a PerImage."""
    table = {}
    for measure, by_model in images.arrays.items():
        table.update({(measure, name): array for name, array in by_model.items()})
        table.update({(measure, depth): np.concatenate(arrays)
                      for depth, arrays in _depth_arrays(by_model).items()})
    # One bootstrap for all, so that every difference between two of them is paired on images.
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
    return [tuple(tier) for _, tier in itertools.groupby(order, key=level.get)]


def model_estimates(scores, measure, transform=None):
    """Return {model: Estimate} of the measure's mean over seeds (of `transform` of each value)."""
    by_model = values(scores, measure)
    if transform is not None:
        by_model = {name: [transform(v) for v in model_values]
                    for name, model_values in by_model.items()}
    sd, dof = stats.pooled_sd(list(by_model.values()))
    # a model of few seeds takes the spread of all (its Estimate says `pooled`)
    return {name: (stats.mean_estimate(seeds, sd, dof) if len(seeds) < POOL_BELOW and sd is not None
                   else stats.mean_estimate(seeds))
            for name, seeds in by_model.items()}


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


def _hashable(scores):
    return tuple((name, tuple(runs)) for name, runs in scores.items())


def architecture_pairs(scores, measure):
    """Return every pair of models: Welch over seeds, Holm over pairs, P(a run of a beats b)."""
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
    """Return the seed-to-seed SD, the difference the recorded seeds can detect, and the leaders."""
    # Without the shallowest model, whose runs spread more than the others'.
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
