"""The seven architectures against the spec's tables, layer by layer.

SPEC is transcribed from shared/spec/study.md ("Architectures"): per model the total and
trainable parameter counts, then every layer's type, output shape (batch omitted), parameter
count and settings.
"""

import re

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


MAX_LINE = 120  # summary_text's width limit (terminal- and notebook-friendly)


def summary_rows(text):
    """Parse summary_text's table into one {column header: cell text} dict per layer."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header, *rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return [dict(zip(header, row)) for row in rows]


def spec_settings(kind, detail):
    """The (padding, initializer, dropout rate) a spec row implies, "" where none applies.

    The spec gives padding and init for Conv2D, init for Dense, the rate for Dropout; its
    MaxPooling2D rows give only the pool, so they use Keras' default padding, "valid" (which
    the spec's floor-halved shapes such as (11, 11) -> (5, 5) confirm).
    """
    def find(key):
        match = re.search(rf"\b{key}=(\S+)", detail)
        return match.group(1) if match else ""
    padding = "valid" if kind == "MaxPooling2D" else find("padding")
    return padding, find("init"), find("rate")


def test_summary_text_rows_match_spec(built):
    name, model = built
    rows = summary_rows(summary_text(model))
    expected = SPEC[name][2]
    assert len(rows) == len(expected)
    for index, (row, (kind, shape, params, detail)) in enumerate(zip(rows, expected), start=1):
        assert row["#"] == str(index) and row["Type"] == kind, f"{name} layer {index}"
        assert (row["Output shape"], row["Params"]) == (str(shape), f"{params:,}")
        got = (row["Padding"], row["Init"], row["Dropout"])
        assert got == spec_settings(kind, detail), f"{name} layer {index} ({kind})"


def test_summary_text_shows_model_1_dropout_rates():
    rows = summary_rows(summary_text(build_model("model_1")))
    assert [row["Dropout"] for row in rows if row["Type"] == "Dropout"] == ["0.25", "0.5"]
    assert all(row["Dropout"] == "" for row in rows if row["Type"] != "Dropout")


def test_summary_text_shows_padding_and_initializers():
    model_1 = summary_rows(summary_text(build_model("model_1")))
    model_2 = summary_rows(summary_text(build_model("model_2")))
    model_3 = summary_rows(summary_text(build_model("model_3")))
    # model_1: two valid-padded convs, every kernel Glorot uniform (Keras' default).
    assert [(r["Padding"], r["Init"]) for r in model_1 if r["Type"] == "Conv2D"] == [
        ("valid", "GlorotUniform")] * 2
    assert [r["Init"] for r in model_1 if r["Type"] == "Dense"] == ["GlorotUniform"] * 2
    # model_2: same then valid padding; Glorot convs and output, He uniform hidden Dense.
    assert [r["Padding"] for r in model_2 if r["Type"] == "Conv2D"] == ["same", "valid", "valid"]
    assert [r["Init"] for r in model_2 if r["Type"] == "Dense"] == [
        "HeUniform", "HeUniform", "GlorotUniform"]
    # model_3: every conv same-padded, every kernel He uniform, the output layer included.
    assert {(r["Padding"], r["Init"]) for r in model_3 if r["Type"] == "Conv2D"} == {
        ("same", "HeUniform")}
    assert {r["Init"] for r in model_3 if r["Type"] == "Dense"} == {"HeUniform"}
    for rows in (model_1, model_2, model_3):
        for row in rows:
            if row["Type"] not in ("Conv2D", "MaxPooling2D"):
                assert row["Padding"] == "", row
            if row["Type"] not in ("Conv2D", "Dense"):
                assert row["Init"] == "", row


@pytest.mark.parametrize("fused", [False, True], ids=["keras_bn", "fused_bn"])
def test_summary_text_fits_in_120_columns(fused):
    for name in MODEL_NAMES:
        text = summary_text(build_model(name, fused_batchnorm=fused))
        widest = max(text.splitlines(), key=len)
        assert len(widest) <= MAX_LINE, f"{name} (fused={fused}): {len(widest)} chars: {widest}"


def test_summary_text_treats_fused_batchnorm_as_batchnorm():
    plain = summary_rows(summary_text(build_model("model_2")))
    fused = summary_rows(summary_text(build_model("model_2", fused_batchnorm=True)))
    # Named as layer_table names it, otherwise the same row as Keras' BatchNormalization.
    assert [r["Type"] for r in fused].count("FusedBatchNormalization") == 4
    assert [dict(r, Type=r["Type"].replace("Fused", "")) for r in fused] == plain
    assert all((r["Padding"], r["Init"], r["Dropout"]) == ("", "", "")
               for r in fused if r["Type"] == "FusedBatchNormalization")


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError) as error:
        build_model("model_99")
    assert isinstance(error.value, UnknownModelError)
    assert all(name in str(error.value) for name in MODEL_NAMES)


def test_recorded_costs_match_the_architectures():
    """mnist_cnn/reference/costs.json (scripts/count_costs.py) must not drift from the models."""
    import json
    from pathlib import Path

    from mnist_cnn.models import training_flops_per_image

    path = Path(__file__).resolve().parents[1] / "mnist_cnn" / "reference" / "costs.json"
    recorded = json.loads(path.read_text())
    assert sorted(recorded) == sorted(MODEL_NAMES)
    for name, cost in recorded.items():
        assert cost["params"] == parameter_counts(build_model(name))[0], name
        assert cost["train_flops_per_image"] == training_flops_per_image(name), name
    # model_1 by hand: conv 26*26*(3*3*1*32) + conv 24*24*(3*3*32*64) + dense 9216*128 + 128*10
    # multiply-adds, 2 FLOPs each, 3x for forward and backward.
    macs = 26 * 26 * 288 + 24 * 24 * 18432 + 9216 * 128 + 1280
    assert recorded["model_1"]["train_flops_per_image"] == 6 * macs


def test_summary_text_shows_kernel_sizes_and_activations():
    """model_4 and model_5 differ only in the second block's kernel size: the table shows it."""
    model_4 = summary_rows(summary_text(build_model("model_4")))
    model_5 = summary_rows(summary_text(build_model("model_5")))
    assert [r["Kernel"] for r in model_4 if r["Type"] == "Conv2D"] == ["3x3"] * 5
    assert [r["Kernel"] for r in model_5 if r["Type"] == "Conv2D"] == ["3x3"] * 3 + ["5x5"] * 2
    dense = [r["Activation"] for r in model_5 if r["Type"] == "Dense"]
    assert dense == ["relu"] * (len(dense) - 1) + ["softmax"]
    assert {r["Activation"] for r in model_5 if r["Type"] == "Conv2D"} == {"relu"}
    assert {(r["Kernel"], r["Activation"]) for r in model_5
            if r["Type"] not in ("Conv2D", "Dense")} == {("", "")}
