"""The `mnist-cnn` command as a user runs it: real processes, exit codes, stderr, files."""

import json
import os
import subprocess
import sys

import pytest

from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.runs import EPOCHS


def mnist_cnn(*args, env=None, cwd=None):
    """Run the installed command line in a fresh process."""
    return subprocess.run([sys.executable, "-m", "mnist_cnn.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})})


def snapshot(folder):
    """Return every path under `folder` (to prove nothing was written)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A results folder holding one quick run of model_1, made through the CLI."""
    results = tmp_path_factory.mktemp("results")
    done = mnist_cnn("train", "model_1", "--epochs", 1, "--subset", 500, "--seed", 3,
                     "--results-dir", results)
    assert done.returncode == 0, done.stderr
    return results, results / "model_1" / "epochs1_subset500" / "seed_3"


def assert_clean_failure(done, *words):
    """Exit 2, one line on stderr naming `words`, no traceback."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mnist-cnn"), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0]


def test_train_records_a_run(recorded):
    results, folder = recorded
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["config"]["subset"] == 500 and metrics["config"]["seed"] == 3


@pytest.mark.parametrize("args, words", [
    (["train", "model_99"], ["model_99", "model_1", "model_7"]),
    (["train", "model_1", "--epochs", "0"], ["epochs", "positive"]),
    (["train", "model_1", "--epochs", "-3"], ["epochs"]),
    (["train", "model_1", "--batch-size", "0"], ["batch size"]),
    (["train", "model_1", "--subset", "60001"], ["subset", "60,000"]),
    (["train", "model_1", "--subset", "0"], ["subset"]),
    (["train", "model_1", "--lr", "-1"], ["learning rate"]),
    (["train", "model_1", "--seed", "-1"], ["seed"]),
    (["train", "model_1", "--epochs", "many"], ["--epochs"]),
    (["train", "model_1", "model_8"], ["model_8"]),
    (["reproduce", "--models", "model_0"], ["model_0"]),
    (["summary", "model_42"], ["model_42"]),
    (["frobnicate"], ["frobnicate"]),
    (["train", "model_1", "--jobs", "0"], ["--jobs"]),
])
def test_bad_input_fails_cleanly_and_writes_nothing(tmp_path, args, words):
    results = tmp_path / "results"
    assert_clean_failure(mnist_cnn(*args, "--results-dir", results)
                         if args[0] in ("train", "reproduce") else mnist_cnn(*args), *words)
    assert snapshot(tmp_path) == []


def test_corrupt_data_file_fails_cleanly(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"\x00" * 100)
    results = tmp_path / "results"
    env = {"MNIST_CNN_DATA": str(bad)}
    assert_clean_failure(mnist_cnn("data", env=env), str(bad))
    assert_clean_failure(mnist_cnn("train", "model_1", "--epochs", "1", "--results-dir", results,
                                   env=env), str(bad))
    assert not results.exists()


@pytest.mark.parametrize("damage", ["corrupt metrics", "missing probs", "short history"])
def test_damaged_run_fails_cleanly(recorded, tmp_path, damage):
    _, folder = recorded
    results = tmp_path / "results"
    copy = results / "model_1" / "seed_0"
    copy.mkdir(parents=True)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["config"].update(epochs=EPOCHS, subset=None, seed=0)  # pose as a protocol run
    (copy / "metrics.json").write_text(json.dumps(metrics))
    (copy / "history.json").write_bytes((folder / "history.json").read_bytes())
    (copy / "test_probs.npz").write_bytes((folder / "test_probs.npz").read_bytes())
    if damage == "corrupt metrics":
        (copy / "metrics.json").write_text('{"test_loss": 0.1,')
    elif damage == "missing probs":
        (copy / "test_probs.npz").unlink()
    # "short history": one epoch recorded where the config says EPOCHS.
    before = snapshot(results)
    for args in (["table"], ["reproduce", "--models", "model_1"], ["list"]):
        assert_clean_failure(mnist_cnn(*args, "--results-dir", results), str(copy), "retrain")
    assert snapshot(results) == before


def test_list_summary_and_table(recorded):
    results, _ = recorded
    listing = mnist_cnn("list", "--results-dir", results)
    assert listing.returncode == 0 and all(name in listing.stdout for name in MODEL_NAMES)
    summary = mnist_cnn("summary", "model_5")
    assert summary.returncode == 0 and "Total params: 4,078,666" in summary.stdout
    table = mnist_cnn("table", "--markdown", "--results-dir", results)
    assert table.returncode == 0 and table.stdout.count("\n| Model") == 7


def test_reproduce_skips_recorded_runs(recorded, tmp_path):
    _, folder = recorded
    target = tmp_path / "results" / "model_1" / "seed_0"
    target.mkdir(parents=True)
    # The quick run's files, stretched to the protocol's epochs, stand in for a full run: only the
    # skip logic is under test here.
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["config"].update(epochs=EPOCHS, subset=None, seed=0)
    history = json.loads((folder / "history.json").read_text())
    (target / "metrics.json").write_text(json.dumps(metrics))
    (target / "history.json").write_text(json.dumps({k: v * EPOCHS for k, v in history.items()}))
    (target / "test_probs.npz").write_bytes((folder / "test_probs.npz").read_bytes())
    done = mnist_cnn("reproduce", "--models", "model_1", "--seeds", "0",
                     "--results-dir", tmp_path / "results")
    assert done.returncode == 0, done.stderr
    assert "up to date: model_1 seed 0" in done.stdout


def test_jobs_train_runs_in_concurrent_workers(tmp_path):
    results = tmp_path / "results"
    done = mnist_cnn("train", "model_1", "--epochs", 1, "--subset", 300, "--seed", 0, 1,
                     "--jobs", 2, "--results-dir", results)
    assert done.returncode == 0, done.stdout + done.stderr
    for seed in (0, 1):
        assert (results / "model_1" / "epochs1_subset300" / f"seed_{seed}" / "metrics.json").exists()
        assert f"== model_1 seed {seed}, epochs1_subset300: test accuracy" in done.stdout
    assert len(list((results / ".logs").glob("*.log"))) == 2


def test_plot_writes_small_figures(recorded, tmp_path):
    results, _ = recorded
    done = mnist_cnn("plot", "--results-dir", results, "--figures-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["loss_model_1.png", "sample_digits.png", "tradeoff.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size < 150_000
               for p in tmp_path.iterdir())


LIGHT_CHECK = """
import sys
from mnist_cnn.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:  # --help
    code = e.code
heavy = sorted(m for m in ("tensorflow", "keras", "torch", "mnist_cnn.speed.bench")
               if m in sys.modules)
print("HEAVY:", ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("args", [["--help"], ["list"], ["table"], ["bench", "--help"],
                                  ["plot", "--figures-dir", "figures"]])
def test_light_commands_do_not_import_tensorflow(args, tmp_path):
    done = subprocess.run([sys.executable, "-c", LIGHT_CHECK, *args], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "HEAVY:", done.stderr
