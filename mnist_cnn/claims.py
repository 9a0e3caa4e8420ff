"""The original's claims judged over seeds, from the analysis's relations: numbers only
(`findings` puts them in words), as dataclasses.

Each claim is supported, partly supported, not supported or undecided, with the seeds per model
that would decide it: "more conv layers, better accuracy / log loss" step by step between
depths, "the original's best model is the best" against every other model, and each model's
overfitting as its original curve says, against ours over seeds (the second half's
validation-loss slope).
"""

from dataclasses import dataclass

import numpy as np

from . import stats
from .analysis import (ACCURACY, MEASURES, OVERFITTING_SLOPE, SHALLOWEST, best_probabilities,
                       depth_groups, depth_trend, margins, model_estimates, ranking)
from .data import DEFAULT_DATASET
from .models import MODEL_NAMES
from .relations import fewest_of, pair_comparisons, step_comparisons
from .runs import EPOCHS
from .stats import SIGNIFICANCE

# Overfitting is read from the second half of training (epochs 16-30 of 30): past the first
# epochs' fall, where a rising validation loss means the model is fitting noise.
OVERFIT_FROM_EPOCH = EPOCHS // 2 + 1

SUPPORTED, PARTLY, NOT_SUPPORTED, UNDECIDED = (
    "supported", "partly supported", "not supported", "undecided")
VERDICTS = (SUPPORTED, PARTLY, NOT_SUPPORTED, UNDECIDED)  # the order every summary lists them in


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




# --- the original's claims, judged -------------------------------------------------------

def open_questions(comparisons):
    """Return (seeds per model that decide every undecided comparison, whether one never can)."""
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
    """Return the DepthVerdict of "more conv layers, better `measure`", step by step."""
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


def original_best(reference, measure=ACCURACY):
    """Return the model whose result is the original's best: the one its "best" claim names."""
    values = {name: measure.original(reference, name) for name in MODEL_NAMES}
    return (max if measure.higher_is_better else min)(values, key=values.get)


def _best_verdict(scores, measure, margin, claimed, per_image_values=None):
    """Return the BestVerdict of "`claimed` is the best", from its comparison with every other."""
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
    """Return the OverfittingVerdict of `name`: supported where ours agrees with the original."""
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
    n = fewest_of(stats.seeds_to_show_difference(mean, variance, groups=1) if mean > 0 else None,
                   stats.seeds_to_fit(margin - mean, variance, groups=1))
    needed = None if n is None else stats.count_for_people(n)
    return OverfittingVerdict(name, original, ours, high90, margin, None, UNDECIDED,
                              len(histories), needed, n is None)


def judge_claims(scores, histories, reference, per_image_values=None, dataset=DEFAULT_DATASET,
                 scale=1.0):
    """Return the original's claims (depth, best model, overfitting) judged over seeds."""
    margin = {name: value * scale for name, value in margins(dataset).items()}
    claims = [_depth_verdict(scores, m, margin[m.name], per_image_values) for m in MEASURES]
    claims.append(_best_verdict(scores, ACCURACY, margin[ACCURACY.name],
                                original_best(reference), per_image_values))
    claims += [_overfitting_verdict(name, histories.get(name, []),
                                    reference["models"][name]["history"],
                                    margin[OVERFITTING_SLOPE])
               for name in MODEL_NAMES]
    return claims
