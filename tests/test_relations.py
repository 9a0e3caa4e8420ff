"""Relations against the margins: every pair, every depth step and the backend's effect."""

import dataclasses
import math

import numpy as np
import pytest
from test_analysis import recorded, score

from mnist_cnn import analysis, relations
from mnist_cnn.analysis import ACCURACY, LOG_LOSS
from mnist_cnn.stats import BETTER, EQUAL, SEEDS_MOST, UNDECIDED, WORSE


def check_comparison(c, margin):
    """Assert that a Comparison's relation agrees with its intervals and its seeds."""
    if c.relation in (BETTER, WORSE):
        low, high = c.interval
        assert low > 0 or high < 0, c
        higher_is_better = c.measure != "log_loss"
        assert (c.difference > 0) == ((c.relation == BETTER) == higher_is_better), c
    if c.relation == EQUAL:
        low, high = c.equivalence_interval
        assert -margin < low and high < margin, c
    if c.relation != UNDECIDED:
        assert c.seeds_to_decide is None and not c.unresolvable, c
    assert c.seeds_to_decide is None or 2 <= c.seeds_to_decide <= SEEDS_MOST, c
    assert not (c.unresolvable and c.seeds_to_decide), c


def test_every_relation_on_the_recorded_study_agrees_with_its_intervals():
    scores, _, images = recorded()
    margins = analysis.margins()
    for measure in (ACCURACY, LOG_LOSS):
        pairs = relations.pair_comparisons(scores, measure, margins[measure.name], images)
        steps = relations.step_comparisons(scores, measure, margins[measure.name], images)
        assert len(pairs) == 21 and [(s.b, s.a) for s in steps] == [(2, 3), (3, 5), (5, 7)]
        for c in pairs + steps:
            check_comparison(c, margins[measure.name])
            assert c.interval[0] < c.difference < c.interval[1], c
            if measure is ACCURACY:  # the test images' own spread adds to the seeds'
                assert c.interval[1] - c.interval[0] > c.seeds_interval[1] - c.seeds_interval[0]
        for c in pairs:
            if c.relation in (BETTER, WORSE):  # clear: Holm over seeds as well as the interval
                assert c.p_holm < 0.05
    pairs = {(c.a, c.b): c for c in relations.pair_comparisons(scores, ACCURACY, 0.1, images)}
    assert pairs[("model_1", "model_4")].relation == WORSE  # two conv layers are too few
    assert pairs[("model_4", "model_5")].relation == EQUAL


def graded_images(scores, hard=300):
    """Return a PerImage for made-up scores: each run wrong on as many images as it misses,
    drawn from the first `hard` images (the hard ones every model tends to miss), its log loss
    spread evenly over them."""
    rng = np.random.default_rng(0)
    arrays = {"accuracy": {}, "log_loss": {}}
    for name, runs in scores.items():
        correct, loss = [], []
        for run in runs:
            wrong = np.zeros(10_000, bool)
            wrong[rng.choice(hard, 10_000 - run.correct, replace=False)] = True
            correct.append(100.0 * ~wrong)
            loss.append(np.where(wrong, run.log_loss * 10_000 / wrong.sum(), 0.0))
        arrays["accuracy"][name], arrays["log_loss"][name] = correct, loss
    return analysis.PerImage(arrays)


def test_a_comparison_reversed_reads_from_the_other_side():
    c = relations.Comparison("accuracy", "model_7", "model_1", 0.3, (0.1, 0.5), (0.15, 0.45),
                            (0.12, 0.48), BETTER, 0.01)
    r = c.reversed()
    assert (r.a, r.b, r.difference, r.interval, r.relation) == (
        "model_1", "model_7", -0.3, (-0.5, -0.1), WORSE)
    assert r.equivalence_interval == (-0.45, -0.15) and r.reversed() == c
    tie = dataclasses.replace(c, difference=0.0, relation=EQUAL).reversed()
    assert tie.relation == EQUAL and math.copysign(1, tie.difference) == 1  # never -0.0


def test_backend_effect_is_estimated_within_models():
    scores = {"model_1": [score("model_1", 0, 9920), score("model_1", 1, 9922),
                          score("model_1", 2, 9930, backend="jax"),
                          score("model_1", 3, 9932, backend="jax")],
              "model_2": [score("model_2", 0, 9950), score("model_2", 1, 9952),
                          score("model_2", 2, 9960, backend="jax"),
                          score("model_2", 3, 9962, backend="jax")]}
    effect = relations.backend_effect(scores, ACCURACY)
    assert effect.value == pytest.approx(0.1) and effect.low < 0.1 < effect.high
    only_tf = {"model_1": [score("model_1", 0, 9920), score("model_1", 1, 9922)]}
    assert relations.backend_effect(only_tf, ACCURACY) is None


def backend_study(tensorflow, jax):
    """Return model_1 and model_2 with {model: images right per run} on each backend."""
    return {name: [score(name, seed, c) for seed, c in enumerate(tensorflow[name])]
            + [score(name, 10 + seed, c, backend="jax") for seed, c in enumerate(jax[name])]
            for name in tensorflow}


@pytest.mark.parametrize("tensorflow, jax, relation", [
    # JAX 10 images (0.1 pp) higher in both models, runs ±0.01 pp about each cell's mean: dof 5,
    # SE² = 1.6e-4 / (sum of n_on n_off / n = 2) -> 95% half 2.571 · 0.0089 = 0.023: clear.
    ({"model_1": [9920, 9922], "model_2": [9950, 9952]},
     {"model_1": [9930, 9932], "model_2": [9960, 9962]}, BETTER),
    # The same runs on both backends: 0, 90% half 2.015 · 0.0089 = 0.018, inside ±0.1 pp.
    ({"model_1": [9920, 9922], "model_2": [9950, 9952]},
     {"model_1": [9920, 9922], "model_2": [9950, 9952]}, EQUAL),
    # Runs ±0.1 pp: 0.05 pp apart, SE 0.089, 90% half 0.18: neither off 0 nor inside ±0.1 pp.
    ({"model_1": [9910, 9930], "model_2": [9940, 9960]},
     {"model_1": [9915, 9935], "model_2": [9945, 9965]}, UNDECIDED),
])
def test_the_backend_effect_is_judged_against_the_margin_over_seeds(tensorflow, jax, relation):
    scores = backend_study(tensorflow, jax)
    judged = relations.backend_comparison(scores, ACCURACY, 0.1)
    effect = relations.backend_effect(scores, ACCURACY)
    assert judged.difference == pytest.approx(effect.value) and judged.relation == relation
    assert judged.interval == judged.seeds_interval == (effect.low, effect.high)
    half90 = 2.015048 * (judged.seeds_interval[1] - judged.difference) / 2.570582  # t(0.95, 5)
    assert judged.equivalence_interval == pytest.approx(
        (judged.difference - half90, judged.difference + half90))
    assert judged.models == ("model_1", "model_2") and judged.p_value == effect.p_value
    assert relations.backend_comparison({"model_1": scores["model_1"][:2]}, ACCURACY, 0.1) is None


def test_the_backend_effect_over_seeds_and_test_images_is_paired_within_models():
    scores = backend_study({"model_1": [9920, 9922, 9921], "model_2": [9950, 9952, 9951]},
                           {"model_1": [9925, 9927], "model_2": [9955, 9958]})
    images = graded_images(scores)
    judged = relations.backend_comparison(scores, ACCURACY, 0.1, images)
    assert judged.difference == pytest.approx(relations.backend_effect(scores, ACCURACY).value)
    low, high = judged.interval
    low90, high90 = judged.equivalence_interval
    assert low < low90 < judged.difference < high90 < high
    assert judged.interval != judged.seeds_interval  # the test images count now
    assert judged.relation == (BETTER if low > 0 else EQUAL if -0.1 < low90 and high90 < 0.1
                               else UNDECIDED)
    fewer = analysis.PerImage({m: {n: a[:-1] for n, a in images[m].items()}
                               for m in ("accuracy", "log_loss")})
    with pytest.raises(ValueError, match="per-image values of these runs"):
        relations.backend_comparison(scores, ACCURACY, 0.1, fewer)
