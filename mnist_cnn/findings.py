"""The study's findings in plain words and as JSON, generated from whatever runs a folder holds.

`analyse(results_dir)` loads the protocol runs once and computes every architecture-level result
(`mnist_cnn.analysis`, numbers only); this module puts them in words: the claims (`Claim`),
`findings_markdown` the README's and 05_conclusion's findings, `findings_json` what
`mnist-cnn findings --json` prints, the `*_sentence` functions the sentence that closes each
section of 06_analysis, and the `*_table` functions its tables. No number here is typed by hand.
"""

from dataclasses import dataclass

import numpy as np

from . import MnistCnnError, analysis
from .analysis import ACCURACY, LOG_LOSS, MEASURES, OVERFITTING_SLOPE, SHALLOWEST
from .models import MODEL_NAMES
from .original import load_original
from .report import plural
from .tables import names_text, signed, signed_interval, text_table
from .data import DEFAULT_DATASET, get_dataset
from .runs import (LOG_LOSS_MARGIN, RESULTS_DIR, TEST_SIZE, TYPICAL_ERROR, TYPICAL_LOG_LOSS,
                   representatives)
from .scores import KERAS_EPSILON, score_runs, test_labels
from .stats import BETTER, EQUAL, SEEDS_MOST, SIGNIFICANCE, UNDECIDED, WORSE

FINDINGS_MARKERS = ("<!-- findings:start -->", "<!-- findings:end -->")
FASHION_MARKERS = ("<!-- fashion:start -->", "<!-- fashion:end -->")
FASHION_NOTEBOOK = "notebooks/07_fashion_mnist.ipynb"  # where the Fashion-MNIST study is shown
KERAS_GAP = 1e-4  # a recorded Keras loss further than this from ours differs by its definition


class NoRunsError(MnistCnnError):
    """A results folder with no protocol run to analyse."""


@dataclass
class Study:
    """Everything the findings say, computed once from one results folder."""

    runs: dict        # {model: [Run]}
    scores: dict      # {model: [RunScore]}
    histories: dict   # {model: [history]}
    reference: dict   # the original's results (on MNIST)
    claims: list      # [Claim]: the verdicts in words
    dataset: str = DEFAULT_DATASET  # the data set the runs trained and were tested on
    per_image: analysis.PerImage | None = None  # every run's score on each test image
    verdicts: tuple = ()  # the claims' verdicts in numbers (analysis.judge_claims)

    @property
    def on_original_data(self):
        """Whether the runs are on the original's data set, so the original's numbers compare."""
        return self.dataset == DEFAULT_DATASET

    @property
    def n_runs(self):
        return sum(len(runs) for runs in self.scores.values())

    @property
    def seed_counts(self):
        """Return how many seeds each model recorded has, {model: n}."""
        return {name: len(scores) for name, scores in self.scores.items()}

    @property
    def even(self):
        """Whether every model recorded has the same number of seeds."""
        return len(set(self.seed_counts.values())) == 1

    def fidelity(self, measure):
        return analysis.fidelity(self.scores, self.reference, measure)

    @property
    def margins(self):
        """Return {measure name: margin} of this data set (analysis.margins)."""
        return analysis.margins(self.dataset)

    def means(self, measure):
        """Return {model: analysis.ModelMean} of `measure`."""
        return analysis.model_means(self.scores, measure, self.per_image)

    def pairs(self, measure):
        """Return every pair of models compared on `measure` (analysis.Comparison)."""
        return analysis.pair_comparisons(self.scores, measure, self.margins[measure.name],
                                         self.per_image)

    def steps(self, measure):
        """Return each step between adjacent depths on `measure` (analysis.Comparison)."""
        return analysis.step_comparisons(self.scores, measure, self.margins[measure.name],
                                         self.per_image)


def analyse(results_dir=RESULTS_DIR, reference=None, labels=None, dataset=DEFAULT_DATASET):
    """Load `dataset`'s protocol runs under `results_dir` and judge the original's claims on them.

    Raise NoRunsError if there is none. The claims are the original's (made on MNIST) on every
    data set, judged by the same rules.
    """
    runs = {name: model_runs for name, model_runs
            in representatives(results_dir, protocol_only=True, dataset=dataset).items()
            if model_runs}
    if not runs:
        option = "" if dataset == DEFAULT_DATASET else f" --dataset {dataset}"
        raise NoRunsError(f"no {get_dataset(dataset).title} protocol runs under {results_dir}: "
                          f"train some first (mnist-cnn reproduce{option}), or pass --results-dir")
    reference = load_original() if reference is None else reference
    labels = test_labels(dataset) if labels is None else labels
    scores = score_runs(runs, labels)
    histories = {name: [run.history for run in model_runs] for name, model_runs in runs.items()}
    per_image = analysis.per_image(runs, labels)
    verdicts = tuple(analysis.judge_claims(scores, histories, reference, per_image, dataset))
    margins = analysis.margins(dataset)
    return Study(runs, scores, histories, reference, [claim(v, margins) for v in verdicts],
                 dataset, per_image, verdicts)


# --- the claims and relations in words ---------------------------------------------------

FROM_TABLE = ("inferred from the original's summary table (its text ranks nothing); it reports "
              "one run per model")
FROM_CURVES = ("the original's conclusion says it checks each model's train and validation "
               "curves for overfitting but names no model; inferred from its curves")
MEASURE_NAMED = {measure.name: measure for measure in MEASURES}


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


def _ordinal(n):
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _with_interval(measure, comparison):
    """Return '+0.16 pp [+0.05 pp, +0.28 pp]' (the 95% interval over seeds and test images)."""
    if comparison.interval is None:
        return measure.difference_text(comparison.difference) + " (no interval under two runs)"
    return (measure.difference_text(comparison.difference) + " "
            + measure.difference_interval(*comparison.interval))


def _relation_text(measure, comparison):
    """Return the relation, an equal one with the 90% interval that makes it so."""
    if comparison.relation != EQUAL:
        return comparison.relation
    return f"equal (90% {measure.difference_interval(*comparison.equivalence_interval)})"


STEP_WORDS = {BETTER: "a gain", WORSE: "a loss", EQUAL: "no gain", UNDECIDED: "no clear change"}


def step_text(step, margin, interval=True):
    """Say what one depth step does: 'no gain from 5 to 7 layers (-0.03 pp, within ±0.1 pp)'."""
    measure = MEASURE_NAMED[step.measure]
    value = (_with_interval(measure, step) if interval
             else measure.difference_text(step.difference))
    detail = {EQUAL: f"{value}, within {margin_text(step.measure, margin)}",
              UNDECIDED: f"{value}, nor shown within {margin_text(step.measure, margin)}"}
    return (f"{STEP_WORDS[step.relation]} from {step.b} to {step.a} layers "
            f"({detail.get(step.relation, value)})")


def _depth_claim(verdict, margin):
    measure = MEASURE_NAMED[verdict.measure]
    direction = "higher" if measure.higher_is_better else "lower"
    statement = f"More convolutional layers give a {direction} {measure.label}."
    if not verdict.steps:
        return Claim(verdict.id, statement, FROM_TABLE, verdict.verdict,
                     "runs of fewer than two depths are recorded", "one depth only")
    evidence = ("steps between depths, every run of the deeper depth against every run of the "
                "one before (95% interval over seeds and test images; over seeds only): "
                + "; ".join(f"{s.b}→{s.a} layers {_with_interval(measure, s)}"
                            + (f" (seeds only {measure.difference_interval(*s.seeds_interval)})"
                               if s.seeds_interval else "") + f", {_relation_text(measure, s)}"
                            for s in verdict.steps)
                + f"; margin {margin_text(verdict.measure, margin)}; Jonckheere–Terpstra trend "
                f"over all {verdict.runs} runs: {analysis.p_text(verdict.trend.p_value)}"
                + (f" (without {SHALLOWEST}: {analysis.p_text(verdict.trend_without.p_value)})"
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
    if verdict.verdict == analysis.SUPPORTED:
        parts = ["clearly better than every other model"]
    elif verdict.verdict == analysis.NOT_SUPPORTED:
        parts = [f"{worse} clearly better"]
    elif verdict.verdict == analysis.PARTLY:
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
                + f"; {claimed} against each model (95% interval over seeds and test images; "
                f"Welch over seeds, Holm over the pairs): "
                + "; ".join(f"{c.b} {_with_interval(measure, c)}, "
                            + (f"Holm {analysis.p_text(c.p_holm)}, " if c.p_holm is not None else "")
                            + _relation_text(measure, c) for c in verdict.against)
                + f"; margin {margin_text(verdict.measure, margin)}")
    return Claim(verdict.id, statement, FROM_TABLE, verdict.verdict, evidence,
                 "; ".join([rank, *parts]), verdict.seeds_to_decide, verdict.unresolvable)


def _overfitting_claim(verdict, margin):
    name, original = verdict.model, verdict.original
    span = f"epochs {analysis.OVERFIT_FROM_EPOCH}–{analysis.EPOCHS}"
    if original.rises:
        statement = (f"{name} overfits: its validation loss rises over {span} while its "
                     f"training loss falls.")
    else:
        statement = f"{name} does not overfit: its validation loss does not rise over {span}."
    source = (FROM_CURVES + f" (the original's validation loss there: "
              f"{signed(original.val_slope, 2)}% per epoch, one-sided "
              f"{analysis.p_text(original.p_rise)})")
    if verdict.ours is None:
        return Claim(verdict.id, statement, source, verdict.verdict,
                     f"{verdict.runs} run recorded; a verdict over seeds needs two or more",
                     "fewer than two seeds recorded")
    estimate, rising = verdict.ours.estimate, verdict.ours.rising
    counted = f"a significant rise in {rising} of {estimate.n} seeds"
    rise = f"{margin:g}% per epoch"
    evidence = (f"validation loss over {span}, mean over {estimate.n} seeds: "
                f"{signed(estimate.mean, 2)}% per epoch "
                f"{signed_interval(estimate.low, estimate.high, 2)} (95%), its 90% interval up to "
                f"{signed(verdict.high90, 2)}%; it rises significantly while training loss falls "
                f"in {rising} of {estimate.n} seeds; a rise of {rise} or more counts as "
                f"overfitting")
    if verdict.overfits:
        summary = f"ours rises over seeds ({signed(estimate.mean, 1)}% per epoch; {counted})"
    elif verdict.overfits is False:
        summary = (f"ours stays below a rise of {rise} ({signed(estimate.mean, 1)}% per epoch "
                   f"on average, 90% interval up to {signed(verdict.high90, 1)}%; {counted})")
    else:
        summary = (f"ours moves {signed(estimate.mean, 1)}% per epoch on average, but its 90% "
                   f"interval reaches {signed(verdict.high90, 1)}%, past the {rise} that counts "
                   f"as a rise ({counted})")
    return Claim(verdict.id, statement, source, verdict.verdict, evidence, summary,
                 verdict.seeds_to_decide, verdict.unresolvable)


def claim(verdict, margins=None):
    """Return a verdict of analysis.judge_claims as a Claim, in words (margins: its data set's,
    analysis.margins; MNIST's by default)."""
    margins = analysis.margins() if margins is None else margins
    if isinstance(verdict, analysis.DepthVerdict):
        return _depth_claim(verdict, margins[verdict.measure])
    if isinstance(verdict, analysis.BestVerdict):
        return _best_claim(verdict, margins[verdict.measure])
    return _overfitting_claim(verdict, margins[OVERFITTING_SLOPE])


def _fidelity_entry(accuracy, loss):
    return {"model": accuracy.model, "seeds": accuracy.seeds, "pooled_sd": accuracy.pooled,
            "original_accuracy": accuracy.original / 100, "mean_accuracy": accuracy.mean / 100,
            "accuracy_interval": (None if accuracy.low is None
                                  else [accuracy.low / 100, accuracy.high / 100]),
            "accuracy_inside": accuracy.inside,
            "original_log_loss": loss.original, "mean_log_loss": loss.mean,
            "log_loss_interval": None if loss.low is None else [loss.low, loss.high],
            "log_loss_inside": loss.inside}


def readme_findings(results_dir=RESULTS_DIR):
    """Return the README's findings, or a line saying that no run is recorded yet."""
    try:
        return findings_markdown(analyse(results_dir))
    except NoRunsError:
        return "No protocol run is recorded yet: `mnist-cnn reproduce` trains them."


def readme_fashion(results_dir=RESULTS_DIR, dataset="fashion-mnist"):
    """Return the README's answer on `dataset`: the transfer sentence and the notebook's link."""
    title = get_dataset(dataset).title
    try:
        studies = {DEFAULT_DATASET: analyse(results_dir), dataset: analyse(results_dir,
                                                                           dataset=dataset)}
    except NoRunsError:
        return (f"No {title} run is recorded yet: `make reproduce DATASET={dataset}` trains "
                "them.")
    return (f"**On harder images ({title}).** {transfer_sentence(studies)} "
            f"[07_fashion_mnist]({FASHION_NOTEBOOK}) shows the runs, the curves and the claims "
            "on both data sets side by side.")


def _listed(interval):
    return None if interval is None else [interval[0], interval[1]]


def comparison_entry(comparison, names=("a", "b")):
    """Return a Comparison as JSON; `names`: what A and B are called ("to", "from" for steps)."""
    return {"measure": comparison.measure, names[0]: comparison.a, names[1]: comparison.b,
            "difference": comparison.difference, "interval": _listed(comparison.interval),
            "seeds_interval": _listed(comparison.seeds_interval),
            "equivalence_interval": _listed(comparison.equivalence_interval),
            "relation": comparison.relation, "seeds_to_decide": comparison.seeds_to_decide,
            "unresolvable": comparison.unresolvable}


def pair_entry(comparison):
    """Return a pair of models as JSON: `comparison_entry` with Holm's p over the pairs."""
    return comparison_entry(comparison) | {"p_holm": comparison.p_holm}


MEAN_UNITS = {ACCURACY.name: "%", LOG_LOSS.name: "nats"}


def margins_entry(margins):
    """Return {measure name: margin} (analysis.margins) as JSON: each value with its unit."""
    return {name: {"value": value, "unit": analysis.MARGIN_UNITS[name]}
            for name, value in margins.items()}


def mean_entry(mean):
    """Return an analysis.ModelMean as JSON (accuracy in %)."""
    return {"model": mean.model, "measure": mean.measure, "unit": MEAN_UNITS[mean.measure],
            "mean": mean.mean, "interval": _listed(mean.interval),
            "seeds_interval": _listed(mean.seeds_interval), "seeds": mean.seeds}


def findings_json(study):
    """Return the findings as one JSON-ready object.

    `margins` {measure: {value, unit}}; `means` per model and measure (accuracy in %), with the
    95% interval over seeds and test images (`interval`) and over seeds only
    (`seeds_interval`); `pairs` (A − B) and `depth_steps` (to − from, conv layers), each with
    its difference in the margin's unit, 95% intervals two-way and over seeds only, 90%
    `equivalence_interval`, `relation` (A against B: better, worse, equal, undecided) and, for
    an undecided one, `seeds_to_decide` (per model) or `unresolvable`; `backend_effect`, JAX
    (GPU) − TensorFlow (CPU) test accuracy within models, with the same intervals and relation
    (None without a model on both backends); `claims`; `fidelity`
    (one per model; it compares with the original's numbers, so it is empty on another data
    set, and gives accuracies as fractions).
    """
    fidelity = ([_fidelity_entry(a, l) for a, l in zip(study.fidelity(ACCURACY),
                                                       study.fidelity(LOG_LOSS))]
                if study.on_original_data else [])
    return {"dataset": study.dataset, "runs": study.n_runs,
            "margins": margins_entry(study.margins),
            "means": [mean_entry(m) for measure in MEASURES
                      for m in study.means(measure).values()],
            "pairs": [pair_entry(c) for measure in MEASURES for c in study.pairs(measure)],
            "depth_steps": [comparison_entry(c, ("to", "from"))
                            for measure in MEASURES for c in study.steps(measure)],
            "backend_effect": _backend_entry(study),
            "claims": [claim.to_dict() for claim in study.claims], "fidelity": fidelity}


def _backend_entry(study, measure=ACCURACY):
    """Return the backend's effect on `measure` as JSON (JAX − TensorFlow), None without a model
    on both backends."""
    effect = analysis.backend_comparison(study.scores, measure, study.margins[measure.name],
                                         study.per_image)
    if effect is None:
        return None
    return {"measure": effect.measure, "unit": analysis.MARGIN_UNITS[effect.measure],
            "difference": effect.difference, "interval": _listed(effect.interval),
            "seeds_interval": _listed(effect.seeds_interval),
            "equivalence_interval": _listed(effect.equivalence_interval),
            "relation": effect.relation, "p_value": effect.p_value,
            "models": list(effect.models)}


# --- one question, two data sets ---------------------------------------------------------

def transfer(studies):
    """Return each of the original's claims with its verdict on each data set studied.

    `studies`: {data set: Study}. One dict per claim: id, statement and {data set: verdict}.
    """
    rows = {}
    for dataset, study in studies.items():
        for claim in study.claims:
            row = rows.setdefault(claim.id, {"id": claim.id, "statement": claim.statement,
                                             "verdicts": {}})
            row["verdicts"][dataset] = claim.verdict
    return list(rows.values())


def transfer_table(studies):
    """Return the transfer table: each claim's verdict on each data set, side by side."""
    titles = [get_dataset(dataset).title for dataset in studies]
    return text_table(["Claim", "The original's finding", *titles],
                      [[row["id"], row["statement"],
                        *(row["verdicts"].get(dataset, "—") for dataset in studies)]
                       for row in transfer(studies)],
                      {"Claim", "The original's finding", *titles})


def depth_steps_table(studies, measure=ACCURACY):
    """Return each step between adjacent depths on each data set: the mean step, its 95%
    interval over seeds and test images, what it is (gain, loss, no gain, open) and its 95%
    interval over seeds only."""
    steps = {dataset: {(s.b, s.a): s for s in study.steps(measure)}
             for dataset, study in studies.items()}
    keys = sorted({key for by_step in steps.values() for key in by_step})

    def cell(step):
        if step is None:
            return "—"
        if step.seeds_interval is None:
            return measure.difference_text(step.difference) + " (one seed: no interval)"
        return (f"{_with_interval(measure, step)}: {STEP_WORDS[step.relation]} (seeds only "
                f"{measure.difference_interval(*step.seeds_interval)})")

    titles = [get_dataset(dataset).title for dataset in studies]
    return text_table(["Conv layers", *titles],
                      [[f"{d1} → {d2}", *(cell(steps[dataset].get((d1, d2))) for dataset in studies)]
                       for d1, d2 in keys], {"Conv layers", *titles})


def transfer_markdown(studies):
    """Return the transfer table as Markdown: each claim's verdict on each data set."""
    titles = [get_dataset(dataset).title for dataset in studies]
    lines = ["| Claim | " + " | ".join(titles) + " |", "|---|" + "---|" * len(titles)]
    lines += [f"| {row['statement']} | "
              + " | ".join(row["verdicts"].get(dataset, "—") for dataset in studies) + " |"
              for row in transfer(studies)]
    return "\n".join(lines)


def transfer_sentence(studies):
    """Say how the models spread on each data set and which claims keep their verdict.

    The verdicts are compared only once every model has two or more seeds on every data set:
    before that, a claim is undecided for want of runs, not for what the runs say.
    """
    parts = []
    for dataset, study in studies.items():
        estimates = analysis.model_estimates(study.scores, ACCURACY)
        title = get_dataset(dataset).title
        if len(estimates) == 1:
            [(name, estimate)] = estimates.items()
            parts.append(f"on {title} only {name} is recorded so far "
                         f"({plural(study.n_runs, 'run')}): {ACCURACY.text(estimate.mean)}")
            continue
        tiers = analysis.ranking(estimates, ACCURACY)  # models whose means tie share a tier
        low, high = estimates[tiers[-1][0]].mean, estimates[tiers[0][0]].mean
        parts.append(f"on {title} ({plural(study.n_runs, 'run')}) mean test accuracy runs from "
                     f"{ACCURACY.text(low)} ({names_text(tiers[-1])}) to {ACCURACY.text(high)} "
                     f"({names_text(tiers[0])}), a spread of {high - low:.{ACCURACY.digits}f} pp")
    text = "Across the seven models, " + "; ".join(parts) + "."
    waiting = {dataset: [name for name in MODEL_NAMES if study.seed_counts.get(name, 0) < 2]
               for dataset, study in studies.items()}
    if any(waiting.values()):
        return text + " " + " ".join(
            f"On {get_dataset(dataset).title}, the original's claims wait for two or more seeds "
            f"of {names_text(names) if len(names) < len(MODEL_NAMES) else 'every model'}, "
            "since each is judged over seeds." for dataset, names in waiting.items() if names)
    rows = transfer(studies)
    first, second = studies
    changed = [row for row in rows if row["verdicts"].get(first) != row["verdicts"].get(second)]
    same = len(rows) - len(changed)
    return text + (f" Of the original's {plural(len(rows), 'claim')}, {same} "
                   f"{'gets' if same == 1 else 'get'} the same verdict on both"
                   + (": " + "; ".join(f"`{row['id']}` is {row['verdicts'][first]} on "
                                       f"{get_dataset(first).title} and "
                                       f"{row['verdicts'][second]} on {get_dataset(second).title}"
                                       for row in changed) if changed else "") + ".")


# --- sentences ---------------------------------------------------------------------------

def runs_sentence(study):
    """Say what the findings rest on: runs, seeds per model, devices."""
    counts = study.seed_counts
    missing = [name for name in MODEL_NAMES if name not in counts]
    per_model = (plural(min(counts.values()), "seed") + " of each model"
                 if study.even and not missing
                 else ", ".join(f"{plural(n, 'seed')} of {name}" for name, n in counts.items()))
    on = "" if study.on_original_data else f" on {get_dataset(study.dataset).title}"
    return (f"These findings rest on {plural(study.n_runs, 'run')} of the original protocol{on} "
            f"({per_model})" + (f"; no run yet of {names_text(missing)}" if missing else "") + ".")


def margins_sentence(study):
    """Name the margins once, with what each means."""
    margins = study.margins
    error, loss = TYPICAL_ERROR[study.dataset], TYPICAL_LOG_LOSS[study.dataset]
    images = round(margins[ACCURACY.name] / 100 * TEST_SIZE)
    return (f"A difference within {margin_text(ACCURACY.name, margins[ACCURACY.name])} of test "
            f"accuracy ({images} of the {TEST_SIZE:,} test images) counts as none: two accuracies "
            f"at the typical error of {error:.1%} differ by about that much by chance, measured on "
            f"two independent test sets of that size; so does one within "
            f"{margin_text(LOG_LOSS.name, margins[LOG_LOSS.name])} of test log loss "
            f"({LOG_LOSS_MARGIN:.0%} of a typical {loss:g}). Two models are practically tied when "
            f"the 90% interval of their difference lies inside it.")


def tied_groups(equal_pairs):
    """Return the models tied pair by pair, each group in MODEL_NAMES order: a group in which
    every pair is tied as one tuple, and the tied pairs of any other group one by one."""
    groups = []
    for a, b in equal_pairs:
        joined = [g for g in groups if a in g or b in g]
        merged = set().union({a, b}, *joined)
        groups = [g for g in groups if g not in joined] + [merged]
    equal = set(equal_pairs)
    tied = []
    for group in groups:
        members = tuple(sorted(group, key=MODEL_NAMES.index))
        if all((a, b) in equal for i, a in enumerate(members) for b in members[i + 1:]):
            tied.append(members)
        else:
            tied += [(a, b) for a, b in equal_pairs if a in group]
    return tied


def clearly_behind(pairs):
    """Return {model: the models clearly better than it}, both in MODEL_NAMES order, of the
    better or worse Comparisons among `pairs`."""
    behind = {}
    for c in pairs:
        if c.relation in (BETTER, WORSE):
            winner, loser = (c.a, c.b) if c.relation == BETTER else (c.b, c.a)
            behind.setdefault(loser, []).append(winner)
    return {loser: sorted(behind[loser], key=MODEL_NAMES.index)
            for loser in sorted(behind, key=MODEL_NAMES.index)}


def differences_sentence(study, measure=ACCURACY):
    """Say which architectures differ, which are practically tied, and what each depth adds."""
    pairs = study.pairs(measure)
    estimates = analysis.model_estimates(study.scores, measure)
    others = [n for n in estimates if n != SHALLOWEST]
    unit = measure.difference_suffix
    worse = "below" if measure.higher_is_better else "above"
    margin = study.margins[measure.name]
    text = []
    if SHALLOWEST in estimates and others:
        sign = 1 if measure.higher_is_better else -1  # positive: the deeper model is better
        gaps = sorted(sign * (estimates[n].mean - estimates[SHALLOWEST].mean) for n in others)
        low, high = sorted(abs(g) for g in (gaps[0], gaps[-1]))
        span = (f"{low:.{measure.digits}f}" if low == high else
                f"{low:.{measure.digits}f}–{high:.{measure.digits}f}")
        deeper = "each deeper model" if len(others) > 1 else others[0]
        if gaps[0] > 0:
            where = f"{span}{unit} {worse} {deeper}"
        elif gaps[-1] < 0:
            where = f"{span}{unit} better than {deeper}"
        else:
            where = (f"from {signed(gaps[0], measure.digits)} to {signed(gaps[-1], measure.digits)}"
                     f"{unit} behind the deeper models")
        text.append(f"{SHALLOWEST}, the only model with two conv layers, averages "
                    f"{measure.text(estimates[SHALLOWEST].mean)}, {where}.")
    if len(others) > 1:
        span = sorted(estimates[n].mean for n in others)
        text.append(f"The {len(others)} deeper models average between {measure.text(span[0])} "
                    f"and {measure.text(span[-1])}.")
    # Holm's correction over a single pair changes nothing, so it is named only over several.
    correction = f", Holm-corrected for the {len(pairs)} pairs" if len(pairs) > 1 else ""
    rule = (f"Welch's test over seeds{correction}, and the 95% interval over seeds and test "
            f"images off 0")
    behind = clearly_behind(pairs)
    if behind:
        text.append(f"Clearly apart ({rule}): " + "; ".join(
            f"{names_text(winners)} better than {loser}" for loser, winners in behind.items())
            + ".")
    elif pairs:
        text.append(f"No two architectures are clearly apart ({rule}).")
    else:
        [(name, estimate)] = estimates.items()
        text.append(f"{name} alone is recorded ({measure.text(estimate.mean)}): no two "
                    f"architectures to compare yet.")
    tied = [names_text(group) for group in
            tied_groups([(c.a, c.b) for c in pairs if c.relation == EQUAL])]
    if tied:
        text.append(f"Practically tied (within {margin_text(measure.name, margin)}): "
                    + "; ".join(tied) + ".")
    open_ = [c for c in pairs if c.relation == UNDECIDED]
    if open_ and len(open_) < len(pairs):
        text.append(f"The other {plural(len(open_), 'pair')} "
                    f"{'is' if len(open_) == 1 else 'are'} undecided.")
    elif open_:
        text.append("Every pair is undecided.")
    steps = study.steps(measure)
    if steps:
        text.append("From depth to depth (95% intervals over seeds and test images): "
                    + "; ".join(step_text(s, margin) for s in steps) + ".")
    return f"*{measure.label.capitalize()}.* " + " ".join(text)


def leaders_text(study, leaders, measure=ACCURACY):
    """Say how the leaders by mean stand to each other: tied, apart, or what would decide it."""
    margin = margin_text(measure.name, study.margins[measure.name])
    among = [c for c in study.pairs(measure) if c.a in leaders and c.b in leaders]
    relations = {c.relation for c in among}
    pair = "they" if len(leaders) == 2 else f"all {len(leaders)}"
    if relations == {EQUAL}:
        return f"{pair} are practically tied (within {margin})"
    clear = [c for c in among if c.relation in (BETTER, WORSE)]
    if clear:
        return "; ".join(f"{c.a if c.relation == BETTER else c.b} is clearly better than "
                         f"{c.b if c.relation == BETTER else c.a}" for c in clear)
    open_ = [c for c in among if c.relation == UNDECIDED]
    needed, unresolvable = analysis.open_questions(open_)
    what = ("telling them apart" if all(abs(c.difference) >= study.margins[measure.name]
                                        for c in open_)
            else "telling them apart or showing them tied")
    if unresolvable:
        return (f"{what} is beyond this test set: no practical number of seeds (up to "
                f"{SEEDS_MOST:,} per model) would do it")
    if needed:
        return f"{what} would take about {seeds_text(needed)}"
    return f"{what} needs two seeds of each first"


def power_sentence(study, measure=ACCURACY):
    """Say what the seeds recorded can detect, and how the leaders by mean stand."""
    power = analysis.power(study.scores, measure)
    if power.sd is None:
        return f"No model has two seeds yet, so the seed-to-seed spread of {measure.label} is unknown."
    unit = measure.difference_suffix
    best = analysis.best_probabilities(study.scores, measure)
    ranked = sorted(best, key=best.get, reverse=True)
    sentence = (f"Two runs of one architecture differ by chance: the seed-to-seed SD of "
                f"{measure.label} is {power.sd:.{measure.digits + 1}f}{unit} (pooled over the "
                f"models but {SHALLOWEST}). With {power.seeds} seeds per model"
                + ("" if study.even else " (the fewest any model has)")
                + f" a difference below {power.detectable:.{measure.digits}f}{unit} can "
                f"go unnoticed ({analysis.stats.POWER:.0%} power). ")
    estimates = analysis.model_estimates(study.scores, measure)
    # A mean a hair below the best reads the same once rounded: say so, or the table beside the
    # sentence shows a third "best" that the sentence leaves out.
    alike = [name for name, e in estimates.items() if name not in power.leaders
             and measure.text(e.mean) == measure.text(power.best)]
    shown_alike = (f" ({names_text(alike)}, also {measure.text(power.best)} when rounded, "
                   f"{'is' if len(alike) == 1 else 'are'} lower by less than one test image "
                   f"on average)" if alike else "")
    if power.gap == 0 and len(power.leaders) > 1:
        sentence += (f"The best mean, {measure.text(power.best)}, is shared by "
                     f"{names_text(power.leaders)}{shown_alike}: "
                     f"{leaders_text(study, power.leaders, measure)}. ")
    elif len(power.leaders) == 2:
        a, b = power.leaders
        sentence += (f"The two best by mean, {a} and {b}, differ by "
                     f"{power.gap:.{measure.digits + 1}f}{unit}: "
                     f"{leaders_text(study, power.leaders, measure)}. ")
    sentence += ("The chance that each model is the best: " + ", ".join(
        f"{name} {best[name]:.2f}" for name in ranked if best[name] >= 0.005) + ".")
    return sentence


def claims_sentences(study):
    """Return one plain line per claim: its statement, verdict and the gist of the evidence."""
    lines = []
    for claim in study.claims:
        decide = decide_text(claim.seeds_to_decide, claim.unresolvable)
        lines.append(f"{claim.statement} **{claim.verdict.capitalize()}**: {claim.summary}."
                     + (f" {decide[0].upper()}{decide[1:]}." if decide else ""))
    return lines


def claims_summary(study):
    """Count the claims by verdict, e.g. '2 supported, 1 partly supported, 7 undecided'."""
    order = (analysis.SUPPORTED, analysis.PARTLY, analysis.NOT_SUPPORTED, analysis.UNDECIDED)
    counts = {v: sum(c.verdict == v for c in study.claims) for v in order}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n)


def conclusion_sentence(study):
    """Return the sentence 05_conclusion closes on: could a run of ours give the original's
    results, and how its claims fare."""
    parts = []
    for measure in MEASURES:
        entries = [f for f in study.fidelity(measure) if f.inside is not None]
        parts.append(f"{sum(f.inside for f in entries)} of {len(entries)} models in {measure.label}")
    return (f"In short, a run of ours could give the original's result for {parts[0]} and for "
            f"{parts[1]}; of the original's {plural(len(study.claims), 'claim')}, judged over "
            f"seeds: {claims_summary(study)}.")


def analysis_closing_sentence(study):
    """Return the sentence 06_analysis closes on: how the pairs of architectures and the
    original's claims stand."""
    counts = []
    for measure in MEASURES:
        pairs = study.pairs(measure)
        counts.append((len(pairs), sum(c.relation in (BETTER, WORSE) for c in pairs),
                       sum(c.relation == EQUAL for c in pairs),
                       sum(c.relation == UNDECIDED for c in pairs)))
    (total, clear, tied, open_), (_, clear_loss, tied_loss, open_loss) = counts
    return (f"In short, over seeds {clear} of the {total} pairs of architectures differ clearly in "
            f"{ACCURACY.label}, {tied} are practically tied and {open_} stay undecided (in "
            f"{LOG_LOSS.label}: {clear_loss} clearly, {tied_loss} tied, {open_loss} undecided); "
            f"of the original's {plural(len(study.claims), 'claim')}: {claims_summary(study)}.")


def sources_sentence(study):
    """Say what each kind of claim rests on in the original: 'depth and model_7: …; overfitting: …'."""
    kinds = {}
    for claim in study.claims:
        # The kind is the id's stem ("overfitting-model_3"); a source's parenthesis is per claim.
        kinds.setdefault(claim.source.split(" (")[0], []).append(claim.id.split("-")[0])
    return "; ".join(f"{names_text(dict.fromkeys(stems))}: {source}"
                     for source, stems in kinds.items())


def fidelity_sentence(study):
    """Say for how many models the original's result is one a run of ours could give."""
    parts = []
    for measure in MEASURES:
        entries = [f for f in study.fidelity(measure) if f.inside is not None]
        outside = [f.model for f in entries if not f.inside]
        parts.append(f"{measure.label} for {sum(f.inside for f in entries)} of "
                     f"{plural(len(entries), 'model')}"
                     + (f" (outside: {names_text(outside)})" if outside else ""))
    pooled = [f.model for f in study.fidelity(ACCURACY) if f.pooled]
    return ("The original's result lies inside the 95% interval where one new run of ours "
            "would fall: its " + ", and its ".join(parts) + "."
            + (f" The intervals of {names_text(pooled)}, with fewer than {analysis.POOL_BELOW} seeds, "
               f"use the seed-to-seed SD pooled over all models." if pooled else ""))


def backend_sentence(study, measure=ACCURACY):
    """Say how far runs under Keras on JAX (GPU) differ from TensorFlow (CPU) runs, judged
    against the margin as a pair of models is."""
    effect = analysis.backend_comparison(study.scores, measure, study.margins[measure.name],
                                         study.per_image)
    if effect is None:
        return ("No model has runs on both backends, so the backend's effect cannot be "
                "separated from the architecture's.")
    margin = margin_text(measure.name, study.margins[measure.name])
    equivalence = f"90% interval {measure.difference_interval(*effect.equivalence_interval)}"
    verdict = {
        BETTER: "a clear difference, in favour of JAX (GPU): the 95% interval excludes 0",
        WORSE: "a clear difference, in favour of TensorFlow (CPU): the 95% interval excludes 0",
        EQUAL: f"practically equal: the {equivalence} lies inside {margin}",
        UNDECIDED: (f"undecided: neither clearly different (the 95% interval includes 0) nor "
                    f"shown within {margin} (the {equivalence})")}[effect.relation]
    return (f"Runs under Keras on JAX (GPU) against TensorFlow (CPU), within the same models: "
            f"{measure.difference_text(effect.difference)} {measure.label} "
            f"{measure.difference_interval(*effect.interval)} over seeds and test images "
            f"({measure.difference_interval(*effect.seeds_interval)} over seeds only, "
            f"{analysis.p_text(effect.p_value)}), {verdict}.")


def log_loss_sentence(study):
    """Say how the study's log loss differs from the number Keras recorded on TensorFlow."""
    tf = [s for runs in study.scores.values() for s in runs if s.backend == "tensorflow"]
    gaps = sorted(((s.keras_log_loss - s.log_loss, s) for s in tf), key=lambda g: g[0])
    if not gaps:
        return ("Every log loss here is the mean cross-entropy of the saved test probabilities "
                "clipped at 1e-7, as Keras computes it on JAX.")
    above = [g for g, _ in gaps if g > KERAS_GAP]
    largest, score = gaps[-1]
    run = next(r for r in study.runs[score.model] if r.config.seed == score.seed)
    labels = test_labels(study.dataset)
    near_zero = int((run.probs[np.arange(len(labels)), labels].astype(float) <= KERAS_EPSILON).sum())
    return ("Every log loss here is the mean cross-entropy of the saved test probabilities "
            "clipped at 1e-7, as Keras computes it on JAX; Keras on TensorFlow records it "
            f"unclipped from the logits, which is higher by more than {KERAS_GAP:g} in "
            f"{len(above)} of {plural(len(gaps), 'TensorFlow run')} (at most by {largest:.4f}, in "
            f"{score.model} seed {score.seed}, which gives "
            f"{plural(near_zero, 'test image')} a probability of 1e-7 or less for its true digit).")


def overfitting_sentence(study):
    """Say which models overfit over seeds, which stay below the margin, which are open."""
    verdicts = [v for v in study.verdicts if isinstance(v, analysis.OverfittingVerdict)
                and v.ours is not None]
    groups = {state: [v.model for v in verdicts if v.overfits is state]
              for state in (True, False, None)}
    margin = study.margins[OVERFITTING_SLOPE]
    text = (f"Over epochs {analysis.OVERFIT_FROM_EPOCH}–{analysis.EPOCHS}, validation loss "
            f"rises over seeds while training loss falls in "
            + (names_text(groups[True]) if groups[True] else "no model"))
    if groups[False]:
        text += (f"; it stays below a rise of {margin:g}% per epoch (the 90% interval's upper "
                 f"bound) in {names_text(groups[False])}")
    if groups[None]:
        text += f"; {names_text(groups[None])} could still go either way"
    return text + "."


def depth_sentence(study):
    """Say what the depth-trend tests show, with and without model_1."""
    if len(analysis.depth_groups(study.scores, ACCURACY)) < 2:
        return "A depth trend needs runs of at least two depths; these runs have one."
    parts = []
    for measure in MEASURES:
        trend = analysis.depth_trend(study.scores, measure)
        text = f"{measure.label} {analysis.p_text(trend.p_value)}"
        if len(analysis.depth_groups(study.scores, measure, (SHALLOWEST,))) > 1:
            without = analysis.depth_trend(study.scores, measure, (SHALLOWEST,))
            text += f" (without {SHALLOWEST}: {analysis.p_text(without.p_value)})"
        parts.append(text)
    return ("Over all runs, the chance of a depth trend at least this strong if depth did not "
            "matter: " + "; ".join(parts) + ". A trend that needs model_1 to be significant "
            "says only that two conv layers are too few.")


def mcnemar_sentence(by_seed):
    """Say how often McNemar tells two networks apart, against two seeds of one architecture."""
    share = by_seed.same_architecture_share
    tests = [t for seed_tests in by_seed.by_seed.values() for t in seed_tests]
    text = (f"Within a seed, McNemar tells {sum(t.significant for t in tests)} of "
            f"{plural(len(tests), 'pair')} of networks apart (Holm within each seed).")
    if share is not None:
        same = by_seed.same_architecture
        text += (f" Two seeds of the same architecture differ by the same test (p < "
                 f"{SIGNIFICANCE:g}) in {sum(r.p_value < SIGNIFICANCE for *_, r in same)} of "
                 f"{plural(len(same), 'pair')} ({share:.0%}): a significant McNemar test says "
                 f"that two trained networks differ, not that their architectures do.")
    return text


def ensemble_sentence(probs, labels):
    """Say what the ensemble of the headline networks scores against the best one alone."""
    from .scores import accuracy, log_loss

    mixed = analysis.ensemble(list(probs.values()))
    best = max(probs, key=lambda name: accuracy(probs[name], labels))
    return (f"The mean of the {len(probs)} networks' probabilities scores "
            f"{accuracy(mixed, labels):.2%} test accuracy and {log_loss(mixed, labels):.4f} log "
            f"loss, against {accuracy(probs[best], labels):.2%} and "
            f"{log_loss(probs[best], labels):.4f} for the best single network ({best}).")


# --- tables for the analysis notebook: both intervals side by side --------------------------

def _interval_cell(measure, interval, text=None):
    if interval is None:
        return "—"
    text = text or measure.difference_interval
    return text(*interval)


def means_table(study, measure):
    """Return per model its seeds, mean and 95% intervals: over seeds and test images, and over
    seeds only (pooled SD marked *)."""
    def bounds(low, high):
        return f"[{measure.text(low)}, {measure.text(high)}]"

    rows = [[m.model, m.seeds, measure.text(m.mean), _interval_cell(measure, m.interval, bounds),
             _interval_cell(measure, m.seeds_interval, bounds) + (" *" if m.pooled else "")]
            for m in study.means(measure).values()]
    return text_table(["Model", "Seeds", f"Mean {measure.label}", *COMPARISON_HEADERS[1:3]],
                      rows, {"Model"})


def _comparison_row(measure, c):
    return [measure.difference_text(c.difference), _interval_cell(measure, c.interval),
            _interval_cell(measure, c.seeds_interval),
            _interval_cell(measure, c.equivalence_interval), c.relation, _decide_cell(c)]


def _decide_cell(c):
    if c.unresolvable:
        return "beyond this test set"
    return f"about {c.seeds_to_decide:,}" if c.seeds_to_decide else "—"


# Short headers keep the tables inside GitHub's width; the notebook says what each interval is.
COMPARISON_HEADERS = ["Difference", "95%, seeds and images", "95%, seeds only",
                      "90%, seeds and images", "Relation", "Seeds per model to decide"]


def relations_table(study, measure):
    """Return every pair of models: difference, both 95% intervals, the 90% interval against the
    margin, Holm's p over seeds, the relation and the seeds that would decide an open one."""
    rows = [[f"{c.a} − {c.b}", *_comparison_row(measure, c)[:4],
             analysis.p_cell(c.p_holm) if c.p_holm is not None else "—", *_comparison_row(measure, c)[4:]]
            for c in study.pairs(measure)]
    return text_table(["Models", *COMPARISON_HEADERS[:4], "p (Welch, Holm)",
                       *COMPARISON_HEADERS[4:]], rows, {"Models", COMPARISON_HEADERS[-1]})


def steps_table(study, measure):
    """Return each step between adjacent depths, as relations_table does for pairs."""
    rows = [[f"{c.b} → {c.a}", *_comparison_row(measure, c)] for c in study.steps(measure)]
    return text_table(["Conv layers", *COMPARISON_HEADERS], rows,
                      {"Conv layers", COMPARISON_HEADERS[-1]})


SENSITIVITY_SCALES = (0.5, 1.0, 2.0)  # each margin halved, as declared, doubled


def sensitivity_table(study):
    """Return every claim's verdict with each margin halved, as declared and doubled."""
    by_scale = {scale: analysis.judge_claims(study.scores, study.histories, study.reference,
                                             study.per_image, study.dataset, scale)
                for scale in SENSITIVITY_SCALES}
    statements = {c.id: c.statement for c in study.claims}  # ids stay in the JSON
    rows = [[statements[verdict.id],
             *(by_scale[scale][index].verdict for scale in SENSITIVITY_SCALES)]
            for index, verdict in enumerate(by_scale[1.0])]
    columns = [f"margins × {scale:g}" for scale in SENSITIVITY_SCALES]
    return text_table(["The original's finding", *columns], rows,
                      {"The original's finding", *columns})


def claims_table(claims):
    """Return the claims with their verdicts and evidence."""
    def verdict(c):
        decide = decide_text(c.seeds_to_decide, c.unresolvable)
        return c.verdict + (f" ({decide})" if decide else "")

    return text_table(["The original's finding", "Verdict", "Evidence"],
                      [[c.statement, verdict(c), c.evidence] for c in claims],
                      {"The original's finding", "Verdict", "Evidence"})


def findings_markdown(study):
    """Return the findings for readers (README, 05_conclusion), in plain words."""
    claims = "\n".join(f"- {line}" for line in claims_sentences(study))
    faithful = (f"\n\n**How faithful the reproduction is.** {fidelity_sentence(study)} "
                f"{backend_sentence(study)}" if study.on_original_data else "")
    return f"""{runs_sentence(study)}

**Which architectures differ.** {margins_sentence(study)}
{differences_sentence(study, ACCURACY)}
{differences_sentence(study, LOG_LOSS)}

**What cannot be told apart yet.** {power_sentence(study, ACCURACY)}

**Do the original's claims hold?** {claims_summary(study)}, each judged over seeds rather than on
single trained networks (the evidence: `mnist-cnn findings --json`, or 06_analysis):

{claims}{faithful}

**One log loss.** {log_loss_sentence(study)}"""
