"""`mnist-cnn findings` and the findings text, from made-up results folders."""

import json
import os
import subprocess
import sys

import pytest

from mnist_cnn import findings
from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.runs import save_run

from helpers import make_run

# Made-up accuracies per model, three seeds each: model_1 clearly behind, the rest close.
ACCURACIES = {"model_1": (0.9920, 0.9922, 0.9925), "model_2": (0.9945, 0.9948, 0.9946),
              "model_3": (0.9944, 0.9950, 0.9947), "model_4": (0.9955, 0.9952, 0.9958),
              "model_5": (0.9954, 0.9956, 0.9951), "model_6": (0.9953, 0.9957, 0.9955),
              "model_7": (0.9956, 0.9952, 0.9954)}


def make_study(folder, accuracies):
    """Save made-up runs of the given accuracies per model under `folder`; return `folder`."""
    for model, model_accuracies in accuracies.items():
        for seed, accuracy in enumerate(model_accuracies):
            save_run(make_run(model, seed, accuracy, 0.03 - (accuracy - 0.99) * 2), folder)
    return folder


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("results"), ACCURACIES)


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mnist_cnn.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=os.environ.copy())


def test_findings_json_has_every_claim_and_a_fidelity_entry_per_model(results):
    done = cli("findings", "--json", "--results-dir", results)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["runs"] == 21
    assert [c["id"] for c in answer["claims"]] == (
        ["depth-accuracy", "depth-log-loss", "model_7-best"]
        + [f"overfitting-{name}" for name in MODEL_NAMES])
    for claim in answer["claims"]:
        assert set(claim) >= {"id", "statement", "verdict", "evidence"}
        assert claim["verdict"] in ("supported", "partly supported", "not supported", "undecided")
    assert [f["model"] for f in answer["fidelity"]] == list(MODEL_NAMES)
    model_1 = answer["fidelity"][0]
    assert model_1["original_accuracy"] == 0.992  # 9,920 images right in the original's log
    assert model_1["mean_accuracy"] == pytest.approx(sum(ACCURACIES["model_1"]) / 3)
    low, high = model_1["accuracy_interval"]
    assert model_1["accuracy_inside"] == (low <= 0.992 <= high)
    # make_run's histories fall throughout: no model overfits in these made-up runs.
    overfitting = {c["id"]: c["verdict"] for c in answer["claims"] if "overfitting" in c["id"]}
    assert overfitting["overfitting-model_2"] in ("supported", "undecided")


def test_findings_text_is_generated_from_the_folder(results):
    done = cli("findings", "--results-dir", results)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.strip() == findings.findings_markdown(findings.analyse(results)).strip()
    assert text.startswith("These findings rest on 21 runs of the original protocol "
                           "(3 seeds of each model).")
    assert "(`model_7-best`)" in text and "**How faithful the reproduction is.**" in text


def test_findings_import_no_tensorflow(results):
    check = ("import sys\nfrom mnist_cnn.cli import main\ncode = main(sys.argv[1:])\n"
             "print(sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", check, "findings", "--json", "--results-dir",
                           str(results)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip().endswith("[]"), done.stderr


def test_an_empty_or_missing_folder_gets_one_line_and_exit_2(tmp_path):
    for folder in (tmp_path, tmp_path / "missing"):
        done = cli("findings", "--results-dir", folder, cwd=tmp_path)
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1
        assert "no protocol runs under" in done.stderr and "mnist-cnn reproduce" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_unreadable_run_gets_one_line_and_exit_2(tmp_path):
    save_run(make_run("model_1", 0), tmp_path)
    (tmp_path / "model_1" / "seed_0" / "metrics.json").write_text("{not json")
    done = cli("findings", "--json", "--results-dir", tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "unreadable" in done.stderr


def test_readme_findings_say_so_when_nothing_is_recorded(tmp_path):
    assert "No protocol run is recorded yet" in findings.readme_findings(tmp_path)


def test_the_power_sentence_names_every_model_tied_for_the_best_mean(results):
    # Whole images right per seed, so that tied means compare exactly.
    means = {name: sum(round(a * 10_000) for a in accuracies)
             for name, accuracies in ACCURACIES.items()}
    tied = sorted(name for name, total in means.items() if total == max(means.values()))
    assert len(tied) > 1  # the made-up study has a tie for the best mean
    sentence = findings.power_sentence(findings.analyse(results))
    assert f"is shared by {findings.names_text(tied)}: with no gap" in sentence
    assert "The two best by mean" not in sentence


def test_the_power_sentence_says_the_fewest_seeds_only_when_models_have_unequal_seeds(tmp_path):
    even = findings.power_sentence(findings.analyse(make_study(tmp_path / "even", ACCURACIES)))
    assert "With 3 seeds per model a difference below " in even
    uneven = {**ACCURACIES, "model_6": ACCURACIES["model_6"][:2]}
    sentence = findings.power_sentence(findings.analyse(make_study(tmp_path / "uneven", uneven)))
    assert "With 2 seeds per model (the fewest any model has) a difference below " in sentence


def test_the_differences_sentence_corrects_over_every_pair_and_names_the_clear_ones(results):
    sentence = findings.differences_sentence(findings.analyse(results))
    # Seven architectures make 21 pairs; Holm's correction runs over the pairs, not the seeds.
    assert "Comparing seeds with Welch's test, Holm-corrected for the 21 pairs, " in sentence
    assert "model_1 against model_4 (" in sentence  # the made-up model_1 is clearly behind
    assert "over the seeds," not in sentence


def test_the_differences_sentence_of_two_models_names_the_deeper_one_and_no_correction(tmp_path):
    two = make_study(tmp_path, {model: ACCURACIES[model] for model in ("model_1", "model_4")})
    sentence = findings.differences_sentence(findings.analyse(two))
    gap = 100 * (sum(ACCURACIES["model_4"]) - sum(ACCURACIES["model_1"])) / 3
    assert f"{gap:.2f} pp below model_4." in sentence  # the one deeper model, by name
    # Two architectures make one pair, over which Holm's correction changes nothing.
    assert ("Comparing seeds with Welch's test, the only clear difference is "
            "model_1 against model_4 (") in sentence
    assert "Holm" not in sentence


def test_claim_lines_group_the_digits_of_a_large_number_of_seeds():
    claim = findings.analysis.Claim("b", "B is so.", "table", findings.analysis.UNDECIDED,
                                    "e", "within seed noise", 18408)
    study = findings.Study({}, {}, {}, {}, [claim])
    [line] = findings.claims_sentences(study)
    assert "About 18,408 seeds per model would decide it." in line


def test_the_sources_sentence_names_each_kind_of_claim_once_beside_what_it_rests_on(results):
    sentence = findings.sources_sentence(findings.analyse(results))
    depth_and_best, overfitting = sentence.split("; overfitting: ")
    assert depth_and_best == "depth and model_7: inferred from the original's summary table"
    # Seven overfitting claims, one kind: its source once, without any claim's own detail.
    assert overfitting.endswith("inferred from its curves") and "(" not in overfitting
