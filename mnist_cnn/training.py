"""Train one model under the original protocol and record the run; resume interrupted runs.

The protocol's values live in runs.py (`RunConfig`'s defaults): the loss, Adam and its learning
rate, the batch size, the epochs, and validation on the test set after every epoch; then
`evaluate` on the test set after the last epoch (no early stopping, no best-epoch restore).

While a run trains, a checkpoint is written after every finished epoch under
`<results_dir>/.checkpoints/` (git-ignored), or a checkpoints folder of the caller's; `train`
picks it up and carries on from there, and deletes it once the run is saved.

A model of the user's own (a config with a `builder`, custom.py) is built by its function,
checked against the architecture recorded under its name, and then trained and recorded as the
seven are, its architecture in metrics.json.
"""

import importlib
import platform
import shutil
import time
from datetime import datetime, timezone

import numpy as np

from . import __version__, import_keras
from .custom import architecture_record, build_custom
from .data import load_dataset, prepare
from .files import write_json
from .machine import cpu_device, tensorflow_cpu_kernels
from .models import build_model, fused_batchnorm_class, parameter_counts
from .runs import (BATCH_SIZE, HISTORY_KEYS, LEARNING_RATE, LOSS, OPTIMIZER, RESULTS_DIR, Run,
                   RunConfig, check_architecture, checkpoint_dir, read_checkpoint, recorded_run,
                   remove_checkpoint, run_dir, save_run)

keras = import_keras()
fused_batchnorm_class()  # registered before any checkpoint that uses it is loaded

# Training steps per compiled call on an accelerator: the device runs many batches without
# returning to Python. On the CPU a step is long enough that one per call costs little.
ACCELERATOR_STEPS_PER_EXECUTION = 32

# bf16 is a separately reported speed variant (mnist-cnn bench); protocol runs are fp32.
PRECISIONS = {"fp32": None, "bf16": "mixed_bfloat16"}

__all__ = ["compile_model", "epoch_order", "make_dataset", "own_model", "train", "train_or_load",
           "training_model", "use_full_float32"]


def training_model(name, precision="fp32"):
    """Build model `name` for training: the exact architecture, the fastest layers."""
    return build_model(name, fused_batchnorm=keras.backend.backend() == "tensorflow",
                       dtype=PRECISIONS[precision])


def own_model(config, results_dir=RESULTS_DIR, check=True):
    """Return (model, architecture record) of `config`'s user model, checked if `check`."""
    model = build_custom(config.builder)
    record = {**architecture_record(model), "builder": config.builder}
    if check:
        check_architecture(config.model, record, results_dir, config.dataset)
    return model, record


def epoch_order(n, seed, epoch):
    """Return the order of n images in epoch `epoch` (0-based) of a run with `seed`."""
    # a function of (seed, epoch) alone: a resumed run sees the uninterrupted run's orders
    return np.random.default_rng([seed, epoch]).permutation(n)


def make_dataset(x, y, batch_size=BATCH_SIZE, *, seed=None, epochs=1, initial_epoch=0):
    """Return `fit`/`evaluate` keywords that read (x, y) in batches, shuffled if `seed`."""
    # steps_per_epoch: Keras reads the one stream on instead of restarting it every epoch
    steps = -(-len(x) // batch_size)
    orders = None
    if seed is not None:
        orders = np.stack([epoch_order(len(x), seed, epoch)
                           for epoch in range(initial_epoch, epochs)])
    if keras.backend.backend() != "tensorflow":
        if orders is None:
            return dict(x=x, y=y, batch_size=batch_size, shuffle=False)

        def batches():
            for order in orders:
                for start in range(0, len(x), batch_size):
                    index = order[start:start + batch_size]
                    yield x[index], y[index]
        return dict(x=batches(), steps_per_epoch=steps, shuffle=False)
    import tensorflow as tf

    x, y = tf.constant(x), tf.constant(y)
    if orders is None:
        indices = tf.data.Dataset.range(len(x)).batch(batch_size)
    else:
        indices = (tf.data.Dataset.from_tensor_slices(orders)
                   .flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order)
                             .batch(batch_size)))
    options = tf.data.Options()
    # on 2 cores the autotuner competes with the compute threads: short fits ran far slower
    options.autotune.enabled = False
    batches = (indices.map(lambda i: (tf.gather(x, i), tf.gather(y, i)))
               .prefetch(1)  # the next batch is gathered while this one trains
               .with_options(options))
    if orders is None:
        return dict(x=batches)
    return dict(x=batches, steps_per_epoch=steps, shuffle=False)


def compile_model(model, lr=LEARNING_RATE, steps_per_execution=1):
    """Compile `model` as the original does: the protocol's loss and optimizer, and accuracy."""
    optimizer = keras.optimizers.get({"class_name": OPTIMIZER, "config": {"learning_rate": lr}})
    # jit_compile="auto" leaves TensorFlow on the CPU uncompiled: XLA is about 2x slower there
    model.compile(loss=LOSS, optimizer=optimizer, metrics=["accuracy"],
                  jit_compile="auto", steps_per_execution=steps_per_execution)
    return model


def steps_per_execution_for(device, steps_per_epoch, requested=None):
    """Return how many training steps one compiled call should run on `device`."""
    if requested is None:
        requested = 1 if device.startswith("CPU") else ACCELERATOR_STEPS_PER_EXECUTION
    # a divisor: Keras reads a call's batches past an epoch's end, shifting them between epochs
    return max(n for n in range(1, min(requested, steps_per_epoch) + 1)
               if steps_per_epoch % n == 0)


class _EpochRecorder(keras.callbacks.Callback):
    """Record each epoch's metrics and wall time, and checkpoint the model after it."""

    def __init__(self, config, folder, history):
        super().__init__()
        self.config, self.folder, self.history = config, folder, history

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.started
        logs = logs or {}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            value = logs.get(key)
            self.history[key].append(None if value is None else float(value))
        self.history["epoch_seconds"].append(round(seconds, 3))
        self._checkpoint(epoch + 1)

    def _checkpoint(self, epochs_done):
        # A new file per epoch, then state.json pointing at it: a crash at any moment leaves a
        # state that names a complete model file.
        self.folder.mkdir(parents=True, exist_ok=True)
        model_file = f"epoch_{epochs_done}.keras"
        self.model.save(self.folder / model_file)
        write_json(self.folder / "state.json", {"config": self.config.to_dict(),
                                                "epochs_done": epochs_done,
                                                "model_file": model_file,
                                                "random_state": random_state(self.model),
                                                "history": self.history})
        for old in self.folder.glob("epoch_*.keras"):
            if old.name != model_file:
                old.unlink()


def _seed_states(model):
    return [v for v in model.variables if v.name == "seed_generator_state"]


def random_state(model):
    """Return the state of `model`'s dropout seed generators, which Keras does not save."""
    return [[int(n) for n in v.numpy()] for v in _seed_states(model)]


def restore_random_state(model, state):
    """Set `model`'s random streams to `state`, as `random_state` returned it."""
    variables = _seed_states(model)
    if len(variables) != len(state):
        raise ValueError(f"it holds {len(state)} random streams, the model has {len(variables)}")
    for variable, value in zip(variables, state):
        variable.assign(np.array(value, dtype=variable.dtype))


def _resume_point(config, results_dir, checkpoints, log, state=None):
    """Return (model, epochs_done, history) from a usable checkpoint, or None."""
    folder = checkpoint_dir(config, results_dir, checkpoints)
    try:
        if state is None:
            state = read_checkpoint(config, results_dir, checkpoints)
        if not state:
            return None
        model = keras.models.load_model(folder / state["model_file"])
        restore_random_state(model, state["random_state"])
        # A copy: the epochs trained now are appended to it, not to the caller's state.
        history = {key: list(values) for key, values in state["history"].items()}
        return model, int(state["epochs_done"]), history
    except Exception as e:
        log(f"ignoring the checkpoint in {folder} ({e}); starting from epoch 1")
        shutil.rmtree(folder, ignore_errors=True)
        return None


def describe_device():
    """Name the device Keras trains on, e.g. 'GPU: NVIDIA H100' or 'CPU: AMD EPYC (2 cores)'."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax
            device = jax.devices()[0]
            if device.platform != "cpu":
                return f"{device.platform.upper()}: {device.device_kind}"
        elif backend == "torch":
            import torch
            if torch.cuda.is_available():
                return f"GPU: {torch.cuda.get_device_name(0)}"
        elif backend == "tensorflow":
            import tensorflow as tf  # already imported by Keras
            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return f"GPU: {details.get('device_name', gpus[0].name)}"
    except Exception:  # a broken accelerator stack still trains on the CPU
        pass
    return cpu_device()


def library_versions():
    """Return the versions that decide a run's numbers."""
    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    versions = {"python": platform.python_version(), "keras": keras.__version__,
                "numpy": np.__version__, "mnist_cnn": __version__}
    if module:
        versions[module] = importlib.import_module(module).__version__  # Keras imported it
    return versions


def use_full_float32():
    """Make float32 matmuls and convolutions full float32, not TF32; return the precision."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        jax.config.update("jax_default_matmul_precision", "highest")
    elif backend == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_tensor_float_32_execution(False)
    elif backend == "torch":
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return "float32"


def train(config, data=None, *, results_dir=RESULTS_DIR, checkpoints=None, save=True, verbose=2,
          callbacks=(), steps_per_execution=None, runs_at_once=1, resume=None, log=print):
    """Train `config`, resuming its checkpoint; return its Run, saved unless `save` is False."""
    if not isinstance(config, RunConfig):
        raise TypeError(f"train takes a RunConfig, got {config!r}: train(RunConfig(name, ...))")
    (x_train, y_train), (x_test, y_test) = (data if data is not None
                                            else load_dataset(config.dataset))
    x_train, y_train = prepare(x_train[:config.subset], y_train[:config.subset])
    x_test, y_test = prepare(x_test, y_test)

    keras.utils.set_random_seed(config.seed)
    own, architecture = None, None
    if config.builder is not None:  # built right after the seed, as the seven are when fresh
        own, architecture = own_model(config, results_dir, check=save)
    matmul_precision = use_full_float32()
    device = describe_device()
    steps_per_execution = steps_per_execution_for(device, -(-len(x_train) // config.batch_size),
                                                  steps_per_execution)
    folder = checkpoint_dir(config, results_dir, checkpoints)
    history = {key: [] for key in HISTORY_KEYS}
    on = "" if config.dataset == "mnist" else f" on {config.dataset}"
    log(f"== training {config.model} seed {config.seed}{on}: {config.epochs} epochs"
        f"{' (' + config.variant + ')' if config.variant else ''}")
    resumed = _resume_point(config, results_dir, checkpoints, log, resume)
    if resumed:
        net, start_epoch, history = resumed
        log(f"resuming {config.model} seed {config.seed} after epoch {start_epoch}/{config.epochs}")
    else:
        net = training_model(config.model) if own is None else own
        net, start_epoch = compile_model(net, config.lr, steps_per_execution), 0

    if start_epoch < config.epochs:
        validation = None
        if config.validation == "test":
            test_set = make_dataset(x_test, y_test, config.batch_size)
            validation = (test_set["x"], test_set.get("y"))
        net.fit(**make_dataset(x_train, y_train, config.batch_size, seed=config.seed,
                               epochs=config.epochs, initial_epoch=start_epoch),
                epochs=config.epochs, initial_epoch=start_epoch, verbose=verbose,
                validation_data=validation,
                callbacks=[_EpochRecorder(config, folder, history), *callbacks])
    test_loss, test_accuracy = net.evaluate(x_test, y_test, batch_size=config.batch_size,
                                            verbose=0)
    probs = net.predict(x_test, batch_size=config.batch_size, verbose=0)

    total, trainable = parameter_counts(net)
    metrics = {
        "model": config.model,
        "test_loss": float(test_loss),
        "test_accuracy": float(test_accuracy),
        "config": config.to_dict(),
        "params": {"total": total, "trainable": trainable},
        "backend": keras.backend.backend(),
        "device": device,
        "matmul_precision": matmul_precision,
        "versions": library_versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "total_seconds": round(sum(history["epoch_seconds"]), 3),
        "resumed_after_epoch": start_epoch or None,
        # A resume restores the data order and dropout state: the run equals an uninterrupted one.
        "resume": "exact",
        # How many runs trained on this device at once, this one included (1: it was alone):
        # a shared device makes epochs slower, never different.
        "runs_sharing_device": runs_at_once,
    }
    if metrics["backend"] == "tensorflow" and device.startswith("CPU"):
        # oneDNN or Eigen: one device name can train at either speed (machine.py)
        metrics["cpu_kernels"] = tensorflow_cpu_kernels()
    if architecture is not None:
        metrics["architecture"] = architecture
    run = Run(None, config, history, metrics, probs.astype(np.float16))
    # with save=False the checkpoint stays until the caller has saved the run: it is never lost
    if save:
        save_run(run, results_dir)
        remove_checkpoint(config, results_dir, checkpoints)
    return run


def train_or_load(model, data=None, *, retrain=False, results_dir=RESULTS_DIR, log=print,
                  **settings):
    """Return the saved run of this configuration if there is one, else train it."""
    how = {k: settings.pop(k) for k in ("verbose", "callbacks", "steps_per_execution",
                                        "runs_at_once")
           if k in settings}
    if isinstance(model, RunConfig) and settings:
        raise TypeError("pass settings in the RunConfig, not beside it")
    config = model if isinstance(model, RunConfig) else RunConfig(model, **settings)
    if config.builder is not None:  # a name recorded with another architecture is no match
        own_model(config, results_dir)
    run = None if retrain else recorded_run(config, results_dir)
    if run is not None:
        log(f"up to date: {run.label} ({run.path})")
        return run
    if not retrain and run_dir(config, results_dir).exists():
        log(f"{run_dir(config, results_dir)} holds another configuration: training it again")
    return train(config, data, results_dir=results_dir, log=log, **how)
