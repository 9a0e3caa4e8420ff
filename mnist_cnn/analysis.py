"""Analysis beyond the original, from the saved test probabilities only (never Keras).

Paired tests between models on the same 10,000 test images (exact McNemar, Holm's correction),
intervals over seeds, confusion matrices, the most confidently wrong digits, and the ensemble of
the models. Every function takes arrays or recorded runs and returns plain values, so the
notebooks and the tests call the same code.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .data import NUM_CLASSES

CONFIDENCE = 0.95       # of every interval shown
SIGNIFICANCE = 0.05     # family-wise error rate of each set of pairwise tests (Holm)
# Keras clips probabilities to [eps, 1 - eps] in its cross-entropy; so does `log_loss`, so that
# a probability saved as 0 in float16 scores as Keras scored it.
KERAS_EPSILON = 1e-7


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
    probs = np.clip(np.asarray(probs, np.float64), KERAS_EPSILON, 1 - KERAS_EPSILON)
    return float(-np.mean(np.log(probs[np.arange(len(labels)), np.asarray(labels)])))


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
