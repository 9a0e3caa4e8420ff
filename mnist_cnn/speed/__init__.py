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
