"""The runs committed under results/: complete, and consistent with their own test outputs."""

from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.data import load_mnist
from mnist_cnn.runs import find_runs, load_run, run_folders

from helpers import import_script

RESULTS = Path(__file__).resolve().parents[1] / "results"
# Folders, not loaded runs: each test loads its own, so a bad run fails its tests, not collection.
FOLDERS = run_folders(RESULTS)
FOLDER_IDS = [folder.relative_to(RESULTS).as_posix() for folder in FOLDERS]


@pytest.fixture(scope="module")
def test_labels():
    return load_mnist()[1][1]


def test_some_runs_are_recorded():
    assert FOLDERS, "results/ holds no runs"


@pytest.mark.parametrize("folder", FOLDERS, ids=FOLDER_IDS)
def test_metrics_agree_with_saved_probabilities(folder, test_labels):
    run = load_run(folder)
    probs = run.probs.astype(np.float64)
    accuracy = (probs.argmax(axis=1) == test_labels).mean()
    # float16 storage can flip an argmax only on a near-tie: allow two of 10,000 images.
    assert abs(accuracy - run.test_accuracy) <= 2e-4
    picked = np.clip(probs[np.arange(len(test_labels)), test_labels], 1e-7, 1)
    assert abs(-np.log(picked).mean() - run.test_loss) < 5e-3
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-2)


@pytest.mark.parametrize("folder", FOLDERS, ids=FOLDER_IDS)
def test_run_records_where_and_how_it_ran(folder):
    run = load_run(folder)
    metrics = run.metrics
    assert metrics["model"] == run.config.model
    assert metrics["backend"] in metrics["versions"]  # the backend library's version
    assert metrics["device"] and metrics["date"] and metrics["params"]["total"] > 0
    assert len(run.history["epoch_seconds"]) == run.config.epochs
    if run.config.validation == "test":
        # The last epoch's validation is evaluate() on the same weights and test set.
        assert abs(run.history["val_loss"][-1] - run.test_loss) < 1e-3


def _accelerator_report():
    return import_script(RESULTS.parent / "scripts" / "accelerator_report.py")


def test_gpu_runs_are_full_float32_and_their_report_is_current():
    report = _accelerator_report()
    recorded = find_runs(RESULTS)
    runs = report.gpu_runs(recorded)
    if not runs:
        pytest.skip("no run recorded on a GPU")
    assert all(run.metrics["matmul_precision"] == "float32" for run in runs)
    calls = [report.read_call(folder) for folder in sorted(report.RECORDS.glob("call_*"))]
    assert report.OUT.read_text() == report.report(runs, calls, recorded), (
        "benchmarks/ACCELERATOR.md is stale: python scripts/accelerator_report.py")


def test_a_call_asked_for_every_model_and_seed_of_its_command():
    report = _accelerator_report()
    command = 'OUT=$OUT scripts/accelerator_study.sh 200 "model_3 model_4" "2 3" 2'
    assert report.call_arguments(command) == (
        {("model_3", 2), ("model_4", 2), ("model_3", 3), ("model_4", 3)}, 2)
    assert report.call_arguments('scripts/accelerator_study.sh 90 model_6 "2"') == (
        {("model_6", 2)}, report.DEFAULT_JOBS)
