"""The study's analysis, from the saved test probabilities only (never Keras).

Two levels, kept apart because they answer different questions:
- architectures, judged over seeds: each model's mean and interval, the original's result against
  where one new run of ours would fall (fidelity), differences between architectures (Welch,
  Holm), the probability that a run of one beats a run of another, each model's chance of being
  the best, the depth trend (Jonckheere–Terpstra), the seed-to-seed noise and the seeds that would
  decide what is undecided, the backend's effect, overfitting over seeds, and the original's
  claims judged from all of it;
- trained networks, one seed each: exact McNemar tests (do two networks differ on these 10,000
  images?), with how often two seeds of one architecture already "differ", confusion matrices,
  the most confidently wrong digits and the ensemble.
Every function takes scores, histories or arrays and returns plain values.
"""

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from . import stats
from .data import NUM_CLASSES
from .models import CONV_LAYERS, MODEL_NAMES
from .runs import EPOCHS, HEADLINE_SEED, TEST_SIZE
from .scores import accuracy, correctness, images_right, log_loss, predictions
from .stats import CONFIDENCE, SIGNIFICANCE, holm
from .tables import names_text, signed, signed_interval, text_table

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


def architecture_pairs(scores, measure):
    """Return every pair of models with runs: Welch test over seeds (Holm over all pairs) and
    the probability that a run of one beats a run of the other, with a bootstrap interval."""
    return list(_architecture_pairs(tuple((name, tuple(runs)) for name, runs in scores.items()),
                                    measure))


@functools.lru_cache(maxsize=16)
def _architecture_pairs(scores, measure):
    """architecture_pairs over hashable scores: the bootstraps run once per study and measure."""
    by_model = values(dict(scores), measure)
    names = [name for name in MODEL_NAMES if name in by_model]
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


def depth_steps(scores, measure):
    """Return [(shallower, deeper, Welch difference deeper − shallower)] between adjacent depths."""
    groups = depth_groups(scores, measure)
    return [(d1, d2, stats.welch(v2, v1)) for (d1, v1), (d2, v2) in zip(groups, groups[1:])]


@dataclass(frozen=True)
class Power:
    """What the seeds recorded can detect, and what it would take to separate the leaders."""

    sd: float | None
    dof: int
    seeds: int                 # seeds per model today (the fewest any model has)
    detectable: float          # the smallest difference detectable now (POWER, SIGNIFICANCE)
    leaders: tuple             # the best by mean: every model tied first, else the two best
    best: float                # the best mean
    gap: float                 # the difference between the leaders' means (0 for a tie)
    seeds_to_separate: int | None


def seeds_text(n):
    """Return a number of seeds per model as the findings write it: '17,751 seeds per model'."""
    return f"{n:,} seeds per model"


def power(scores, measure):
    """Return the seed-to-seed SD (without model_1, whose runs spread more), the difference the
    recorded seeds can detect, and the seeds per model that would separate the two leaders."""
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
    needed = stats.seeds_needed(gap, sd) if sd is not None else None
    return Power(sd, dof, seeds, detectable, leaders, best, gap, needed)


def backend_effect(scores, measure):
    """Return the effect of Keras on JAX (GPU) against TensorFlow (CPU) within models, or None.

    values ~ model + backend by least squares: only models with runs on both backends inform
    it. Backend and device change together here, so the effect is of the pair.
    """
    rows = [(name, s.backend == "jax", measure.of(s)) for name, runs in scores.items()
            for s in runs]
    try:
        return stats.additive_effect([v for *_, v in rows], [n for n, *_ in rows],
                                     [j for _, j, _ in rows])
    except ValueError:
        return None


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

    @property
    def falls(self):
        return self.estimate.high is not None and self.estimate.high < 0


def seeds_trend(histories):
    """Return the SeedsTrend of one model's histories (one per seed)."""
    trends = [curve_trend(h) for h in histories]
    return SeedsTrend(stats.mean_estimate([t.val_slope for t in trends]),
                      sum(t.rises for t in trends),
                      float(np.mean([t.train_slope for t in trends])))


# --- the original's claims ---------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """One of the original's findings, our verdict over seeds, and the evidence."""

    id: str
    statement: str
    source: str            # where the original says it, or what we infer it from
    verdict: str
    evidence: str
    summary: str = ""                    # the evidence in a few plain words
    seeds_to_decide: int | None = None   # for "undecided": seeds per model that would decide

    def to_dict(self):
        return {"id": self.id, "statement": self.statement, "source": self.source,
                "verdict": self.verdict, "evidence": self.evidence, "summary": self.summary,
                "seeds_to_decide": self.seeds_to_decide}


FROM_TABLE = ("inferred from the original's summary table (its text ranks nothing); it reports "
              "one run per model")
FROM_CURVES = ("the original's conclusion says it checks each model's train and validation "
               "curves for overfitting but names no model; inferred from its curves")


def _ordinal(n):
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def p_text(p):
    """Return 'p = 0.015', or 'p < 0.001' for the smallest."""
    return f"p = {p:.2g}" if p >= 0.001 else "p < 0.001"


def _depth_claim(scores, measure):
    """Judge "more conv layers, better `measure`" over all runs, with and without model_1."""
    claim_id = f"depth-{measure.name.replace('_', '-')}"
    direction = "higher" if measure.higher_is_better else "lower"
    statement = f"More convolutional layers give a {direction} {measure.label}."
    depths = depth_groups(scores, measure)
    if len(depths) < 2:
        return Claim(claim_id, statement, FROM_TABLE, UNDECIDED,
                     "runs of fewer than two depths are recorded")
    trend = depth_trend(scores, measure)
    reverse = depth_trend(scores, measure, better=False)
    steps = depth_steps(scores, measure)
    without = (depth_trend(scores, measure, without=(SHALLOWEST,))
               if len(depth_groups(scores, measure, (SHALLOWEST,))) > 1 else None)
    step_text = "; ".join(
        f"{d1}→{d2} layers {measure.difference_text(d.difference)}"
        + (f" {measure.difference_interval(d.low, d.high)}"
           if d.low is not None else "") for d1, d2, d in steps)
    evidence = (f"Jonckheere–Terpstra trend over all {sum(len(v) for _, v in depths)} runs: "
                f"{p_text(trend.p_value)}"
                + (f"; without {SHALLOWEST}: {p_text(without.p_value)}" if without else "")
                + f"; mean steps between depths (95% Welch intervals): {step_text}")
    shown = [f"{d1} to {d2}" for d1, d2, d in steps if d.low is not None
             and measure.better(d.low if measure.higher_is_better else d.high, 0)]
    not_shown = [f"{d1} to {d2} ({measure.difference_text(d.difference)})" for d1, d2, d in steps
                 if f"{d1} to {d2}" not in shown]
    summary = ((f"the mean improves clearly from {' and from '.join(shown)} layers"
                if shown else "no step between depths is clear on its own")
               + (f"; not clearly from {' or '.join(not_shown)}" if shown and not_shown else ""))
    if trend.p_value < SIGNIFICANCE:
        # "More layers, better" holds in full only when every added depth helps clearly: a step
        # whose interval straddles 0 leaves the claim partly supported, whatever its mean's sign.
        if without is not None and without.p_value < SIGNIFICANCE and len(shown) == len(steps):
            return Claim(claim_id, statement, FROM_TABLE, SUPPORTED, evidence, summary)
        return Claim(claim_id, statement, FROM_TABLE, PARTLY, evidence, summary)
    if reverse.p_value < SIGNIFICANCE:
        return Claim(claim_id, statement, FROM_TABLE, NOT_SUPPORTED, evidence,
                     f"deeper models score {'lower' if measure.higher_is_better else 'higher'}")
    sd, _ = seed_noise(scores, measure)
    spread = abs(np.mean(depths[-1][1]) - np.mean(depths[0][1]))
    needed = stats.seeds_needed(spread, sd) if sd else None
    return Claim(claim_id, statement, FROM_TABLE, UNDECIDED,
                 evidence + "; no trend either way", "no trend either way", needed)


def _best_claim(scores, measure, claimed="model_7"):
    """Judge "`claimed` is the best model" from the Holm-adjusted tests over seeds."""
    statement = f"{claimed} has the best {measure.label} of the seven models."
    if claimed not in scores or len(scores) < 2:
        return Claim(f"{claimed}-best", statement, FROM_TABLE, UNDECIDED,
                     f"{claimed} or the models it is compared with have no runs")
    pairs = [p for p in architecture_pairs(scores, measure) if claimed in (p.a, p.b)]
    estimates = model_estimates(scores, measure)
    tiers = ranking(estimates, measure)
    ranked = [name for tier in tiers for name in tier]
    chances = best_probabilities(scores, measure)

    def gain(pair):  # claimed minus the other, in the measure's better direction
        d = pair.difference.difference * (1 if pair.a == claimed else -1)
        return d if measure.higher_is_better else -d

    tier = next(t for t in tiers if claimed in t)
    rank = 1 + sum(len(t) for t in tiers[:tiers.index(tier)])
    beaten = [p for p in pairs if p.significant and gain(p) < 0]
    beats = [p for p in pairs if p.significant and gain(p) > 0]
    evidence = (f"{claimed} ranks {_ordinal(rank)} of {len(ranked)} on mean "
                f"{measure.label} ({measure.text(estimates[claimed].mean)}; best "
                f"{ranked[0]} {measure.text(estimates[ranked[0]].mean)}); probability of being "
                f"the best: {claimed} {chances.get(claimed, 0):.2f}, "
                + ", ".join(f"{n} {chances[n]:.2f}" for n in sorted(chances, key=chances.get,
                                                                    reverse=True)
                            if n != claimed)
                + f"; significantly better than {claimed} (Welch over seeds, Holm over pairs): "
                + (", ".join(p.b if p.a == claimed else p.a for p in beaten) or "none"))
    tied = [n for n in tier if n != claimed]
    summary = (f"{claimed} ranks {_ordinal(rank)} of {len(ranked)} by mean"
               + (f" (tied with {names_text(tied)})" if tied else "")
               + f", with a {chances.get(claimed, 0):.0%} chance of being the best")
    if beaten:
        return Claim(f"{claimed}-best", statement, FROM_TABLE, NOT_SUPPORTED, evidence,
                     summary + "; " + names_text(p.b if p.a == claimed else p.a for p in beaten)
                     + " clearly better")
    if len(beats) == len(pairs):
        return Claim(f"{claimed}-best", statement, FROM_TABLE, SUPPORTED, evidence,
                     summary + "; clearly better than every other model")
    rival = ranked[0] if ranked[0] != claimed else ranked[1]
    sd, _ = seed_noise(scores, measure)
    needed = (stats.seeds_needed(estimates[rival].mean - estimates[claimed].mean, sd)
              if sd else None)
    summary += (f"; no model is clearly better or worse than it but {SHALLOWEST}"
                if all(p.significant == (SHALLOWEST in (p.a, p.b)) for p in pairs)
                else "; the differences are within seed noise")
    if needed is None:
        summary += (f"; its mean and {rival}'s are too close for any practical number of "
                    "seeds to decide it")
    return Claim(f"{claimed}-best", statement, FROM_TABLE, UNDECIDED,
                 evidence + f"; the closest question, {claimed} against {rival}, is open",
                 summary, needed)


def _overfitting_claim(name, histories, original_history):
    """Judge the original's curve of `name` (overfits or not) by the mean slope over our seeds."""
    original = curve_trend(original_history)
    span = f"epochs {OVERFIT_FROM_EPOCH}–{EPOCHS}"
    if original.rises:
        statement = (f"{name} overfits: its validation loss rises over {span} while its "
                     f"training loss falls.")
    else:
        statement = f"{name} does not overfit: its validation loss does not rise over {span}."
    source = (FROM_CURVES + f" (the original's validation loss there: "
              f"{signed(original.val_slope, 2)}% per epoch, one-sided {p_text(original.p_rise)})")
    if len(histories) < 2:
        return Claim(f"overfitting-{name}", statement, source, UNDECIDED,
                     f"{len(histories)} run recorded; a verdict over seeds needs two or more")
    ours = seeds_trend(histories)
    estimate, rising, rises = ours.estimate, ours.rising, ours.rises
    evidence = (f"validation loss over {span}, mean over {estimate.n} seeds: "
                f"{signed(estimate.mean, 2)}% per epoch "
                f"{signed_interval(estimate.low, estimate.high, 2)}; "
                f"it rises significantly while training loss falls in {rising} of "
                f"{estimate.n} seeds")
    if rises or ours.falls:
        verdict = SUPPORTED if rises == original.rises else NOT_SUPPORTED
        summary = (f"ours {'rises' if rises else 'falls'} over seeds "
                   f"({signed(estimate.mean, 1)}% per epoch; a significant rise in {rising} of "
                   f"{estimate.n} seeds)")
        return Claim(f"overfitting-{name}", statement, source, verdict, evidence, summary)
    needed = stats.seeds_needed(estimate.mean, estimate.sd) if estimate.sd else None
    return Claim(f"overfitting-{name}", statement, source, UNDECIDED,
                 evidence + "; the interval holds both a rise and a fall",
                 f"ours moves {signed(estimate.mean, 1)}% per epoch on average, within seed noise "
                 f"(a significant rise in {rising} of {estimate.n} seeds)", needed)


def judge_claims(scores, histories, reference):
    """Return the original's claims with verdicts over seeds.

    `scores`: {model: [RunScore]}; `histories`: {model: [history of each run]};
    `reference`: the original's results (report.load_original).
    """
    claims = [_depth_claim(scores, ACCURACY), _depth_claim(scores, LOG_LOSS),
              _best_claim(scores, ACCURACY)]
    claims += [_overfitting_claim(name, histories.get(name, []),
                                  reference["models"][name]["history"])
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
                     f"{p.p_holm:.2g}" if p.p_holm is not None else "—",
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
                     signed_interval(e.low, e.high, 2) if e.low is not None else "—",
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


def claims_table(claims):
    """Return the claims with their verdicts and evidence."""
    return text_table(["Claim", "The original's finding", "Verdict", "Evidence"],
                      [[c.id, c.statement, c.verdict
                        + (f" ({seeds_text(c.seeds_to_decide)} would decide it)"
                           if c.seeds_to_decide else ""), c.evidence] for c in claims],
                      {"Claim", "The original's finding", "Verdict", "Evidence"})
