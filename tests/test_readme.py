"""The README's results table is generated from results/ and must not drift from it."""

from pathlib import Path

from mnist_cnn.report import (README_MARKERS, REPRODUCED_MARKERS, protocol_runs,
                              reproduction_markdown, summary_markdown)

ROOT = Path(__file__).resolve().parents[1]


def generated(markers):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = markers
    return text.split(start)[1].split(end)[0].strip()


def test_results_table_matches_recorded_runs():
    assert generated(README_MARKERS) == summary_markdown(protocol_runs(ROOT / "results")).strip(), (
        "README results table is stale: run `mnist-cnn table --update-readme`")


def test_what_reproduced_matches_recorded_runs():
    text = generated(REPRODUCED_MARKERS)
    assert text == reproduction_markdown(protocol_runs(ROOT / "results")).strip(), (
        "README 'What reproduced' is stale: run `mnist-cnn table --update-readme`")
    assert text.count("\n- **Model") + text.startswith("- **Model") == 7


def test_readme_names_the_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make reproduce" in text and "make test" in text
    makefile = (ROOT / "Makefile").read_text()
    assert "\nreproduce:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
