"""A run's test scores from its saved probabilities: one definition for every backend."""

import math

import numpy as np
import pytest

from mnist_cnn import scores

from helpers import make_run, probs_scoring


def test_accuracy_and_the_clipped_log_loss_by_hand():
    labels = np.array([0, 1, 2, 2])
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0, 0, 0, 0, 0],     # right
                      [0.6, 0.4, 0, 0, 0, 0, 0, 0, 0, 0],     # wrong
                      [0, 0, 1.0, 0, 0, 0, 0, 0, 0, 0],       # right, probability 1
                      [0, 1.0, 0, 0, 0, 0, 0, 0, 0, 0]])      # wrong, probability 0
    assert scores.accuracy(probs, labels) == 0.5
    # Probabilities are clipped to [1e-7, 1 - 1e-7]: 1 scores -log(1 - 1e-7), 0 scores -log(1e-7).
    expected = -(math.log(0.9) + math.log(0.4) + math.log(1 - 1e-7) + math.log(1e-7)) / 4
    assert scores.log_loss(probs, labels) == pytest.approx(expected)


def test_a_run_is_scored_from_its_probabilities_not_its_metrics():
    run = make_run("model_3", 2, 0.9951, 0.0213)
    run.metrics.update(test_loss=0.05, backend="jax", device="GPU: x")
    score = scores.score_run(run)
    assert (score.model, score.seed, score.backend, score.correct) == ("model_3", 2, "jax", 9951)
    assert score.log_loss == pytest.approx(0.0213, abs=2e-5) and score.keras_log_loss == 0.05
    assert score.accuracy == 0.9951 and score.accuracy_percent == pytest.approx(99.51)


def test_images_right_rounds_a_float32_accuracy_to_the_image():
    assert scores.images_right(0.9919999837875366) == 9920
    assert scores.images_right(0.9945999979972839) == 9946


def test_synthetic_probabilities_refuse_an_impossible_pair():
    with pytest.raises(ValueError):
        probs_scoring(0.9, 0.0001)


def test_the_clipping_epsilon_is_written_as_its_value():
    assert float(scores.EPSILON_TEXT) == scores.KERAS_EPSILON
