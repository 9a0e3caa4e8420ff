"""The seven CNN architectures of the original study, layer for layer.

Every layer, padding, initializer and dropout rate follows the original's code; `build_model`
returns an uncompiled `keras.Sequential`. Layer names are fixed per model (`conv2d_1`, `dense_2`,
...) so that summaries print the same text in every session.
"""

import math
from collections import Counter

from . import MnistCnnError, import_keras
from .data import NUM_CLASSES

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


class UnknownModelError(MnistCnnError, ValueError):
    """A model name that is not one of MODEL_NAMES."""


def check_model_name(name, hint=""):
    """Return `name` if it is a known model, else raise UnknownModelError."""
    if name not in MODEL_NAMES:
        raise UnknownModelError(
            f"unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}"
            + (f", {hint}" if hint else ""))
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


def build_model(name, *, fused_batchnorm=False, dtype=None):
    """Build the uncompiled Keras model `name` (one of MODEL_NAMES)."""
    check_model_name(name)
    keras = import_keras()

    counts = Counter()
    layers = [keras.Input(shape=INPUT_SHAPE)]
    last = len(ARCHITECTURES[name]) - 1
    for index, (kind, kwargs) in enumerate(ARCHITECTURES[name]):
        counts[kind] += 1
        cls = getattr(keras.layers, kind)
        if kind == "BatchNormalization" and fused_batchnorm:
            cls = fused_batchnorm_class()
        # The softmax stays float32 under a mixed policy: the loss needs its full range.
        layer_dtype = dtype if index != last else None
        layers.append(cls(name=f"{_LAYER_NAMES[kind]}_{counts[kind]}", dtype=layer_dtype,
                          **kwargs))
    return keras.Sequential(layers, name=name)


_FUSED_BATCHNORM = None


def fused_batchnorm_class():
    """Return FusedBatchNormalization, defined on first use (it needs Keras imported)."""
    global _FUSED_BATCHNORM
    if _FUSED_BATCHNORM is None:
        _FUSED_BATCHNORM = _define_fused_batchnorm(import_keras())
    return _FUSED_BATCHNORM


def _define_fused_batchnorm(keras):
    @keras.saving.register_keras_serializable(package="mnist_cnn")
    class FusedBatchNormalization(keras.layers.BatchNormalization):
        """Compute BatchNormalization with TensorFlow's fused kernel, as Keras' layer does."""

        def call(self, inputs, training=None, mask=None):
            if (keras.backend.backend() != "tensorflow" or mask is not None or self.renorm
                    or self.axis not in (-1, len(inputs.shape) - 1)
                    or len(inputs.shape) not in (2, 4)):
                return super().call(inputs, training=training, mask=mask)
            import tensorflow as tf

            x = inputs
            if len(inputs.shape) == 2:  # dense features: a 1x1 "image" per sample
                x = tf.reshape(inputs, [-1, 1, 1, inputs.shape[-1]])
            if x.dtype not in (tf.float32, tf.bfloat16, tf.float16):
                x = tf.cast(x, tf.float32)
            ones = tf.ones([inputs.shape[-1]], tf.float32)
            gamma = tf.cast(self.gamma, tf.float32) if self.scale else ones
            beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros_like(ones)
            common = dict(scale=gamma, offset=beta, epsilon=self.epsilon, data_format="NHWC",
                          exponential_avg_factor=1.0)
            if training and self.trainable:
                empty = tf.zeros([0], tf.float32)
                y, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
                    x=x, mean=empty, variance=empty, is_training=True, **common)
                # The kernel returns the unbiased variance; Keras' moving average uses the
                # biased one (the one it normalises with).
                count = tf.cast(tf.size(x) // x.shape[-1], tf.float32)
                variance = variance * (count - 1) / count
                momentum = self.momentum
                self.moving_mean.assign(self.moving_mean * momentum + mean * (1 - momentum))
                self.moving_variance.assign(
                    self.moving_variance * momentum + variance * (1 - momentum))
            else:
                y, *_ = tf.raw_ops.FusedBatchNormV3(
                    x=x, mean=tf.cast(self.moving_mean, tf.float32),
                    variance=tf.cast(self.moving_variance, tf.float32), is_training=False,
                    **common)
            if len(inputs.shape) == 2:
                y = tf.reshape(y, tf.shape(inputs))
            return tf.cast(y, self.compute_dtype)

    return FusedBatchNormalization


def training_flops_per_image(name):
    """Return the FLOPs one training image costs model `name` (`model_training_flops`)."""
    return model_training_flops(build_model(name))


def flat_layers(model):
    """Return the layers of a built Keras `model`, those of models nested in it in their place."""
    keras, layers = import_keras(), []
    for layer in model.layers:
        layers += flat_layers(layer) if isinstance(layer, keras.Model) else [layer]
    return layers


def model_training_flops(model):
    """Return the FLOPs one training image costs the built Keras `model`: 3x the forward pass."""
    macs = 0
    for layer in flat_layers(model):
        kind = layer.__class__.__name__
        if kind == "Conv2D":
            kernel = layer.kernel.shape  # (kh, kw, in / groups, out)
            _, height, width, _ = layer.output.shape
            macs += height * width * kernel[0] * kernel[1] * kernel[2] * kernel[3]
        elif kind == "Dense":  # once per position where it acts on more than a vector
            positions = math.prod(layer.output.shape[1:-1])
            macs += positions * layer.kernel.shape[0] * layer.kernel.shape[1]
    # 2 FLOPs per multiply-add; the backward pass costs about twice the forward
    return 3 * 2 * macs


def parameter_counts(model):
    """Return (total, trainable) parameter counts of a built model."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return int(model.count_params()), trainable


def layer_table(model):
    """Return one (index, layer type, output shape, params) tuple per layer, batch dim omitted."""
    return [(i, layer.__class__.__name__, tuple(layer.output.shape[1:]), layer.count_params())
            for i, layer in enumerate(model.layers, start=1)]


def layer_settings(layer):
    """Return a layer's kernel, activation, padding, initializer and dropout rate as text."""
    keras = import_keras()
    size = getattr(layer, "kernel_size", None)
    activation = getattr(layer, "activation", None)
    padding = getattr(layer, "padding", None)
    init = getattr(layer, "kernel_initializer", None)
    rate = layer.rate if isinstance(layer, keras.layers.Dropout) else None
    return ("x".join(map(str, size)) if size else "",
            activation.__name__ if init is not None and activation is not None else "",
            padding if isinstance(padding, str) else "",
            init.__class__.__name__ if init is not None else "",
            str(rate) if rate is not None else "")


def architecture_table(model):
    """Return a table of `model`'s layers and their settings (a notebook renders it as HTML)."""
    from .tables import HtmlTable

    table = HtmlTable(["#", "Type", "Output shape", "Params", "Kernel", "Activation", "Padding",
                       "Init", "Dropout"])
    table.align = "l"
    for number in ("#", "Output shape", "Params", "Dropout"):
        table.align[number] = "r"
    for (index, kind, shape, params), layer in zip(layer_table(model), model.layers):
        table.add_row([index, kind, str(shape), f"{params:,}", *layer_settings(layer)])
    return table


def parameter_summary(model):
    """Return the total, trainable and non-trainable parameter counts as three lines."""
    total, trainable = parameter_counts(model)
    return (f"Total params: {total:,}\nTrainable params: {trainable:,}\n"
            f"Non-trainable params: {total - trainable:,}")


def summary_text(model):
    """Return a plain-text architecture table with total and trainable parameter counts."""
    return (f'Model "{model.name}" ({CONV_LAYERS[model.name]} conv layers)\n'
            f"{architecture_table(model)}\n{parameter_summary(model)}")
