"""The PyTorch peer's own process: `python -m mnist_cnn.speed.torch_worker IMAGES.npz`.

PyTorch and TensorFlow do not share a process safely: the peer's Adam imports torch._dynamo,
which loads triton's native library, and with PyTorch's default (CUDA) build the process that
already holds TensorFlow crashes. So `mnist-cnn bench` keeps TensorFlow's candidates at home and
asks this worker to time the peer's blocks, taking turns with them block by block.

Protocol, one JSON object per line; IMAGES.npz holds `x` (NHWC float32) and `y` (one-hot):
    {"op": "build", "key": K, "model": M, "precision": P, "batch_size": B}  ->  {"torch": VERSION}
    {"op": "run", "key": K}  (one epoch over the images)  ->  {"seconds": S, "loss": L}
A request that fails is answered {"error": MESSAGE}; the worker ends when its stdin closes.
"""

import json
import os
import sys
import time

import numpy as np

from .torch_peer import torch_trainer


def _build(trainers, x, y, key, model, precision, batch_size):
    import torch

    trainers.pop(key, None)  # free the previous model's peer before building the next
    trainers[key] = torch_trainer(model, x, y, batch_size, precision)
    return {"torch": torch.__version__}


def _run(trainers, key):
    epoch = trainers[key]
    start = time.perf_counter()
    loss = epoch()
    return {"seconds": time.perf_counter() - start, "loss": loss}


def serve(requests, replies, x, y):
    """Answer each request line from `requests` with one reply line on `replies`."""
    trainers = {}
    for line in requests:
        request = json.loads(line)
        op = request.pop("op")
        try:
            if op == "build":
                reply = _build(trainers, x, y, **request)
            elif op == "run":
                reply = _run(trainers, **request)
            else:
                reply = {"error": f"unknown request {op!r}"}
        except Exception as e:  # the parent turns it into a one-line BenchError
            reply = {"error": f"{type(e).__name__}: {e}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main(argv=None):
    """Load the images named on the command line and serve the parent's requests."""
    (images,) = sys.argv[1:] if argv is None else argv
    # Replies get a private copy of stdout and file descriptor 1 now points at stderr, so
    # whatever PyTorch or its native libraries print cannot break a reply line.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with np.load(images) as arrays:
        x, y = arrays["x"], arrays["y"]
    serve(sys.stdin, replies, x, y)


if __name__ == "__main__":
    main()
