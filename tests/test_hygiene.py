"""What a reader sees in the README and the committed notebooks: no developer material.

Pure file reads: internal claim ids in README prose, printed "saved ..." lines, stand-in text,
seed counts above 1,000 written as digits, and stderr in notebook outputs all fail here.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# The claims' ids (claims: DepthVerdict, BestVerdict, OverfittingVerdict), which belong in
# `mnist-cnn findings --json` only.
CLAIM_ID = re.compile(r"\b(?:depth-[a-z]+(?:-[a-z]+)*|model_\d+-best|overfitting-model_\d+)\b")
FENCED_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
# A count of seeds written as digits ("17,751 seeds"); above SEEDS_IN_DIGITS it reads as noise:
# say it in words ("tens of thousands of seeds") or as "more than 1,000".
SEED_COUNT = re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+)\s+seeds\b")
SEEDS_IN_DIGITS = 1_000


def prose(markdown):
    """Return Markdown without its fenced code blocks (JSON and command examples)."""
    return FENCED_BLOCK.sub("", markdown)


def claim_ids(text):
    return CLAIM_ID.findall(prose(text))


def saved_lines(text):
    return [line for line in text.splitlines() if line.lstrip().startswith("saved ")]


def stand_in(text):
    return "stand-in" in text.lower()


def large_seed_counts(text):
    return [match.group(0) for match in SEED_COUNT.finditer(text)
            if int(match.group(1).replace(",", "")) > SEEDS_IN_DIGITS]


def shown_outputs(nb):
    """Yield (output, its text) for every output of the notebook's code cells."""
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            yield output, "\n".join("".join(part) for part in (
                output.get("text", ""), data.get("text/plain", ""),
                data.get("text/markdown", ""), data.get("text/html", "")))


def shown_text(nb):
    """Return what a reader of the notebook reads: Markdown cells and outputs."""
    parts = ["".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "markdown"]
    return "\n".join(parts + [text for _, text in shown_outputs(nb)])


@pytest.mark.parametrize("check, slip", [
    (claim_ids, "- model_2 does not overfit. **Undecided**: ... (`overfitting-model_2`)"),
    (claim_ids, "a gain from 2 to 3 layers (`depth-accuracy`)"),
    (saved_lines, "saved figures/loss_model_1.png"),
    (stand_in, "these runs are a stand-in (epochs2)"),
    (large_seed_counts, "telling them apart would take about 17,751 seeds per model"),
])
def test_each_check_catches_its_slip(check, slip):
    assert check(slip)


@pytest.mark.parametrize("check, fine", [
    (claim_ids, '```json\n{"id": "depth-accuracy"}\n```\nThe claims, in words.'),
    (claim_ids, "model_7 is the best; model_1 has two conv layers"),
    (large_seed_counts, "about 17 seeds per model; up to 1,000 seeds; 1,000 per model"),
])
def test_checks_pass_what_a_reader_may_read(check, fine):
    assert not check(fine)


def test_readme_prose_names_no_claim_id_and_no_developer_slip():
    text = README.read_text(encoding="utf-8")
    assert not claim_ids(text), "claim ids belong in `mnist-cnn findings --json`"
    assert not stand_in(text)
    assert not large_seed_counts(text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_shows_no_developer_slip(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for output, text in shown_outputs(nb):
        assert output.get("name") != "stderr", text[:200]
        assert not saved_lines(text), "show_figure shows a figure without printing its path"
    text = shown_text(nb)
    assert not stand_in(text)
    assert not large_seed_counts(text)
