"""Check what the section notebooks say under a model's runs, on synthetic runs."""

import numpy as np
import pytest
from test_report import RESULTS

from mnist_cnn.observations import BELOW_TRAINING, observations
from mnist_cnn.original import load_original
from mnist_cnn.runs import EPOCHS

from helpers import make_run


@pytest.fixture(scope="module")
def reference():
    return load_original()


def test_observations_are_computed_from_the_histories_of_every_seed(reference):
    model_1 = [make_run("model_1", seed, accuracy, loss)
               for seed, (accuracy, loss) in RESULTS["model_1"].items()]
    text = observations(model_1, reference)
    lows = [min(run.history["val_loss"]) for run in model_1]
    best = [run.history["val_loss"].index(low) + 1 for run, low in zip(model_1, lows)]
    assert best == [EPOCHS] * 3  # make_run's losses fall to the end
    assert (f"model_1 over 3 seeds: validation loss is lowest at epoch {EPOCHS} of {EPOCHS} "
            f"({np.mean(lows):.4f} on average)") in text
    # make_run's validation loss is its training loss + 0.02: above in every seed.
    assert ("validation ends above training in every seed "
            "(validation minus training: +0.0200") in text
    seed_val = reference["models"]["model_1"]["history"]["val_loss"]
    assert f"lowest at epoch {seed_val.index(min(seed_val)) + 1} ({min(seed_val):.4f})" in text
    assert "mean of 3 seeds" in text
    # The original's 99.20% against where one new run of ours would fall (3 seeds: own SD).
    assert "the original's test accuracy 99.20% lies inside the 95% interval" in text
    assert "stand-in" not in text and BELOW_TRAINING not in text  # every loss ends above
    # A seed whose validation loss bottoms out early: the seeds' best epochs span a range.
    early = make_run("model_1", seed=3)
    early.history["val_loss"][1:] = [early.history["val_loss"][0] + 0.1] * (EPOCHS - 1)
    spread = observations(model_1 + [early], reference)
    assert (f"model_1 over 4 seeds: validation loss is lowest at epoch 1 to {EPOCHS} of {EPOCHS}, "
            "depending on the seed (") in spread
    short = observations([make_run("model_2", epochs=2)], reference)
    assert "another configuration (epochs2), not the original protocol" in short
    assert "the original" not in short.replace("not the original protocol", "").replace(
        "compared with the original", "")  # no comparison with the original's numbers


def test_observations_say_why_validation_ends_below_training(reference):
    # model_1: the original's validation loss ends above its training loss.
    below = [make_run("model_1", seed) for seed in (0, 1)]
    below[0].history["val_loss"] = [value * 0.8 for value in below[0].history["loss"]]
    text = observations(below, reference)
    assert "validation ends below training in 1 of 2 seeds" in text
    assert text.endswith(BELOW_TRAINING)
    assert "dropout" in BELOW_TRAINING and "running mean" in BELOW_TRAINING


def test_observations_flag_a_run_resumed_before_exact_resume(reference):
    old, new = make_run("model_1", seed=1), make_run("model_1", seed=2)
    old.metrics["resumed_after_epoch"] = 4  # recorded before resumes kept the random state
    new.metrics.update(resumed_after_epoch=4, resume="exact")
    text = observations([make_run("model_1"), old, new], reference)
    assert ("model_1 seed 1 was interrupted after epoch 4 and resumed with a new shuffling of "
            "the data and new dropout masks") in text
    assert "model_1 seed 2 was resumed" not in text
