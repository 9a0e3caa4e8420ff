"""The trained networks, one seed each: numbers only.

Exact McNemar tests (do two networks differ on these 10,000 images?), with how often two seeds
of one architecture already "differ", confusion matrices, the most confidently wrong digits and
the ensemble. Every function takes runs or arrays and returns plain values.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import stats as scipy_stats

from .data import NUM_CLASSES
from .runs import HEADLINE_SEED
from .scores import correctness, predictions
from .stats import SIGNIFICANCE, holm


@dataclass(frozen=True)
class McNemarResult:
    """Images only network a got right, only network b got right, and the exact p-value."""

    only_a: int
    only_b: int
    p_value: float


def mcnemar(correct_a, correct_b):
    """Return the exact (binomial) two-sided McNemar test of two per-image correctness arrays."""
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
    """Hold McNemar's tests within each seed, and between seeds of one architecture."""

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
