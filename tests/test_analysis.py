"""The study's analysis: architectures over seeds, trained networks one by one."""

import dataclasses
import functools
import math
import statistics
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn import analysis
from mnist_cnn.analysis import ACCURACY, LOG_LOSS
from mnist_cnn.models import CONV_LAYERS, MODEL_NAMES
from mnist_cnn.original import load_original
from mnist_cnn.runs import EPOCHS, representatives
from mnist_cnn.scores import RunScore, score_runs
from mnist_cnn.stats import BETTER, EQUAL, SEEDS_MOST, UNDECIDED, WORSE

RESULTS = Path(__file__).resolve().parents[1] / "results"


def pair(only_a, only_b, both=5, neither=2):
    """Return correctness arrays with the given counts of each agreement pattern."""
    a = [True] * only_a + [False] * only_b + [True] * both + [False] * neither
    b = [False] * only_a + [True] * only_b + [True] * both + [False] * neither
    return np.array(a), np.array(b)


@pytest.mark.parametrize("only_a, only_b, p_value", [
    (0, 0, 1.0),                # no disagreement at all
    (3, 3, 1.0),                # a tie: 2 * P(X <= 3 | n=6) = 2 * 42/64 > 1, capped
    (5, 0, 2 / 32),             # all five discordant images favour a: 2 * (1/2)^5
    (1, 9, 2 * 11 / 1024),      # 2 * (C(10,0) + C(10,1)) / 2^10
    (2, 7, 2 * 46 / 512),       # 2 * (1 + 9 + 36) / 2^9
])
def test_mcnemar_matches_hand_computed_cases(only_a, only_b, p_value):
    result = analysis.mcnemar(*pair(only_a, only_b))
    assert (result.only_a, result.only_b) == (only_a, only_b)
    assert result.p_value == pytest.approx(p_value, rel=1e-12)


def test_mcnemar_large_n_against_the_binomial_sum():
    only_a, only_b = 600, 400
    n = only_a + only_b
    exact = 2 * sum(math.comb(n, k) for k in range(only_b + 1)) / 2 ** n
    result = analysis.mcnemar(*pair(only_a, only_b, both=8000, neither=1000))
    assert result.p_value == pytest.approx(exact, rel=1e-9)
    assert result.p_value < 1e-9


def test_mcnemar_refuses_arrays_of_different_length():
    with pytest.raises(ValueError):
        analysis.mcnemar([True, False], [True])


def test_pairwise_mcnemar_names_the_better_model_and_applies_holm():
    a, b = pair(1, 9)
    tests = analysis.pairwise_mcnemar({"model_1": a, "model_2": b, "model_3": b.copy()})
    assert [(t.a, t.b) for t in tests] == [("model_1", "model_2"), ("model_1", "model_3"),
                                           ("model_2", "model_3")]
    assert tests[0].better == "model_2" and tests[2].better is None
    # Three tests: the two equal smallest p-values are multiplied by 3 and 2, then made monotone.
    assert tests[0].p_holm == pytest.approx(3 * 22 / 1024)
    assert tests[2].p_holm == 1.0


def confusion_probs():
    labels = np.array([0, 1, 2, 2])
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0, 0, 0, 0, 0],     # right
                      [0.6, 0.4, 0, 0, 0, 0, 0, 0, 0, 0],     # wrong, confidence 0.6
                      [0, 0, 1.0, 0, 0, 0, 0, 0, 0, 0],       # right, probability 1
                      [0, 0.95, 0.05, 0, 0, 0, 0, 0, 0, 0]])  # wrong, confidence 0.95
    return probs, labels


def test_confusion_matrix_mistakes_and_ensemble():
    probs, labels = confusion_probs()
    matrix = analysis.confusion_matrix(labels, analysis.predictions(probs))
    assert matrix.shape == (10, 10) and matrix.sum() == 4
    assert (matrix[0, 0], matrix[1, 0], matrix[2, 2], matrix[2, 1]) == (1, 1, 1, 1)
    assert analysis.confident_mistakes(probs, labels, 5).tolist() == [3, 1]
    mean = analysis.ensemble([probs, probs[::-1]])
    assert mean[0, 0] == pytest.approx(0.45) and mean.sum(axis=1) == pytest.approx(np.ones(4))


# --- architectures over seeds, on made-up scores -----------------------------------------

def score(model, seed, correct, loss=0.02, backend="tensorflow"):
    return RunScore(model, seed, backend, "CPU: test", correct, loss, loss)


def study(correct_by_model, losses=None):
    """Return {model: [RunScore]} from {model: [images right per seed]}."""
    losses = losses or {}
    return {name: [score(name, seed, c, (losses.get(name) or [0.02] * len(counts))[seed])
                   for seed, c in enumerate(counts)]
            for name, counts in correct_by_model.items()}


def test_estimates_pool_the_sd_for_models_with_few_seeds():
    scores = study({"model_1": [9920, 9922, 9924], "model_2": [9950, 9954, 9952],
                    "model_3": [9960, 9962]})
    estimates = analysis.model_estimates(scores, ACCURACY)
    # Squares about each mean, in pp^2: 0.0008 (model_1), 0.0008 (model_2), 0.0002 (model_3),
    # over 2 + 2 + 1 degrees of freedom.
    assert not estimates["model_1"].pooled and estimates["model_3"].pooled
    assert estimates["model_3"].sd == pytest.approx(math.sqrt(0.0018 / 5))
    assert estimates["model_3"].dof == 5 and estimates["model_1"].mean == pytest.approx(99.22)


def test_fidelity_asks_whether_one_run_of_ours_could_score_the_originals_result():
    reference = load_original()  # model_1: 9,920 images right, log loss 0.03234
    scores = study({"model_1": [9918, 9921, 9922, 9919]}, {"model_1": [0.031, 0.033, 0.032, 0.034]})
    [entry] = analysis.fidelity(scores, reference, ACCURACY)
    # Mean 99.20, sd 0.01826 pp; one new run: ± t(0.975, 3) * sd * sqrt(1 + 1/4).
    half = 3.182446 * 0.018257 * math.sqrt(1.25)
    assert (entry.low, entry.high) == pytest.approx((99.2 - half, 99.2 + half), abs=1e-4)
    assert entry.original == 99.2 and entry.inside is True
    far = study({"model_1": [9950, 9951, 9952]})
    assert analysis.fidelity(far, reference, ACCURACY)[0].inside is False
    [loss] = analysis.fidelity(scores, reference, LOG_LOSS)
    assert loss.inside is True and loss.original == pytest.approx(0.03234, abs=1e-5)
    single = analysis.fidelity(study({"model_1": [9920]}), reference, ACCURACY)[0]
    assert single.inside is None  # no SD to build an interval on


def test_a_log_loss_interval_is_built_on_its_logarithm_and_stays_above_zero():
    reference = load_original()
    losses = [0.01, 0.02, 0.04]  # logs: ln 0.02 - ln 2, ln 0.02, ln 0.02 + ln 2
    [loss] = analysis.fidelity(study({"model_1": [9920] * 3}, {"model_1": losses}), reference,
                               LOG_LOSS)
    # On the log scale: mean ln 0.02, sd ln 2; one new run: ± t(0.975, 2) * sd * sqrt(1 + 1/3).
    half = 4.302653 * math.log(2) * math.sqrt(4 / 3)
    assert loss.low == pytest.approx(0.02 * math.exp(-half), rel=1e-5)
    assert loss.high == pytest.approx(0.02 * math.exp(half), rel=1e-5)
    assert loss.low > 0 and loss.mean == pytest.approx(0.07 / 3)  # the mean stays the runs'
    # On the raw scale the same runs give mean - half < 0, an interval cut off at 0.
    raw_half = 4.302653 * statistics.stdev(losses) * math.sqrt(4 / 3)
    assert statistics.fmean(losses) - raw_half < 0


def test_a_count_equal_to_the_originals_is_never_called_outside():
    reference = load_original()  # model_2: 0.99459999 in its log, 9,946 images right
    scores = study({"model_2": [9946, 9946, 9946]})
    assert analysis.fidelity(scores, reference, ACCURACY)[0].inside is True


def test_architecture_pairs_apply_holm_and_give_the_probability_of_improvement():
    scores = study({"model_1": [9900, 9902, 9904], "model_2": [9950, 9952, 9954],
                    "model_3": [9950, 9951, 9955]})
    pairs = {(p.a, p.b): p for p in analysis.architecture_pairs(scores, ACCURACY)}
    first = pairs[("model_1", "model_2")]
    assert first.difference.difference == pytest.approx(-0.5)
    raw = [p.difference.p_value for p in pairs.values()]
    assert [p.p_holm for p in pairs.values()] == pytest.approx(analysis.holm(raw))
    assert first.significant and (first.p_a_beats_b, first.p_low, first.p_high) == (0, 0, 0)
    # model_2 against model_3: 9950 ties 9950; 9952 beats 9950 and 9951; 9954 beats two.
    assert pairs[("model_2", "model_3")].p_a_beats_b == pytest.approx((0.5 + 2 + 2) / 9)
    # Log loss: lower is better, so a run of the lower-loss model "beats".
    losses = study({"model_1": [9900] * 3, "model_2": [9900] * 3},
                   {"model_1": [0.03, 0.031, 0.032], "model_2": [0.02, 0.021, 0.022]})
    [pair] = analysis.architecture_pairs(losses, LOG_LOSS)
    assert pair.p_a_beats_b == 0.0


@functools.lru_cache(maxsize=1)
def recorded():
    """Return the recorded MNIST study: (scores, histories, PerImage), loaded once."""
    from mnist_cnn.scores import test_labels  # imported at the top, pytest would collect it

    runs = {name: runs for name, runs in representatives(RESULTS, protocol_only=True).items()
            if runs}
    return (score_runs(runs), {name: [run.history for run in r] for name, r in runs.items()},
            analysis.per_image(runs, test_labels()))


def recorded_scores():
    return recorded()[0]


def recorded_histories():
    return recorded()[1]


CLAIM_IDS = (["depth-accuracy", "depth-log-loss", "model_7-best"]
             + [f"overfitting-{name}" for name in MODEL_NAMES])


def test_margins_follow_from_the_typical_scores_of_each_data_set():
    for dataset, error, loss in (("mnist", 0.005, 0.025), ("fashion-mnist", 0.08, 0.25)):
        margins = analysis.margins(dataset)
        # The SE of a difference of two accuracies on independent sets of 10,000, in pp.
        se = 100 * math.sqrt(2 * error * (1 - error) / 10_000)
        assert margins["accuracy"] == pytest.approx(float(f"{se:.1g}"))
        assert margins["log_loss"] == pytest.approx(loss / 10)
        assert margins["overfitting_slope"] == 0.5
    assert analysis.margins("mnist")["accuracy"] == 0.1  # 10 test images
    assert analysis.margins("fashion-mnist")["accuracy"] == 0.4
    assert set(analysis.margins()) == set(analysis.MARGIN_UNITS)
    with pytest.raises(ValueError):
        analysis.margins("cifar-10")


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
        pairs = analysis.pair_comparisons(scores, measure, margins[measure.name], images)
        steps = analysis.step_comparisons(scores, measure, margins[measure.name], images)
        assert len(pairs) == 21 and [(s.b, s.a) for s in steps] == [(2, 3), (3, 5), (5, 7)]
        for c in pairs + steps:
            check_comparison(c, margins[measure.name])
            assert c.interval[0] < c.difference < c.interval[1], c
            if measure is ACCURACY:  # the test images' own spread adds to the seeds'
                assert c.interval[1] - c.interval[0] > c.seeds_interval[1] - c.seeds_interval[0]
        for c in pairs:
            if c.relation in (BETTER, WORSE):  # clear: Holm over seeds as well as the interval
                assert c.p_holm < 0.05
    pairs = {(c.a, c.b): c for c in analysis.pair_comparisons(scores, ACCURACY, 0.1, images)}
    assert pairs[("model_1", "model_4")].relation == WORSE  # two conv layers are too few
    assert pairs[("model_4", "model_5")].relation == EQUAL


def test_verdicts_on_the_recorded_study_name_every_claim_and_what_would_decide_it():
    scores, histories, images = recorded()
    claims = analysis.judge_claims(scores, histories, load_original(), images)
    assert [c.id for c in claims] == CLAIM_IDS
    for c in claims:
        if c.verdict != analysis.UNDECIDED:
            assert c.seeds_to_decide is None and not c.unresolvable, c
        else:  # seeds that would decide it, or the flag that no practical number would
            assert bool(c.seeds_to_decide) != c.unresolvable, c
            assert c.seeds_to_decide is None or c.seeds_to_decide <= SEEDS_MOST
    # The depth claims: 2→3 and 3→5 conv layers gain clearly, 5→7 does not.
    assert [s.relation for s in claims[0].steps[:2]] == [BETTER, BETTER]
    assert claims[0].verdict == claims[1].verdict == analysis.PARTLY


def test_the_best_claim_counts_tied_means_as_one_rank():
    scores = study({"model_4": [9956, 9958, 9954], "model_5": [9957, 9955, 9956],
                    "model_7": [9954, 9956, 9958], "model_1": [9920, 9925, 9930]})
    claim = next(c for c in analysis.judge_claims(scores, {}, load_original())
                 if c.id == "model_7-best")
    assert (claim.rank, claim.models, claim.tied) == (1, 4, ("model_4", "model_5"))
    # Equal to the two it ties (its 90% interval within ±0.1 pp), clearly better than model_1:
    # tied with the leaders.
    assert {c.b: c.relation for c in claim.against} == {
        "model_1": BETTER, "model_4": EQUAL, "model_5": EQUAL}
    assert claim.verdict == analysis.PARTLY and claim.leaders == ("model_4", "model_5")
    assert claim.seeds_to_decide is None and not claim.unresolvable


def test_power_takes_every_model_tied_first_as_the_leaders():
    scores = study({"model_5": [9957, 9955, 9956], "model_4": [9956, 9958, 9954],
                    "model_7": [9954, 9956, 9958], "model_1": [9920, 9925, 9930]})
    power = analysis.power(scores, ACCURACY)
    assert power.leaders == ("model_4", "model_5", "model_7")
    assert power.gap == 0 and power.best == pytest.approx(99.56)


def test_ranking_groups_tied_means_and_orders_by_the_measures_direction():
    # model_2 and model_3 tie on both measures (0.03 + 0.01 halves to 0.02 only up to float
    # noise); model_4 is best on both: first for accuracy (higher) and for log loss (lower).
    scores = study({"model_2": [9950, 9952], "model_3": [9951, 9951], "model_4": [9960, 9962]},
                   {"model_2": [0.03, 0.01], "model_3": [0.02, 0.02], "model_4": [0.01, 0.01]})
    for measure in (ACCURACY, LOG_LOSS):
        assert analysis.ranking(analysis.model_estimates(scores, measure), measure) == [
            ("model_4",), ("model_2", "model_3")]


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
        pairs = analysis.pair_comparisons(scores, measure, margins[measure.name], images)
        assert all(c.difference == 0 and c.relation in (EQUAL, UNDECIDED) for c in pairs)
        steps = analysis.step_comparisons(scores, measure, margins[measure.name], images)
        assert all(s.relation in (EQUAL, UNDECIDED) for s in steps), steps
    # On accuracy every pair is practically tied: the same runs, 90% intervals within ±0.1 pp.
    assert {c.relation for c in analysis.pair_comparisons(scores, ACCURACY, 0.1, images)} == {
        EQUAL}
    claims = {c.id: c for c in analysis.judge_claims(scores, recorded_histories(),
                                                    load_original(), images)}
    assert claims["depth-accuracy"].verdict == analysis.NOT_SUPPORTED  # every step equal
    assert claims["depth-log-loss"].verdict in (analysis.NOT_SUPPORTED, analysis.UNDECIDED)
    # Tied with every other model: never "the best" outright.
    assert claims["model_7-best"].verdict == analysis.PARTLY
    assert claims["model_7-best"].leaders == tuple(n for n in MODEL_NAMES if n != "model_7")


def test_a_study_with_depth_reversed_refutes_the_depth_claims():
    by_depth = sorted(MODEL_NAMES, key=lambda n: (CONV_LAYERS[n], n))
    # The shallowest model gets the deepest model's runs, and so on.
    scores, images = relabelled(dict(zip(by_depth, reversed(by_depth))))
    claims = {c.id: c for c in analysis.judge_claims(scores, recorded_histories(),
                                                    load_original(), images)}
    assert claims["depth-accuracy"].verdict == analysis.NOT_SUPPORTED
    assert claims["depth-log-loss"].verdict == analysis.NOT_SUPPORTED
    for claim in ("depth-accuracy", "depth-log-loss"):
        relations = [s.relation for s in claims[claim].steps]
        assert BETTER not in relations and WORSE in relations
    assert claims["model_7-best"].verdict == analysis.NOT_SUPPORTED  # it has model_1's runs


def depth_study(images_right_by_depth):
    """Return a made-up study: 5 seeds per model, {conv layers: images right around which they lie}."""
    jitter = [-4, -2, 0, 2, 4]
    return study({name: [images_right_by_depth[CONV_LAYERS[name]] + j for j in jitter]
                  for name in MODEL_NAMES})


def test_a_depth_claim_is_supported_only_when_every_step_gains_clearly():
    histories, original = recorded_histories(), load_original()
    every_step = depth_study({2: 9920, 3: 9940, 5: 9960, 7: 9980})
    flat_last_step = depth_study({2: 9920, 3: 9940, 5: 9960, 7: 9961})
    claims = {c.id: c for c in analysis.judge_claims(every_step, histories, original)}
    assert claims["depth-accuracy"].verdict == analysis.SUPPORTED
    claims = {c.id: c for c in analysis.judge_claims(flat_last_step, histories, original)}
    # The 5→7 mean points the right way (+0.01 pp), well within the margin of 0.1 pp: no gain.
    assert [s.relation for s in claims["depth-accuracy"].steps] == [BETTER, BETTER, EQUAL]
    assert claims["depth-accuracy"].verdict == analysis.PARTLY
    # A step that may go either way (its 90% interval past the margin) leaves it undecided.
    wide = study({name: [9960 + (j if CONV_LAYERS[name] < 7 else 10 * j) for j in (-4, -2, 0, 2, 4)]
                  for name in MODEL_NAMES})
    claims = {c.id: c for c in analysis.judge_claims(wide, histories, original)}
    assert claims["depth-accuracy"].steps[-1].relation == UNDECIDED
    assert claims["depth-accuracy"].verdict == analysis.UNDECIDED
    assert claims["depth-accuracy"].seeds_to_decide


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
        return analysis._overfitting_verdict(name, histories, original, margin=0.5)

    verdict = judge("model_1", rising, original_rises)
    assert verdict.original.rises and verdict.overfits and verdict.verdict == analysis.SUPPORTED
    assert verdict.ours.rising == 3 and verdict.runs == 3
    assert judge("model_1", falling, original_rises).verdict == analysis.NOT_SUPPORTED
    verdict = judge("model_2", falling, history_with(FALLING))
    assert not verdict.original.rises and verdict.overfits is False
    assert verdict.verdict == analysis.SUPPORTED
    # Flat seeds: no clear rise, and the 90% interval (0 ± 2.92 · 0.1 / √3) stays below +0.5.
    verdict = judge("model_2", flat_seeds(), history_with(FALLING))
    assert verdict.high90 == pytest.approx(2.919986 * 0.1 / math.sqrt(3), abs=2e-3)
    assert verdict.overfits is False and verdict.verdict == analysis.SUPPORTED
    # With a margin of 0.1% per epoch the same seeds no longer rule a rise out.
    verdict = analysis._overfitting_verdict("model_2", flat_seeds(), history_with(FALLING), 0.1)
    assert verdict.overfits is None and verdict.verdict == analysis.UNDECIDED
    verdict = judge("model_2", mixed_seeds(), history_with(FALLING))
    assert verdict.verdict == analysis.UNDECIDED and verdict.seeds_to_decide
    assert verdict.high90 > 0.5 and not verdict.unresolvable
    one = judge("model_2", rising[:1], history_with(FALLING))
    assert one.verdict == analysis.UNDECIDED and one.ours is None and one.runs == 1


def test_curve_trend_reads_the_second_half_only():
    trend = analysis.curve_trend(history_with(RISING))
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
    (DEEPER_IS_BETTER, (analysis.SUPPORTED,) * 3),
    # model_1 gets model_7's level, model_2 model_6's, ...: the deeper, the worse, model_7 last.
    ({name: DEEPER_IS_BETTER[level] for name, level in zip(MODEL_NAMES, reversed(MODEL_NAMES))},
     (analysis.NOT_SUPPORTED,) * 3),
    # Every step equal: no gain; model_7 equal to every model: tied with the leaders, all six.
    ({name: 9946 for name in MODEL_NAMES},
     (analysis.NOT_SUPPORTED, analysis.NOT_SUPPORTED, analysis.PARTLY)),
], ids=["deeper is better", "deeper is worse", "every model alike"])
def test_the_depth_and_best_verdicts_follow_from_a_constructed_study(images_right, verdicts):
    # Scores only: the intervals are over seeds (Welch), as without per-image values.
    claims = analysis.judge_claims(graded_study(images_right), {}, load_original())
    assert [c.id for c in claims] == CLAIM_IDS
    assert tuple(c.verdict for c in claims[:3]) == verdicts
    # Without histories no overfitting claim has anything to be judged on.
    assert all(c.verdict == analysis.UNDECIDED and c.ours is None and c.runs == 0
               for c in claims[3:])


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


def test_a_clear_study_stays_clear_over_seeds_and_test_images():
    scores = graded_study(DEEPER_IS_BETTER)
    images = graded_images(scores)
    means = analysis.model_means(scores, ACCURACY, images)
    assert means["model_7"].mean == pytest.approx(99.80)
    assert images["accuracy"]["model_7"].mean() == pytest.approx(99.80)  # the same runs
    low, high = means["model_7"].interval
    assert low < 99.80 < high and means["model_7"].seeds_interval != means["model_7"].interval
    claims = analysis.judge_claims(scores, {}, load_original(), images)
    assert tuple(c.verdict for c in claims[:3]) == (analysis.SUPPORTED,) * 3
    for claim in claims[:3]:
        for c in getattr(claim, "steps", ()) + getattr(claim, "against", ()):
            check_comparison(c, analysis.margins()[c.measure])
    # Judged again from scratch (caches emptied): the same numbers, from the seeded rng.
    for cached in (analysis._draws, analysis._pair_comparisons, analysis._step_comparisons):
        cached.cache_clear()
    assert analysis.judge_claims(scores, {}, load_original(), graded_images(scores)) == claims


def test_a_comparison_reversed_reads_from_the_other_side():
    c = analysis.Comparison("accuracy", "model_7", "model_1", 0.3, (0.1, 0.5), (0.15, 0.45),
                            (0.12, 0.48), BETTER, 0.01)
    r = c.reversed()
    assert (r.a, r.b, r.difference, r.interval, r.relation) == (
        "model_1", "model_7", -0.3, (-0.5, -0.1), WORSE)
    assert r.equivalence_interval == (-0.45, -0.15) and r.reversed() == c
    tie = dataclasses.replace(c, difference=0.0, relation=EQUAL).reversed()
    assert tie.relation == EQUAL and math.copysign(1, tie.difference) == 1  # never -0.0


def test_the_overfitting_verdicts_follow_from_constructed_curves():
    ours = {"model_1": seeds_along(RISING), "model_2": seeds_along(RISING),
            "model_3": seeds_along(FALLING), "model_4": seeds_along(FALLING),
            "model_5": mixed_seeds(), "model_6": seeds_along(RISING)[:1]}  # model_7: no run
    original_rises = {"model_1", "model_3", "model_5"}
    reference = {"models": {name: {"history": history_with(
        RISING if name in original_rises else FALLING)} for name in MODEL_NAMES}}
    claims = analysis.judge_claims(graded_study(DEEPER_IS_BETTER), ours, reference)
    assert [c.id for c in claims] == CLAIM_IDS
    overfitting = {c.id.removeprefix("overfitting-"): c for c in claims[3:]}
    assert {name: c.original.rises
            for name, c in overfitting.items()} == {n: n in original_rises for n in MODEL_NAMES}
    assert {name: c.verdict for name, c in overfitting.items()} == {
        "model_1": analysis.SUPPORTED,      # both rise
        "model_2": analysis.NOT_SUPPORTED,  # ours rise, the original's falls
        "model_3": analysis.NOT_SUPPORTED,  # ours fall, the original's rises
        "model_4": analysis.SUPPORTED,      # both fall
        "model_5": analysis.UNDECIDED,      # ours rise in some seeds and fall in others
        "model_6": analysis.UNDECIDED,      # one seed
        "model_7": analysis.UNDECIDED}      # none
    assert overfitting["model_5"].seeds_to_decide
    assert overfitting["model_6"].runs == 1 and overfitting["model_7"].runs == 0


def test_backend_effect_is_estimated_within_models():
    scores = {"model_1": [score("model_1", 0, 9920), score("model_1", 1, 9922),
                          score("model_1", 2, 9930, backend="jax"),
                          score("model_1", 3, 9932, backend="jax")],
              "model_2": [score("model_2", 0, 9950), score("model_2", 1, 9952),
                          score("model_2", 2, 9960, backend="jax"),
                          score("model_2", 3, 9962, backend="jax")]}
    effect = analysis.backend_effect(scores, ACCURACY)
    assert effect.value == pytest.approx(0.1) and effect.low < 0.1 < effect.high
    only_tf = {"model_1": [score("model_1", 0, 9920), score("model_1", 1, 9922)]}
    assert analysis.backend_effect(only_tf, ACCURACY) is None


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
    judged = analysis.backend_comparison(scores, ACCURACY, 0.1)
    effect = analysis.backend_effect(scores, ACCURACY)
    assert judged.difference == pytest.approx(effect.value) and judged.relation == relation
    assert judged.interval == judged.seeds_interval == (effect.low, effect.high)
    half90 = 2.015048 * (judged.seeds_interval[1] - judged.difference) / 2.570582  # t(0.95, 5)
    assert judged.equivalence_interval == pytest.approx(
        (judged.difference - half90, judged.difference + half90))
    assert judged.models == ("model_1", "model_2") and judged.p_value == effect.p_value
    assert analysis.backend_comparison({"model_1": scores["model_1"][:2]}, ACCURACY, 0.1) is None


def test_the_backend_effect_over_seeds_and_test_images_is_paired_within_models():
    scores = backend_study({"model_1": [9920, 9922, 9921], "model_2": [9950, 9952, 9951]},
                           {"model_1": [9925, 9927], "model_2": [9955, 9958]})
    images = graded_images(scores)
    judged = analysis.backend_comparison(scores, ACCURACY, 0.1, images)
    assert judged.difference == pytest.approx(analysis.backend_effect(scores, ACCURACY).value)
    low, high = judged.interval
    low90, high90 = judged.equivalence_interval
    assert low < low90 < judged.difference < high90 < high
    assert judged.interval != judged.seeds_interval  # the test images count now
    assert judged.relation == (BETTER if low > 0 else EQUAL if -0.1 < low90 and high90 < 0.1
                               else UNDECIDED)
    fewer = analysis.PerImage({m: {n: a[:-1] for n, a in images[m].items()}
                               for m in ("accuracy", "log_loss")})
    with pytest.raises(ValueError, match="per-image values of these runs"):
        analysis.backend_comparison(scores, ACCURACY, 0.1, fewer)


def test_power_names_the_leaders_and_the_seeds_that_would_separate_them():
    scores = study({"model_2": [9950, 9952, 9954], "model_3": [9955, 9957, 9959],
                    "model_4": [9960, 9962, 9964]})
    power = analysis.power(scores, ACCURACY)
    assert power.leaders == ("model_4", "model_3") and power.gap == pytest.approx(0.05)
    assert power.sd == pytest.approx(0.02) and power.seeds == 3
    # 3 seeds, 4 degrees of freedom: (t(0.975) + t(0.80)) · 0.02 · √(2/3).
    assert power.detectable == pytest.approx((2.776445 + 0.940965) * 0.02 * math.sqrt(2 / 3))


def test_mcnemar_by_seed_and_the_same_architecture_calibration():
    from helpers import make_run
    from mnist_cnn.scores import test_labels

    runs = {"model_1": [make_run("model_1", s, a, 0.03) for s, a in enumerate((0.99, 0.991))],
            "model_2": [make_run("model_2", 0, 0.995, 0.02)]}
    result = analysis.mcnemar_by_seed(runs, test_labels())
    assert list(result.by_seed) == [0]  # seed 1 has one network only
    [test] = result.by_seed[0]
    # make_run's networks are wrong on the first images: 9,900 right against 9,950.
    assert (test.result.only_a, test.result.only_b) == (0, 50) and test.better == "model_2"
    [(model, s1, s2, same)] = result.same_architecture
    assert (model, s1, s2, same.only_a, same.only_b) == ("model_1", 0, 1, 0, 10)
    assert result.same_architecture_share == 1.0  # p = 2^-9: "different", though one architecture
    table = analysis.mcnemar_table(result)
    assert table.rows[0][:3] == ["seed 0", 1, 1]


def test_a_difference_interval_keeps_a_near_zero_bound_on_its_side_of_zero():
    assert ACCURACY.difference_interval(-0.0031, 0.1049) == "[-0.003 pp, +0.10 pp]"
    assert LOG_LOSS.difference_interval(-0.0046, -0.00003) == "[-0.0046, -0.00003]"
