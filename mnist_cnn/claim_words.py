"""The original's claims in words: each verdict of `claims.judge_claims` as a `Claim`, with
its evidence, and the words for margins, seeds and depth steps that the findings share.
"""

import dataclasses
from dataclasses import dataclass

from . import analysis, analysis_tables, claims
from .analysis import MEASURE_NAMED, OVERFITTING_SLOPE, SHALLOWEST
from .runs import EPOCHS, TEST_SIZE
from .stats import BETTER, EQUAL, EQUIVALENCE_LEVEL, LEVEL, SEEDS_MOST, UNDECIDED, WORSE
from .tables import names_text, signed, signed_interval

# --- the claims and relations in words ---------------------------------------------------

FROM_TABLE = ("inferred from the original's summary table (its text ranks nothing); it reports "
              "one run per model")
FROM_CURVES = ("the original's conclusion says it checks each model's train and validation "
               "curves for overfitting but names no model; inferred from its curves")


@dataclass(frozen=True)
class Claim:
    """One of the original's findings, our verdict over seeds, and the evidence, in words."""

    id: str
    statement: str
    source: str            # where the original says it, or what we infer it from
    verdict: str
    evidence: str
    summary: str = ""                    # the evidence in a few plain words
    seeds_to_decide: int | None = None   # for "undecided": seeds per model that would decide
    unresolvable: bool = False           # undecided, and no practical number of seeds would
    short: str = ""                      # the claim in a few words, where sentences list claims

    def to_dict(self):
        return {"id": self.id, "statement": self.statement, "source": self.source,
                "verdict": self.verdict, "evidence": self.evidence, "summary": self.summary,
                "seeds_to_decide": self.seeds_to_decide, "unresolvable": self.unresolvable}


def seeds_text(n):
    """Return a number of seeds per model as the findings write it: '40 seeds per model'."""
    return f"{n:,} seeds per model"


CANNOT_RESOLVE = (f"this test set cannot resolve it: no practical number of seeds (up to "
                  f"{SEEDS_MOST:,} per model) would decide it")


def decide_text(seeds_to_decide, unresolvable):
    """Return what would decide an undecided question, '' when nothing is said."""
    if unresolvable:
        return CANNOT_RESOLVE
    if seeds_to_decide:
        return f"about {seeds_text(seeds_to_decide)} would decide it"
    return ""


def margin_text(measure_name, margin):
    """Return '±0.1 pp', '±0.0025' or '±0.5% per epoch'."""
    if measure_name == OVERFITTING_SLOPE:
        return f"±{margin:g}% per epoch"
    return f"±{margin:g}{MEASURE_NAMED[measure_name].difference_suffix}"


def images_text(accuracy_margin):
    """Return an accuracy margin in test images: '10 of the 10,000 test images'."""
    return f"{round(accuracy_margin / 100 * TEST_SIZE):,} of the {TEST_SIZE:,} test images"


def _ordinal(n):
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def with_interval(measure, comparison):
    """Return '+0.16 pp [+0.05 pp, +0.28 pp]' (the 95% interval over seeds and test images)."""
    if comparison.interval is None:
        return measure.difference_text(comparison.difference) + " (no interval under two runs)"
    return (measure.difference_text(comparison.difference) + " "
            + measure.difference_interval(*comparison.interval))


def _relation_text(measure, comparison):
    """Return the relation, an equal one with the 90% interval that makes it so."""
    if comparison.relation != EQUAL:
        return comparison.relation
    interval = measure.difference_interval(*comparison.equivalence_interval)
    return f"equal ({EQUIVALENCE_LEVEL} {interval})"


STEP_WORDS = {BETTER: "a gain", WORSE: "a loss", EQUAL: "no gain", UNDECIDED: "no clear change"}


def step_text(step, margin, interval=True):
    """Say what one depth step does: 'no gain from 5 to 7 layers (-0.03 pp, within ±0.1 pp)'."""
    measure = MEASURE_NAMED[step.measure]
    value = (with_interval(measure, step) if interval
             else measure.difference_text(step.difference))
    detail = {EQUAL: f"{value}, within {margin_text(step.measure, margin)}",
              UNDECIDED: f"{value}, nor shown within {margin_text(step.measure, margin)}"}
    return (f"{STEP_WORDS[step.relation]} from {step.b} to {step.a} layers "
            f"({detail.get(step.relation, value)})")


def _depth_claim(verdict, margin):
    measure = MEASURE_NAMED[verdict.measure]
    statement = f"More convolutional layers give {measure.better_text}."
    if not verdict.steps:
        return Claim(verdict.id, statement, FROM_TABLE, verdict.verdict,
                     "runs of fewer than two depths are recorded", "one depth only")
    evidence = ("steps between depths, every run of the deeper depth against every run of the "
                f"one before ({LEVEL} interval over seeds and test images; over seeds only): "
                + "; ".join(f"{s.b}→{s.a} layers {with_interval(measure, s)}"
                            + (f" (seeds only {measure.difference_interval(*s.seeds_interval)})"
                               if s.seeds_interval else "") + f", {_relation_text(measure, s)}"
                            for s in verdict.steps)
                + f"; margin {margin_text(verdict.measure, margin)}; Jonckheere–Terpstra trend "
                f"over all {verdict.runs} runs: {analysis_tables.p_text(verdict.trend.p_value)}"
                + (f" (without {SHALLOWEST}: {analysis_tables.p_text(verdict.trend_without.p_value)})"
                   if verdict.trend_without else ""))
    summary = "; ".join(step_text(s, margin, interval=False) for s in verdict.steps)
    return Claim(verdict.id, statement, FROM_TABLE, verdict.verdict, evidence, summary,
                 verdict.seeds_to_decide, verdict.unresolvable)


def _best_claim(verdict, margin):
    measure = MEASURE_NAMED[verdict.measure]
    claimed = verdict.model
    statement = f"{claimed} has the best {measure.label} of the seven models."
    if not verdict.against:
        return Claim(verdict.id, statement, FROM_TABLE, verdict.verdict,
                     f"{claimed} or the models it is compared with have no runs")
    by_relation = {relation: [c.b for c in verdict.against if c.relation == relation]
                   for relation in (BETTER, WORSE, EQUAL, UNDECIDED)}
    equal, better, worse, open_ = (names_text(by_relation[r]) if by_relation[r] else ""
                                   for r in (EQUAL, BETTER, WORSE, UNDECIDED))
    chance = verdict.chances.get(claimed, 0)
    rank = (f"{claimed} ranks {_ordinal(verdict.rank)} of {verdict.models} by mean"
            + (f" (tied with {names_text(verdict.tied)})" if verdict.tied else "")
            + f", with a {chance:.0%} chance of being the best")
    within = f"within {margin_text(verdict.measure, margin)}"
    if verdict.verdict == claims.SUPPORTED:
        parts = ["clearly better than every other model"]
    elif verdict.verdict == claims.NOT_SUPPORTED:
        parts = [f"{worse} clearly better"]
    elif verdict.verdict == claims.PARTLY:
        parts = [f"tied with the leaders, {equal} ({within}), and clearly better than the rest"
                 if better else f"tied with every other model ({within})"]
    else:
        parts = ([f"practically tied with {equal} ({within})"] if equal else []) + (
            [f"clearly better than {better}"] if better else []) + [
            f"undecided against {open_}"]
    evidence = (f"mean {measure.label}: {claimed} {measure.text(verdict.means[claimed])}, best "
                f"{names_text(verdict.best)}; probability of being the best: "
                + ", ".join(f"{n} {p:.2f}" for n, p in sorted(verdict.chances.items(),
                                                              key=lambda item: -item[1]))
                + f"; {claimed} against each model ({LEVEL} interval over seeds and test images; "
                f"Welch over seeds, Holm over the pairs): "
                + "; ".join(f"{c.b} {with_interval(measure, c)}, "
                            + (f"Holm {analysis_tables.p_text(c.p_holm)}, " if c.p_holm is not None else "")
                            + _relation_text(measure, c) for c in verdict.against)
                + f"; margin {margin_text(verdict.measure, margin)}")
    return Claim(verdict.id, statement, FROM_TABLE, verdict.verdict, evidence,
                 "; ".join([rank, *parts]), verdict.seeds_to_decide, verdict.unresolvable)


def _overfitting_claim(verdict, margin):
    name, original = verdict.model, verdict.original
    span = f"epochs {claims.OVERFIT_FROM_EPOCH}–{EPOCHS}"
    if original.rises:
        statement = (f"{name} overfits: its validation loss rises over {span} while its "
                     f"training loss falls.")
    else:
        statement = f"{name} does not overfit: its validation loss does not rise over {span}."
    source = (FROM_CURVES + f" (the original's validation loss there: "
              f"{signed(original.val_slope, 2)}% per epoch, one-sided "
              f"{analysis_tables.p_text(original.p_rise)})")
    if verdict.ours is None:
        return Claim(verdict.id, statement, source, verdict.verdict,
                     f"{verdict.runs} run recorded; a verdict over seeds needs two or more",
                     "fewer than two seeds recorded")
    estimate, rising = verdict.ours.estimate, verdict.ours.rising
    counted = f"a significant rise in {rising} of {estimate.n} seeds"
    rise = f"{margin:g}% per epoch"
    evidence = (f"validation loss over {span}, mean over {estimate.n} seeds: "
                f"{signed(estimate.mean, 2)}% per epoch "
                f"{signed_interval(estimate.low, estimate.high, 2)} ({LEVEL}), its "
                f"{EQUIVALENCE_LEVEL} interval up to {signed(verdict.high90, 2)}%; it rises "
                f"significantly while training loss falls in {rising} of {estimate.n} seeds; a "
                f"rise of {rise} or more counts as overfitting")
    if verdict.overfits:
        summary = f"ours rises over seeds ({signed(estimate.mean, 1)}% per epoch; {counted})"
    elif verdict.overfits is False:
        summary = (f"ours stays below a rise of {rise} ({signed(estimate.mean, 1)}% per epoch "
                   f"on average, {EQUIVALENCE_LEVEL} interval up to {signed(verdict.high90, 1)}%; "
                   f"{counted})")
    else:
        summary = (f"ours moves {signed(estimate.mean, 1)}% per epoch on average, but its "
                   f"{EQUIVALENCE_LEVEL} interval reaches {signed(verdict.high90, 1)}%, past the "
                   f"{rise} that counts as a rise ({counted})")
    return Claim(verdict.id, statement, source, verdict.verdict, evidence, summary,
                 verdict.seeds_to_decide, verdict.unresolvable)


def short_text(verdict):
    """Return a claim in a few words: 'model_2 does not overfit', 'model_7 has the best …'."""
    if isinstance(verdict, claims.DepthVerdict):
        return f"more conv layers give {MEASURE_NAMED[verdict.measure].better_text}"
    if isinstance(verdict, claims.BestVerdict):
        return f"{verdict.model} has the best {MEASURE_NAMED[verdict.measure].label}"
    return f"{verdict.model} {'overfits' if verdict.original.rises else 'does not overfit'}"


def claim(verdict, margins=None):
    """Return a verdict of claims.judge_claims as a Claim in words (MNIST's margins by default)."""
    margins = analysis.margins() if margins is None else margins
    if isinstance(verdict, claims.DepthVerdict):
        worded = _depth_claim(verdict, margins[verdict.measure])
    elif isinstance(verdict, claims.BestVerdict):
        worded = _best_claim(verdict, margins[verdict.measure])
    else:
        worded = _overfitting_claim(verdict, margins[OVERFITTING_SLOPE])
    return dataclasses.replace(worded, short=short_text(verdict))
