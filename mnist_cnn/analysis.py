"""Analysis beyond the original, from the saved test probabilities only (never Keras).

Paired tests between models on the same 10,000 test images (exact McNemar, Holm's correction),
intervals over seeds, confusion matrices, the most confidently wrong digits, and the ensemble of
the models. Every function takes arrays or recorded runs and returns plain values, so the
notebooks and the tests call the same code.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from .data import NUM_CLASSES
from .models import CONV_LAYERS, MODEL_NAMES
from .report import text_table
from .runs import HEADLINE_SEED, RESULTS_DIR, representatives

CONFIDENCE = 0.95       # of every interval shown
SIGNIFICANCE = 0.05     # family-wise error rate of each set of pairwise tests (Holm)
# Each model's parameter count and training FLOPs per image (scripts/count_costs.py).
COSTS = Path(__file__).resolve().parent / "reference" / "costs.json"
# Keras clips probabilities to [eps, 1 - eps] in its cross-entropy; so does `log_loss`, so that
# a probability saved as 0 in float16 scores as Keras scored it.
KERAS_EPSILON = 1e-7


def headline_runs(results_dir=RESULTS_DIR):
    """Return {model: its seed-0 protocol run} for the models that have one, in model order."""
    runs = representatives(results_dir, protocol_only=True)
    return {name: run for name, model_runs in runs.items() for run in model_runs
            if run.config.seed == HEADLINE_SEED}


def status_markdown(headline):
    """Return a Markdown banner saying which models the analysis covers and which it lacks."""
    missing = [name for name in MODEL_NAMES if name not in headline]
    if not missing:
        return (f"**All {len(MODEL_NAMES)} models** have a seed-{HEADLINE_SEED} run under the "
                f"original protocol: every comparison below covers the whole study.")
    return (f"**Incomplete study:** seed-{HEADLINE_SEED} protocol runs are recorded for "
            f"{len(headline)} of {len(MODEL_NAMES)} models "
            f"({', '.join(headline) or 'none'}); still missing: {', '.join(missing)} "
            f"(`mnist-cnn reproduce`). Comparisons cover the recorded models only, and claims "
            f"that need the missing ones are marked \"{UNDECIDED}\".")


def load_costs(path=COSTS):
    """Return {model: {"params": ..., "train_flops_per_image": ...}}."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class McNemarResult:
    """Images only model a got right, only model b got right, and the exact two-sided p-value."""

    only_a: int
    only_b: int
    p_value: float


def mcnemar(correct_a, correct_b):
    """Return the exact (binomial) two-sided McNemar test of two per-image correctness arrays.

    Under the null hypothesis the two models are equally accurate, so each image that exactly
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
    p_value = stats.binomtest(min(only_a, only_b), n, 0.5, alternative="two-sided").pvalue
    return McNemarResult(only_a, only_b, min(1.0, float(p_value)))


def holm(p_values):
    """Return Holm's step-down adjusted p-values, in the order given."""
    p_values = list(p_values)
    order = sorted(range(len(p_values)), key=p_values.__getitem__)
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class PairTest:
    """One pair of models compared on the same test images."""

    a: str
    b: str
    result: McNemarResult
    p_holm: float

    @property
    def significant(self):
        return self.p_holm < SIGNIFICANCE

    @property
    def better(self):
        """The model that got more of the discordant images right (None on a tie)."""
        if self.result.only_a == self.result.only_b:
            return None
        return self.a if self.result.only_a > self.result.only_b else self.b


def pairwise_mcnemar(correct):
    """Return McNemar's test for every pair of {model: correctness array}, Holm-adjusted."""
    names = list(correct)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    results = [mcnemar(correct[a], correct[b]) for a, b in pairs]
    adjusted = holm([result.p_value for result in results])
    return [PairTest(a, b, result, p) for (a, b), result, p in zip(pairs, results, adjusted)]


@dataclass(frozen=True)
class Interval:
    """A mean over runs with its sample std and a t confidence interval (None for one run)."""

    mean: float
    std: float | None
    low: float | None
    high: float | None
    n: int


def mean_interval(values, confidence=CONFIDENCE):
    """Return the mean of `values` and its two-sided t confidence interval."""
    values = np.asarray(values, float)
    if values.size == 0:
        raise ValueError("no values")
    mean = float(values.mean())
    if values.size == 1:
        return Interval(mean, None, None, None, 1)
    std = float(values.std(ddof=1))
    half = stats.t.ppf((1 + confidence) / 2, values.size - 1) * std / math.sqrt(values.size)
    return Interval(mean, std, mean - half, mean + half, int(values.size))


def difference_interval(a_values, b_values, confidence=CONFIDENCE):
    """Return mean(a) - mean(b) with Welch's t confidence interval (None with under 2 each)."""
    a, b = np.asarray(a_values, float), np.asarray(b_values, float)
    difference = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return Interval(difference, None, None, None, int(min(a.size, b.size)))
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(difference, 0.0, difference, difference, int(min(a.size, b.size)))
    dof = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = stats.t.ppf((1 + confidence) / 2, dof) * se
    return Interval(difference, se, difference - half, difference + half,
                    int(min(a.size, b.size)))


def predictions(probs):
    """Return the predicted digit of each image."""
    return np.asarray(probs).argmax(axis=1)


def correctness(probs, labels):
    """Return whether each image's predicted digit is its label."""
    return predictions(probs) == np.asarray(labels)


def accuracy(probs, labels):
    """Return the fraction of images predicted right."""
    return float(correctness(probs, labels).mean())


def log_loss(probs, labels):
    """Return the mean categorical cross-entropy of `probs` (clipped as Keras clips them)."""
    return float(per_image_log_loss(probs, labels).mean())


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


def per_image_log_loss(probs, labels):
    """Return each image's cross-entropy (clipped as Keras clips it)."""
    probs = np.clip(np.asarray(probs, np.float64), KERAS_EPSILON, 1 - KERAS_EPSILON)
    return -np.log(probs[np.arange(len(labels)), np.asarray(labels)])


@dataclass(frozen=True)
class PairedLoss:
    """Mean per-image log loss of a minus b on the same images, with a paired t-test."""

    a: str
    b: str
    difference: float
    p_value: float
    p_holm: float = 1.0

    @property
    def significant(self):
        return self.p_holm < SIGNIFICANCE

    @property
    def better(self):
        """The model with the lower mean log loss."""
        return self.b if self.difference > 0 else self.a


def pairwise_log_loss(losses):
    """Return a paired t-test of per-image log losses for every pair of {model: losses}.

    With 10,000 images the mean difference is close to normal whatever the losses' shape.
    """
    names = list(losses)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    raw = []
    for a, b in pairs:
        differences = np.asarray(losses[a]) - np.asarray(losses[b])
        p_value = 1.0 if not differences.any() else float(
            stats.ttest_rel(losses[a], losses[b]).pvalue)
        raw.append((float(differences.mean()), p_value))
    adjusted = holm([p for _, p in raw])
    return [PairedLoss(a, b, d, p, h) for (a, b), (d, p), h in zip(pairs, raw, adjusted)]


SUPPORTED, NOT_SUPPORTED, UNDECIDED = "supported", "not supported", "not decidable yet"


@dataclass(frozen=True)
class Claim:
    """One of the original's findings, our verdict on it, and the evidence behind the verdict."""

    statement: str
    verdict: str
    evidence: str


def _depth_verdict(tests, depth, measure, missing=()):
    """Judge "more conv layers, better `measure`" from pairwise tests between models.

    A significant win of a shallower model refutes the claim at once; support needs every model
    of the study (`missing` names those without a run).
    """
    across = [t for t in tests if depth[t.a] != depth[t.b]]
    if len({depth[name] for t in across for name in (t.a, t.b)}) < 2:
        return UNDECIDED, f"runs of fewer than two depths are recorded"
    significant = [t for t in across if t.significant]
    deeper_wins = [t for t in significant if depth[t.better] == max(depth[t.a], depth[t.b])]
    shallower_wins = [t for t in significant if t not in deeper_wins]

    def named(group):
        return ", ".join(f"{t.better} over {t.b if t.better == t.a else t.a} "
                         f"(p = {t.p_holm:.2g})" for t in group) or "none"

    evidence = (f"{len(across)} pairs of models of different depth; {measure} differs "
                f"significantly (Holm-adjusted p < {SIGNIFICANCE}) in {len(significant)}: the "
                f"deeper model better in {named(deeper_wins)}; the shallower better in "
                f"{named(shallower_wins)}")
    if shallower_wins:
        return NOT_SUPPORTED, evidence
    if missing:
        return UNDECIDED, evidence + f"; no run yet for {', '.join(missing)}"
    if deeper_wins:
        return SUPPORTED, evidence
    return UNDECIDED, evidence + "; no significant difference yet"


def check_claims(probs, labels, depth, histories, original_histories, claimed_best="model_7",
                 models=None):
    """Check the original's findings on our runs; return a list of Claims.

    `probs`: {model: test probabilities of its headline run}; `depth`: {model: conv layers};
    `histories`: {model: the headline run's history}; `original_histories`: {model: the
    original's history}; `models`: every model of the study (a claim about "the best" can only
    be settled when all of them have runs).
    """
    models = list(models or depth)
    missing = [name for name in models if name not in probs]
    labels = np.asarray(labels)
    correct = {name: correctness(p, labels) for name, p in probs.items()}
    accuracy_tests = pairwise_mcnemar(correct)
    loss_tests = pairwise_log_loss({name: per_image_log_loss(p, labels)
                                    for name, p in probs.items()})
    claims = [
        Claim("More convolutional layers give a better test accuracy.",
              *_depth_verdict(accuracy_tests, depth, "accuracy (McNemar)", missing)),
        Claim("More convolutional layers give a lower test log loss.",
              *_depth_verdict(loss_tests, depth, "log loss (paired t-test)", missing)),
        Claim(f"{claimed_best} is the best of the seven models.",
              *_best_verdict(claimed_best, correct, accuracy_tests, models)),
    ]
    claims += [_overfitting_claim(name, history, original_histories[name])
               for name, history in histories.items()]
    return claims


def _best_verdict(claimed, correct, tests, models):
    """Judge "`claimed` has the best test accuracy" from McNemar tests against the others."""
    against = [t for t in tests if claimed in (t.a, t.b)]
    beaten_by = [t for t in against if t.significant and t.better != claimed]
    beats = [t for t in against if t.significant and t.better == claimed]
    missing = [name for name in models if name not in correct]
    ranked = sorted(correct, key=lambda name: -correct[name].mean())
    evidence = (f"highest test accuracy: {ranked[0]} ({correct[ranked[0]].mean():.2%})"
                + "".join(f"; {claimed} against {t.b if t.a == claimed else t.a}: "
                          f"{t.result.only_a if t.a == claimed else t.result.only_b} vs "
                          f"{t.result.only_b if t.a == claimed else t.result.only_a} images "
                          f"right only by one, p = {t.p_holm:.2g}" for t in against))
    if claimed not in correct:
        return UNDECIDED, f"{claimed} has no run yet"
    if beaten_by:
        return NOT_SUPPORTED, evidence
    if missing:
        return UNDECIDED, evidence + f"; no run yet for {', '.join(missing)}"
    if len(beats) == len(against):
        return SUPPORTED, evidence
    return UNDECIDED, evidence + "; not significantly better than every other model"


# A model overfits when its validation loss ends this much above its lowest value (relative):
# the validation curve has turned up while the training loss kept falling.
OVERFIT_RISE = 0.2


def overfitting(history):
    """Return (best epoch, lowest val loss, last val loss, last train loss, rise, overfits)."""
    val = history["val_loss"]
    best = int(np.argmin(val))
    rise = val[-1] / val[best] - 1
    return best + 1, val[best], val[-1], history["loss"][-1], rise, rise > OVERFIT_RISE


def _overfitting_claim(name, history, original_history):
    """State whether `name` overfits in the original's curves, and judge it by ours."""
    o_best, _, _, _, o_rise, o_overfits = overfitting(original_history)
    best, low, last, train, rise, overfits = overfitting(history)
    statement = (f"{name} {'overfits' if o_overfits else 'does not overfit'}: in the original its "
                 f"validation loss ends {o_rise:+.0%} from its lowest (epoch {o_best}); the "
                 f"threshold is {OVERFIT_RISE:+.0%}.")
    evidence = (f"ours: validation loss lowest at epoch {best} ({low:.4f}), last {last:.4f} "
                f"({rise:+.0%}), last train loss {train:.4f}, train/validation gap "
                f"{last - train:+.4f}")
    return Claim(statement, SUPPORTED if overfits == o_overfits else NOT_SUPPORTED, evidence)


# Tables for the analysis notebook: PrettyTables, which notebooks render as HTML.

def pairs_table(tests):
    """Return the pairwise McNemar tests as a table, most significant first."""
    verdict = f"Better (p < {SIGNIFICANCE:g})"
    rows = [[t.a, t.b, t.result.only_a, t.result.only_b, f"{t.result.p_value:.2g}",
             f"{t.p_holm:.2g}", t.better if t.significant else "no difference"]
            for t in sorted(tests, key=lambda t: t.p_holm)]
    return text_table(["Model a", "Model b", "Only a right", "Only b right", "p", "p (Holm)",
                      verdict], rows, {"Model a", "Model b", verdict})


def _interval_text(interval, scale=1.0, digits=4):
    if interval.low is None:
        return f"{interval.mean * scale:.{digits}f} (one run)"
    return (f"{interval.mean * scale:.{digits}f} [{interval.low * scale:.{digits}f}, "
            f"{interval.high * scale:.{digits}f}]")


def seeds_table(runs_by_model):
    """Return per model the mean test accuracy and log loss over seeds with 95% intervals."""
    rows = []
    for name, runs in runs_by_model.items():
        if not runs:
            continue
        accuracy_ = mean_interval([run.test_accuracy for run in runs])
        loss = mean_interval([run.test_loss for run in runs])
        rows.append([name, len(runs), _interval_text(accuracy_, 100, 2),
                     _interval_text(loss)])
    return text_table(["Model", "Seeds", f"Test accuracy, % [{CONFIDENCE:.0%} CI]",
                      f"Test log loss [{CONFIDENCE:.0%} CI]"], rows, {"Model"})


def ensemble_table(probs, labels):
    """Return the ensemble's (mean of the models' probabilities) scores beside each model's."""
    scores = {name: (accuracy(p, labels), log_loss(p, labels)) for name, p in probs.items()}
    mixed = ensemble(list(probs.values()))
    best = max(scores, key=lambda name: scores[name][0])
    rows = [[f"ensemble of {len(probs)}", f"{accuracy(mixed, labels):.2%}",
             f"{log_loss(mixed, labels):.4f}"],
            [f"best single model ({best})", f"{scores[best][0]:.2%}", f"{scores[best][1]:.4f}"]]
    return text_table(["", "Test accuracy", "Test log loss"], rows, {""})


def claims_table(claims):
    """Return the claims with their verdicts and evidence."""
    return text_table(["The original's finding", "Verdict", "Evidence"],
                      [[c.statement, c.verdict, c.evidence] for c in claims],
                      {"The original's finding", "Verdict", "Evidence"})


def differences_table(runs_by_model):
    """Return the differences between models' mean test scores, with Welch intervals.

    Only pairs of models with two or more seeds each have a row; the table is empty otherwise.
    """
    several = {name: runs for name, runs in runs_by_model.items() if len(runs) >= 2}
    names = list(several)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            accuracy_ = difference_interval([r.test_accuracy for r in several[a]],
                                            [r.test_accuracy for r in several[b]])
            loss = difference_interval([r.test_loss for r in several[a]],
                                       [r.test_loss for r in several[b]])
            rows.append([f"{a} − {b}", _interval_text(accuracy_, 100, 2), _interval_text(loss)])
    return text_table(["Models", f"Δ test accuracy, points [{CONFIDENCE:.0%} CI]",
                      f"Δ test log loss [{CONFIDENCE:.0%} CI]"], rows, {"Models"})
