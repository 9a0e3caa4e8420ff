"""The original protocol, run configurations, and the recorded-run format under results/.

This module is the one home of the protocol: its values below are `RunConfig`'s defaults, and
training, the CLI, the notebooks, the reference parser and the tests read them from here.

A run is a folder of three files, written together (temporary folder, then rename):
    history.json    per-epoch loss, accuracy, val_loss, val_accuracy, epoch_seconds
    metrics.json    test_loss, test_accuracy, config, params, backend, device, versions, date, ...
    test_probs.npz  `probs`: softmax outputs on the 10,000 test images, float16 (10000, 10)

Protocol runs on MNIST live in `results/<model>/seed_<k>/`, those on another data set in a
folder of its own (`results/fashion-mnist/<model>/seed_<k>/`); any other configuration gets a
variant folder in between (`results/model_1/epochs1_subset2000/seed_0/`), so a quick run can
never overwrite or pass for a full one. A model of the user's own (custom.py) lives in its data
set's folder on MNIST too (`results/mnist/<NAME>/seed_<k>/`), beside `architecture.json`, the
architecture that its name means.
"""

import dataclasses
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import MnistCnnError
from .data import DATASET_NAMES, DEFAULT_DATASET
from .custom import OWN_MODEL_HINT, check_name, split_spec
from .files import write_json
from .models import MODEL_NAMES, check_model_name

# The original protocol, shared by all seven models.
EPOCHS = 30            # the original's code, logs and conclusion (its intro's "85" is a slip)
BATCH_SIZE = 128       # the Keras mnist_cnn example's batch size
OPTIMIZER = "adam"     # Keras' Adam; every setting but the learning rate at Keras defaults
LEARNING_RATE = 1e-3   # Adam's default, as the original passes it
LOSS = "categorical_crossentropy"  # on one-hot labels, with accuracy as the metric
VALIDATION = "test"    # the original validates each epoch on the test set ("none" skips it)
TRAIN_SIZE = 60_000    # MNIST training images
TEST_SIZE = 10_000     # MNIST test images
RESULTS_DIR = Path("results")  # relative to the working folder, like every path the CLI takes
CHECKPOINTS = ".checkpoints"  # unfinished runs' checkpoints, under the results folder (git-ignored)
HEADLINE_SEED = 0      # each model's run that single-run comparisons use (paired tests, README)
STUDY_SEEDS = (0, 1, 2, 3, 4)  # five seeds per model: the least that judges architectures

# Practical equivalence: two models whose difference lies within ±margin are practically equal.
# The margins are computed from these typical test scores (analysis.margins), per data set.
TYPICAL_ERROR = {"mnist": 0.005,          # the original's table: about 0.5% of images wrong
                 "fashion-mnist": 0.08}   # a typical published CNN's error on Fashion-MNIST
# Accuracy margin: the standard error of a difference between two accuracies measured on two
# independent test sets of TEST_SIZE images at that error, √(2p(1−p)/TEST_SIZE), rounded to one
# significant digit (MNIST 0.1 pp = 10 test images; Fashion-MNIST 0.4 pp).
TYPICAL_LOG_LOSS = {"mnist": 0.025,       # the original's table
                    "fashion-mnist": 0.25}  # a typical CNN's test log loss on Fashion-MNIST
LOG_LOSS_MARGIN = 0.1  # log-loss margin: a tenth of the data set's typical test log loss
OVERFIT_MARGIN = 0.5   # a rise of validation loss by 0.5% per epoch (about 7% over epochs
                       # 16–30, what a reader sees on the curve): the same on every data set

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds")
METRICS_KEYS = ("test_loss", "test_accuracy", "config", "params", "backend", "device",
                "versions", "date", "total_seconds")
ARCHITECTURE_FILE = "architecture.json"  # beside a user's model's runs: what its name means


class ConfigError(MnistCnnError, ValueError):
    """A run configuration that cannot be trained."""


class RunError(MnistCnnError):
    """A recorded run that is missing or unreadable."""


class ArchitectureError(ConfigError):
    """A user's model name recorded with another architecture than its function builds now."""


def _positive_int(name, value, upper=None):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if upper is not None and value > upper:
        raise ConfigError(f"{name} must be at most {upper:,}, got {value:,}")


@dataclass(frozen=True)
class RunConfig:
    """Hold every setting of a training run, the protocol by default; `builder` is not compared."""

    model: str
    epochs: int = dataclasses.field(default=EPOCHS, metadata={
        "flag": "--epochs", "type": int, "help": "training epochs"})
    batch_size: int = dataclasses.field(default=BATCH_SIZE, metadata={
        "flag": "--batch-size", "type": int, "help": "images per training step"})
    lr: float = dataclasses.field(default=LEARNING_RATE, metadata={
        "flag": "--lr", "type": float, "help": "Adam's learning rate"})
    seed: int = dataclasses.field(default=0, metadata={
        "flag": "--seed", "type": int, "help": "random seed (weights, data order, dropout)"})
    subset: int | None = dataclasses.field(default=None, metadata={
        "flag": "--subset", "type": int,
        "help": "train on the first N training images (default: all)"})
    validation: str = dataclasses.field(default=VALIDATION, metadata={
        "flag": "--validation", "choices": ("test", "none"),
        "help": "validate after every epoch on the test set, as the original does, or not"})
    dataset: str = dataclasses.field(default=DEFAULT_DATASET, metadata={
        "flag": "--dataset", "choices": DATASET_NAMES,
        "help": "the data set to train and test on"})
    builder: str | None = dataclasses.field(default=None, compare=False, metadata={
        "flag": "--model", "metavar": "PATH:FUNCTION",
        "help": "train a model of yours instead: the function that returns it, uncompiled "
                "(PATH.py:FUNCTION or package.module:FUNCTION); needs --name"})

    def __post_init__(self):
        if self.builder is None:
            check_model_name(self.model, hint=OWN_MODEL_HINT)
        else:
            check_name(self.model)
            split_spec(self.builder)
        _positive_int("epochs", self.epochs)
        _positive_int("batch size", self.batch_size)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ConfigError(f"learning rate must be a positive number, got {self.lr!r}")
        if self.subset is not None:
            _positive_int("subset", self.subset, upper=TRAIN_SIZE)
        if self.validation not in ("test", "none"):
            raise ConfigError(f"validation must be 'test' or 'none', got {self.validation!r}")
        if self.dataset not in DATASET_NAMES:
            raise ConfigError(f"unknown data set {self.dataset!r}: choose one of "
                              f"{', '.join(DATASET_NAMES)}")
        object.__setattr__(self, "lr", float(self.lr))

    @classmethod
    def options(cls):
        """Return the fields that a command-line option sets, with the option's metadata."""
        return [field for field in dataclasses.fields(cls) if "flag" in field.metadata]

    @property
    def on_dataset(self):
        """Return ' on fashion-mnist' where a label names the data set, '' for the default."""
        return "" if self.dataset == DEFAULT_DATASET else f" on {self.dataset}"

    @property
    def is_protocol(self):
        """Whether this is the original protocol (any seed, any data set)."""
        return self.variant == ""

    @property
    def variant(self):
        """Name the settings that differ from the protocol, e.g. 'epochs1_subset2000'."""
        defaults = RunConfig(self.model, seed=self.seed, dataset=self.dataset,
                             builder=self.builder)
        return "_".join(f"{field.name.replace('_', '')}{getattr(self, field.name)}"
                        for field in dataclasses.fields(self)
                        if getattr(self, field.name) != getattr(defaults, field.name))

    def to_dict(self):
        """Return the fields as a dict, `builder` only for a user's model."""
        values = dataclasses.asdict(self)
        # the seven's records stay as they were before `builder` existed
        if values["builder"] is None:
            del values["builder"]
        return values

    @classmethod
    def from_dict(cls, values):
        """Build a config from a dict; raise ConfigError unless it has RunConfig's keys."""
        names = {field.name for field in dataclasses.fields(cls)}
        if isinstance(values, dict):
            # a run recorded before these settings existed is MNIST's, without a builder
            values = {"dataset": DEFAULT_DATASET, "builder": None, **values}
        if not isinstance(values, dict) or set(values) != names:
            raise ConfigError(f"a run config needs exactly the keys {sorted(names)}")
        return cls(**values)


def dataset_dir(results_dir=RESULTS_DIR, dataset=DEFAULT_DATASET):
    """Return the folder of `dataset`'s runs (or figures): `results_dir` itself for MNIST."""
    return Path(results_dir) if dataset == DEFAULT_DATASET else Path(results_dir) / dataset


def model_dir(model, results_dir=RESULTS_DIR, dataset=DEFAULT_DATASET):
    """Return the folder of `model`'s runs on `dataset` (a user's model's: results/DATASET/NAME)."""
    if model in MODEL_NAMES:
        return dataset_dir(results_dir, dataset) / model
    return Path(results_dir) / dataset / model


def run_dir(config, results_dir=RESULTS_DIR):
    """Return the folder that holds the run of `config`."""
    parts = ([config.variant] if config.variant else []) + [f"seed_{config.seed}"]
    return model_dir(config.model, results_dir, config.dataset).joinpath(*parts)


def train_arguments(config):
    """Return the `mnist-cnn` arguments that train `config` (settings at defaults left out)."""
    arguments = ["train", config.model, "--seed", str(config.seed)]
    if config.builder is not None:
        arguments[1:2] = ["--model", config.builder, "--name", config.model]
    defaults = RunConfig(config.model, builder=config.builder)
    for field in RunConfig.options():
        value = getattr(config, field.name)
        if field.name not in ("seed", "builder") and value != getattr(defaults, field.name):
            arguments += [field.metadata["flag"], str(value)]
    return arguments


def checkpoints_folder(results_dir=RESULTS_DIR, checkpoints=None):
    """Return the checkpoints' folder: `checkpoints`, else <results_dir>/.checkpoints."""
    return Path(checkpoints) if checkpoints is not None else Path(results_dir) / CHECKPOINTS


def checkpoint_dir(config, results_dir=RESULTS_DIR, checkpoints=None):
    """Return the folder of `config`'s unfinished-run checkpoint, laid out like the runs."""
    return checkpoints_folder(results_dir, checkpoints) / run_dir(config, ".")


def read_checkpoint(config, results_dir=RESULTS_DIR, checkpoints=None):
    """Return `config`'s checkpoint state, or None; raise ValueError where it is unusable."""
    folder = checkpoint_dir(config, results_dir, checkpoints)
    if not (folder / "state.json").exists():
        return None
    try:
        state = json.loads((folder / "state.json").read_text())
        if RunConfig.from_dict(state["config"]) != config:
            raise ValueError("it belongs to another configuration")
        done = state["epochs_done"]
        if not (isinstance(done, int) and 0 < done <= config.epochs):
            raise ValueError(f"epochs_done {done!r} does not fit {config.epochs} epochs")
        if not (folder / state["model_file"]).is_file():
            raise ValueError(f"its model file {state['model_file']} is missing")
    except (OSError, KeyError, TypeError, ValueError, MnistCnnError) as e:
        raise ValueError(str(e) or type(e).__name__) from None
    return state


def remove_checkpoint(config, results_dir=RESULTS_DIR, checkpoints=None):
    """Delete `config`'s checkpoint and the emptied folders below `checkpoints` or `results_dir`."""
    folder = checkpoint_dir(config, results_dir, checkpoints)
    shutil.rmtree(folder, ignore_errors=True)
    top = Path(results_dir if checkpoints is None else checkpoints).resolve()
    for parent in folder.resolve().parents:
        if parent == top:
            break
        try:
            parent.rmdir()
        except OSError:  # not empty: another run's checkpoint lives there
            break


def retrain_hint(config):
    """Return the command that recreates the run of `config`."""
    return "mnist-cnn " + " ".join(train_arguments(config))


@dataclass
class Run:
    """A recorded training run: its config, per-epoch history, test metrics and test outputs."""

    path: Path
    config: RunConfig
    history: dict
    metrics: dict
    probs: np.ndarray

    @property
    def test_loss(self):
        return self.metrics["test_loss"]

    @property
    def test_accuracy(self):
        return self.metrics["test_accuracy"]

    @property
    def seconds_per_epoch(self):
        """Median wall seconds per epoch (validation included); None where no epoch was timed."""
        seconds = [s for s in self.history["epoch_seconds"] if s is not None]
        return float(np.median(seconds)) if seconds else None

    @property
    def label(self):
        extra = "" if self.config.is_protocol else f", {self.config.variant}"
        return f"{self.config.model} seed {self.config.seed}{self.config.on_dataset}{extra}"


def architecture_file(model, results_dir=RESULTS_DIR, dataset=DEFAULT_DATASET):
    """Return the file that records the architecture of a user's model `model` on `dataset`."""
    return model_dir(model, results_dir, dataset) / ARCHITECTURE_FILE


def check_architecture(model, record, results_dir=RESULTS_DIR, dataset=DEFAULT_DATASET):
    """Return whether `model`'s architecture is recorded; ArchitectureError if not `record`."""
    path = architecture_file(model, results_dir, dataset)
    if not path.exists():
        return False
    try:
        recorded = json.loads(path.read_text())["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RunError(f"{path} is unreadable ({type(e).__name__}): restore it, or use a new "
                       "--name") from None
    if recorded != record["fingerprint"]:
        raise ArchitectureError(f"{model} names another architecture (recorded in {path}): use a "
                                "new --name")
    return True


def save_run(run, results_dir=RESULTS_DIR):
    """Write `run` atomically and return its folder; raise ArchitectureError on a name clash."""
    final = run_dir(run.config, results_dir)
    architecture = run.metrics.get("architecture")
    if architecture is not None and not check_architecture(run.config.model, architecture,
                                                           results_dir, run.config.dataset):
        write_json(architecture_file(run.config.model, results_dir, run.config.dataset),
                   architecture)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    try:
        write_json(staging / "history.json", run.history)
        write_json(staging / "metrics.json", {**run.metrics, "config": run.config.to_dict()})
        with open(staging / "test_probs.npz", "wb") as f:
            np.savez_compressed(f, probs=run.probs.astype(np.float16))
        os.chmod(staging, 0o755)
        if final.exists():
            # rename(2) cannot replace a non-empty folder: move the old run aside first.
            old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old-"))
            os.replace(final, old / "run")
            os.replace(staging, final)
            shutil.rmtree(old)
        else:
            os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    run.path = final
    return final


def recorded_every_epoch(values):
    """Whether a history list has a number for every epoch (None: not recorded that epoch)."""
    return all(value is not None for value in values)


def _check_history(history, epochs, where):
    if not isinstance(history, dict) or any(key not in history for key in HISTORY_KEYS):
        raise ValueError(f"{where} needs the keys {', '.join(HISTORY_KEYS)}")
    for key in HISTORY_KEYS:
        values = history[key]
        if not isinstance(values, list) or len(values) != epochs:
            raise ValueError(f"{where}: {key} must list {epochs} epochs")
        if not all(v is None or (isinstance(v, (int, float)) and math.isfinite(v))
                   for v in values):
            raise ValueError(f"{where}: {key} holds a value that is not a finite number")


def load_run(path):
    """Read and check the run in folder `path`; raise RunError saying how to fix a bad one."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"no run at {path}: train it first (mnist-cnn train ...)")
    config = None
    try:
        metrics = json.loads((path / "metrics.json").read_text())
        if not isinstance(metrics, dict) or any(key not in metrics for key in METRICS_KEYS):
            raise ValueError(f"metrics.json needs the keys {', '.join(METRICS_KEYS)}")
        config = RunConfig.from_dict(metrics["config"])
        history = json.loads((path / "history.json").read_text())
        _check_history(history, config.epochs, "history.json")
        with np.load(path / "test_probs.npz", allow_pickle=False) as npz:
            probs = npz["probs"]
        if probs.shape != (TEST_SIZE, 10) or probs.dtype != np.float16:
            raise ValueError(f"test_probs.npz holds {probs.dtype}{list(probs.shape)}, "
                             f"expected float16[{TEST_SIZE}, 10]")
    except Exception as e:
        fix = retrain_hint(config) if config else "mnist-cnn train MODEL --seed K"
        reason = str(e) if isinstance(e, (ValueError, MnistCnnError)) else f"{type(e).__name__}: {e}"
        raise RunError(f"run {path} is unreadable ({reason}); delete the folder and retrain: "
                       f"{fix}") from None
    return Run(path, config, history, metrics, probs)


def recorded_run(config, results_dir=RESULTS_DIR):
    """Return `config`'s recorded run, or None; raise RunError where it is unreadable."""
    folder = run_dir(config, results_dir)
    if not folder.exists():
        return None
    run = load_run(folder)
    return run if run.config == config else None


def _model_folders(results_dir, dataset, model=None):
    """Return [(model, its folder)] of `dataset`: `model`'s, else the seven's and users'."""
    if model is not None:
        return [(model, model_dir(model, results_dir, dataset))]
    found = dict.fromkeys([*dataset_dir(results_dir, dataset).glob("model_*"),
                           *(path for path in (Path(results_dir) / dataset).glob("*")
                             if path.name not in MODEL_NAMES)])
    return [(path.name, path) for path in sorted(found)
            if path.is_dir() and not path.name.startswith(".")]


def _seed_folders(results_dir, dataset, model=None):
    """Return [(model, parts below its folder, run folder)] of `dataset`'s recorded runs."""
    return [(name, folder.relative_to(top).parts, folder)
            for name, top in _model_folders(results_dir, dataset, model)
            for folder in sorted(top.glob("**/seed_*")) if folder.is_dir()
            and not any(part.startswith(".") for part in folder.relative_to(top).parts)]


def run_folders(results_dir=RESULTS_DIR, dataset=DEFAULT_DATASET, model=None):
    """Return the folders of `dataset`'s recorded runs: `model`'s, else every model's."""
    return [folder for _, _, folder in _seed_folders(results_dir, dataset, model)]


def find_runs(results_dir=RESULTS_DIR, model=None, protocol=True, dataset=DEFAULT_DATASET):
    """Return `dataset`'s protocol runs (all with `protocol=False`) of `model`, else the seven's."""
    runs = []
    for name, parts, folder in _seed_folders(results_dir, dataset, model):
        # parts: (seed_k,) or (variant, seed_k)
        if (model is None and name not in MODEL_NAMES) or (protocol and len(parts) != 1):
            continue
        run = load_run(folder)
        if run.config.dataset != dataset:
            continue
        if (model is None or run.config.model == model) and (run.config.is_protocol or not protocol):
            runs.append(run)
    return sorted(runs, key=lambda r: (r.config.model, r.config.variant, r.config.seed))


def _longest_recorded(model, results_dir, dataset=DEFAULT_DATASET):
    """Return the runs of `model`'s most complete non-protocol configuration, or []."""
    by_variant = {}
    for run in find_runs(results_dir, model=model, protocol=False, dataset=dataset):
        if not run.config.is_protocol:
            by_variant.setdefault(run.config.variant, []).append(run)

    def size(variant):
        config = by_variant[variant][0].config
        return config.epochs, config.subset or TRAIN_SIZE, variant

    return by_variant[max(by_variant, key=size)] if by_variant else []


def representative_runs(model, results_dir=RESULTS_DIR, protocol_only=False,
                        dataset=DEFAULT_DATASET):
    """Return `model`'s protocol runs, else (not `protocol_only`) its most complete others."""
    runs = find_runs(results_dir, model=model, dataset=dataset)
    if runs or protocol_only:
        return runs
    return _longest_recorded(model, results_dir, dataset)


def representatives(results_dir=RESULTS_DIR, protocol_only=False, dataset=DEFAULT_DATASET):
    """Return {model: representative_runs(model)} for the seven models of `dataset`, in order."""
    return {name: representative_runs(name, results_dir, protocol_only, dataset)
            for name in MODEL_NAMES}
