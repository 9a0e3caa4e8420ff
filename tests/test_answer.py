"""The README's answer: bullets that follow the runs, from made-up studies (its figure:
test_answer_figure.py)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_cnn import answer, words
from mnist_cnn.answer import ANSWER_MARKERS, MAX_BULLETS, models_text, readme_answer
from mnist_cnn.findings import analyse
from mnist_cnn.models import CONV_LAYERS, MODEL_NAMES
from mnist_cnn.readme import COST_MARKERS, README_MARKERS
from mnist_cnn.runs import save_run

from helpers import ACCURACIES, make_run, make_study

ROOT = Path(__file__).resolve().parents[1]

SAME = {name: (0.9950, 0.9953, 0.9948, 0.9955, 0.9951) for name in MODEL_NAMES}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return analyse(make_study(tmp_path_factory.mktemp("graded"), ACCURACIES))


@pytest.fixture(scope="module")
def same(tmp_path_factory):
    return analyse(make_study(tmp_path_factory.mktemp("same"), SAME))


def readme_section(markers):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(markers[0])[1].split(markers[1])[0].strip()


def bullets_of(markdown):
    return [line[2:] for line in markdown.splitlines() if line.startswith("- ")]


def depth_mean(accuracies, depth):
    """Return the mean accuracy (%) of every run of `depth`'s models, from whole images right."""
    images = [round(a * 10_000) for name, runs in accuracies.items() if CONV_LAYERS[name] == depth
              for a in runs]
    return sum(images) / len(images) / 100


# --- the README ----------------------------------------------------------------------------

def test_the_readme_answer_matches_the_recorded_runs():
    assert readme_section(ANSWER_MARKERS) == readme_answer(ROOT / "results").strip(), (
        "README's answer is stale: run `mnist-cnn table --update-readme`")


def test_the_readme_answer_is_a_few_plain_bullets_and_its_figure():
    section = readme_section(ANSWER_MARKERS)
    bullets = bullets_of(section)
    assert 4 <= len(bullets) <= MAX_BULLETS
    study = analyse(ROOT / "results")
    for claim in study.claims:  # internal ids stay in the JSON
        assert claim.id not in section
    assert "`" not in section and "mnist-cnn" not in section and "--" not in section
    assert f"]({answer.ANSWER_FIGURE})" in section and (ROOT / answer.ANSWER_FIGURE).is_file()
    caption = section.splitlines()[-1]
    assert caption.startswith("*") and caption.endswith("*")
    assert f"all {study.n_runs} runs" in caption


# --- the bullets follow the data ---------------------------------------------------------

def test_models_are_listed_with_ranges_of_neighbours():
    assert models_text(["model_7", "model_3", "model_4", "model_5", "model_6"]) == (
        "model_3 to model_7")
    assert models_text(["model_1", "model_3"]) == "model_1 and model_3"
    assert models_text(["model_1", "model_2", "model_4", "model_5", "model_6"]) == (
        "model_1, model_2 and model_4 to model_6")
    assert models_text(["model_5"]) == "model_5"


def test_a_study_where_every_model_has_the_same_runs_has_no_gain_and_all_tied(same):
    depth = answer.depth_bullet(same)
    assert depth.startswith("More conv layers make no practical difference from 2 to 3 layers")
    assert "raise" not in depth and "lower" not in depth
    assert "A difference within ±0.1 pp (percentage points: 10 of the 10,000 test images)" in depth
    assert answer.models_bullet(same) == "All 7 models are practically tied on test accuracy."
    claims = answer.claims_bullet(same)
    assert ("Not supported: more conv layers give a higher test accuracy and a lower test log "
            "loss; model_1 overfits.") in claims
    assert ("Partly supported: model_7 has the best test accuracy (it is practically tied with "
            "model_1, model_2, model_3, model_4, model_5 and model_6).") in claims
    # Made-up curves fall in every seed: the models the original saw steady are borne out.
    assert "Supported: model_2 to model_7 do not overfit." in claims
    assert "Undecided" not in claims


def test_the_depth_bullet_names_each_step_by_what_it_does(graded):
    depth = answer.depth_bullet(graded)
    gain = depth_mean(ACCURACIES, 3) - depth_mean(ACCURACIES, 2)
    assert depth.startswith(f"More conv layers raise mean test accuracy from 2 to 3 layers "
                            f"(+{gain:.2f} pp)")
    relations = {(s.b, s.a): s.relation for s in graded.steps(answer.ACCURACY)}
    assert relations[(5, 7)] == "equal"  # 5 and 7 layers average the same images right
    assert "they make no practical difference from 5 to 7 layers" in depth


def test_the_models_bullet_names_the_tied_and_the_clearly_apart(graded):
    text = answer.models_bullet(graded)
    pairs = graded.pairs(answer.ACCURACY)
    apart = [c for c in pairs if c.relation in ("better", "worse")]
    assert apart and all("model_1" in (c.a, c.b) for c in apart)  # only model_1 is behind
    winners = sorted((c.b for c in apart), key=MODEL_NAMES.index)
    model_1 = sum(round(a * 10_000) for a in ACCURACIES["model_1"]) / 3 / 100
    assert f"{models_text(winners)} are each clearly better than model_1 ({model_1:.2f}%)" in text
    open_ = sum(c.relation == "undecided" for c in pairs)
    assert f"the other {open_} of the 21 pairs cannot be told apart yet with 3 seeds" in text
    assert "practically tied" in text


def test_the_fidelity_bullet_counts_the_originals_numbers_inside_our_ranges(same, graded):
    for study in (same, graded):
        inside = [f for m in answer.MEASURES for f in study.fidelity(m) if f.inside]
        text = answer.fidelity_bullet(study)
        if len(inside) == 14:
            assert text.startswith("The reproduction is faithful: each of the original's 14 "
                                   "numbers (7 test accuracies, 7 test log losses)")
        else:
            assert text.startswith(f"The reproduction matches {len(inside)} of the original's "
                                   "14 numbers")
    # Every model at 99.50% ± 0.03: the original's 99.20% for model_1 is not a run of ours.
    assert "outside it: model_1's test accuracy (99.20% against our mean 99.51%" in (
        answer.fidelity_bullet(same))


def test_the_fashion_bullet_sets_the_spreads_side_by_side_and_links_07(graded, tmp_path):
    from mnist_cnn.data import DataError
    from mnist_cnn.scores import test_labels

    try:
        labels = test_labels("fashion-mnist")
    except DataError:
        pytest.skip("Fashion-MNIST is not on this machine (make fashion-data installs it)")
    for name, accuracy in (("model_1", 0.90), ("model_3", 0.92)):
        save_run(make_run(name, 0, accuracy, 0.3, labels, dataset="fashion-mnist"), tmp_path)
    fashion = analyse(tmp_path, dataset="fashion-mnist")
    text = answer.fashion_bullet(graded, fashion)
    studies = {graded.dataset: graded, fashion.dataset: fashion}
    assert text == ("The same question on harder images (Fashion-MNIST). "
                    f"{words.transfer_sentence(studies)} "
                    "[07_fashion_mnist](notebooks/07_fashion_mnist.ipynb) sets the two data sets "
                    "side by side.")
    assert ("on Fashion-MNIST (2 runs) mean test accuracy runs from 90.00% (model_1) to 92.00% "
            "(model_3), a spread of 2.00 pp" in text)
    bullets = answer.answer_bullets(graded, fashion)
    assert len(bullets) == 5 and bullets[-1] == text


def test_without_runs_the_answer_says_so_and_no_figure_is_written(tmp_path):
    from mnist_cnn.answer_figure import save_readme_figure

    assert readme_answer(tmp_path) == answer.NO_RUNS
    assert save_readme_figure(tmp_path / "README.md", tmp_path) is None
    assert list(tmp_path.iterdir()) == []


# --- the command -------------------------------------------------------------------------

def test_table_update_readme_writes_the_answer_and_its_figure_beside_the_readme(tmp_path):
    results = make_study(tmp_path / "results", ACCURACIES)
    sections = (ANSWER_MARKERS, README_MARKERS, COST_MARKERS)
    readme = tmp_path / "docs" / "README.md"
    readme.parent.mkdir()
    readme.write_text("# Title\n\n" + "\n\n".join(f"{a}\n{b}" for a, b in sections) + "\n")
    done = subprocess.run([sys.executable, "-m", "mnist_cnn.cli", "table", "--update-readme",
                           readme, "--results-dir", results], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = readme.read_text()
    section = text.split(ANSWER_MARKERS[0])[1].split(ANSWER_MARKERS[1])[0]
    assert section.strip() == readme_answer(results).strip()
    assert re.search(r"!\[[^]]*\]\(figures/answer\.png\)", section)
    assert (readme.parent / "figures" / "answer.png").stat().st_size > 10_000
