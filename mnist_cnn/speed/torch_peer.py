"""A plain PyTorch version of each architecture, timed by `mnist-cnn bench` as a peer.

Same layers, shapes, batch, loss and Adam settings as the Keras models; written the way a
PyTorch user would (NCHW tensors, `nn.Sequential`, a hand-written step). It exists to time a
training step, not to reproduce the study: initialisers are PyTorch's own. It never imports
TensorFlow or Keras: the benchmark runs it in `torch_worker`'s process, apart from TensorFlow.
"""

import os

from ..models import ARCHITECTURES, INPUT_SHAPE, check_model_name
from ..runs import LEARNING_RATE

ADAM_EPSILON = 1e-7  # Keras' default (PyTorch's is 1e-8)
BATCHNORM_EPSILON = 1e-3  # Keras' default (PyTorch's is 1e-5)
BATCHNORM_MOMENTUM = 0.01  # PyTorch counts momentum the other way round: 1 - Keras' 0.99


def torch_available():
    """Return whether PyTorch can be imported, without importing it."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def build_torch_model(name):
    """Return model `name` as a `torch.nn.Sequential` that outputs logits (softmax in the loss)."""
    import torch
    from torch import nn

    check_model_name(name)
    layers = []
    for kind, kwargs in ARCHITECTURES[name]:
        if kind == "Conv2D":
            layers += [nn.LazyConv2d(kwargs["filters"], kwargs["kernel_size"],
                                     padding=kwargs["padding"]), nn.ReLU()]
        elif kind == "Dense":
            layers.append(nn.LazyLinear(kwargs["units"]))
            if kwargs["activation"] == "relu":
                layers.append(nn.ReLU())
        elif kind == "BatchNormalization":
            flat = any(isinstance(layer, nn.Flatten) for layer in layers)
            norm = nn.LazyBatchNorm1d if flat else nn.LazyBatchNorm2d
            layers.append(norm(eps=BATCHNORM_EPSILON, momentum=BATCHNORM_MOMENTUM))
        elif kind == "MaxPooling2D":
            layers.append(nn.MaxPool2d(2))
        elif kind == "Dropout":
            layers.append(nn.Dropout(kwargs["rate"]))
        elif kind == "Flatten":
            layers.append(nn.Flatten())
        else:
            raise ValueError(f"no PyTorch equivalent for layer type {kind}")
    model = nn.Sequential(*layers)
    height, width, channels = INPUT_SHAPE
    with torch.no_grad():
        model.eval()(torch.zeros(2, channels, height, width))  # materialise the lazy layers
    return model.train()


def torch_trainer(name, x, y, batch_size, precision="fp32", seed=0):
    """Return a function that trains one epoch over (x, y) (NHWC numpy, one-hot) per call."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(seed)
    model = build_torch_model(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=ADAM_EPSILON)
    images = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    labels = torch.from_numpy(y.argmax(axis=1))
    bf16 = precision == "bf16"

    def epoch():
        order = torch.randperm(len(images))
        for start in range(0, len(images), batch_size):
            index = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(images[index])
            loss = F.cross_entropy(logits.float(), labels[index])
            loss.backward()
            optimizer.step()
        return float(loss.detach())

    return epoch
