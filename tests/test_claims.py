"""The original's claims judged over seeds: on the recorded study and on made-up ones."""

import dataclasses
import math

import numpy as np
import pytest
from test_analysis import recorded, recorded_histories, study
from test_relations import check_comparison, graded_images

from mnist_cnn import analysis, claims, relations
from mnist_cnn.analysis import ACCURACY, LOG_LOSS
from mnist_cnn.models import CONV_LAYERS, MODEL_NAMES
from mnist_cnn.original import load_original
from mnist_cnn.runs import EPOCHS
from mnist_cnn.stats import BETTER, EQUAL, SEEDS_MOST, UNDECIDED, WORSE


CLAIM_IDS = (["depth-accuracy", "depth-log-loss", "model_7-best"]
             + [f"overfitting-{name}" for name in MODEL_NAMES])


def test_verdicts_on_the_recorded_study_name_every_claim_and_what_would_decide_it():
    scores, histories, images = recorded()
    judged = claims.judge_claims(scores, histories, load_original(), images)
    assert [c.id for c in judged] == CLAIM_IDS
    for c in judged:
        if c.verdict != claims.UNDECIDED:
            assert c.seeds_to_decide is None and not c.unresolvable, c
        else:  # seeds that would decide it, or the flag that no practical number would
            assert bool(c.seeds_to_decide) != c.unresolvable, c
            assert c.seeds_to_decide is None or c.seeds_to_decide <= SEEDS_MOST
    # The depth claims: 2→3 and 3→5 conv layers gain clearly, 5→7 does not.
    assert [s.relation for s in judged[0].steps[:2]] == [BETTER, BETTER]
    assert judged[0].verdict == judged[1].verdict == claims.PARTLY


def test_the_best_claim_counts_tied_means_as_one_rank():
    scores = study({"model_4": [9956, 9958, 9954], "model_5": [9957, 9955, 9956],
                    "model_7": [9954, 9956, 9958], "model_1": [9920, 9925, 9930]})
    claim = next(c for c in claims.judge_claims(scores, {}, load_original())
                 if c.id == "model_7-best")
    assert (claim.rank, claim.models, claim.tied) == (1, 4, ("model_4", "model_5"))
    # Equal to the two it ties (its 90% interval within ±0.1 pp), clearly better than model_1:
    # tied with the leaders.
    assert {c.b: c.relation for c in claim.against} == {
        "model_1": BETTER, "model_4": EQUAL, "model_5": EQUAL}
    assert claim.verdict == claims.PARTLY and claim.leaders == ("model_4", "model_5")
    assert claim.seeds_to_decide is None and not claim.unresolvable


def test_the_best_claim_names_the_model_the_originals_results_rank_first():
    reference = load_original()
    assert claims.original_best(reference) == "model_7"  # its logs: 99.63%, the highest
    reference = {**reference, "models": {**reference["models"], "model_3": {
        **reference["models"]["model_3"], "test_accuracy": 0.9990}}}
    scores = study({"model_3": [9950, 9952, 9954], "model_7": [9956, 9958, 9960]})
    [best] = [c for c in claims.judge_claims(scores, {}, reference) if c.id.endswith("-best")]
    assert (best.id, best.model) == ("model_3-best", "model_3")
    assert claims.original_best(reference, LOG_LOSS) == "model_7"  # its lowest log loss


def relabelled(mapping):
    """Return the recorded study with model `new` given the runs of model `old`, {new: old}:
    (scores, PerImage)."""
    scores, _, images = recorded()
    return ({new: [dataclasses.replace(s, model=new) for s in scores[old]]
             for new, old in mapping.items()},
            analysis.PerImage({measure: {new: images[measure][old] for new, old in mapping.items()}
                               for measure in images.arrays}))


def test_a_study_where_every_model_has_the_same_runs_has_no_gain_and_no_clear_pair():
    scores, images = relabelled({name: "model_4" for name in MODEL_NAMES})
    margins = analysis.margins()
    for measure in (ACCURACY, LOG_LOSS):
        pairs = relations.pair_comparisons(scores, measure, margins[measure.name], images)
        assert all(c.difference == 0 and c.relation in (EQUAL, UNDECIDED) for c in pairs)
        steps = relations.step_comparisons(scores, measure, margins[measure.name], images)
        assert all(s.relation in (EQUAL, UNDECIDED) for s in steps), steps
    # On accuracy every pair is practically tied: the same runs, 90% intervals within ±0.1 pp.
    assert {c.relation for c in relations.pair_comparisons(scores, ACCURACY, 0.1, images)} == {
        EQUAL}
    judged = {c.id: c for c in claims.judge_claims(scores, recorded_histories(),
                                                    load_original(), images)}
    assert judged["depth-accuracy"].verdict == claims.NOT_SUPPORTED  # every step equal
    assert judged["depth-log-loss"].verdict in (claims.NOT_SUPPORTED, claims.UNDECIDED)
    # Tied with every other model: never "the best" outright.
    assert judged["model_7-best"].verdict == claims.PARTLY
    assert judged["model_7-best"].leaders == tuple(n for n in MODEL_NAMES if n != "model_7")


def test_a_study_with_depth_reversed_refutes_the_depth_claims():
    by_depth = sorted(MODEL_NAMES, key=lambda n: (CONV_LAYERS[n], n))
    # The shallowest model gets the deepest model's runs, and so on.
    scores, images = relabelled(dict(zip(by_depth, reversed(by_depth))))
    judged = {c.id: c for c in claims.judge_claims(scores, recorded_histories(),
                                                    load_original(), images)}
    assert judged["depth-accuracy"].verdict == claims.NOT_SUPPORTED
    assert judged["depth-log-loss"].verdict == claims.NOT_SUPPORTED
    for claim in ("depth-accuracy", "depth-log-loss"):
        relations = [s.relation for s in judged[claim].steps]
        assert BETTER not in relations and WORSE in relations
    assert judged["model_7-best"].verdict == claims.NOT_SUPPORTED  # it has model_1's runs


def depth_study(images_right_by_depth):
    """Return a made-up study: 5 seeds per model, {conv layers: images right around which they lie}."""
    jitter = [-4, -2, 0, 2, 4]
    return study({name: [images_right_by_depth[CONV_LAYERS[name]] + j for j in jitter]
                  for name in MODEL_NAMES})


def test_a_depth_claim_is_supported_only_when_every_step_gains_clearly():
    histories, original = recorded_histories(), load_original()
    every_step = depth_study({2: 9920, 3: 9940, 5: 9960, 7: 9980})
    flat_last_step = depth_study({2: 9920, 3: 9940, 5: 9960, 7: 9961})
    judged = {c.id: c for c in claims.judge_claims(every_step, histories, original)}
    assert judged["depth-accuracy"].verdict == claims.SUPPORTED
    judged = {c.id: c for c in claims.judge_claims(flat_last_step, histories, original)}
    # The 5→7 mean points the right way (+0.01 pp), well within the margin of 0.1 pp: no gain.
    assert [s.relation for s in judged["depth-accuracy"].steps] == [BETTER, BETTER, EQUAL]
    assert judged["depth-accuracy"].verdict == claims.PARTLY
    # A step that may go either way (its 90% interval past the margin) leaves it undecided.
    wide = study({name: [9960 + (j if CONV_LAYERS[name] < 7 else 10 * j) for j in (-4, -2, 0, 2, 4)]
                  for name in MODEL_NAMES})
    judged = {c.id: c for c in claims.judge_claims(wide, histories, original)}
    assert judged["depth-accuracy"].steps[-1].relation == UNDECIDED
    assert judged["depth-accuracy"].verdict == claims.UNDECIDED
    assert judged["depth-accuracy"].seeds_to_decide


def history_with(val_second_half):
    """Return a 30-epoch history whose validation loss ends along `val_second_half`."""
    first = list(np.linspace(0.2, 0.05, EPOCHS - len(val_second_half)))
    train = list(np.geomspace(0.3, 0.001, EPOCHS))
    return {"loss": train, "val_loss": first + list(val_second_half)}


RISING = np.linspace(0.03, 0.05, 15)


FALLING = np.linspace(0.05, 0.03, 15)


def seeds_along(val_second_half):
    """Return three seeds' histories along `val_second_half`, each a little off it."""
    return [history_with(val_second_half + n) for n in (0.0, 0.002, -0.002)]


def mixed_seeds():
    """Return three seeds' histories: one rising, one falling, one rising half as fast."""
    return [history_with(RISING), history_with(FALLING), history_with(RISING * 0.5 + 0.02)]


def flat_seeds():
    """Return three seeds' histories whose validation loss moves +0.1, -0.1 and 0% per epoch."""
    # A line from 0.04 - x to 0.04 + x over 14 epochs: 100 * (2x / 14) / 0.04 % per epoch.
    return [history_with(np.linspace(0.04 - x, 0.04 + x, 15)) for x in (0.00028, -0.00028, 0)]


def test_overfitting_is_judged_by_the_mean_slope_over_seeds_against_the_margin():
    rising, falling = seeds_along(RISING), seeds_along(FALLING)
    original_rises = history_with(RISING)

    def judge(name, histories, original):
        return claims._overfitting_verdict(name, histories, original, margin=0.5)

    verdict = judge("model_1", rising, original_rises)
    assert verdict.original.rises and verdict.overfits and verdict.verdict == claims.SUPPORTED
    assert verdict.ours.rising == 3 and verdict.runs == 3
    assert judge("model_1", falling, original_rises).verdict == claims.NOT_SUPPORTED
    verdict = judge("model_2", falling, history_with(FALLING))
    assert not verdict.original.rises and verdict.overfits is False
    assert verdict.verdict == claims.SUPPORTED
    # Flat seeds: no clear rise, and the 90% interval (0 ± 2.92 · 0.1 / √3) stays below +0.5.
    verdict = judge("model_2", flat_seeds(), history_with(FALLING))
    assert verdict.high90 == pytest.approx(2.919986 * 0.1 / math.sqrt(3), abs=2e-3)
    assert verdict.overfits is False and verdict.verdict == claims.SUPPORTED
    # With a margin of 0.1% per epoch the same seeds no longer rule a rise out.
    verdict = claims._overfitting_verdict("model_2", flat_seeds(), history_with(FALLING), 0.1)
    assert verdict.overfits is None and verdict.verdict == claims.UNDECIDED
    verdict = judge("model_2", mixed_seeds(), history_with(FALLING))
    assert verdict.verdict == claims.UNDECIDED and verdict.seeds_to_decide
    assert verdict.high90 > 0.5 and not verdict.unresolvable
    one = judge("model_2", rising[:1], history_with(FALLING))
    assert one.verdict == claims.UNDECIDED and one.ours is None and one.runs == 1


def test_curve_trend_reads_the_second_half_only():
    trend = claims.curve_trend(history_with(RISING))
    # 0.02 over 14 epochs on a mean of 0.04: +3.57% of the mean per epoch.
    assert trend.val_slope == pytest.approx(100 * (0.02 / 14) / 0.04)
    assert trend.rises and trend.train_slope < 0


# --- the claims' verdicts on made-up studies whose answer is known ------------------------

def graded_study(images_right):
    """Return a made-up study: 5 seeds per model around {model: images right}, each run's log
    loss the lower the more images it gets right."""
    counts = {name: [images_right[name] + j for j in (-4, -2, 0, 2, 4)] for name in MODEL_NAMES}
    return study(counts, {name: [(10_000 - c) / 2_000 for c in runs]
                          for name, runs in counts.items()})


# Each depth 20 images above the one before, and model_7 20 above model_6, its equal in depth.
DEEPER_IS_BETTER = {"model_1": 9900, "model_2": 9920, "model_3": 9920, "model_4": 9940,
                    "model_5": 9940, "model_6": 9960, "model_7": 9980}


@pytest.mark.parametrize("images_right, verdicts", [
    (DEEPER_IS_BETTER, (claims.SUPPORTED,) * 3),
    # model_1 gets model_7's level, model_2 model_6's, ...: the deeper, the worse, model_7 last.
    ({name: DEEPER_IS_BETTER[level] for name, level in zip(MODEL_NAMES, reversed(MODEL_NAMES))},
     (claims.NOT_SUPPORTED,) * 3),
    # Every step equal: no gain; model_7 equal to every model: tied with the leaders, all six.
    ({name: 9946 for name in MODEL_NAMES},
     (claims.NOT_SUPPORTED, claims.NOT_SUPPORTED, claims.PARTLY)),
], ids=["deeper is better", "deeper is worse", "every model alike"])
def test_the_depth_and_best_verdicts_follow_from_a_constructed_study(images_right, verdicts):
    # Scores only: the intervals are over seeds (Welch), as without per-image values.
    judged = claims.judge_claims(graded_study(images_right), {}, load_original())
    assert [c.id for c in judged] == CLAIM_IDS
    assert tuple(c.verdict for c in judged[:3]) == verdicts
    # Without histories no overfitting claim has anything to be judged on.
    assert all(c.verdict == claims.UNDECIDED and c.ours is None and c.runs == 0
               for c in judged[3:])


def test_a_clear_study_stays_clear_over_seeds_and_test_images():
    scores = graded_study(DEEPER_IS_BETTER)
    images = graded_images(scores)
    means = relations.model_means(scores, ACCURACY, images)
    assert means["model_7"].mean == pytest.approx(99.80)
    assert images["accuracy"]["model_7"].mean() == pytest.approx(99.80)  # the same runs
    low, high = means["model_7"].interval
    assert low < 99.80 < high and means["model_7"].seeds_interval != means["model_7"].interval
    judged = claims.judge_claims(scores, {}, load_original(), images)
    assert tuple(c.verdict for c in judged[:3]) == (claims.SUPPORTED,) * 3
    for claim in judged[:3]:
        for c in getattr(claim, "steps", ()) + getattr(claim, "against", ()):
            check_comparison(c, analysis.margins()[c.measure])
    # Judged again from scratch (caches emptied): the same numbers, from the seeded rng.
    for cached in (analysis._draws, relations._pair_comparisons, relations._step_comparisons):
        cached.cache_clear()
    assert claims.judge_claims(scores, {}, load_original(), graded_images(scores)) == judged


def test_the_overfitting_verdicts_follow_from_constructed_curves():
    ours = {"model_1": seeds_along(RISING), "model_2": seeds_along(RISING),
            "model_3": seeds_along(FALLING), "model_4": seeds_along(FALLING),
            "model_5": mixed_seeds(), "model_6": seeds_along(RISING)[:1]}  # model_7: no run
    original_rises = {"model_1", "model_3", "model_5"}
    original = load_original()
    reference = {**original, "models": {
        name: {**original["models"][name],
               "history": history_with(RISING if name in original_rises else FALLING)}
        for name in MODEL_NAMES}}
    judged = claims.judge_claims(graded_study(DEEPER_IS_BETTER), ours, reference)
    assert [c.id for c in judged] == CLAIM_IDS
    overfitting = {c.id.removeprefix("overfitting-"): c for c in judged[3:]}
    assert {name: c.original.rises
            for name, c in overfitting.items()} == {n: n in original_rises for n in MODEL_NAMES}
    assert {name: c.verdict for name, c in overfitting.items()} == {
        "model_1": claims.SUPPORTED,      # both rise
        "model_2": claims.NOT_SUPPORTED,  # ours rise, the original's falls
        "model_3": claims.NOT_SUPPORTED,  # ours fall, the original's rises
        "model_4": claims.SUPPORTED,      # both fall
        "model_5": claims.UNDECIDED,      # ours rise in some seeds and fall in others
        "model_6": claims.UNDECIDED,      # one seed
        "model_7": claims.UNDECIDED}      # none
    assert overfitting["model_5"].seeds_to_decide
    assert overfitting["model_6"].runs == 1 and overfitting["model_7"].runs == 0

