"""Check the summary tables against synthetic runs and the real original.json."""

import json
import math

import numpy as np
import pytest

from mnist_cnn.models import CONV_LAYERS, MODEL_NAMES
from mnist_cnn.analysis import ACCURACY, LOG_LOSS, load_costs
from mnist_cnn.original import ORIGINAL_REFERENCE
from mnist_cnn.report import (companions, cost_markdown, cost_table, model_report,
                              summary_markdown, summary_rows, summary_table)
from mnist_cnn.runs import EPOCHS, save_run

from helpers import PARAMS, make_run

# Synthetic test results, model: {seed: (test accuracy, test log loss)}. model_1's accuracies
# bracket the original's 99.20% and its losses all lie below the original's 0.0323; model_3 has one seed.
RESULTS = {
    "model_1": {0: (0.9915, 0.0241), 1: (0.9921, 0.0250), 2: (0.9926, 0.0262)},
    "model_3": {0: (0.9950, 0.0210)},
}
ORIGINAL_COLUMNS = ["Model", "Conv layers"]  # the original's table's first two, shortened


@pytest.fixture(scope="module")
def runs():
    """Return the RESULTS runs."""
    return [make_run(model, seed, accuracy, loss)
            for model, seeds in RESULTS.items() for seed, (accuracy, loss) in seeds.items()]


@pytest.fixture(scope="module")
def reference():
    """Return the committed original.json, read directly."""
    return json.loads(ORIGINAL_REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rows(runs, reference):
    return {row["model"]: row for row in summary_rows(runs, reference)}


def table_rows(table):
    """Return a table's rows as {first cell: {field: cell}}."""
    return {row[0]: dict(zip(table.field_names, row)) for row in table.rows}


# Each measure's values in RESULTS, in the measure's unit (accuracy in percent).
IN_UNIT = {ACCURACY.name: 100, LOG_LOSS.name: 1}


def test_rows_aggregate_each_models_seeds_in_each_measures_unit(rows):
    row = rows["model_1"]
    for index, measure in enumerate((ACCURACY, LOG_LOSS)):
        values = [IN_UNIT[measure.name] * result[index] for result in RESULTS["model_1"].values()]
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        # Scored from the saved probabilities: accuracy to the image, log loss to ~1e-5.
        assert row[f"{measure.name}_mean"] == pytest.approx(mean, abs=2e-5)
        assert row[f"{measure.name}_sd"] == pytest.approx(sd, abs=2e-5)
    assert (row["n_runs"], row["seeds"], row["epochs"]) == (3, [0, 1, 2], EPOCHS)
    assert row["conv_layers"] == 2 and row["params"] == PARAMS["model_1"]
    assert row["seconds_per_epoch"] == 11.0  # the median of the per-run medians 10, 11, 12
    assert row["seconds_per_epoch_by_device"] == {"CPU: test (2 cores)": 11.0}
    assert (row["device"], row["backend"]) == ("CPU: test (2 cores)", "tensorflow")


def test_single_run_has_zero_sd(rows):
    row = rows["model_3"]
    accuracy, loss = RESULTS["model_3"][0]
    assert (row["accuracy_mean"], row["accuracy_sd"]) == (pytest.approx(100 * accuracy), 0)
    assert row["log_loss_mean"] == pytest.approx(loss, abs=2e-5) and row["log_loss_sd"] == 0


def test_scores_come_from_the_probabilities_not_from_what_keras_recorded(reference):
    run = make_run("model_3", 0, 0.9950, 0.0210)
    run.metrics.update(test_accuracy=0.5, test_loss=9.0)  # what a backend might have recorded
    row = summary_rows([run], reference)[2]
    assert row["accuracy_mean"] == 99.50
    assert row["log_loss_mean"] == pytest.approx(0.0210, abs=2e-5)


def test_models_without_runs_keep_a_row(rows, reference):
    assert list(rows) == list(MODEL_NAMES)
    for name in set(MODEL_NAMES) - set(RESULTS):
        row = rows[name]
        assert row["n_runs"] == 0 and row["seeds"] == []
        for key in ("accuracy_mean", "log_loss_sd", "delta_accuracy", "params",
                    "seconds_per_epoch", "device"):
            assert row[key] is None
        assert row["original_accuracy"] == ACCURACY.original(reference, name)


def test_original_values_come_from_its_logs_accuracy_as_whole_images(rows, reference):
    # Its log records 0.99199998 for model_1 (9,920 images right); its table prints 99.19%.
    assert ACCURACY.original(reference, "model_1") == 99.2
    assert LOG_LOSS.original(reference, "model_1") == 0.032340202385733575
    for name, row in rows.items():
        logged = reference["models"][name]
        assert row["original_accuracy"] == round(logged["test_accuracy"] * 10_000) / 100
        assert row["original_log_loss"] == logged["test_loss"]
    row = rows["model_1"]
    # Ours minus the original's 99.2% and 0.03234020, from RESULTS' means written out.
    assert row["delta_accuracy"] == pytest.approx((99.15 + 99.21 + 99.26) / 3 - 99.2)
    assert row["delta_log_loss"] == pytest.approx((0.0241 + 0.0250 + 0.0262) / 3
                                                  - 0.032340202385733575, abs=2e-5)


def test_rows_refuse_to_average_different_configurations(runs, reference):
    quick = make_run("model_1", seed=3, epochs=2)
    with pytest.raises(ValueError, match="model_1 differ"):
        summary_rows([*runs, quick], reference)


def test_table_puts_each_measure_beside_the_originals(runs, reference):
    table = summary_table(runs, reference=reference)
    assert table.field_names == [
        *ORIGINAL_COLUMNS, "Test accuracy", "Original accuracy", "Δ accuracy", "Test log loss",
        "Original log loss", "Δ log loss", "Seeds"]
    cells = table_rows(table)
    assert list(cells) == list(MODEL_NAMES)  # one name per model, as everywhere in the study
    for name in MODEL_NAMES:
        row = cells[name]
        assert row["Conv layers"] == str(CONV_LAYERS[name])  # in digits, as everywhere
        logged = reference["models"][name]
        assert row["Original accuracy"] == f"{round(logged['test_accuracy'] * 10_000) / 100:.2f}%"
        assert row["Original log loss"] == f"{logged['test_loss']:.4f}"
    assert cells["model_1"]["Original accuracy"] == "99.20%"  # the table prints 99.19%


def test_plus_minus_only_with_several_seeds(runs, reference):
    cells = table_rows(summary_table(runs, reference=reference))
    # model_1: accuracy mean 0.992067, sample std 0.000551; log loss mean 0.02510, std 0.001054.
    assert cells["model_1"]["Test accuracy"] == "99.21 ± 0.06%"
    assert cells["model_1"]["Test log loss"] == "0.0251 ± 0.0011"
    assert cells["model_3"]["Test accuracy"] == "99.50%"
    assert cells["model_3"]["Test log loss"] == "0.0210"
    assert cells["model_3"]["Seeds"] == "1"
    only_one_seed = summary_table([run for run in runs if run.config.seed == 0],
                                  reference=reference)
    assert "±" not in only_one_seed.get_string()


def gpu_run(run, end="2025-01-01T00:00:00+00:00"):
    """Return `run` as if it had trained on a GPU and finished at `end`."""
    run.metrics.update(device="GPU: NVIDIA H200", date=end)
    return run


def test_seconds_per_epoch_are_given_per_device(reference):
    runs = [make_run("model_3", seed=seed) for seed in (0, 1, 2)]  # medians 10, 11, 12 s
    gpu_run(runs[2])
    row = summary_rows(runs, reference)[2]
    assert row["seconds_per_epoch_by_device"] == {"CPU: test (2 cores)": 10.5,
                                                  "GPU: NVIDIA H200": 12.0}
    rows = table_rows(model_report(runs, reference))
    assert rows["mean ± std of 3 seeds"]["s/epoch"] == ""  # no time over two devices
    assert rows["median of 2 runs"]["s/epoch"] == "10.5"
    assert rows["median of 2 runs"]["Device"].startswith("CPU: test (2 cores)")
    assert rows["model_3 seed 2, the only run on this device"]["s/epoch"] == "12.0"
    assert not [label for label in rows if "of 1 run" in label]
    assert rows["the original"]["Device"] == "unknown hardware (Keras 2, TF 2.x)"
    assert rows["the original"]["s/epoch"] == "—"  # a time on unknown hardware compares with none


def test_cost_table_gives_one_time_column_per_device(reference):
    runs = [make_run("model_3", seed=seed) for seed in (0, 1, 2)]
    gpu_run(runs[2])
    table = cost_table(runs)
    assert table.field_names == ["Model", "Params", "Training FLOPs per image",
                                 "s/epoch, CPU test (2 cores)", "s/epoch, GPU NVIDIA H200", "Seeds"]
    cells = table_rows(table)
    costs = load_costs()
    assert cells["model_3"]["Params"] == f"{costs['model_3']['params']:,}"
    assert cells["model_3"]["Training FLOPs per image"] == (
        f"{costs['model_3']['train_flops_per_image'] / 1e6:,.0f} M")
    # The two CPU runs overlap in time (make_run's runs all end at the same moment).
    assert cells["model_3"]["s/epoch, CPU test (2 cores)"] == "10.5 (shared)"
    assert cells["model_3"]["s/epoch, GPU NVIDIA H200"] == "12.0"
    assert cells["model_3"]["Seeds"] == "3"
    assert cells["model_1"]["s/epoch, GPU NVIDIA H200"] == "—"
    assert cells["model_1"]["Seeds"] == "no run"
    assert cost_markdown(runs).splitlines()[0].startswith("| Model ")


def test_runs_that_trained_at_the_same_time_on_one_device_are_companions():
    # Each make_run trains 30 epochs of 10-12 s: about 330 s before its end.
    first = gpu_run(make_run("model_2"), "2025-01-01T00:10:00+00:00")
    during = gpu_run(make_run("model_3"), "2025-01-01T00:12:00+00:00")
    after = gpu_run(make_run("model_4"), "2025-01-01T00:30:00+00:00")
    elsewhere = make_run("model_5")  # a CPU
    elsewhere.metrics["date"] = "2025-01-01T00:10:00+00:00"
    everyone = [first, during, after, elsewhere]
    assert [companions(run, everyone) for run in everyone] == [1, 1, 0, 0]


def test_model_without_runs_shows_dashes(runs, reference):
    row = table_rows(summary_table(runs, reference=reference))["model_2"]
    for field in ("Test accuracy", "Test log loss", "Δ accuracy", "Δ log loss"):
        assert row[field] == "—"
    assert row["Seeds"] == "no run"
    assert row["Original accuracy"] == "99.46%"  # 0.99459999 in its log; its table prints 99.45%


def test_differences_are_signed(runs, reference):
    # model_3: 0.9950 against the original's 0.9947, 0.0210 against its 0.02307793.
    row = table_rows(summary_table(runs, reference=reference))["model_3"]
    assert (row["Δ accuracy"], row["Δ log loss"]) == ("+0.03 pp", "-0.0021")
    row = table_rows(summary_table(runs, reference=reference))["model_1"]
    assert (row["Δ accuracy"], row["Δ log loss"]) == ("+0.01 pp", "-0.0072")


def test_each_difference_is_that_of_the_two_numbers_shown(reference):
    # 99.265% shows as 99.27% (rounded half up from 9,926.5 images): against the original's
    # 99.20% the Δ shown must be +0.07 pp, not the +0.065 of the unrounded values.
    runs = [make_run("model_1", 0, 0.9926, 0.03), make_run("model_1", 1, 0.9927, 0.03)]
    cells = table_rows(summary_table(runs, reference=reference))["model_1"]
    shown = float(cells["Test accuracy"].split()[0]) - float(cells["Original accuracy"][:-1])
    assert cells["Δ accuracy"] == f"{shown:+.2f} pp"


def test_a_table_keeps_to_one_data_set_and_sets_the_original_only_beside_its_own(
        runs, reference):
    from mnist_cnn.scores import test_labels

    # Made on MNIST's labels, scored on them: only the data set each run names differs.
    fashion = [make_run("model_2", seed, accuracy, 0.3, dataset="fashion-mnist")
               for seed, accuracy in enumerate((0.9301, 0.9321))]
    with pytest.raises(ValueError, match="one data set per table"):
        summary_rows([*runs, *fashion], reference)
    with pytest.raises(ValueError, match="one data set per table"):
        summary_rows(runs, reference, dataset="fashion-mnist")
    rows = summary_rows(fashion, reference, test_labels(), dataset="fashion-mnist")
    assert rows[1]["accuracy_mean"] == pytest.approx(93.11)
    assert all(row[f"{key}_{measure.name}"] is None for row in rows
               for key in ("original", "delta") for measure in (ACCURACY, LOG_LOSS))
    table = summary_table(fashion, reference=reference, dataset="fashion-mnist")
    assert table.field_names == ["Model", "Conv layers", "Test accuracy", "Test log loss", "Seeds"]
    assert table_rows(table)["model_1"]["Seeds"] == "no run"
    assert "Original accuracy" in summary_table(runs, reference=reference).field_names


def test_table_reads_protocol_runs_from_results_dir(runs, reference, tmp_path):
    for run in runs:
        save_run(run, tmp_path)
    save_run(make_run("model_2", seed=0, epochs=1, subset=100), tmp_path)  # not the protocol
    from_disk = summary_table(results_dir=tmp_path, reference=reference).get_string()
    assert from_disk == summary_table(runs, reference=reference).get_string()
    assert table_rows(summary_table(results_dir=tmp_path))["model_2"]["Seeds"] == "no run"
    assert summary_table(results_dir=tmp_path).get_string() == from_disk  # default original.json


def test_markdown_has_a_row_per_model(runs, reference):
    markdown = summary_markdown(runs, reference=reference)
    lines = markdown.splitlines()
    assert [cell.strip() for cell in lines[0].strip("|").split("|")][:2] == ORIGINAL_COLUMNS
    assert set(lines[1]) <= set("|:- ")
    data = lines[2:]
    assert len(data) == 7 and all(line.startswith("| model_") for line in data)
    # The rows as a reader sees them (column padding aside). model_1: accuracy mean 0.992067 and
    # sample std 0.000551 over its 3 seeds, log loss 0.02510 and 0.001054; the original's logs
    # record 0.99199998 (9,920 images) and 0.03234. model_3 has one run; model_2 has none.
    shown = [" ".join(line.split()) for line in data]
    assert shown[0] == ("| model_1 | 2 | 99.21 ± 0.06% | 99.20% | +0.01 pp | 0.0251 ± 0.0011 "
                        "| 0.0323 | -0.0072 | 3 |")
    assert shown[1] == "| model_2 | 3 | — | 99.46% | — | — | 0.0256 | — | no run |"
    assert shown[2] == ("| model_3 | 3 | 99.50% | 99.47% | +0.03 pp | 0.0210 | 0.0231 "
                        "| -0.0021 | 1 |")


def test_html_keeps_each_columns_alignment(runs, reference):
    html = summary_table(runs, reference=reference)._repr_html_()
    assert '<th align="left" style="text-align: left">Model</th>' in html
    assert '<td align="left" style="text-align: left">model_1</td>' in html
    assert '<td align="right" style="text-align: right">99.20%</td>' in html
    assert ">99.21&nbsp;±&nbsp;0.06%<" in html  # a number and its spread never wrap apart
    assert html.count("<tr>") == 1 + len(MODEL_NAMES)


def test_label_counts_lists_each_digit():
    from mnist_cnn.report import label_counts

    y_train, y_test = np.array([0, 1, 1, 9]), np.array([3, 3])
    rows = table_rows(label_counts(y_train, y_test))
    assert (rows[1]["Train"], rows[3]["Test"], rows[9]["Train"]) == ("2", "2", "1")
    assert (rows["all"]["Train"], rows["all"]["Test"]) == ("4", "2")


def test_model_report_shows_each_run_the_mean_and_the_seed(runs, reference):
    from mnist_cnn.report import model_report

    model_1 = [run for run in runs if run.config.model == "model_1"]
    rows = table_rows(model_report(model_1, reference))
    assert [f"model_1 seed {s}" for s in RESULTS["model_1"]] == list(rows)[:3]
    assert rows["mean ± std of 3 seeds"]["Test accuracy"] == "99.21 ± 0.06%"
    assert rows["mean ± std of 3 seeds"]["Test log loss"] == "0.0251 ± 0.0011"
    assert rows["model_1 seed 2"]["Test accuracy"] == "99.26%"
    seed = reference["models"]["model_1"]
    assert rows["the original"]["Test log loss"] == "0.0323"
    assert rows["the original"]["Test accuracy"] == "99.20%"  # 9,920 images, as its log says
    assert rows["the original"]["Epochs"] == len(seed["history"]["loss"])


def test_a_run_of_another_configuration_is_its_own_median(reference):
    stand_in = model_report([make_run("model_2", epochs=2)], reference)
    assert [row[0] for row in stand_in.rows] == ["model_2 seed 0, epochs2"]


def test_representatives_fall_back_to_the_longest_shorter_run(tmp_path):
    from mnist_cnn.report import protocol_runs
    from mnist_cnn.runs import representatives

    save_run(make_run("model_1"), tmp_path)
    save_run(make_run("model_1", epochs=1), tmp_path)
    for epochs, subset in ((1, None), (3, 500), (3, None)):
        save_run(make_run("model_2", epochs=epochs, subset=subset), tmp_path)
    shown = representatives(tmp_path)
    assert [run.config.variant for run in shown["model_1"]] == [""]
    assert [run.config.variant for run in shown["model_2"]] == ["epochs3"]
    assert shown["model_7"] == []
    assert representatives(tmp_path, protocol_only=True)["model_2"] == []
    assert [run.config.model for run in protocol_runs(tmp_path)] == ["model_1"]
