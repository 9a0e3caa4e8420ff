"""The findings' sentences (`mnist_cnn.words`), from made-up results folders."""

import re

import pytest

from mnist_cnn import findings, words
from mnist_cnn.analysis import ACCURACY
from mnist_cnn.findings import Findings
from mnist_cnn.runs import save_run
from mnist_cnn.tables import names_text

from helpers import (ACCURACIES, fashion_labels_or_skip, make_both, made_up_claims, make_run,
                     make_study, mean_percent)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("results"), ACCURACIES)


@pytest.fixture(scope="module")
def fashion_labels():
    return fashion_labels_or_skip()


@pytest.fixture(scope="module")
def both(tmp_path_factory, fashion_labels):
    """A results folder with the MNIST study and a reversed-depth Fashion-MNIST one."""
    return make_both(tmp_path_factory.mktemp("both"), fashion_labels)


def test_the_backend_sentence_says_when_no_model_ran_on_both_backends(results):
    sentence = words.backend_sentence(findings.analyse(results))
    assert sentence.startswith("No model has runs on both backends")


def test_the_power_sentence_names_every_model_tied_for_the_best_mean(results):
    # Whole images right per seed, so that tied means compare exactly.
    means = {name: sum(round(a * 10_000) for a in accuracies)
             for name, accuracies in ACCURACIES.items()}
    tied = sorted(name for name, total in means.items() if total == max(means.values()))
    assert len(tied) > 1  # the made-up study has a tie for the best mean
    sentence = words.power_sentence(findings.analyse(results))
    assert (f"is shared by {names_text(tied)}: they are practically tied (within "
            "±0.1 pp)") in sentence
    assert "The two best by mean" not in sentence


def test_the_power_sentence_says_the_fewest_seeds_only_when_models_have_unequal_seeds(tmp_path):
    even = words.power_sentence(findings.analyse(make_study(tmp_path / "even", ACCURACIES)))
    assert "With 3 seeds per model a difference below " in even
    uneven = {**ACCURACIES, "model_6": ACCURACIES["model_6"][:2]}
    sentence = words.power_sentence(findings.analyse(make_study(tmp_path / "uneven", uneven)))
    assert "With 2 seeds per model (the fewest any model has) a difference below " in sentence


def test_the_power_sentence_names_a_mean_that_rounds_to_the_best(tmp_path):
    # model_7 is right on one image fewer over its three seeds than the tied leaders: a third of
    # an image per seed, the same 99.55% once rounded.
    accuracies = {**ACCURACIES, "model_7": (0.9956, 0.9952, 0.9956)}
    sentence = words.power_sentence(findings.analyse(make_study(tmp_path, accuracies)))
    assert ("(model_7, also 99.55% when rounded, is lower by less than one test image on "
            "average)") in sentence
    assert "model_7, also" not in words.power_sentence(findings.analyse(
        make_study(tmp_path / "apart", {**ACCURACIES, "model_7": (0.9950, 0.9950, 0.9950)})))


def test_the_differences_sentence_corrects_over_every_pair_and_names_the_clear_ones(results):
    study = findings.analyse(results)
    sentence = words.differences_sentence(study)
    # Seven architectures make 21 pairs; Holm's correction runs over the pairs, not the seeds.
    assert ("Clearly apart (Welch's test over seeds, Holm-corrected for the 21 pairs, and the "
            "95% interval over seeds and test images off 0): model_2, model_3, model_4, model_5, "
            "model_6 and model_7 better than model_1.") in sentence
    # model_4 to model_7 lie within 0.01 pp of each other (made-up means 99.54-99.55%).
    assert "Practically tied (within ±0.1 pp): model_2 and model_3; model_4, model_5, " \
        "model_6 and model_7." in sentence
    undecided = sum(c.relation == "undecided" for c in study.pairs(ACCURACY))
    assert f"The other {undecided} pairs are undecided." in sentence
    assert "no gain from 5 to 7 layers (0.00 pp [" in sentence


def test_the_differences_sentence_of_two_models_names_the_deeper_one_and_no_correction(tmp_path):
    two = make_study(tmp_path, {model: ACCURACIES[model] for model in ("model_1", "model_4")})
    sentence = words.differences_sentence(findings.analyse(two))
    gap = 100 * (sum(ACCURACIES["model_4"]) - sum(ACCURACIES["model_1"])) / 3
    assert f"{gap:.2f} pp below model_4." in sentence  # the one deeper model, by name
    # Two architectures make one pair, over which Holm's correction changes nothing.
    assert "Clearly apart (Welch's test over seeds, and the 95% interval" in sentence
    assert "model_4 better than model_1." in sentence and "Holm" not in sentence
    assert "a gain from 2 to 5 layers (+0.33 pp [" in sentence


def test_claim_lines_say_what_would_decide_an_undecided_claim():
    claims = made_up_claims()
    study = Findings({}, {}, {}, {}, claims)
    first, second, third = words.claims_sentences(study)
    assert first.endswith("About 400 seeds per model would decide it.")
    assert second.endswith("This test set cannot resolve it: no practical number of seeds (up to "
                           "1,000 per model) would decide it.")
    assert third == "C is so. **Supported**: clear."  # the id ("c") only in the JSON


def test_the_findings_name_the_margin_once_and_no_seed_count_above_a_thousand(results):
    text = words.findings_markdown(findings.analyse(results))
    assert text.count("counts as none") == 1
    assert ("A difference within ±0.1 pp of test accuracy (10 of the 10,000 test images) "
            "counts as none") in text
    assert all(int(n.replace(",", "")) <= 1000
               for n in re.findall(r"[Aa]bout ([\d,]+) seeds", text))


def test_the_sources_sentence_names_each_kind_of_claim_once_beside_what_it_rests_on(results):
    sentence = words.sources_sentence(findings.analyse(results))
    depth_and_best, overfitting = sentence.split("; overfitting: ")
    assert depth_and_best == "depth and model_7: inferred from the original's summary table"
    # Seven overfitting claims, one kind: its source once, without any claim's own detail.
    assert overfitting.endswith("inferred from its curves") and "(" not in overfitting


def test_transfer_sentence_names_each_claim_whose_verdict_changes(both):
    studies = {"mnist": findings.analyse(both),
               "fashion-mnist": findings.analyse(both, dataset="fashion-mnist")}
    sentence = words.transfer_sentence(studies)
    changed = [row for row in findings.transfer(studies)
               if row["verdicts"]["mnist"] != row["verdicts"]["fashion-mnist"]]
    short = {c.id: c.short for c in studies["mnist"].claims}
    assert changed and all(f"“{short[row['id']]}”" in sentence for row in changed)
    assert not any(row["id"] in sentence for row in changed)  # ids are the JSON's, not a reader's
    assert f"{10 - len(changed)} get the same verdict on both" in sentence
    assert "93.10% (model_1)" in sentence and "wait for" not in sentence  # the best


def test_transfer_sentence_waits_for_two_seeds_of_every_model(both, fashion_labels, tmp_path):
    folder = make_study(tmp_path, ACCURACIES)
    save_run(make_run("model_3", 0, 0.92, 0.25, fashion_labels, dataset="fashion-mnist"), folder)
    studies = {"mnist": findings.analyse(folder),
               "fashion-mnist": findings.analyse(folder, dataset="fashion-mnist")}
    sentence = words.transfer_sentence(studies)
    assert "on Fashion-MNIST only model_3 is recorded so far (1 run): 92.00%" in sentence
    assert sentence.endswith("On Fashion-MNIST, the original's claims wait for two or more "
                             "seeds of every model, since each is judged over seeds.")
    assert "same verdict" not in sentence


def test_the_closing_sentences_count_from_the_study(results):
    study = findings.analyse(results)
    entries = [f for f in study.fidelity(ACCURACY) if f.inside is not None]
    conclusion = words.conclusion_sentence(study)
    assert (f"for {sum(f.inside for f in entries)} of {len(entries)} models in test accuracy"
            in conclusion)
    assert conclusion.endswith(f"claims, judged over seeds: {words.claims_summary(study)}.")
    pairs = study.pairs(ACCURACY)
    clear = sum(c.relation in ("better", "worse") for c in pairs)
    tied = sum(c.relation == "equal" for c in pairs)
    closing = words.analysis_closing_sentence(study)
    assert (f"{clear} of the {len(pairs)} pairs of architectures differ clearly in test accuracy, "
            f"{tied} are practically tied") in closing
    assert closing.endswith(f"{words.claims_summary(study)}.")


def test_complete_splits_are_counted_and_their_chance_said(results):
    sentence = words.complete_splits_sentence(findings.analyse(results))
    names = sorted(ACCURACIES)
    split = sum(min(ACCURACIES[a]) > max(ACCURACIES[b]) or max(ACCURACIES[a]) < min(ACCURACIES[b])
                for i, a in enumerate(names) for b in names[i + 1:])
    assert sentence.startswith(f"{split} of the 21 pairs split completely")
    # 3 seeds against 3: one arrangement in C(6, 3) = 20 each way, 1 in 10 either way; times 21.
    assert "With 3 seeds of each model a complete split happens by chance once in 10," in sentence
    assert "its corrected p would be at least 1.00" in sentence


def test_no_complete_split_gets_no_sentence(tmp_path):
    overlapping = {"model_1": (0.9920, 0.9950, 0.9930), "model_2": (0.9925, 0.9945, 0.9935)}
    assert words.complete_splits_sentence(findings.analyse(make_study(tmp_path, overlapping))) == ""


def test_each_claim_in_a_few_words_is_how_its_statement_begins(results):
    for claim in findings.analyse(results).claims:
        statement = claim.statement.lower().replace("convolutional", "conv")
        assert claim.short and statement.startswith(claim.short.lower()), claim


def test_the_findings_on_another_data_set_point_at_its_own_evidence_and_classes(both):
    mnist = words.findings_markdown(findings.analyse(both))
    fashion = words.findings_markdown(findings.analyse(both, dataset="fashion-mnist"))
    assert "06_analysis" in mnist and "06_analysis" not in fashion  # 06 shows MNIST's tests
    assert "(the evidence: `mnist-cnn findings --dataset fashion-mnist --json`)" in fashion
    # Fashion-MNIST's labels are garments and shoes, not digits.
    assert "for its true digit)" in mnist
    assert "for its true class)" in fashion and "digit" not in fashion


@pytest.mark.parametrize("model_1, where", [
    ((0.9970, 0.9972), "0.06–0.45 pp above each deeper model"),
    ((0.9950, 0.9952), "from 0.25 pp above to 0.14 pp below the deeper models"),
    ((0.9920, 0.9922), "0.05–0.44 pp below each deeper model")])
def test_the_shallowest_model_is_placed_above_below_or_among_the_deeper_ones(tmp_path, model_1,
                                                                            where):
    deeper = {"model_2": (0.9925, 0.9927), "model_3": (0.9930, 0.9932),
              "model_4": (0.9960, 0.9962), "model_5": (0.9964, 0.9966),
              "model_6": (0.9955, 0.9957), "model_7": (0.9958, 0.9960)}
    study = findings.analyse(make_study(tmp_path, {"model_1": model_1, **deeper}))
    sentence = words.differences_sentence(study, ACCURACY)
    assert sentence.startswith("*Test accuracy.* model_1, the only model with 2 conv layers, "
                               f"averages {mean_percent('model_1', {'model_1': model_1}):.2f}%, "
                               f"{where}.")
