"""A model of the user's own: loading its function, checking its model, its architecture record,
and training it under the protocol (recorded, resumed exactly, refused under a taken name)."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn import import_keras
from mnist_cnn.custom import (OwnModelError, architecture_record, build_custom, check_name,
                              fingerprint, load_builder, resolve_spec)
from mnist_cnn.models import build_model, training_flops_per_image
from mnist_cnn.runs import ArchitectureError, RunConfig, architecture_file, load_run, run_dir

from helpers import write_own_models

keras = import_keras()
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "compare_your_model.md"


@pytest.fixture(scope="module")
def code(tmp_path_factory):
    """A folder holding own_models.py (helpers.OWN_MODELS) and broken.py."""
    return write_own_models(tmp_path_factory.mktemp("code"))


def test_a_function_loads_by_path_and_by_module(code, monkeypatch):
    assert load_builder(f"{code}/own_models.py:build").__name__ == "build"
    # A module importable from the working folder, as `package.module:FUNCTION`.
    package = code / "own_package_for_test"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text((code / "own_models.py").read_text())
    monkeypatch.chdir(code)
    monkeypatch.delitem(sys.modules, "own_package_for_test", raising=False)
    monkeypatch.delitem(sys.modules, "own_package_for_test.models", raising=False)
    assert load_builder("own_package_for_test.models:wider").__name__ == "wider"
    assert resolve_spec("own_models.py:build") == f"{code}/own_models.py:build"
    assert resolve_spec("own_package_for_test.models:build") == "own_package_for_test.models:build"
    assert not list(code.rglob("__pycache__"))  # nothing written beside the user's code


@pytest.mark.parametrize("spec, words", [
    ("{code}/missing.py:build", ["no file", "missing.py"]),
    ("no_such_package_anywhere.models:build", ["no module no_such_package_anywhere.models"]),
    ("{code}/broken.py:build", ["importing", "broken.py", "ModuleNotFoundError",
                                "a_module_that_is_nowhere"]),
    ("{code}/own_models.py", ["names no function"]),
    ("{code}/own_models.py:nope", ["no function nope", "build", "wider"]),
    ("{code}/own_models.py:NOT_CALLABLE", ["NOT_CALLABLE", "int, not a function"]),
    ("{code}/own_models.py:raises", ["raised RuntimeError: no model today"]),
    ("{code}/own_models.py:not_a_model", ["returned a str, not a Keras model"]),
    ("{code}/own_models.py:wrong_input", ["(None, 32, 32, 3)", "(None, 28, 28, 1)"]),
    ("{code}/own_models.py:wrong_output", ["(None, 5)", "(None, 10)"]),
    ("{code}/own_models.py:logits", ["class probabilities", "softmax"]),
    ("{code}/own_models.py:no_input", ["without input shape", "keras.Input"]),
])
def test_a_function_that_cannot_give_a_model_for_the_protocol_says_what_to_do(code, spec, words):
    with pytest.raises(OwnModelError) as raised:
        build_custom(spec.format(code=code))
    message = str(raised.value)
    assert "\n" not in message and all(word in message for word in words), message


@pytest.mark.parametrize("name, words", [("model_3", ["model_3", "one of the seven"]),
                                         ("My-Model", ["not a plain name"]),
                                         ("9lives", ["not a plain name"]),
                                         ("", ["not a plain name"])])
def test_a_name_is_plain_and_not_one_of_the_seven(name, words):
    with pytest.raises(OwnModelError) as raised:
        check_name(name)
    assert all(word in str(raised.value) for word in words)
    assert check_name("model_1_bn") == "model_1_bn"


def test_the_fingerprint_names_the_architecture_not_keras_layer_names(code):
    spec = f"{code}/own_models.py:"
    first, second = build_custom(spec + "build"), build_custom(spec + "build")
    assert [layer.name for layer in first.layers] != [layer.name for layer in second.layers]
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(build_custom(spec + "wider")) != fingerprint(first)  # 16 -> 32 units
    # Functional models: the same for two builds, and the wiring counts, not only the layers.
    residual = fingerprint(build_custom(spec + "residual"))
    assert residual == fingerprint(build_custom(spec + "residual"))
    assert residual != fingerprint(build_custom(spec + "doubled"))
    assert fingerprint(build_model("model_1")) == fingerprint(build_model("model_1"))


def test_the_architecture_record_counts_like_the_seven(code):
    model = build_custom(f"{code}/own_models.py:build")
    record = architecture_record(model)
    assert json.loads(json.dumps(record)) == record
    assert record["keras_config"]["layers"][1]["class_name"] == "Conv2D"
    assert record["params"] == model.count_params() and record["conv_layers"] == 1
    # Multiply-adds: conv 26x26 x (3x3x1x4), dense 6x6x4 -> 16 and 16 -> 10; 2 FLOPs each, x3.
    assert record["train_flops_per_image"] == 6 * (26 * 26 * 9 * 4 + 6 * 6 * 4 * 16 + 16 * 10)
    seven = architecture_record(build_model("model_4"))
    assert seven["train_flops_per_image"] == training_flops_per_image("model_4")
    assert seven["conv_layers"] == 5


def docs_commands():
    """Return the `mnist-cnn ...` command lines of the docs page, split into words."""
    return [line.split()[1:] for line in DOCS.read_text().splitlines()
            if line.startswith("mnist-cnn ")]


def test_the_docs_page_trains_the_example_for_five_seeds_and_compares_it():
    commands = docs_commands()
    trains = [c for c in commands if c[0] == "reproduce"]
    assert len(trains) == 2 and any("--ray" in c for c in trains)
    for words in trains:
        spec, name = words[words.index("--model") + 1], words[words.index("--name") + 1]
        assert spec == trains[0][trains[0].index("--model") + 1] and check_name(name)
        where = ROOT / spec.partition(":")[0]
        assert where.is_file() and where.read_text().startswith('"""')  # a one-line docstring
        assert architecture_record(build_custom(f"{where}:{spec.partition(':')[2]}"))
    assert any(c[:2] == ["findings", "--models"] and name in c for c in commands)
    # The time per seed is a recorded run's: its metrics.json and device are named.
    text = DOCS.read_text()
    run = re.search(r"results/(model_\d)/seed_(\d)/metrics\.json", text)
    metrics = json.loads((ROOT / run.group(0)).read_text())
    assert metrics["device"] in text and f"{metrics['total_seconds']:,.0f} s" in text


# Two epochs on a few images, without validation: seconds, and the resume is after epoch 1.
QUICK = dict(epochs=2, subset=256, batch_size=64, validation="none", seed=3)


@pytest.fixture(scope="module")
def mnist():
    from mnist_cnn.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="module")
def own_run(code, mnist, tmp_path_factory):
    from mnist_cnn.training import train

    results = tmp_path_factory.mktemp("results")
    config = RunConfig("tiny", builder=f"{code}/own_models.py:build", **QUICK)
    return train(config, mnist, results_dir=results, verbose=0), results


@pytest.mark.training
def test_an_own_model_is_recorded_with_its_architecture_under_its_data_sets_folder(own_run, code):
    run, results = own_run
    assert run.path == results / "mnist" / "tiny" / run.config.variant / "seed_3"
    saved = load_run(run.path)
    assert saved.config == run.config and saved.config.builder == f"{code}/own_models.py:build"
    architecture = saved.metrics["architecture"]
    assert architecture["builder"] == saved.config.builder
    assert architecture["fingerprint"] == fingerprint(build_custom(saved.config.builder))
    assert json.loads(architecture_file("tiny", results).read_text()) == architecture
    assert saved.metrics["params"]["total"] == architecture["params"]
    assert len(saved.history["loss"]) == 2 and not (results / ".checkpoints").exists()


def stop_after_an_epoch(epoch, logs):
    raise KeyboardInterrupt  # as Ctrl-C would, once the epoch's checkpoint is written


@pytest.mark.training
def test_an_own_model_resumes_exactly(own_run, code, mnist, tmp_path):
    from mnist_cnn.training import train

    config = RunConfig("tiny", builder=f"{code}/own_models.py:build", **QUICK)
    with pytest.raises(KeyboardInterrupt):
        train(config, mnist, results_dir=tmp_path, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=stop_after_an_epoch)])
    assert not run_dir(config, tmp_path).exists()
    resumed = train(config, mnist, results_dir=tmp_path, verbose=0, log=lambda line: None)
    whole = own_run[0]
    assert resumed.metrics["resumed_after_epoch"] == 1
    assert resumed.history["loss"] == whole.history["loss"]
    np.testing.assert_array_equal(resumed.probs, whole.probs)


def snapshot(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.mark.training
def test_another_architecture_under_a_taken_name_is_refused_before_training(own_run, code,
                                                                            mnist):
    from mnist_cnn.training import train, train_or_load

    _, results = own_run
    before = snapshot(results)
    other = RunConfig("tiny", builder=f"{code}/own_models.py:wider", **QUICK)
    for attempt in (lambda: train(other, mnist, results_dir=results, verbose=0),
                    lambda: train_or_load(other, mnist, results_dir=results, verbose=0)):
        with pytest.raises(ArchitectureError) as raised:
            attempt()
        assert str(raised.value) == (f"tiny names another architecture (recorded in "
                                     f"{architecture_file('tiny', results)}): use a new --name")
    assert snapshot(results) == before
