"""The study's analysis: architectures over seeds, the margins, power."""

import functools
import math
import statistics
from pathlib import Path

import pytest

from mnist_cnn import analysis
from mnist_cnn.analysis import ACCURACY, LOG_LOSS
from mnist_cnn.original import load_original
from mnist_cnn.runs import representatives
from mnist_cnn.scores import RunScore, score_runs

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_each_measure_writes_its_values_in_its_own_unit():
    assert (ACCURACY.text(99.2), ACCURACY.spread_text(99.2133, 0.0412)) == ("99.20%",
                                                                           "99.21 ± 0.04%")
    assert (LOG_LOSS.text(0.02314), LOG_LOSS.spread_text(0.02314, 0.00121)) == ("0.0231",
                                                                                "0.0231 ± 0.0012")
    assert (ACCURACY.difference_text(0.05), LOG_LOSS.difference_text(-0.0016)) == ("+0.05 pp",
                                                                                   "-0.0016")
    assert ACCURACY.better_text == "a higher test accuracy"
    assert LOG_LOSS.better_text == "a lower test log loss"
    assert analysis.MEASURE_NAMED == {"accuracy": ACCURACY, "log_loss": LOG_LOSS}


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


def test_power_names_the_leaders_and_the_seeds_that_would_separate_them():
    scores = study({"model_2": [9950, 9952, 9954], "model_3": [9955, 9957, 9959],
                    "model_4": [9960, 9962, 9964]})
    power = analysis.power(scores, ACCURACY)
    assert power.leaders == ("model_4", "model_3") and power.gap == pytest.approx(0.05)
    assert power.sd == pytest.approx(0.02) and power.seeds == 3
    # 3 seeds, 4 degrees of freedom: (t(0.975) + t(0.80)) · 0.02 · √(2/3).
    assert power.detectable == pytest.approx((2.776445 + 0.940965) * 0.02 * math.sqrt(2 / 3))


def test_a_difference_interval_keeps_a_near_zero_bound_on_its_side_of_zero():
    assert ACCURACY.difference_interval(-0.0031, 0.1049) == "[-0.003 pp, +0.10 pp]"
    assert LOG_LOSS.difference_interval(-0.0046, -0.00003) == "[-0.0046, -0.00003]"
