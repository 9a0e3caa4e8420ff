"""Synthetic runs for tests that need recorded runs without training."""

import numpy as np

from mnist_cnn.runs import Run, RunConfig

PARAMS = {"model_1": 1_199_882, "model_3": 2_000_000}


def make_run(model="model_1", seed=0, test_accuracy=0.99, test_loss=0.03, **settings):
    """Return a Run with made-up history and metrics, as training would record it."""
    config = RunConfig(model, seed=seed, **settings)
    epochs = config.epochs
    falling = np.geomspace(0.3, 0.01, epochs) * (1 + seed / 10)
    history = {"loss": [float(v) for v in falling],
               "accuracy": [float(1 - v / 3) for v in falling],
               "val_loss": [float(v + 0.02) for v in falling],
               "val_accuracy": [float(1 - v / 2) for v in falling],
               # 10 + seed seconds, every third epoch 2 s slower: per-run median 10 + seed
               "epoch_seconds": [10.0 + seed + 2 * (e % 3 == 0) for e in range(epochs)]}
    metrics = {"model": model, "test_loss": test_loss, "test_accuracy": test_accuracy,
               "config": config.to_dict(),
               "params": {"total": PARAMS.get(model, 1), "trainable": PARAMS.get(model, 1)},
               "backend": "tensorflow", "device": "CPU: test (2 cores)",
               "versions": {"keras": "3.15.1"}, "date": "2025-01-01T00:00:00+00:00",
               "total_seconds": sum(history["epoch_seconds"])}
    return Run(None, config, history, metrics, np.zeros((10_000, 10), np.float16))
