"""A model of your own: load the function that builds it, check its model, record its architecture.

`mnist-cnn train --model PATH.py:FUNCTION --name NAME` (or `package.module:FUNCTION`) trains the
model that FUNCTION returns exactly as the seven are trained: FUNCTION takes no arguments and
returns an uncompiled `keras.Model` for 28x28x1 images that ends in 10 class probabilities.
NAME is what its runs are recorded under (`results/<data set>/NAME/seed_k/`), and
`architecture_record` what they record of it: its Keras config, parameters, training FLOPs,
conv depth and a fingerprint that makes sure a name always means one architecture.

Every problem is an OwnModelError whose one line says what to do. Keras is imported only
inside the functions that build or describe a model.
"""

import hashlib
import importlib
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

from . import MnistCnnError, error_line, import_keras
from .data import NUM_CLASSES
from .models import INPUT_SHAPE, MODEL_NAMES, flat_layers, model_training_flops, parameter_counts

SPEC_FORMS = "PATH.py:FUNCTION or package.module:FUNCTION"
OWN_MODEL_HINT = "or pass --model PATH:FUNCTION --name NAME"  # for a name that is not the seven's
NAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]*")  # a plain identifier: also a folder name anywhere


class OwnModelError(MnistCnnError, ValueError):
    """A model of the user's own that cannot be loaded, built or recorded under its name."""


def check_name(name):
    """Return `name` if it can name a model of the user's: a plain identifier not of the seven."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise OwnModelError(f"--name {name!r} is not a plain name: use lowercase letters, digits "
                            "and underscores, starting with a letter (e.g. my_model)")
    if name in MODEL_NAMES:
        raise OwnModelError(f"--name {name} is one of the seven models: give yours a name of its "
                            f"own (e.g. {name}_mine)")
    return name


def split_spec(spec):
    """Return (where, function) of a builder `spec`: PATH.py:FUNCTION or package.module:FUNCTION."""
    where, colon, function = spec.rpartition(":") if isinstance(spec, str) else ("", "", "")
    if not (where and colon and function.isidentifier()):
        raise OwnModelError(f"--model {spec!r} names no function: give {SPEC_FORMS}")
    return where, function


def _is_path(where):
    return where.endswith(".py") or "/" in where or os.sep in where


def resolve_spec(spec):
    """Return `spec` with its PATH absolute, so that a worker in another folder finds the file."""
    where, function = split_spec(spec)
    return f"{Path(where).resolve()}:{function}" if _is_path(where) else spec


def _import_file(where):
    path = Path(where)
    if not path.is_file():
        raise OwnModelError(f"no file {where}: give the Python file that defines the function "
                            "that builds your model (PATH.py:FUNCTION)")
    path = path.resolve()
    name = (f"mnist_cnn_own_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}_"
            f"{hashlib.sha256(str(path).encode()).hexdigest()[:8]}")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise OwnModelError(f"cannot import {where}: give a Python file (PATH.py:FUNCTION)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # executed afresh each time: an edited file counts as edited
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise OwnModelError(f"importing {where} raised {error_line(e)}") from None
    return module


def _import_module(where):
    """Import module `where`, also from the working folder; raise OwnModelError if it fails."""
    # an installed command lacks the working folder on its path
    added = os.getcwd() not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as e:
        if e.name and (where == e.name or where.startswith(e.name + ".")):
            raise OwnModelError(f"no module {where}: give {SPEC_FORMS}, the module importable "
                                "from the working folder") from None
        raise OwnModelError(f"importing {where} raised {error_line(e)}") from None
    except Exception as e:
        raise OwnModelError(f"importing {where} raised {error_line(e)}") from None
    finally:
        if added:
            sys.path.remove(os.getcwd())


def load_builder(spec):
    """Return the function that `spec` names, executing a file afresh on every call."""
    where, name = split_spec(spec)
    import_keras()  # first: TensorFlow's import chatter muted, if the module imports Keras
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        module = _import_file(where) if _is_path(where) else _import_module(where)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    function = getattr(module, name, None)
    if function is None:
        defined = sorted(key for key, value in vars(module).items() if callable(value)
                         and not key.startswith("_")
                         and getattr(value, "__module__", None) == module.__name__)
        raise OwnModelError(f"{where} has no function {name}: name one it defines"
                            + (f" ({', '.join(defined)})" if defined else ""))
    if not callable(function):
        raise OwnModelError(f"{where}:{name} is a {type(function).__name__}, not a function: "
                            "name the function that returns your model")
    return function


def build_custom(spec):
    """Call the function that `spec` names and return its model, checked for the protocol."""
    function = load_builder(spec)
    try:
        model = function()
    except Exception as e:
        raise OwnModelError(f"{spec} raised {error_line(e)}") from None
    keras = import_keras()
    if not isinstance(model, keras.Model):
        raise OwnModelError(f"{spec} returned a {type(model).__name__}, not a Keras model: return "
                            "the uncompiled keras.Model")
    try:
        shapes = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError):
        raise OwnModelError(f"{spec} returned a model without input shape: begin it with "
                            f"keras.Input(shape={INPUT_SHAPE})") from None
    if shapes[0] != (None, *INPUT_SHAPE):
        raise OwnModelError(f"{spec} returned a model for inputs {shapes[0]}: it must take "
                            f"(None, {', '.join(map(str, INPUT_SHAPE))}), keras.Input(shape="
                            f"{INPUT_SHAPE})")
    if shapes[1] != (None, NUM_CLASSES):
        raise OwnModelError(f"{spec} returned a model with outputs {shapes[1]}: it must give "
                            f"(None, {NUM_CLASSES}), one probability per class")
    _check_probabilities(spec, model, keras)
    return model


def _check_probabilities(spec, model, keras):
    import numpy as np

    images = np.random.default_rng(0).random((2, *INPUT_SHAPE), dtype=np.float32)
    try:
        outputs = np.asarray(keras.ops.convert_to_numpy(model(images, training=False)), float)
    except Exception as e:
        raise OwnModelError(f"{spec}'s model fails on a batch of images: "
                            f"{error_line(e)}") from None
    if not (np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1, atol=1e-3)):
        raise OwnModelError(f"{spec}'s model does not give class probabilities: end it with "
                            f"Dense({NUM_CLASSES}, activation=\"softmax\"), as the protocol's loss "
                            "expects")


def _plain(value):
    """JSON's fallback for what a Keras config may hold besides JSON's types."""
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    return str(value)


def _keras_config(model):
    try:
        config = model.get_config()
    except NotImplementedError:  # a subclassed model without get_config
        return None
    return json.loads(json.dumps(config, default=_plain))


def _without_names(config, layer=True):
    """Return a layer's config without its name, nor the names of layers nested in it."""
    if isinstance(config, list):
        return [_without_names(item, False) for item in config]
    if not isinstance(config, dict):
        return config
    layer = layer or ("name" in config and "trainable" in config)  # not a dtype policy's name
    return {key: _without_names(value, False) for key, value in config.items()
            if not (layer and key == "name")}


def _by_index(value, index):
    """Return `value` (a functional config's links) with the layer names replaced by indices."""
    if isinstance(value, dict):
        return {key: _by_index(item, index) for key, item in value.items()}
    if isinstance(value, list):
        if (len(value) == 3 and isinstance(value[0], str) and value[0] in index
                and all(isinstance(n, int) for n in value[1:])):  # [layer, node, tensor]
            return [index[value[0]], *value[1:]]
        return [_by_index(item, index) for item in value]
    return value


def describe(model):
    """Return a description of `model`'s architecture that names no layer."""
    keras = import_keras()
    config = _keras_config(model) or {}
    index = {layer.name: i for i, layer in enumerate(model.layers)}
    inbound = {entry.get("name"): _by_index(entry["inbound_nodes"], index)
               for entry in config.get("layers", []) if isinstance(entry, dict)
               and "inbound_nodes" in entry}
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            described = describe(layer)
        else:
            described = {"class": type(layer).__name__,
                         "config": _without_names(json.loads(json.dumps(
                             layer.get_config(), default=_plain))),
                         "weights": [list(weight.shape) for weight in layer.weights]}
        if layer.name in inbound:
            described["inputs"] = inbound[layer.name]
        layers.append(described)
    return {"class": type(model).__name__, "layers": layers,
            **{key: _by_index(config[key], index) for key in ("input_layers", "output_layers")
               if key in config}}


def fingerprint(model):
    """Return the sha256 of `describe(model)`, whatever names Keras gave the layers."""
    text = json.dumps(describe(model), sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


def architecture_record(model):
    """Return what a run records of a built `model`: its config, fingerprint, size and FLOPs."""
    return {"keras_config": _keras_config(model),
            "fingerprint": fingerprint(model),
            "params": parameter_counts(model)[0],
            "train_flops_per_image": model_training_flops(model),
            "conv_layers": sum(type(layer).__name__ == "Conv2D" for layer in flat_layers(model))}
