"""The committed notebooks: hygiene of what GitHub renders, and a smoke run that trains.

nbval (configured in pyproject.toml) re-executes the notebooks and compares every output; these
tests add what nbval does not check.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnist_cnn import runs
from mnist_cnn.models import SECTIONS
from mnist_cnn.notebook import execute

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SECTION_NOTEBOOKS = {
    "01_two_conv_layers.ipynb": SECTIONS[2],
    "02_three_conv_layers.ipynb": SECTIONS[3],
    "03_five_conv_layers.ipynb": SECTIONS[5],
    "04_seven_conv_layers.ipynb": SECTIONS[7],
}
ALL_NOTEBOOKS = ["00_data_overview.ipynb", *SECTION_NOTEBOOKS, "05_conclusion.ipynb",
                 "06_analysis.ipynb", "07_fashion_mnist.ipynb"]
MAX_LINE = 120       # characters of a printed line: wider ones wrap on GitHub
MIN_IMAGE_PX = 600   # width of every figure as GitHub shows it
MAX_BYTES = 1_000_000  # a notebook GitHub renders quickly
# What a notebook may say only while some model lacks a full protocol run (collect_runs,
# observations), or said only to developers: never in the committed notebooks once every model
# has its protocol runs.
STAND_IN_TEXT = ("stand-in", "NOT the original protocol", "No full", "smoke test",
                 "a single run has none", "when these are protocol runs")


def source(cell):
    """Return a cell's text (stored as a list of lines in the file)."""
    return "".join(cell["source"])


def code_cells(nb):
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


@pytest.fixture(params=ALL_NOTEBOOKS)
def notebook(request):
    path = NOTEBOOKS / request.param
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_all_notebooks_are_present():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(ALL_NOTEBOOKS)


def test_notebook_is_clean_for_github(notebook):
    path, nb = notebook
    assert path.stat().st_size < MAX_BYTES
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}
    cells = code_cells(nb)
    # Executed top to bottom from a clean kernel: counts 1, 2, 3, ... in cell order.
    assert [cell["execution_count"] for cell in cells] == list(range(1, len(cells) + 1))
    for cell in cells:
        for output in cell["outputs"]:
            assert output["output_type"] != "error", source(cell)
            assert output.get("name") != "stderr", source(cell)
            text = "".join(output.get("text", ""))
            assert "\r" not in text and "━" not in text, "progress-bar output"
            assert not any(line.startswith("saved ") for line in text.splitlines()), (
                "a figure's path printed: show_figure shows the figure alone")
        assert set(cell["metadata"]) <= {"tags"}


def shown_text(nb):
    """Return everything a reader of the notebook sees as text: Markdown cells and outputs."""
    parts = [source(cell) for cell in nb["cells"] if cell["cell_type"] == "markdown"]
    for cell in code_cells(nb):
        for output in cell["outputs"]:
            data = output.get("data", {})
            parts += ["".join(output.get("text", "")), "".join(data.get("text/markdown", "")),
                      "".join(data.get("text/html", ""))]
    return "\n".join(parts)


def test_notebook_says_nothing_stale_once_every_model_has_protocol_runs(notebook):
    from mnist_cnn.runs import representatives

    recorded = representatives(NOTEBOOKS.parent / "results", protocol_only=True)
    if not all(recorded.values()):
        pytest.skip("a model has no protocol run yet: its notebook says so")
    _, nb = notebook
    text = shown_text(nb)
    assert not [phrase for phrase in STAND_IN_TEXT if phrase in text]


def test_notebook_opens_with_title_and_setup(notebook):
    _, nb = notebook
    first, second = nb["cells"][:2]
    assert first["cell_type"] == "markdown" and source(first).startswith("# ")
    assert "\n\n" in source(first)  # a one-sentence description under the title
    assert source(second) == "## Setup"
    assert any(output for cell in code_cells(nb) for output in cell["outputs"])


@pytest.mark.parametrize("name", SECTION_NOTEBOOKS)
def test_section_notebook_has_parameters_and_images(name):
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    tagged = [cell for cell in code_cells(nb) if "parameters" in cell["metadata"].get("tags", [])]
    assert len(tagged) == 1
    namespace = {"runs": runs}  # the Setup cell's import: the defaults
    exec(source(tagged[0]), namespace)
    assert (namespace["RETRAIN"], namespace["EPOCHS"], namespace["SEEDS"],
            namespace["SUBSET"]) == (False, runs.EPOCHS, [0], None)
    images = [output for cell in code_cells(nb) for output in cell["outputs"]
              if "image/png" in output.get("data", {})]
    assert len(images) == 2 * len(SECTION_NOTEBOOKS[name])  # loss and error curves per model


@pytest.mark.training
@pytest.mark.notebooks
@pytest.mark.parametrize("name", ["01_two_conv_layers.ipynb"])
def test_section_notebook_trains_when_asked(name, tmp_path):
    """Run the notebook with a quick training configuration into a temporary folder.

    One section notebook trains here: the four share the code path (notebook.collect_runs),
    and the smallest model keeps it quick; the papermill test below runs another one on
    recorded runs.
    """
    results, figures = tmp_path / "results", tmp_path / "figures"
    parameters = dict(RETRAIN=True, EPOCHS=1, SUBSET=2000, RESULTS_DIR=str(results))
    nb = execute(NOTEBOOKS / name, output=tmp_path / name, parameters=parameters,
                 env={"MNIST_CNN_FIGURES_DIR": str(figures)})
    text = nbformat.writes(nb)
    for model in SECTION_NOTEBOOKS[name]:
        assert (results / model / "epochs1_subset2000" / "seed_0" / "metrics.json").exists()
        assert (figures / f"loss_{model}.png").exists()
        assert f"trained now: {model} seed 0, epochs1_subset2000" in text
    assert "not the original protocol, so they are not compared with the original" in text
    assert list(results.glob("*/*/seed_0/test_probs.npz"))


def committed_files(root):
    """Return {path: mtime} under results/ and figures/, less git-ignored checkpoints."""
    return {str(p): p.stat().st_mtime_ns for folder in ("results", "figures")
            for p in (root / folder).rglob("*") if ".checkpoints" not in p.parts}


@pytest.mark.notebooks
def test_papermill_command_runs_a_notebook_into_other_folders(tmp_path):
    """The papermill command a user types, from the project's top folder, on the protocol runs
    recorded in another folder: it shows them, trains nothing, and leaves results/ untouched."""
    from helpers import make_run

    root = NOTEBOOKS.parent
    before = committed_files(root)
    results, figures = tmp_path / "r", tmp_path / "f"
    models = SECTION_NOTEBOOKS["02_three_conv_layers.ipynb"]
    for model in models:
        runs.save_run(make_run(model, 0, 0.995, 0.02), results)
    recorded = {str(p): p.stat().st_mtime_ns for p in results.rglob("*")}
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "notebooks/02_three_conv_layers.ipynb",
         tmp_path / "out.ipynb", "-p", "RESULTS_DIR", results, "--no-progress-bar"],
        cwd=root, capture_output=True, text=True,
        env={**os.environ, "MNIST_CNN_FIGURES_DIR": str(figures)})
    assert done.returncode == 0, done.stderr[-2000:]
    for model in models:
        assert (figures / f"loss_{model}.png").exists()
    assert "trained now" not in (tmp_path / "out.ipynb").read_text()
    assert {str(p): p.stat().st_mtime_ns for p in results.rglob("*")} == recorded
    assert committed_files(root) == before


@pytest.mark.notebooks
@pytest.mark.parametrize("name", ["00_data_overview.ipynb", "05_conclusion.ipynb",
                                  "06_analysis.ipynb"])
def test_overview_and_conclusion_run_into_other_folders(name, tmp_path):
    """The notebooks that train nothing also write only where their parameters say."""
    figures = tmp_path / "figures"
    parameters = {}
    if name != "00_data_overview.ipynb":  # one recorded run, so there is something to analyse
        from helpers import make_run
        from mnist_cnn.runs import save_run

        save_run(make_run("model_1"), tmp_path / "results")
        parameters["RESULTS_DIR"] = str(tmp_path / "results")
    nb = execute(NOTEBOOKS / name, output=tmp_path / name, parameters=parameters,
                 env={"MNIST_CNN_FIGURES_DIR": str(figures)})
    assert list(figures.glob("*.png"))
    assert all(output.get("name") != "stderr" for cell in code_cells(nb)
               for output in cell["outputs"])


def test_notebook_reads_well_on_github(notebook):
    """Printed lines fit the page, figures are wide enough, the original is never "the seed"."""
    import base64
    import io

    from PIL import Image

    _, nb = notebook
    for cell in code_cells(nb):
        for output in cell["outputs"]:
            for line in "".join(output.get("text", "")).splitlines():
                assert len(line) <= MAX_LINE, line
            data = output.get("data", {})
            if "image/png" in data:
                with Image.open(io.BytesIO(base64.b64decode(data["image/png"]))) as image:
                    # Shown at the width its metadata gives (half its pixels: sharp on high-DPI
                    # screens), or else at its pixel width.
                    shown = output.get("metadata", {}).get("image/png", {}).get("width",
                                                                                image.width)
                    assert shown >= MIN_IMAGE_PX and image.width >= shown
            shown = "".join(output.get("text", "")) + "".join(data.get("text/plain", "")) + \
                "".join(data.get("text/markdown", "")) + "".join(data.get("text/html", ""))
            for slip in ("seed notebook", "the seed's", "Seed Accuracy", "seed protocol"):
                assert slip not in shown, slip
    tables = [output for cell in code_cells(nb) for output in cell["outputs"]
              if "+---" in "".join(output.get("text", ""))]
    assert not tables, "tables are shown as HTML, not printed"
