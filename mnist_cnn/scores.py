"""A run's test scores, from its saved test probabilities: one definition for every backend.

Keras on TensorFlow scores its test loss from the logits, unclipped, while Keras on JAX clips
the probabilities at 1e-7 first, so the `test_loss` two backends write to metrics.json are not
the same measure. Every table, figure, finding and test therefore scores a run here, from its
saved probabilities: accuracy as a count of the 10,000 test images, log loss as the mean
categorical cross-entropy with probabilities clipped at Keras' epsilon. metrics.json keeps what
Keras recorded, untouched.
"""

import functools
from dataclasses import dataclass

import numpy as np

from .runs import TEST_SIZE

# Keras clips probabilities to [eps, 1 - eps] in its cross-entropy on JAX (and in its numpy
# reference): a probability saved as 0 in float16 then scores a finite loss.
KERAS_EPSILON = 1e-7
EPSILON_TEXT = "1e-7"  # KERAS_EPSILON as the words write it (Python's format gives '1e-07')


@functools.lru_cache(maxsize=None)
def test_labels(dataset="mnist"):
    """Return `dataset`'s 10,000 test labels (verified, loaded once per process)."""
    from .data import load_test_labels

    return load_test_labels(dataset)


def predictions(probs):
    """Return the predicted digit of each image."""
    return np.asarray(probs).argmax(axis=1)


def correctness(probs, labels):
    """Return whether each image's predicted digit is its label."""
    return predictions(probs) == np.asarray(labels)


def accuracy(probs, labels):
    """Return the fraction of images predicted right."""
    return float(correctness(probs, labels).mean())


def per_image_log_loss(probs, labels):
    """Return each image's cross-entropy, probabilities clipped at KERAS_EPSILON."""
    probs = np.clip(np.asarray(probs, np.float64), KERAS_EPSILON, 1 - KERAS_EPSILON)
    return -np.log(probs[np.arange(len(labels)), np.asarray(labels)])


def log_loss(probs, labels):
    """Return the study's test log loss: the mean clipped cross-entropy of `probs`."""
    return float(per_image_log_loss(probs, labels).mean())


@dataclass(frozen=True)
class RunScore:
    """One run's test scores: images right (of TEST_SIZE) and the clipped log loss."""

    model: str
    seed: int
    backend: str
    device: str
    correct: int
    log_loss: float
    keras_log_loss: float  # what Keras recorded in metrics.json (its backend's definition)

    @property
    def accuracy(self):
        return self.correct / TEST_SIZE

    @property
    def accuracy_percent(self):
        """Accuracy in percent: images right / 100, so differences read in percentage points."""
        return self.correct / (TEST_SIZE / 100)


def score_run(run, labels=None):
    """Return `run`'s RunScore from its saved test probabilities."""
    labels = test_labels(run.config.dataset) if labels is None else labels
    return RunScore(run.config.model, run.config.seed, run.metrics["backend"],
                    run.metrics["device"], int(correctness(run.probs, labels).sum()),
                    log_loss(run.probs, labels), float(run.metrics["test_loss"]))


def score_runs(runs_by_model, labels=None):
    """Return {model: [RunScore per run]} for {model: [Run]}, models without runs left out."""
    return {name: [score_run(run, labels) for run in runs]
            for name, runs in runs_by_model.items() if runs}


def images_right(accuracy_fraction):
    """Return the image count behind an accuracy over the test set (e.g. 0.99199998 -> 9920)."""
    return int(round(accuracy_fraction * TEST_SIZE))
