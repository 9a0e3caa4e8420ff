"""The seven CNN architectures of the seed study, layer for layer.

Every layer, padding, initializer and dropout rate follows the spec; `build_model` returns an
uncompiled `keras.Sequential`. Layer names are fixed per model (`conv2d_1`, `dense_2`, ...) so
that summaries print the same text in every session.
"""

import math
from collections import Counter

from . import MnistCnnError, import_keras

MODEL_NAMES = tuple(f"model_{i}" for i in range(1, 8))

# Conv depth -> models, one notebook section each (as in the seed).
SECTIONS = {
    2: ("model_1",),
    3: ("model_2", "model_3"),
    5: ("model_4", "model_5"),
    7: ("model_6", "model_7"),
}
CONV_LAYERS = {name: depth for depth, names in SECTIONS.items() for name in names}

INPUT_SHAPE = (28, 28, 1)  # channels-last grey images
NUM_CLASSES = 10


class UnknownModelError(MnistCnnError, ValueError):
    """A model name that is not one of MODEL_NAMES."""


def check_model_name(name):
    """Return `name` if it is a known model, else raise UnknownModelError listing the valid names."""
    if name not in MODEL_NAMES:
        raise UnknownModelError(
            f"unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}")
    return name


def _conv(filters, kernel=3, padding="same", init="he_uniform"):
    return ("Conv2D", dict(filters=filters, kernel_size=kernel, padding=padding,
                           activation="relu", kernel_initializer=init))


def _dense(units, init="he_uniform", activation="relu"):
    return ("Dense", dict(units=units, activation=activation, kernel_initializer=init))


def _bn():
    return ("BatchNormalization", {})


def _pool():
    return ("MaxPooling2D", dict(pool_size=(2, 2)))


def _dropout(rate):
    return ("Dropout", dict(rate=rate))


def _conv_block(filters, convs, kernel=3, dropout=0.5):
    """Return `convs` same-padded convs, then BN, 2x2 max-pool and dropout (VGG-style block)."""
    return [_conv(filters, kernel) for _ in range(convs)] + [_bn(), _pool(), _dropout(dropout)]


def _dense_head(units=(512, 256, 128, 64), dropout=0.5):
    """Return Flatten, then Dense+BN+Dropout per width, then the He-initialised softmax output."""
    layers = [("Flatten", {})]
    for width in units:
        layers += [_dense(width), _bn(), _dropout(dropout)]
    return layers + [_dense(NUM_CLASSES, activation="softmax")]


# Each architecture as a list of (Keras layer class, keyword arguments).
ARCHITECTURES = {
    # The Keras mnist_cnn example: all Keras default (Glorot uniform) initializers.
    "model_1": [
        _conv(32, padding="valid", init="glorot_uniform"),
        _conv(64, padding="valid", init="glorot_uniform"),
        _pool(), _dropout(0.25),
        ("Flatten", {}),
        _dense(128, init="glorot_uniform"), _dropout(0.5),
        _dense(NUM_CLASSES, init="glorot_uniform", activation="softmax"),
    ],
    # Glorot convs and output, He hidden Dense layers; no dropout after the second pool.
    "model_2": [
        _conv(64, padding="same", init="glorot_uniform"),
        _conv(128, padding="valid", init="glorot_uniform"), _bn(), _pool(), _dropout(0.3),
        _conv(256, padding="valid", init="glorot_uniform"), _bn(), _pool(),
        ("Flatten", {}),
        _dense(512), _bn(), _dropout(0.4),
        _dense(128), _bn(), _dropout(0.4),
        _dense(NUM_CLASSES, init="glorot_uniform", activation="softmax"),
    ],
    "model_3": _conv_block(64, 2, dropout=0.4) + _conv_block(64, 1, dropout=0.4) + _dense_head(),
    "model_4": _conv_block(64, 3) + _conv_block(128, 2) + _dense_head(),
    "model_5": _conv_block(64, 3) + _conv_block(128, 2, kernel=5) + _dense_head(),
    "model_6": _conv_block(64, 2) + _conv_block(128, 2) + _conv_block(256, 3) + _dense_head(),
    "model_7": _conv_block(64, 3) + _conv_block(128, 2) + _conv_block(256, 2) + _dense_head(),
}

_LAYER_NAMES = {"Conv2D": "conv2d", "Dense": "dense", "BatchNormalization": "batch_normalization",
                "MaxPooling2D": "max_pooling2d", "Dropout": "dropout", "Flatten": "flatten"}


def build_model(name):
    """Build the uncompiled Keras model `name` (one of MODEL_NAMES)."""
    check_model_name(name)
    keras = import_keras()

    counts = Counter()
    layers = [keras.Input(shape=INPUT_SHAPE)]
    for kind, kwargs in ARCHITECTURES[name]:
        counts[kind] += 1
        layers.append(getattr(keras.layers, kind)(name=f"{_LAYER_NAMES[kind]}_{counts[kind]}",
                                                  **kwargs))
    return keras.Sequential(layers, name=name)


def parameter_counts(model):
    """Return (total, trainable) parameter counts of a built model."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return int(model.count_params()), trainable


def layer_table(model):
    """Return one (index, layer type, output shape, params) tuple per layer, batch dim omitted."""
    return [(i, layer.__class__.__name__, tuple(layer.output.shape[1:]), layer.count_params())
            for i, layer in enumerate(model.layers, start=1)]


def summary_text(model):
    """Return a plain-text architecture table with total and trainable parameter counts."""
    from prettytable import PrettyTable

    table = PrettyTable(["#", "Layer", "Type", "Output shape", "Params"])
    table.align = "r"
    table.align["Layer"] = table.align["Type"] = "l"
    for (index, kind, shape, params), layer in zip(layer_table(model), model.layers):
        table.add_row([index, layer.name, kind, str(shape), f"{params:,}"])
    total, trainable = parameter_counts(model)
    return (f'Model "{model.name}" ({CONV_LAYERS[model.name]} conv layers)\n{table}\n'
            f"Total params: {total:,}\nTrainable params: {trainable:,}\n"
            f"Non-trainable params: {total - trainable:,}")
