"""`mnist-cnn findings` and the analysed results (`findings.analyse`, the JSON), from made-up
results folders."""

import json
import math
import os
import subprocess
import sys

import pytest

from mnist_cnn import findings, words
from mnist_cnn.analysis import ACCURACY, MEASURES
from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.runs import save_run

from helpers import (ACCURACIES, FASHION_ACCURACIES, fashion_labels_or_skip, heavy_modules_after,
                     make_both, make_run, make_study, mean_percent)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("results"), ACCURACIES)


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mnist_cnn.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=os.environ.copy())


CLAIM_IDS = (["depth-accuracy", "depth-log-loss", "model_7-best"]
             + [f"overfitting-{name}" for name in MODEL_NAMES])


def test_findings_json_has_every_claim_and_a_fidelity_entry_per_model(results):
    done = cli("findings", "--json", "--results-dir", results)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["runs"] == 21
    assert [c["id"] for c in answer["claims"]] == CLAIM_IDS
    for claim in answer["claims"]:
        assert set(claim) >= {"id", "statement", "verdict", "evidence"}
    verdicts = {c["id"]: c["verdict"] for c in answer["claims"]}
    # model_1 is far behind, but the 5- and 7-layer models tie (means 9,954.3 and 9,954.5 images
    # right): a gain from 2 to 3 layers, no gain from 5 to 7. Log loss falls as accuracy rises.
    assert verdicts["depth-accuracy"] == verdicts["depth-log-loss"] == "partly supported"
    # model_7 (9,954) ties model_4, model_5 and model_6 within the margin, is clearly above
    # model_1, and neither tied with nor apart from model_2 and model_3 yet.
    assert verdicts["model_7-best"] == "undecided"
    # make_run's histories fall in every seed: an original that overfits is contradicted, one
    # that does not is borne out.
    for claim in answer["claims"][3:]:
        overfits = claim["statement"].startswith(claim["id"].removeprefix("overfitting-")
                                                 + " overfits")
        assert claim["verdict"] == ("not supported" if overfits else "supported"), claim
    assert [f["model"] for f in answer["fidelity"]] == list(MODEL_NAMES)
    model_1 = answer["fidelity"][0]
    assert model_1["original_accuracy"] == 0.992  # 9,920 images right in the original's log
    assert model_1["mean_accuracy"] == pytest.approx(sum(ACCURACIES["model_1"]) / 3)
    low, high = model_1["accuracy_interval"]
    assert model_1["accuracy_inside"] == (low <= 0.992 <= high)


def test_findings_text_names_the_numbers_of_the_folder(results):
    done = cli("findings", "--results-dir", results)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("These findings rest on 21 runs of the original protocol "
                           "(3 seeds of each model).")
    deeper = sorted(mean_percent(name) for name in MODEL_NAMES if name != "model_1")
    assert (f"model_1, the only model with 2 conv layers, averages "
            f"{mean_percent('model_1'):.2f}%, ") in text
    assert f"The 6 deeper models average between {deeper[0]:.2f}% and {deeper[-1]:.2f}%." in text
    # One line per claim, each with its verdict in bold; the ids only in the JSON.
    verdict_lines = [line for line in text.splitlines() if line.startswith("- ") and "**" in line]
    assert len(verdict_lines) == len(CLAIM_IDS)
    assert not [claim for claim in CLAIM_IDS if claim in text]
    assert "**How faithful the reproduction is.**" in text


def test_findings_import_no_tensorflow(results):
    done, heavy = heavy_modules_after(["findings", "--json", "--results-dir", results],
                                      ("tensorflow", "keras", "jax"))
    assert done.returncode == 0, done.stderr
    assert heavy == [] and json.loads(done.stdout)["runs"] == 21


def test_an_empty_or_missing_folder_gets_one_line_and_exit_2(tmp_path):
    for folder in (tmp_path, tmp_path / "missing"):
        done = cli("findings", "--results-dir", folder, cwd=tmp_path)
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1
        assert "no MNIST protocol runs under" in done.stderr and "mnist-cnn reproduce" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_unreadable_run_gets_one_line_and_exit_2(tmp_path):
    save_run(make_run("model_1", 0), tmp_path)
    (tmp_path / "model_1" / "seed_0" / "metrics.json").write_text("{not json")
    done = cli("findings", "--json", "--results-dir", tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "unreadable" in done.stderr


def test_findings_json_gives_the_margins_means_pairs_and_depth_steps(results):
    done = cli("findings", "--json", "--results-dir", results)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == {"dataset", "runs", "margins", "means", "pairs", "depth_steps",
                           "backend_effect", "claims", "fidelity"}
    assert answer["backend_effect"] is None  # every run on TensorFlow
    # MNIST's margins, from its typical error (0.5%) and test log loss (0.025).
    accuracy_margin = float(f"{100 * math.sqrt(2 * 0.005 * 0.995 / 10_000):.1g}")
    assert answer["margins"] == {"accuracy": {"value": accuracy_margin, "unit": "pp"},
                                 "log_loss": {"value": 0.0025, "unit": "nats"},
                                 "overfitting_slope": {"value": 0.5, "unit": "% per epoch"}}
    assert len(answer["means"]) == 14 and len(answer["pairs"]) == 42
    assert [(s["measure"], s["from"], s["to"]) for s in answer["depth_steps"]] == [
        (m, a, b) for m in ("accuracy", "log_loss") for a, b in ((2, 3), (3, 5), (5, 7))]
    for mean in answer["means"]:
        low, high = mean["interval"]  # over seeds and test images
        assert low < mean["mean"] < high and mean["seeds"] == 3
        seeds_low, seeds_high = mean["seeds_interval"]
        assert seeds_low < mean["mean"] < seeds_high and (low, high) != (seeds_low, seeds_high)
    relations = set()
    for entry in answer["pairs"] + answer["depth_steps"]:
        assert set(entry) >= {"measure", "difference", "interval", "seeds_interval",
                              "equivalence_interval", "relation", "seeds_to_decide"}
        margin = answer["margins"][entry["measure"]]["value"]
        relation, relations = entry["relation"], relations | {entry["relation"]}
        low, high = entry["interval"]
        if relation in ("better", "worse"):
            assert low > 0 or high < 0, entry
        if relation == "equal":  # the 90% interval inside ±margin
            low90, high90 = entry["equivalence_interval"]
            assert -margin < low90 and high90 < margin, entry
        if relation == "undecided":
            assert (entry["seeds_to_decide"] is None) == entry["unresolvable"], entry
        else:
            assert entry["seeds_to_decide"] is None and not entry["unresolvable"], entry
        assert entry["seeds_to_decide"] is None or entry["seeds_to_decide"] <= 1000
    assert relations == {"worse", "better", "equal", "undecided"}
    pairs = {(p["measure"], p["a"], p["b"]): p for p in answer["pairs"]}
    assert pairs[("accuracy", "model_1", "model_4")]["relation"] == "worse"
    assert pairs[("accuracy", "model_1", "model_4")]["p_holm"] < 0.05
    assert pairs[("accuracy", "model_4", "model_6")]["relation"] == "equal"  # both 9,955
    for claim in answer["claims"]:
        assert claim["seeds_to_decide"] is None or claim["verdict"] == "undecided"
        assert claim["seeds_to_decide"] is None or claim["seeds_to_decide"] <= 1000


# Runs on JAX beside the TensorFlow ones: model_2 and model_3 run two more seeds each.
JAX_ACCURACIES = {"model_2": (0.9949, 0.9947), "model_3": (0.9951, 0.9946)}


def test_the_backend_effect_gets_both_intervals_and_a_relation_the_sentence_says(tmp_path):
    make_study(tmp_path, ACCURACIES)
    for model, accuracies in JAX_ACCURACIES.items():
        for seed, accuracy in enumerate(accuracies, start=len(ACCURACIES[model])):
            run = make_run(model, seed, accuracy, 0.03 - (accuracy - 0.99) * 2)
            run.metrics["backend"], run.metrics["device"] = "jax", "GPU: test"
            save_run(run, tmp_path)
    done = cli("findings", "--json", "--results-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    effect = json.loads(done.stdout)["backend_effect"]
    assert effect["models"] == ["model_2", "model_3"] and effect["unit"] == "pp"
    # Least squares within models: JAX − TensorFlow, each model weighted 2·3/5 alike.
    gaps = [(sum(JAX_ACCURACIES[m]) / 2 - sum(ACCURACIES[m]) / 3) * 100 for m in JAX_ACCURACIES]
    assert effect["difference"] == pytest.approx(sum(gaps) / 2, abs=1e-9)
    low, high = effect["interval"]
    low90, high90 = effect["equivalence_interval"]
    assert low < low90 < effect["difference"] < high90 < high
    assert effect["seeds_interval"] != effect["interval"]
    margin = json.loads(done.stdout)["margins"]["accuracy"]["value"]
    expected = ("better" if low > 0 else "worse" if high < 0
                else "equal" if -margin < low90 and high90 < margin else "undecided")
    assert effect["relation"] == expected
    sentence = words.backend_sentence(findings.analyse(tmp_path))
    relation_words = {"equal": "practically equal",
                      "undecided": "undecided: neither clearly different",
                      "better": "a clear difference", "worse": "a clear difference"}
    assert relation_words[effect["relation"]] in sentence and "no difference" not in sentence
    accuracy = ACCURACY
    assert (f"{accuracy.difference_interval(low, high)} over seeds and test images "
            f"({accuracy.difference_interval(*effect['seeds_interval'])} over seeds only") in sentence
    if effect["relation"] in ("equal", "undecided"):
        assert accuracy.difference_interval(low90, high90) in sentence


def test_a_study_where_every_model_has_the_same_five_runs(tmp_path):
    same = {model: (0.9950, 0.9953, 0.9948, 0.9955, 0.9951) for model in MODEL_NAMES}
    study = findings.analyse(make_study(tmp_path, same))
    for measure in MEASURES:
        assert {c.relation for c in study.pairs(measure)} == {"equal"}
        assert {s.relation for s in study.steps(measure)} == {"equal"}  # no step a gain
    verdicts = {c.id: c for c in study.claims}
    assert verdicts["depth-accuracy"].verdict == verdicts["depth-log-loss"].verdict == (
        "not supported")
    assert verdicts["model_7-best"].verdict == "partly supported"
    assert "tied with every other model (within ±0.1 pp)" in verdicts["model_7-best"].summary
    sentence = words.differences_sentence(study)
    assert "No two architectures are clearly apart" in sentence
    assert ("Practically tied (within ±0.1 pp): model_1, model_2, model_3, model_4, model_5, "
            "model_6 and model_7.") in sentence
    assert "no gain from 2 to 3 layers" in sentence and "a gain" not in sentence


@pytest.fixture(scope="module")
def fashion_labels():
    return fashion_labels_or_skip()


@pytest.fixture(scope="module")
def both(tmp_path_factory, fashion_labels):
    """A results folder with the MNIST study and a reversed-depth Fashion-MNIST one."""
    return make_both(tmp_path_factory.mktemp("both"), fashion_labels)


def test_each_data_set_is_judged_from_its_own_runs(both):
    mnist, fashion = findings.analyse(both), findings.analyse(both, dataset="fashion-mnist")
    assert mnist.n_runs == fashion.n_runs == 21
    assert [c.id for c in fashion.claims] == [c.id for c in mnist.claims]
    means = {name: [s.accuracy for s in scores] for name, scores in fashion.scores.items()}
    assert means == {name: pytest.approx(list(a), abs=1e-9)
                     for name, a in FASHION_ACCURACIES.items()}
    verdicts = {dataset: {c.id: c.verdict for c in study.claims}
                for dataset, study in (("mnist", mnist), ("fashion", fashion))}
    assert verdicts["fashion"]["depth-accuracy"] == "not supported"  # deeper is worse there
    assert verdicts["mnist"]["depth-accuracy"] in ("supported", "partly supported")


def test_findings_json_of_fashion_mnist_sets_its_verdicts_beside_mnists(both):
    done = cli("findings", "--dataset", "fashion-mnist", "--json", "--results-dir", both)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["dataset"] == "fashion-mnist" and answer["runs"] == 21
    assert answer["fidelity"] == []  # the original never ran Fashion-MNIST
    by_id = {row["id"]: row["verdicts"] for row in answer["transfer"]}
    assert by_id["depth-accuracy"] == {"mnist": findings.analyse(both).claims[0].verdict,
                                       "fashion-mnist": "not supported"}
    assert list(by_id) == [claim["id"] for claim in answer["claims"]]


def test_findings_of_fashion_mnist_end_on_the_claims_of_both_data_sets_as_a_table(both):
    done = cli("findings", "--dataset", "fashion-mnist", "--results-dir", both)
    assert done.returncode == 0, done.stderr
    table = done.stdout.split("**The same claims on both data sets.**")[1]
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in table.strip().splitlines()]
    assert rows[0] == ["The original's finding", "MNIST", "Fashion-MNIST"]
    mnist = findings.analyse(both)
    assert [row[0] for row in rows[2:]] == [c.statement for c in mnist.claims]
    assert rows[2][1:] == [mnist.claims[0].verdict, "not supported"]  # depth, falling there


def test_findings_of_a_data_set_without_runs_say_how_to_train_them(results):
    done = cli("findings", "--dataset", "fashion-mnist", "--results-dir", results)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().endswith("(mnist-cnn reproduce --dataset fashion-mnist), or pass "
                                        "--results-dir")
