"""The README's results table is generated from results/ and must not drift from it."""

from pathlib import Path

from mnist_cnn.report import README_MARKERS, summary_markdown
from mnist_cnn.runs import find_runs

ROOT = Path(__file__).resolve().parents[1]


def test_results_table_matches_recorded_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = README_MARKERS
    table = text.split(start)[1].split(end)[0].strip()
    assert table == summary_markdown(find_runs(ROOT / "results")).strip(), (
        "README results table is stale: run `mnist-cnn table --update-readme`")


def test_readme_names_the_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make reproduce" in text and "make test" in text
    makefile = (ROOT / "Makefile").read_text()
    assert "\nreproduce:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
