"""Test-session settings shared by the unit tests and nbval's notebook runs, and their markers."""

import os
import shutil
import tempfile


def pytest_configure(config):
    """Send every figure the notebooks save to a temporary folder, never to figures/.

    nbval re-executes the committed notebooks in their kernels, which inherit this environment;
    mnist_cnn.plot_style reads the variable when the kernel imports it.
    """
    if "MNIST_CNN_FIGURES_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="mnist-cnn-figures-")
        os.environ["MNIST_CNN_FIGURES_DIR"] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_collection_modifyitems(items):
    """Mark nbval's notebook items `notebooks`, so that `-m "not notebooks"` leaves them out."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker("notebooks")
