"""Record the pinned short runs that the tests retrain: tests/data/pinned_runs.json.

A change to the training path (optimizer, initializers, data order, preprocessing, dropout)
moves these numbers far more than the tests' tolerance; a change of machine or library build
moves them a little. Re-record only after a deliberate change to the training path, and say so
in the commit.

Usage (from the repository root): python scripts/pin_runs.py
"""

import sys
import tempfile
from pathlib import Path

from mnist_cnn.data import load_mnist
from mnist_cnn.files import write_json
from mnist_cnn.runs import RunConfig
from mnist_cnn.training import train

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "pinned_runs.json"
# Small enough for CI (seconds), long enough that every part of the training path acts.
PINNED = [RunConfig(model, epochs=1, subset=500, seed=0) for model in ("model_1", "model_3")]


def main():
    """Train the pinned configurations and write their numbers with where they were measured."""
    data = load_mnist()
    runs = {}
    with tempfile.TemporaryDirectory() as results:
        for config in PINNED:
            run = train(config, data, results_dir=results, verbose=0, log=lambda *_: None)
            runs[config.model] = {
                "config": config.to_dict(),
                "history": {key: run.history[key]
                            for key in ("loss", "accuracy", "val_loss", "val_accuracy")},
                "test_loss": run.test_loss, "test_accuracy": run.test_accuracy,
                "device": run.metrics["device"], "versions": run.metrics["versions"],
                "date": run.metrics["date"],
            }
    write_json(OUT, {"made_by": "python scripts/pin_runs.py", "runs": runs})
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
