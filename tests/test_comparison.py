"""Any recorded models side by side (`mnist-cnn findings --models`), from made-up results folders
that hold the seven and models of a user's own."""

import pytest

from mnist_cnn import claim_words, comparison, findings, words
from mnist_cnn.analysis import ACCURACY, MEASURES, margins
from mnist_cnn.comparison import CompareError, compare_models
from mnist_cnn.models import MODEL_NAMES

from helpers import make_study

# The seven, three seeds each: model_1 clearly behind, the rest close (as in test_findings).
SEVEN = {"model_1": (0.9920, 0.9922, 0.9925), "model_2": (0.9945, 0.9948, 0.9946),
         "model_3": (0.9944, 0.9950, 0.9947), "model_4": (0.9955, 0.9952, 0.9958),
         "model_5": (0.9954, 0.9956, 0.9951), "model_6": (0.9953, 0.9957, 0.9955),
         "model_7": (0.9956, 0.9952, 0.9954)}
# Users' models: `model_1_bn` with two seeds only, far above model_1 and 0.06 pp above model_4
# (under the margin, with too few seeds to show it either way); `twin` scores model_4's runs
# image for image.
OWN = {"model_1_bn": (0.9960, 0.9962), "twin": SEVEN["model_4"]}


@pytest.fixture(scope="module")
def seven(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("seven"), SEVEN)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("results"), {**SEVEN, **OWN})


@pytest.fixture(scope="module")
def compared(results):
    return compare_models(["model_1", "model_1_bn", "model_4", "twin"], results)


def pairs_by_models(study, measure=ACCURACY):
    return {(c.a, c.b): c for c in study.pairs(measure)}


def test_the_recorded_models_are_the_sevens_then_users_sorted_by_name(results, tmp_path):
    assert comparison.recorded_models(results) == [*MODEL_NAMES, "model_1_bn", "twin"]
    assert comparison.recorded_models(tmp_path / "missing") == []


def test_every_pair_of_the_models_named_gets_a_relation(compared):
    # The seven first, in their order, then users' models as named.
    assert list(compared.runs) == ["model_1", "model_4", "model_1_bn", "twin"]
    margin = margins()[ACCURACY.name]
    for measure in MEASURES:
        pairs = compared.pairs(measure)
        assert [(c.a, c.b) for c in pairs] == [
            ("model_1", "model_4"), ("model_1", "model_1_bn"), ("model_1", "twin"),
            ("model_4", "model_1_bn"), ("model_4", "twin"), ("model_1_bn", "twin")]
        assert all(c.relation in ("better", "worse", "equal", "undecided") for c in pairs)
    by_models = pairs_by_models(compared)
    # `model_1_bn` is 0.39 pp above model_1 (nearly four times the margin) on every seed.
    assert by_models[("model_1", "model_1_bn")].relation == "worse"
    low, high = by_models[("model_1", "model_1_bn")].interval
    assert high < -margin
    # `twin`'s runs are model_4's: no difference at all, and so practically none.
    twin = by_models[("model_4", "twin")]
    assert twin.difference == 0 and twin.relation == "equal"
    assert -margin < twin.equivalence_interval[0] <= twin.equivalence_interval[1] < margin


def test_all_seven_compared_are_the_findings_pairs(seven, results):
    # The same runs, the same bootstrap, the same Holm family: the study's pairs exactly, with
    # users' models on disk beside them.
    study = findings.analyse(seven)
    compared = compare_models(MODEL_NAMES, results)
    for measure in MEASURES:
        assert compared.pairs(measure) == study.pairs(measure)
        assert compared.means(measure) == study.means(measure)


def test_a_users_model_on_disk_changes_none_of_the_original_claims(seven, results):
    alone, beside = findings.analyse(seven), findings.analyse(results)
    assert list(beside.runs) == list(MODEL_NAMES)  # the findings judge the seven alone
    assert findings.findings_json(beside) == findings.findings_json(alone)
    assert words.findings_markdown(beside) == words.findings_markdown(alone)


def test_a_model_with_fewer_seeds_is_said_so(compared, results):
    assert comparison.fewer_seeds(compared) == ["model_1_bn"]
    sentence = comparison.models_sentence(compared)
    assert "model_1 (3 seeds: 0–2), model_4 (3 seeds: 0–2), model_1_bn (2 seeds: 0, 1) and twin" in (
        sentence)
    assert ("model_1_bn (2) has fewer seeds than model_1, model_4 and twin (3 each): its intervals "
            "are wider") in sentence
    # Under POOL_BELOW seeds its seeds-only interval borrows the pooled SD, and is marked so.
    assert "model_1_bn borrows the seed-to-seed SD pooled over the models compared" in sentence
    even = compare_models(["model_1", "model_4"], results)
    assert comparison.fewer_seeds(even) == [] and "fewer seeds" not in (
        comparison.models_sentence(even))


def test_the_markdown_names_every_model_pair_relation_and_seeds_to_decide(compared):
    text = comparison.comparison_markdown(compared)
    for measure in MEASURES:
        means = compared.means(measure)
        for name, mean in means.items():
            assert f"| {name} " in text and measure.text(mean.mean) in text
        for c in compared.pairs(measure):
            assert f"| {c.a} − {c.b} " in text
            if c.relation == "undecided":
                decide = claim_words.decide_text(c.seeds_to_decide, c.unresolvable)
                assert f"{c.a} and {c.b} undecided ({decide})" in text
    undecided = pairs_by_models(compared)[("model_4", "model_1_bn")]
    assert undecided.relation == "undecided" and undecided.seeds_to_decide > 2
    assert "Holm-corrected for the 6 pairs compared" in text
    assert "model_1_bn better than model_1" in text
    assert "model_4 and twin practically tied (within ±0.1 pp)" in text


def test_the_json_gives_models_and_pairs_in_the_findings_format(compared, seven):
    answer = comparison.comparison_json(compared)
    assert set(answer) == {"dataset", "runs", "margins", "models", "pairs"}
    assert answer["runs"] == sum(len(SEVEN[n]) for n in ("model_1", "model_4")) + sum(
        len(v) for v in OWN.values())
    assert [m["name"] for m in answer["models"]] == ["model_1", "model_4", "model_1_bn", "twin"]
    study = findings.findings_json(findings.analyse(seven))
    assert answer["margins"] == study["margins"]
    for model in answer["models"]:
        accuracies = {**SEVEN, **OWN}[model["name"]]
        assert model["seeds"] == len(accuracies)
        assert model["seed_numbers"] == list(range(len(accuracies)))
        assert model["fewer_seeds"] == (model["name"] == "model_1_bn")
        for measure in MEASURES:
            entry = model[measure.name]
            assert set(entry) == set(study["means"][0])
            low, high = entry["interval"]
            assert low < entry["mean"] < high
        assert model["accuracy"]["mean"] == pytest.approx(
            sum(round(a * 10_000) for a in accuracies) / len(accuracies) / 100)
    assert len(answer["pairs"]) == 6 * len(MEASURES)
    assert all(set(pair) == set(study["pairs"][0]) for pair in answer["pairs"])


@pytest.mark.parametrize("names, words", [
    (["model_1", "model_1"], ["names model_1 twice", "once"]),
    (["model_1"], ["two models or more", "model_2", "twin"]),
    (["model_1", "mine"], ["no MNIST protocol runs of mine", "model_7, model_1_bn, twin",
                           "--model PATH:FUNCTION --name NAME"]),
    (["model_1", "../model_2"], ["of ../model_2"]),
])
def test_names_that_cannot_be_compared_say_what_to_do(results, names, words):
    with pytest.raises(CompareError) as raised:
        compare_models(names, results)
    message = str(raised.value)
    assert "\n" not in message and all(word in message for word in words), message


def test_nothing_recorded_says_how_to_train(tmp_path):
    with pytest.raises(CompareError, match="no Fashion-MNIST protocol runs under .* --dataset "
                       "fashion-mnist"):
        compare_models(["model_1", "model_2"], tmp_path, dataset="fashion-mnist")


def test_a_single_decided_pair_is_called_the_pair(results):
    # `twin` scores model_4's runs image for image: tied on both measures, so nothing is open.
    study = compare_models(["model_4", "twin"], results)
    sentence = comparison.relations_sentence(study, ACCURACY)
    assert sentence.endswith("The pair is decided on test accuracy.")
    assert "Every pair" not in sentence
