"""Notebook support: the Setup cell's `setup()`, and running notebooks top to bottom.

`python -m mnist_cnn.notebook NB.ipynb ...` executes notebooks in place from a clean kernel, as
`make reproduce` does; `execute(..., parameters=..., output=...)` runs a copy with new parameter
values (the smoke tests use it to train through every notebook without touching results/).
"""

import argparse
import os
import random
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_TIMEOUT_S = None  # a cell may train for hours when runs are missing


def setup(seed=42):
    """Prepare a notebook: work from the project root, fix seeds, set plot style."""
    import numpy as np

    from .plotting import setup_style

    os.chdir(PROJECT_ROOT)  # results/ and figures/ are relative to the project root
    random.seed(seed)
    np.random.seed(seed)
    setup_style()


def _inject(nb, parameters):
    """Add a cell setting `parameters` right after the cell tagged 'parameters'."""
    import nbformat

    index = next((i for i, cell in enumerate(nb.cells)
                  if "parameters" in cell.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(
        source, metadata={"tags": ["injected-parameters"]}))


def _clean(nb):
    """Keep only the metadata a rendered notebook needs (no timings, no widget state)."""
    nb.metadata = {key: nb.metadata[key] for key in ("kernelspec", "language_info")
                   if key in nb.metadata}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def execute(path, output=None, parameters=None, env=None):
    """Run notebook `path` top to bottom in a fresh python3 kernel; write it to `output`.

    `output` defaults to `path` (in place). `env` adds environment variables for the kernel.
    """
    import nbformat
    from nbclient import NotebookClient

    from .files import write_text

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if parameters:
        _inject(nb, parameters)
    kernel_env = {**os.environ, **(env or {})}
    client = NotebookClient(nb, timeout=NOTEBOOK_TIMEOUT_S, kernel_name="python3",
                            record_timing=False,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute(env=kernel_env)
    _clean(nb)
    write_text(output or path, nbformat.writes(nb) + "\n")
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
