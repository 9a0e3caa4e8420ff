"""The study's findings in plain words and as JSON, generated from whatever runs a folder holds.

`analyse(results_dir)` loads the protocol runs once and computes every architecture-level result
(`mnist_cnn.analysis`); `findings_markdown` writes the README's and 05_conclusion's findings,
`findings_json` what `mnist-cnn findings --json` prints, and the `*_sentence` functions the
sentence that closes each section of 06_analysis. No number here is typed by hand.
"""

from dataclasses import dataclass

import numpy as np

from . import MnistCnnError, analysis
from .analysis import ACCURACY, LOG_LOSS, MEASURES, SHALLOWEST
from .models import MODEL_NAMES
from .report import load_original, plural
from .tables import names_text, signed, text_table
from .data import DEFAULT_DATASET, get_dataset
from .runs import RESULTS_DIR, representatives
from .scores import KERAS_EPSILON, score_runs, test_labels
from .stats import SIGNIFICANCE

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
    claims: list      # [analysis.Claim]
    dataset: str = DEFAULT_DATASET  # the data set the runs trained and were tested on

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
    scores = score_runs(runs, test_labels(dataset) if labels is None else labels)
    histories = {name: [run.history for run in model_runs] for name, model_runs in runs.items()}
    claims = analysis.judge_claims(scores, histories, reference)
    return Study(runs, scores, histories, reference, claims, dataset)


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


def findings_json(study):
    """Return the findings as one JSON-ready object: `claims` and `fidelity` (one per model).

    Fidelity compares with the original's numbers, so it is empty on another data set.
    """
    fidelity = ([_fidelity_entry(a, l) for a, l in zip(study.fidelity(ACCURACY),
                                                       study.fidelity(LOG_LOSS))]
                if study.on_original_data else [])
    return {"dataset": study.dataset, "runs": study.n_runs,
            "claims": [claim.to_dict() for claim in study.claims], "fidelity": fidelity}


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
    """Return the mean step between adjacent depths on each data set, with its 95% interval."""
    steps = {dataset: {(d1, d2): d for d1, d2, d in analysis.depth_steps(study.scores, measure)}
             for dataset, study in studies.items()}
    keys = sorted({key for by_step in steps.values() for key in by_step})

    def cell(d):
        if d is None:
            return "—"
        interval = (f" {measure.difference_interval(d.low, d.high)}" if d.low is not None
                    else " (one seed: no interval)")
        return measure.difference_text(d.difference) + interval

    titles = [get_dataset(dataset).title for dataset in studies]
    return text_table(["Conv layers", *titles],
                      [[f"{d1} → {d2}", *(cell(steps[dataset].get((d1, d2))) for dataset in studies)]
                       for d1, d2 in keys], {"Conv layers"})


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


def differences_sentence(study, measure=ACCURACY):
    """Say which architectures differ over seeds, and how the mean moves from depth to depth."""
    pairs = analysis.architecture_pairs(study.scores, measure)
    different = [p for p in pairs if p.significant]
    estimates = analysis.model_estimates(study.scores, measure)
    others = [n for n in estimates if n != SHALLOWEST]
    unit = measure.difference_suffix
    worse = "below" if measure.higher_is_better else "above"
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
    text.append(f"Comparing seeds with Welch's test{correction}, "
                + ("no two architectures differ clearly." if not different else
                   ("the only clear difference is " if len(different) == 1 else
                    "the clear differences are ") + names_text(
                       f"{p.a} against {p.b} ({measure.difference_text(p.difference.difference)})"
                       for p in different) + "; no other two architectures differ clearly."))
    steps = analysis.depth_steps(study.scores, measure)
    if steps:
        text.append("From depth to depth the mean moves " + "; ".join(
            f"{d1}→{d2} layers {measure.difference_text(d.difference)}"
            + (f" {measure.difference_interval(d.low, d.high)}" if d.low is not None else "")
            for d1, d2, d in steps) + " (95% intervals).")
    return f"*{measure.label.capitalize()}.* " + " ".join(text)


def power_sentence(study, measure=ACCURACY):
    """Say what the seeds recorded can detect and what would separate the leaders."""
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
    if power.gap == 0 and len(power.leaders) > 1:
        sentence += (f"The best mean, {measure.text(power.best)}, is shared by "
                     f"{names_text(power.leaders)}: with no gap between them, no number of seeds "
                     f"can be named that would tell them apart. ")
    elif len(power.leaders) == 2:
        a, b = power.leaders
        needed = (f"about {analysis.seeds_text(power.seeds_to_separate)}"
                  if power.seeds_to_separate
                  else "more seeds than is practical")
        sentence += (f"The two best by mean, {a} and {b}, differ by "
                     f"{power.gap:.{measure.digits + 1}f}{unit}: telling them apart would take "
                     f"{needed}. ")
    sentence += ("The chance that each model is the best: " + ", ".join(
        f"{name} {best[name]:.2f}" for name in ranked if best[name] >= 0.005) + ".")
    return sentence


def claims_sentences(study):
    """Return one plain line per claim: its statement, verdict and the gist of the evidence."""
    lines = []
    for claim in study.claims:
        decide = (f" About {analysis.seeds_text(claim.seeds_to_decide)} would decide it."
                  if claim.seeds_to_decide else "")
        lines.append(f"{claim.statement} **{claim.verdict.capitalize()}**: {claim.summary}."
                     f"{decide} (`{claim.id}`)")
    return lines


def claims_summary(study):
    """Count the claims by verdict, e.g. '2 supported, 1 partly supported, 7 undecided'."""
    order = (analysis.SUPPORTED, analysis.PARTLY, analysis.NOT_SUPPORTED, analysis.UNDECIDED)
    counts = {v: sum(c.verdict == v for c in study.claims) for v in order}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n)


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
    """Say how far runs under Keras on JAX (GPU) differ from TensorFlow (CPU) runs."""
    effect = analysis.backend_effect(study.scores, measure)
    if effect is None:
        return ("No model has runs on both backends, so the backend's effect cannot be "
                "separated from the architecture's.")
    unit = measure.difference_suffix
    verdict = ("a difference" if effect.p_value < SIGNIFICANCE else
               "no difference this study can detect")
    return (f"Runs under Keras on JAX (GPU) against TensorFlow (CPU), within the same models: "
            f"{measure.difference_text(effect.value)} {measure.label} "
            f"{measure.difference_interval(effect.low, effect.high)}, {verdict} (p = "
            f"{effect.p_value:.2g}; the runs recorded would detect "
            f"{effect.detectable:.{measure.digits}f}{unit} or more).")


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
    """Say which models overfit over seeds by the second-half rule."""
    overfit = [name for name, histories in study.histories.items()
               if analysis.seeds_trend(histories).rises]
    return (f"Over epochs {analysis.OVERFIT_FROM_EPOCH}–{analysis.EPOCHS}, validation loss "
            f"rises over seeds while training loss falls in "
            + (names_text(overfit) if overfit else "no model") + ".")


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


def findings_markdown(study):
    """Return the findings for readers (README, 05_conclusion), in plain words."""
    claims = "\n".join(f"- {line}" for line in claims_sentences(study))
    faithful = (f"\n\n**How faithful the reproduction is.** {fidelity_sentence(study)} "
                f"{backend_sentence(study)}" if study.on_original_data else "")
    return f"""{runs_sentence(study)}

**Which architectures differ.** {differences_sentence(study, ACCURACY)}
{differences_sentence(study, LOG_LOSS)}

**What cannot be told apart yet.** {power_sentence(study, ACCURACY)}

**Do the original's claims hold?** {claims_summary(study)}, each judged over seeds rather than on
single trained networks (the evidence: `mnist-cnn findings --json`, or 06_analysis):

{claims}{faithful}

**One log loss.** {log_loss_sentence(study)}"""
