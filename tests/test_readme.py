"""The README's results table is generated from results/ and must not drift from it."""

import re
from pathlib import Path

from mnist_cnn.answer import ANSWER_MARKERS
from mnist_cnn.readme import COST_MARKERS, README_MARKERS
from mnist_cnn.report import cost_markdown, protocol_runs, summary_markdown

from helpers import import_script

ROOT = Path(__file__).resolve().parents[1]
MAX_README_LINES = 150   # the README is for readers; the rest lives in docs/
FIRST_SCREEN_LINES = 20  # the answer starts within the first screen


def generated(markers, document="README.md"):
    text = (ROOT / document).read_text(encoding="utf-8")
    start, end = markers
    return text.split(start)[1].split(end)[0].strip()


def test_results_table_matches_recorded_runs():
    assert generated(README_MARKERS) == summary_markdown(protocol_runs(ROOT / "results")).strip(), (
        "README results table is stale: run `mnist-cnn table --update-readme`")


def test_cost_table_matches_recorded_runs():
    assert generated(COST_MARKERS) == cost_markdown(protocol_runs(ROOT / "results")).strip(), (
        "README cost table is stale: run `mnist-cnn table --update-readme`")


def test_readme_is_the_answer_the_results_the_commands_and_links():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## The answer", "## Results", "## The findings in full",
                        "## Two commands", "## The notebooks", "## More"]
    assert len(text.splitlines()) <= MAX_README_LINES
    assert text.index(README_MARKERS[1]) < text.index(COST_MARKERS[0]) < text.index(
        "## Two commands")


def test_every_link_in_the_readme_and_docs_resolves():
    for document in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)", document.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            assert (document.parent / target).exists(), f"{document.name}: {target}"


def test_the_answer_opens_the_readme_and_the_findings_in_full_are_one_link_away():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index("## The answer") < text.index(ANSWER_MARKERS[0]) < text.index("## Results")
    assert len(text[:text.index(ANSWER_MARKERS[0])].splitlines()) <= FIRST_SCREEN_LINES
    section = text.split("## The findings in full")[1].split("## Two commands")[0]
    # Written once, in 05_conclusion (nbval keeps it current): the README links to it.
    assert "](notebooks/05_conclusion.ipynb)" in section and len(section.splitlines()) <= 8


NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten"}


def test_the_readmes_opening_states_the_studys_models_depths_and_seeds():
    from mnist_cnn.models import CONV_LAYERS, MODEL_NAMES
    from mnist_cnn.runs import STUDY_SEEDS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    opening = " ".join(text.split("## The answer")[0].split())  # one line, as a reader reads it
    *shallower, deepest = sorted(set(CONV_LAYERS.values()))
    assert (f"{NUMBER_WORDS[len(MODEL_NAMES)]} Keras CNNs with {', '.join(map(str, shallower))} "
            f"and {deepest} convolutional layers") in opening
    assert f"{NUMBER_WORDS[len(STUDY_SEEDS)]} seeds of each" in opening


def test_readme_names_the_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make reproduce" in text and "make test" in text
    makefile = (ROOT / "Makefile").read_text()
    assert "\nreproduce:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_ray_overhead_summary_matches_its_measurement():
    import json

    bench = import_script(ROOT / "benchmarks" / "ray_overhead.py")
    result = json.loads(bench.JSON.read_text())
    assert generated(bench.MARKERS, "docs/cluster.md") == bench.overhead_markdown(result).strip(), (
        "docs/cluster.md's Ray overhead is stale: python benchmarks/ray_overhead.py --update-docs")


def test_ray_overhead_summary_writes_an_overhead_that_rounds_to_zero_without_a_sign():
    import json

    bench = import_script(ROOT / "benchmarks" / "ray_overhead.py")
    result = json.loads(bench.JSON.read_text())
    for overhead in (-0.004, 0.004):
        text = bench.overhead_markdown({**result, "per_run_overhead_s": overhead})
        assert "Each later run took 0.00 s against in-process" in text
