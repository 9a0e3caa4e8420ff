"""The speed study beside the package: `mnist-cnn bench` and its PyTorch peer.

It times the original-style baseline against `mnist_cnn.training`'s path in this process and a plain
PyTorch peer in a worker process of its own (`bench`, `torch_peer`, `torch_worker`). The study
never imports it; this module holds only what the command's parser needs, so that building the
parser imports neither TensorFlow nor PyTorch.
"""

DEFAULT_STEPS = 20       # timed training steps per block
DEFAULT_REPEATS = 5      # timed blocks per candidate; the median is reported
ACCURACY_IMAGES = 10_000  # training images of the one-epoch accuracy check (0: skip it)
PRECISION_NAMES = ("fp32", "bf16")


def check_bench_settings(models, steps, repeats, accuracy_images, precisions, train_images=None):
    """Raise ConfigError for a setting `run_bench` cannot time, before Keras is imported.

    `train_images` is the size of the training set the steps come from (default: MNIST's).
    """
    from ..models import check_model_name
    from ..runs import BATCH_SIZE, TRAIN_SIZE, ConfigError

    for name in models:
        check_model_name(name)
    for number, what in ((steps, "--steps"), (repeats, "--repeats")):
        if number < 1:
            raise ConfigError(f"{what} must be a positive integer, got {number}")
    if accuracy_images < 0:
        raise ConfigError(f"--accuracy-images must be 0 or more, got {accuracy_images}")
    unknown = [p for p in precisions if p not in PRECISION_NAMES]
    if unknown:
        raise ConfigError(f"unknown precision {unknown[0]!r}: choose from "
                          f"{', '.join(PRECISION_NAMES)}")
    available = TRAIN_SIZE if train_images is None else train_images
    if steps * BATCH_SIZE > available:
        raise ConfigError(f"--steps {steps} needs {steps * BATCH_SIZE:,} training images; MNIST "
                          f"has {available:,} (use --steps {available // BATCH_SIZE} or fewer)")
