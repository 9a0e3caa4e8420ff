"""The words the claims and findings share (`mnist_cnn.claim_words`), from constructed values."""

from types import SimpleNamespace

import pytest

from mnist_cnn import claim_words
from mnist_cnn.analysis import ACCURACY, LOG_LOSS, OVERFITTING_SLOPE
from mnist_cnn.stats import BETTER, EQUAL, SEEDS_MOST, UNDECIDED


def test_seeds_are_counted_per_model_with_thousands_separated():
    assert claim_words.seeds_text(7) == "7 seeds per model"
    assert claim_words.seeds_text(1234) == "1,234 seeds per model"


def test_an_accuracy_margin_is_counted_in_whole_test_images():
    assert claim_words.images_text(0.1) == "10 of the 10,000 test images"
    assert claim_words.images_text(0.44) == "44 of the 10,000 test images"


def test_what_would_decide_says_seeds_or_that_the_test_set_cannot():
    assert claim_words.decide_text(13, False) == "about 13 seeds per model would decide it"
    assert claim_words.decide_text(None, False) == ""
    beyond = claim_words.decide_text(None, True)
    assert beyond.startswith("this test set cannot resolve it") and f"{SEEDS_MOST:,}" in beyond


@pytest.mark.parametrize("measure, margin, text", [
    (ACCURACY.name, 0.1, "±0.1 pp"),
    (LOG_LOSS.name, 0.0025, "±0.0025"),
    (OVERFITTING_SLOPE, 0.5, "±0.5% per epoch"),
])
def test_a_margin_is_written_with_its_unit(measure, margin, text):
    assert claim_words.margin_text(measure, margin) == text


def step(relation, difference, interval, equivalence=None):
    """A depth step from 5 to 7 layers as relations.judge_steps would return it."""
    return SimpleNamespace(measure=ACCURACY.name, a=7, b=5, relation=relation,
                           difference=difference, interval=interval,
                           equivalence_interval=equivalence)


@pytest.mark.parametrize("relation, difference, interval, text", [
    (BETTER, 0.16, (0.05, 0.28), "a gain from 5 to 7 layers (+0.16 pp [+0.05 pp, +0.28 pp])"),
    (EQUAL, -0.03, (-0.11, 0.05),
     "no gain from 5 to 7 layers (-0.03 pp [-0.11 pp, +0.05 pp], within ±0.1 pp)"),
    (UNDECIDED, 0.02, (-0.2, 0.24),
     "no clear change from 5 to 7 layers (+0.02 pp [-0.20 pp, +0.24 pp], nor shown within "
     "±0.1 pp)"),
])
def test_a_depth_step_says_what_it_does_and_why(relation, difference, interval, text):
    assert claim_words.step_text(step(relation, difference, interval), 0.1) == text


def test_a_step_without_its_interval_keeps_the_difference_and_the_margin():
    equal = step(EQUAL, -0.03, (-0.11, 0.05))
    assert (claim_words.step_text(equal, 0.1, interval=False)
            == "no gain from 5 to 7 layers (-0.03 pp, within ±0.1 pp)")


def test_a_difference_without_an_interval_says_why():
    one_run = SimpleNamespace(difference=0.2, interval=None)
    assert (claim_words.with_interval(ACCURACY, one_run)
            == "+0.20 pp (no interval under two runs)")
