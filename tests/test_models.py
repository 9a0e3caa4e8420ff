"""The seven architectures against the spec's tables, layer by layer.

SPEC is transcribed from shared/spec/study.md ("Architectures"): per model the total and
trainable parameter counts, then every layer's type, output shape (batch omitted), parameter
count and settings.
"""

import pytest

from mnist_cnn.models import (CONV_LAYERS, MODEL_NAMES, SECTIONS, UnknownModelError, build_model,
                              layer_table, parameter_counts, summary_text)

SPEC = {
    "model_1": (1_199_882, 1_199_882, [
        ("Conv2D", (26, 26, 32), 320, "filters=32 kernel=3x3 padding=valid init=GlorotUniform"),
        ("Conv2D", (24, 24, 64), 18_496, "filters=64 kernel=3x3 padding=valid init=GlorotUniform"),
        ("MaxPooling2D", (12, 12, 64), 0, "pool=(2, 2)"),
        ("Dropout", (12, 12, 64), 0, "rate=0.25"),
        ("Flatten", (9216,), 0, ""),
        ("Dense", (128,), 1_179_776, "units=128 act=relu init=GlorotUniform"),
        ("Dropout", (128,), 0, "rate=0.5"),
        ("Dense", (10,), 1_290, "units=10 act=softmax init=GlorotUniform"),
    ]),
    "model_2": (3_718_026, 3_715_978, [
        ("Conv2D", (28, 28, 64), 640, "filters=64 kernel=3x3 padding=same init=GlorotUniform"),
        ("Conv2D", (26, 26, 128), 73_856, "filters=128 kernel=3x3 padding=valid init=GlorotUniform"),
        ("BatchNormalization", (26, 26, 128), 512, ""),
        ("MaxPooling2D", (13, 13, 128), 0, "pool=(2, 2)"),
        ("Dropout", (13, 13, 128), 0, "rate=0.3"),
        ("Conv2D", (11, 11, 256), 295_168, "filters=256 kernel=3x3 padding=valid init=GlorotUniform"),
        ("BatchNormalization", (11, 11, 256), 1_024, ""),
        ("MaxPooling2D", (5, 5, 256), 0, "pool=(2, 2)"),
        ("Flatten", (6400,), 0, ""),
        ("Dense", (512,), 3_277_312, "units=512 act=relu init=HeUniform"),
        ("BatchNormalization", (512,), 2_048, ""),
        ("Dropout", (512,), 0, "rate=0.4"),
        ("Dense", (128,), 65_664, "units=128 act=relu init=HeUniform"),
        ("BatchNormalization", (128,), 512, ""),
        ("Dropout", (128,), 0, "rate=0.4"),
        ("Dense", (10,), 1_290, "units=10 act=softmax init=GlorotUniform"),
    ]),
    "model_3": (1_858_122, 1_855_946, [
        ("Conv2D", (28, 28, 64), 640, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (28, 28, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (28, 28, 64), 256, ""),
        ("MaxPooling2D", (14, 14, 64), 0, "pool=(2, 2)"),
        ("Dropout", (14, 14, 64), 0, "rate=0.4"),
        ("Conv2D", (14, 14, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (14, 14, 64), 256, ""),
        ("MaxPooling2D", (7, 7, 64), 0, "pool=(2, 2)"),
        ("Dropout", (7, 7, 64), 0, "rate=0.4"),
        ("Flatten", (3136,), 0, ""),
        ("Dense", (512,), 1_606_144, "units=512 act=relu init=HeUniform"),
        ("BatchNormalization", (512,), 2_048, ""),
        ("Dropout", (512,), 0, "rate=0.5"),
        ("Dense", (256,), 131_328, "units=256 act=relu init=HeUniform"),
        ("BatchNormalization", (256,), 1_024, ""),
        ("Dropout", (256,), 0, "rate=0.5"),
        ("Dense", (128,), 32_896, "units=128 act=relu init=HeUniform"),
        ("BatchNormalization", (128,), 512, ""),
        ("Dropout", (128,), 0, "rate=0.5"),
        ("Dense", (64,), 8_256, "units=64 act=relu init=HeUniform"),
        ("BatchNormalization", (64,), 256, ""),
        ("Dropout", (64,), 0, "rate=0.5"),
        ("Dense", (10,), 650, "units=10 act=softmax init=HeUniform"),
    ]),
    "model_4": (3_685_450, 3_683_146, [
        ("Conv2D", (28, 28, 64), 640, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (28, 28, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (28, 28, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (28, 28, 64), 256, ""),
        ("MaxPooling2D", (14, 14, 64), 0, "pool=(2, 2)"),
        ("Dropout", (14, 14, 64), 0, "rate=0.5"),
        ("Conv2D", (14, 14, 128), 73_856, "filters=128 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (14, 14, 128), 147_584, "filters=128 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (14, 14, 128), 512, ""),
        ("MaxPooling2D", (7, 7, 128), 0, "pool=(2, 2)"),
        ("Dropout", (7, 7, 128), 0, "rate=0.5"),
        ("Flatten", (6272,), 0, ""),
        ("Dense", (512,), 3_211_776, "units=512 act=relu init=HeUniform"),
        ("BatchNormalization", (512,), 2_048, ""),
        ("Dropout", (512,), 0, "rate=0.5"),
        ("Dense", (256,), 131_328, "units=256 act=relu init=HeUniform"),
        ("BatchNormalization", (256,), 1_024, ""),
        ("Dropout", (256,), 0, "rate=0.5"),
        ("Dense", (128,), 32_896, "units=128 act=relu init=HeUniform"),
        ("BatchNormalization", (128,), 512, ""),
        ("Dropout", (128,), 0, "rate=0.5"),
        ("Dense", (64,), 8_256, "units=64 act=relu init=HeUniform"),
        ("BatchNormalization", (64,), 256, ""),
        ("Dropout", (64,), 0, "rate=0.5"),
        ("Dense", (10,), 650, "units=10 act=softmax init=HeUniform"),
    ]),
    "model_5": (4_078_666, 4_076_362, [
        ("Conv2D", (28, 28, 64), 640, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (28, 28, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (28, 28, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (28, 28, 64), 256, ""),
        ("MaxPooling2D", (14, 14, 64), 0, "pool=(2, 2)"),
        ("Dropout", (14, 14, 64), 0, "rate=0.5"),
        ("Conv2D", (14, 14, 128), 204_928, "filters=128 kernel=5x5 padding=same init=HeUniform"),
        ("Conv2D", (14, 14, 128), 409_728, "filters=128 kernel=5x5 padding=same init=HeUniform"),
        ("BatchNormalization", (14, 14, 128), 512, ""),
        ("MaxPooling2D", (7, 7, 128), 0, "pool=(2, 2)"),
        ("Dropout", (7, 7, 128), 0, "rate=0.5"),
        ("Flatten", (6272,), 0, ""),
        ("Dense", (512,), 3_211_776, "units=512 act=relu init=HeUniform"),
        ("BatchNormalization", (512,), 2_048, ""),
        ("Dropout", (512,), 0, "rate=0.5"),
        ("Dense", (256,), 131_328, "units=256 act=relu init=HeUniform"),
        ("BatchNormalization", (256,), 1_024, ""),
        ("Dropout", (256,), 0, "rate=0.5"),
        ("Dense", (128,), 32_896, "units=128 act=relu init=HeUniform"),
        ("BatchNormalization", (128,), 512, ""),
        ("Dropout", (128,), 0, "rate=0.5"),
        ("Dense", (64,), 8_256, "units=64 act=relu init=HeUniform"),
        ("BatchNormalization", (64,), 256, ""),
        ("Dropout", (64,), 0, "rate=0.5"),
        ("Dense", (10,), 650, "units=10 act=softmax init=HeUniform"),
    ]),
    "model_6": (3_093_258, 3_090_442, [
        ("Conv2D", (28, 28, 64), 640, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (28, 28, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (28, 28, 64), 256, ""),
        ("MaxPooling2D", (14, 14, 64), 0, "pool=(2, 2)"),
        ("Dropout", (14, 14, 64), 0, "rate=0.5"),
        ("Conv2D", (14, 14, 128), 73_856, "filters=128 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (14, 14, 128), 147_584, "filters=128 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (14, 14, 128), 512, ""),
        ("MaxPooling2D", (7, 7, 128), 0, "pool=(2, 2)"),
        ("Dropout", (7, 7, 128), 0, "rate=0.5"),
        ("Conv2D", (7, 7, 256), 295_168, "filters=256 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (7, 7, 256), 590_080, "filters=256 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (7, 7, 256), 590_080, "filters=256 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (7, 7, 256), 1_024, ""),
        ("MaxPooling2D", (3, 3, 256), 0, "pool=(2, 2)"),
        ("Dropout", (3, 3, 256), 0, "rate=0.5"),
        ("Flatten", (2304,), 0, ""),
        ("Dense", (512,), 1_180_160, "units=512 act=relu init=HeUniform"),
        ("BatchNormalization", (512,), 2_048, ""),
        ("Dropout", (512,), 0, "rate=0.5"),
        ("Dense", (256,), 131_328, "units=256 act=relu init=HeUniform"),
        ("BatchNormalization", (256,), 1_024, ""),
        ("Dropout", (256,), 0, "rate=0.5"),
        ("Dense", (128,), 32_896, "units=128 act=relu init=HeUniform"),
        ("BatchNormalization", (128,), 512, ""),
        ("Dropout", (128,), 0, "rate=0.5"),
        ("Dense", (64,), 8_256, "units=64 act=relu init=HeUniform"),
        ("BatchNormalization", (64,), 256, ""),
        ("Dropout", (64,), 0, "rate=0.5"),
        ("Dense", (10,), 650, "units=10 act=softmax init=HeUniform"),
    ]),
    "model_7": (2_540_106, 2_537_290, [
        ("Conv2D", (28, 28, 64), 640, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (28, 28, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (28, 28, 64), 36_928, "filters=64 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (28, 28, 64), 256, ""),
        ("MaxPooling2D", (14, 14, 64), 0, "pool=(2, 2)"),
        ("Dropout", (14, 14, 64), 0, "rate=0.5"),
        ("Conv2D", (14, 14, 128), 73_856, "filters=128 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (14, 14, 128), 147_584, "filters=128 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (14, 14, 128), 512, ""),
        ("MaxPooling2D", (7, 7, 128), 0, "pool=(2, 2)"),
        ("Dropout", (7, 7, 128), 0, "rate=0.5"),
        ("Conv2D", (7, 7, 256), 295_168, "filters=256 kernel=3x3 padding=same init=HeUniform"),
        ("Conv2D", (7, 7, 256), 590_080, "filters=256 kernel=3x3 padding=same init=HeUniform"),
        ("BatchNormalization", (7, 7, 256), 1_024, ""),
        ("MaxPooling2D", (3, 3, 256), 0, "pool=(2, 2)"),
        ("Dropout", (3, 3, 256), 0, "rate=0.5"),
        ("Flatten", (2304,), 0, ""),
        ("Dense", (512,), 1_180_160, "units=512 act=relu init=HeUniform"),
        ("BatchNormalization", (512,), 2_048, ""),
        ("Dropout", (512,), 0, "rate=0.5"),
        ("Dense", (256,), 131_328, "units=256 act=relu init=HeUniform"),
        ("BatchNormalization", (256,), 1_024, ""),
        ("Dropout", (256,), 0, "rate=0.5"),
        ("Dense", (128,), 32_896, "units=128 act=relu init=HeUniform"),
        ("BatchNormalization", (128,), 512, ""),
        ("Dropout", (128,), 0, "rate=0.5"),
        ("Dense", (64,), 8_256, "units=64 act=relu init=HeUniform"),
        ("BatchNormalization", (64,), 256, ""),
        ("Dropout", (64,), 0, "rate=0.5"),
        ("Dense", (10,), 650, "units=10 act=softmax init=HeUniform"),
    ]),
}


def spec_detail(layer):
    """Render a Keras layer's settings in the spec's notation."""
    config, kind = layer.get_config(), layer.__class__.__name__
    if kind == "Conv2D":
        kernel = "x".join(map(str, config["kernel_size"]))
        return (f"filters={config['filters']} kernel={kernel} padding={config['padding']} "
                f"init={config['kernel_initializer']['class_name']}")
    if kind == "Dense":
        return (f"units={config['units']} act={config['activation']} "
                f"init={config['kernel_initializer']['class_name']}")
    if kind == "MaxPooling2D":
        return f"pool={tuple(config['pool_size'])}"
    if kind == "Dropout":
        return f"rate={config['rate']}"
    return ""


@pytest.fixture(scope="module", params=MODEL_NAMES)
def built(request):
    return request.param, build_model(request.param)


def test_every_model_is_specified():
    assert set(SPEC) == set(MODEL_NAMES) and len(MODEL_NAMES) == 7


def test_layers_match_spec(built):
    name, model = built
    expected = SPEC[name][2]
    actual = [(kind, shape, params, spec_detail(layer))
              for (_, kind, shape, params), layer in zip(layer_table(model), model.layers)]
    assert len(actual) == len(expected)
    for index, (got, want) in enumerate(zip(actual, expected), start=1):
        assert got == want, f"{name} layer {index}"


def test_parameter_counts_match_spec(built):
    name, model = built
    assert parameter_counts(model) == SPEC[name][:2]


def test_activations_and_batchnorm_defaults(built):
    _, model = built
    for layer in model.layers:
        config = layer.get_config()
        if layer.__class__.__name__ == "Conv2D":
            assert config["activation"] == "relu" and config["strides"] == (1, 1)
        if layer.__class__.__name__ == "BatchNormalization":
            assert (config["momentum"], config["epsilon"]) == (0.99, 0.001)
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)


def test_sections_and_conv_depths(built):
    name, model = built
    convs = sum(layer.__class__.__name__ == "Conv2D" for layer in model.layers)
    assert convs == CONV_LAYERS[name]
    assert name in SECTIONS[convs]


def test_models_are_uncompiled_and_named(built):
    name, model = built
    assert model.name == name and not model.compiled


def test_summary_text_shows_parameter_counts(built):
    name, model = built
    text = summary_text(model)
    total, trainable = SPEC[name][:2]
    assert f"Total params: {total:,}" in text and f"Trainable params: {trainable:,}" in text
    assert text.count("\n") > len(model.layers)


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError) as error:
        build_model("model_99")
    assert isinstance(error.value, UnknownModelError)
    assert all(name in str(error.value) for name in MODEL_NAMES)
