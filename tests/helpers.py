"""Synthetic runs and checkpoints for tests that need them without training, the scripts'
import, and which heavy modules a command line imports."""

import importlib.util
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.claim_words import Claim
from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.runs import TEST_SIZE, Run, RunConfig, checkpoint_dir, save_run
from mnist_cnn.scores import test_labels

PARAMS = {"model_1": 1_199_882, "model_3": 2_000_000}
RIGHT_PROBABILITY = float(np.float16(0.999))  # the true digit's probability on a right image


def probs_scoring(test_accuracy, test_loss, labels=None):
    """Return float16 test probabilities that score `test_accuracy` (to the image) and
    `test_loss` (to about 1e-5) on the MNIST test labels.

    The first images are wrong: their true digit gets a probability r and the next digit 1 - r,
    with r chosen so that the mean clipped cross-entropy comes out at `test_loss`.
    """
    labels = test_labels() if labels is None else labels
    right = round(test_accuracy * TEST_SIZE)
    wrong = TEST_SIZE - right
    probs = np.zeros((TEST_SIZE, 10), np.float32)
    rows, other = np.arange(TEST_SIZE), (labels + 1) % 10
    true_probability = np.full(TEST_SIZE, RIGHT_PROBABILITY)
    if wrong:
        r = math.exp(-(TEST_SIZE * test_loss + right * math.log(RIGHT_PROBABILITY)) / wrong)
        if not r < 0.5:
            raise ValueError(f"no probabilities score {test_accuracy} with loss {test_loss}")
        true_probability[:wrong] = r
    probs[rows, labels] = true_probability
    probs[rows, other] = 1 - true_probability
    return probs.astype(np.float16)


def make_run(model="model_1", seed=0, test_accuracy=0.99, test_loss=0.03, labels=None,
             **settings):
    """Return a Run with made-up history and metrics, as training would record it.

    Its probabilities score as asked on `labels` (default: the MNIST test labels).
    """
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
    return Run(None, config, history, metrics, probs_scoring(test_accuracy, test_loss, labels))


def make_study(folder, accuracies):
    """Save made-up runs of the given accuracies per model (one per seed, from 0) under
    `folder`, a name not of the seven's as a user's model; return `folder`."""
    for model, model_accuracies in accuracies.items():
        own = {} if model in MODEL_NAMES else {"builder": "own_models.py:build"}
        for seed, accuracy in enumerate(model_accuracies):
            save_run(make_run(model, seed, accuracy, 0.03 - (accuracy - 0.99) * 2, **own), folder)
    return folder


def write_checkpoint(config, results, epochs_done):
    """Leave a checkpoint of `config` after `epochs_done` epochs, as an interrupted run does."""
    folder = checkpoint_dir(config, results)
    folder.mkdir(parents=True)
    (folder / f"epoch_{epochs_done}.keras").write_bytes(b"a model")
    (folder / "state.json").write_text(json.dumps(
        {"config": config.to_dict(), "epochs_done": epochs_done,
         "model_file": f"epoch_{epochs_done}.keras"}))


def import_script(path):
    """Import a script kept beside the package (scripts/, benchmarks/) as a module."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# `mnist-cnn ARGS` in a fresh interpreter, with the modules in `blocked` unimportable (as if not
# installed); at the end it writes which of `modules` it imported to the file named first.
HEAVY_CHECK = """
import json, sys
for name in {blocked!r}:
    sys.modules[name] = None  # `import name` now fails
from mnist_cnn.cli import main
report = sys.argv.pop(1)
try:
    code = main(sys.argv[1:])
except SystemExit as e:  # --help, argparse's errors
    code = e.code
with open(report, "w") as f:
    json.dump([m for m in {modules!r} if sys.modules.get(m)], f)
sys.exit(code)
"""


def heavy_modules_after(argv, modules, cwd=None, blocked=()):
    """Run the command line `argv` (`mnist-cnn ARGV`) in a fresh Python, `blocked` modules made
    unimportable; return (the finished process, which of `modules` it imported).

    The second is None when the command never returned (it crashed, or Python stopped it).
    """
    check = HEAVY_CHECK.format(blocked=tuple(blocked), modules=tuple(modules))
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "imported.json"
        done = subprocess.run([sys.executable, "-c", check, report, *map(str, argv)],
                              capture_output=True, text=True, cwd=cwd)
        imported = json.loads(report.read_text()) if report.exists() else None
    return done, imported


# A module of models of a user's own, as a reader would write it: `build` is a tiny model (one
# conv layer) for the protocol; the others are variants and mistakes.
OWN_MODELS = '''
import keras


def build(hidden=16):
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPooling2D(4),
        keras.layers.Flatten(),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(10, activation="softmax"),
    ])


def wider():
    return build(hidden=32)


def _wired(second_input_is_first):
    inputs = keras.Input(shape=(28, 28, 1))
    first = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    second = keras.layers.Conv2D(2, 3, padding="same")(first)
    joined = keras.layers.Add()([first if second_input_is_first else second, second])
    flat = keras.layers.Flatten()(keras.layers.MaxPooling2D(4)(joined))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(flat))


def residual():
    return _wired(True)


def doubled():  # the same layers as residual, wired otherwise
    return _wired(False)


def raises():
    raise RuntimeError("no model today\\nsecond line")


def not_a_model():
    return "a model"


NOT_CALLABLE = 3


def wrong_input():
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])


def wrong_output():
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(5, activation="softmax")])


def logits():
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(10)])


def no_input():
    return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
'''


def write_own_models(folder):
    """Write OWN_MODELS to `folder`/own_models.py and a module that cannot be imported to
    `folder`/broken.py; return `folder`."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / "own_models.py").write_text(OWN_MODELS)
    (Path(folder) / "broken.py").write_text("import a_module_that_is_nowhere\n")
    return Path(folder)


# --- the made-up study of the findings' tests (test_findings, test_words, test_findings_tables)

# Made-up accuracies per model, three seeds each: model_1 clearly behind, the rest close.
ACCURACIES = {"model_1": (0.9920, 0.9922, 0.9925), "model_2": (0.9945, 0.9948, 0.9946),
              "model_3": (0.9944, 0.9950, 0.9947), "model_4": (0.9955, 0.9952, 0.9958),
              "model_5": (0.9954, 0.9956, 0.9951), "model_6": (0.9953, 0.9957, 0.9955),
              "model_7": (0.9956, 0.9952, 0.9954)}

# Made-up Fashion-MNIST accuracies, three seeds each, depth reversed: the deeper, the worse.
FASHION_ACCURACIES = {"model_1": (0.930, 0.931, 0.932), "model_2": (0.925, 0.926, 0.924),
                      "model_3": (0.921, 0.920, 0.922), "model_4": (0.915, 0.916, 0.914),
                      "model_5": (0.916, 0.914, 0.915), "model_6": (0.905, 0.906, 0.904),
                      "model_7": (0.904, 0.905, 0.906)}


def mean_percent(model, accuracies=ACCURACIES):
    """Return a model's mean test accuracy in percent, from its whole images right per seed."""
    return sum(round(a * 10_000) for a in accuracies[model]) / len(accuracies[model]) / 100


def fashion_labels_or_skip():
    """Return Fashion-MNIST's test labels, or skip the test where the data set is absent."""
    from mnist_cnn.data import DataError

    try:
        return test_labels("fashion-mnist")
    except DataError:
        pytest.skip("Fashion-MNIST is not on this machine (make fashion-data installs it)")


def make_both(folder, fashion_labels):
    """Save the MNIST study of ACCURACIES and a reversed-depth Fashion-MNIST one under `folder`;
    return `folder`."""
    make_study(folder, ACCURACIES)
    for model, model_accuracies in FASHION_ACCURACIES.items():
        for seed, accuracy in enumerate(model_accuracies):
            save_run(make_run(model, seed, accuracy, 0.3 - (accuracy - 0.9), fashion_labels,
                              dataset="fashion-mnist"), folder)
    return folder


def made_up_claims():
    """Return two undecided claims, one that seeds would decide and one they would not, and a
    supported one."""
    return [Claim("a", "A is so.", "table", "undecided", "e", "within seed noise", 400),
            Claim("b", "B is so.", "table", "undecided", "e", "within seed noise", None,
                  unresolvable=True),
            Claim("c", "C is so.", "table", "supported", "e", "clear")]
