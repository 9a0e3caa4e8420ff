"""Notebook helpers: the Setup cell's `setup()`, the runs a notebook shows, and running notebooks.

`python -m mnist_cnn.notebook NB.ipynb ...` executes notebooks in place with papermill from a
clean kernel, as `make reproduce` does; `execute(..., parameters=..., output=...)` runs a copy
with new parameter values (the smoke tests use it to train through every notebook without
touching results/). Papermill's own command line works too, e.g.
`papermill notebooks/02_three_conv_layers.ipynb out.ipynb -p EPOCHS 1 -p RESULTS_DIR /tmp/r`.

Training is imported only inside `collect_runs`, when a run must be trained: a notebook that
shows recorded runs never loads TensorFlow.
"""

import argparse
import io
import os
import random
import sys
import unittest.mock
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage  # matplotlib's own dependency

from .runs import EPOCHS, RESULTS_DIR, RunConfig, representative_runs
from .tables import plural

NOTEBOOK_TIMEOUT_S = None  # a cell may train for hours when runs are missing
PROJECT_MARKERS = ("pyproject.toml", "notebooks")  # what the project's top folder holds


def project_root(start=None):
    """Return the project folder that holds `start` (default: cwd), or else `start` itself."""
    start = Path(start or Path.cwd()).resolve()
    # A kernel starts in the notebook's folder (Jupyter, nbval) or where papermill was called.
    for folder in (start, *start.parents):
        if all((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return start


def setup(seed=42):
    """Prepare a notebook: work from the project's top folder, fix seeds, set plot style."""
    import matplotlib.pyplot as plt
    import numpy as np

    from .plot_style import setup_style

    os.chdir(project_root())  # results/ and figures/ are relative to the project's top folder
    random.seed(seed)
    np.random.seed(seed)
    setup_style()
    plt.ioff()  # figures appear where `show_figure` shows them, once each


def show_figure(fig, name, figures_dir=None):
    """Save `fig` as <figures_dir>/<name>.png, show that PNG in the notebook, close the figure."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    from . import plot_style

    path = plot_style.save_fig(fig, name, figures_dir or plot_style.FIGURES_DIR)
    data = path.read_bytes()
    with PILImage.open(io.BytesIO(data)) as image:
        width = image.width
    display(Image(data=data, format="png", width=width // plot_style.PIXEL_RATIO))
    plt.close(fig)


@dataclass
class Selection:
    """Hold the runs a notebook shows for one model, a Markdown note on them, and their folder."""

    runs: list
    note: str
    results_dir: Path = RESULTS_DIR


def _seed_list(seeds):
    """Return 'seed 0' or 'seeds 0, 2'."""
    return f"{'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))}"


def collect_runs(model, data=None, *, epochs=EPOCHS, seeds=(0,), subset=None, retrain=False,
                 results_dir=RESULTS_DIR, verbose=2):
    """Return the runs a notebook shows for `model`, training only what must be trained."""
    configs = [RunConfig(model, epochs=epochs, seed=seed, subset=subset) for seed in seeds]
    if configs[0].is_protocol and not retrain:
        shown = representative_runs(model, results_dir)
        if shown and shown[0].config.is_protocol:
            seeds_done = [run.config.seed for run in shown]
            missing = [seed for seed in seeds if seed not in seeds_done]
            count = "the run" if len(shown) == 1 else f"the {len(shown)} runs"
            note = (f"Shown: {count} of {model} recorded under the original's protocol "
                    f"({_seed_list(seeds_done)}), not retrained.")
            if missing:
                note += (f" Requested but not recorded yet: {_seed_list(missing)} "
                         f"(mnist-cnn reproduce --models {model} --seeds "
                         f"{' '.join(map(str, missing))}).")
            return Selection(shown, note, results_dir)
        if shown:
            return Selection(shown, (
                f"**No full {EPOCHS}-epoch run of {model} is recorded yet.** Shown instead: "
                f"the longest recorded run, {plural(shown[0].config.epochs, 'epoch')} "
                f"({shown[0].config.variant}), which is NOT the original protocol, so its "
                f"numbers are not compared with the original's. To record the full run: "
                f"`mnist-cnn reproduce --models {model}`"), results_dir)
    from .training import train_or_load

    runs = [train_or_load(config, data, retrain=retrain, results_dir=results_dir,
                          verbose=verbose) for config in configs]
    how = "trained now" if retrain else "recorded or trained now"
    return Selection(runs, f"Showing {plural(len(runs), 'run')} of {model}, {how}: "
                           f"{', '.join(run.label for run in runs)}.", results_dir)


class Section:
    """Show a section notebook's (01–04) runs of each model, set up by one call: `Section()`."""

    def __init__(self, seed=42):
        from .original import load_original

        setup(seed)
        self.reference = load_original()

    def runs(self, model, *, epochs=EPOCHS, seeds=(0,), subset=None, retrain=False,
             results_dir=RESULTS_DIR):
        """Return the runs shown for `model` (`collect_runs`), and show which runs they are."""
        from IPython.display import Markdown, display

        selection = collect_runs(model, epochs=epochs, seeds=seeds, subset=subset,
                                 retrain=retrain, results_dir=results_dir)
        display(Markdown(selection.note))
        return selection

    def architecture(self, model):
        """Show `model`'s layers as a table, then its parameter counts."""
        from IPython.display import display

        from .models import architecture_table, build_model, parameter_summary

        net = build_model(model)
        display(architecture_table(net))
        print(parameter_summary(net))

    def results(self, selection):
        """Return the table of the runs' test results beside the original's."""
        from .report import model_report

        return model_report(selection.runs, self.reference, selection.results_dir)

    def loss_curves(self, selection):
        """Show the runs' loss per epoch beside the original's."""
        from .training_plots import loss_curves

        show_figure(loss_curves(selection.runs, self.reference),
                    f"loss_{selection.runs[0].config.model}")

    def error_curves(self, selection):
        """Show the runs' error per epoch beside the original's."""
        from .training_plots import error_curves

        show_figure(error_curves(selection.runs, self.reference),
                    f"error_{selection.runs[0].config.model}")

    def observations(self, selection):
        """Return the observations on the runs (Markdown), computed from their records."""
        from IPython.display import Markdown

        from .observations import observations

        return Markdown(observations(selection.runs, self.reference))


def _clean(nb):
    """Keep only the metadata a rendered notebook needs (no papermill records, no timings)."""
    nb.metadata = {key: nb.metadata[key] for key in ("kernelspec", "language_info")
                   if key in nb.metadata}
    for cell in nb.cells:
        for key in ("execution", "papermill"):
            cell.metadata.pop(key, None)
        if not cell.metadata.get("tags"):
            cell.metadata.pop("tags", None)


def execute(path, output=None, parameters=None, env=None):
    """Run notebook `path` with papermill in a fresh kernel; write it to `output` or in place."""
    import nbformat
    import papermill

    from .files import write_text

    path = Path(path).resolve()
    output = Path(output or path)
    with unittest.mock.patch.dict(os.environ, env or {}):  # the kernel inherits the environment
        nb = papermill.execute_notebook(
            path, None, parameters=parameters or {}, kernel_name="python3",
            cwd=path.parent, progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=NOTEBOOK_TIMEOUT_S)
    _clean(nb)
    write_text(output, nbformat.writes(nb) + "\n")
    return nb


def main(argv=None):
    """Execute the given notebooks in place, in order."""
    parser = argparse.ArgumentParser(prog="python -m mnist_cnn.notebook",
                                     description="Execute notebooks in place, top to bottom.")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.exists():
            continue  # an unmatched shell glob such as notebooks/*.ipynb
        print(f"executing {path}", flush=True)
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
