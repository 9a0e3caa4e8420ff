"""The runs committed under results/: complete, and consistent with their own test outputs."""

from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.data import load_mnist
from mnist_cnn.runs import find_runs

RESULTS = Path(__file__).resolve().parents[1] / "results"
RUNS = find_runs(RESULTS, protocol=False)


@pytest.fixture(scope="module")
def test_labels():
    return load_mnist()[1][1]


def test_some_runs_are_recorded():
    assert RUNS, "results/ holds no runs"


@pytest.mark.parametrize("run", RUNS, ids=[run.label for run in RUNS])
def test_metrics_agree_with_saved_probabilities(run, test_labels):
    probs = run.probs.astype(np.float64)
    accuracy = (probs.argmax(axis=1) == test_labels).mean()
    # float16 storage can flip an argmax only on a near-tie: allow two of 10,000 images.
    assert abs(accuracy - run.test_accuracy) <= 2e-4
    picked = np.clip(probs[np.arange(len(test_labels)), test_labels], 1e-7, 1)
    assert abs(-np.log(picked).mean() - run.test_loss) < 5e-3
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-2)


@pytest.mark.parametrize("run", RUNS, ids=[run.label for run in RUNS])
def test_run_records_where_and_how_it_ran(run):
    metrics = run.metrics
    assert metrics["model"] == run.config.model
    assert metrics["backend"] in metrics["versions"]  # the backend library's version
    assert metrics["device"] and metrics["date"] and metrics["params"]["total"] > 0
    assert len(run.history["epoch_seconds"]) == run.config.epochs
    if run.config.validation == "test":
        # The last epoch's validation is evaluate() on the same weights and test set.
        assert abs(run.history["val_loss"][-1] - run.test_loss) < 1e-3
