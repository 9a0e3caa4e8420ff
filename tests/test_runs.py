"""The run format: RunConfig and its variants, folders, saving and loading, finding runs."""

import json
import re

import numpy as np
import pytest

from mnist_cnn import MnistCnnError
from mnist_cnn.runs import (EPOCHS, ArchitectureError, ConfigError, RunConfig, RunError,
                            architecture_file, check_architecture, find_runs, load_run,
                            recorded_every_epoch, recorded_run, representatives, retrain_hint,
                            run_dir, run_folders, save_run, train_arguments)

from helpers import make_run


@pytest.mark.parametrize("settings, words", [
    (dict(model="model_99"), ["model_99", "model_1", "model_7"]),
    (dict(model="model_1", epochs=0), ["epochs", "positive"]),
    (dict(model="model_1", epochs=-3), ["epochs"]),
    (dict(model="model_1", epochs=2.5), ["epochs"]),
    (dict(model="model_1", epochs=True), ["epochs"]),
    (dict(model="model_1", batch_size=0), ["batch size"]),
    (dict(model="model_1", subset=60_001), ["subset", "60,000"]),
    (dict(model="model_1", subset=0), ["subset"]),
    (dict(model="model_1", lr=-1.0), ["learning rate"]),
    (dict(model="model_1", lr=float("nan")), ["learning rate", "nan"]),
    (dict(model="model_1", lr=float("inf")), ["learning rate", "inf"]),
    (dict(model="model_1", seed=-1), ["seed"]),
    (dict(model="model_1", validation="train"), ["validation"]),
])
def test_run_config_refuses_what_cannot_be_trained(settings, words):
    with pytest.raises(MnistCnnError) as raised:
        RunConfig(**settings)
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_protocol_is_the_default_and_variants_name_what_differs():
    assert RunConfig("model_3", seed=4).is_protocol and RunConfig("model_3").variant == ""
    quick = RunConfig("model_1", epochs=1, subset=2000, seed=2)
    assert quick.variant == "epochs1_subset2000" and not quick.is_protocol
    assert RunConfig("model_1", lr=0.01, validation="none").variant == "lr0.01_validationnone"
    assert RunConfig("model_1", lr=1).lr == 1.0 and isinstance(RunConfig("model_1", lr=1).lr, float)


def test_folders_and_command_lines_follow_the_config(tmp_path):
    quick = RunConfig("model_1", epochs=1, subset=2000, seed=2)
    assert run_dir(quick, tmp_path) == tmp_path / "model_1" / "epochs1_subset2000" / "seed_2"
    assert run_dir(RunConfig("model_3", seed=1), tmp_path) == tmp_path / "model_3" / "seed_1"
    assert train_arguments(quick) == ["train", "model_1", "--seed", "2", "--epochs", "1",
                                      "--subset", "2000"]
    assert retrain_hint(RunConfig("model_2")) == "mnist-cnn train model_2 --seed 0"


def test_config_round_trips_and_refuses_other_keys():
    config = RunConfig("model_4", epochs=3, seed=5)
    assert RunConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="exactly the keys"):
        RunConfig.from_dict({**config.to_dict(), "dropout": 0.5})


def test_save_run_replaces_a_recorded_run_whole(tmp_path):
    first = make_run("model_1", seed=0, test_accuracy=0.9, test_loss=0.3)
    folder = save_run(first, tmp_path)
    (folder / "stale.txt").write_text("a file the new run does not have")
    second = make_run("model_1", seed=0, test_accuracy=0.95, test_loss=0.2)
    second.history["loss"][0] = 7.0
    assert save_run(second, tmp_path) == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "history.json", "metrics.json", "test_probs.npz"]
    run = load_run(folder)
    assert (run.test_accuracy, run.test_loss, run.history["loss"][0]) == (0.95, 0.2, 7.0)
    # No staging folder and no moved-aside old run is left beside it.
    assert sorted(p.name for p in folder.parent.iterdir()) == ["seed_0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_1"]


def damage(folder, how):
    """Break one file of the run in `folder` the way `how` says."""
    if how == "corrupt metrics":
        (folder / "metrics.json").write_text("{not json")
    elif how == "metrics without keys":
        (folder / "metrics.json").write_text(json.dumps({"test_loss": 0.1}))
    elif how == "missing probs":
        (folder / "test_probs.npz").unlink()
    elif how == "probs of another shape":
        with open(folder / "test_probs.npz", "wb") as f:
            np.savez_compressed(f, probs=np.zeros((10, 10), np.float16))
    elif how == "short history":
        history = json.loads((folder / "history.json").read_text())
        history["loss"] = history["loss"][:3]
        (folder / "history.json").write_text(json.dumps(history))
    elif how == "infinite loss":
        history = json.loads((folder / "history.json").read_text())
        (folder / "history.json").write_text(json.dumps(history).replace(
            str(history["loss"][0]), "Infinity", 1))


@pytest.mark.parametrize("how", ["corrupt metrics", "metrics without keys", "missing probs",
                                 "probs of another shape", "short history", "infinite loss"])
def test_load_run_says_which_run_is_unreadable_and_how_to_fix_it(tmp_path, how):
    folder = save_run(make_run("model_2", seed=1), tmp_path)
    damage(folder, how)
    with pytest.raises(RunError) as raised:
        load_run(folder)
    message = str(raised.value)
    assert str(folder) in message and "unreadable" in message and "\n" not in message
    # The retrain command names the run where its metrics say which it is.
    named = "mnist-cnn train model_2 --seed 1" if "metrics" not in how else "mnist-cnn train"
    assert named in message


def test_load_run_of_a_missing_folder_says_to_train_it(tmp_path):
    with pytest.raises(RunError, match="no run at .*train it first"):
        load_run(tmp_path / "model_1" / "seed_0")


def test_find_runs_reads_only_the_folders_that_the_question_names(tmp_path):
    # model_2's run and a quick run of model_1 are unreadable: model_1's protocol runs are
    # found by their folders' names without reading either.
    protocol = save_run(make_run("model_1", seed=0), tmp_path)
    for run in (make_run("model_2", seed=0), make_run("model_1", seed=0, epochs=2)):
        (save_run(run, tmp_path) / "metrics.json").write_text("{")
    assert [run.path for run in find_runs(tmp_path, model="model_1")] == [protocol]
    for question in (dict(), dict(model="model_1", protocol=False)):
        with pytest.raises(RunError, match="unreadable"):
            find_runs(tmp_path, **question)


def test_run_folders_skip_staging_and_checkpoints(tmp_path):
    folder = save_run(make_run("model_1", seed=0), tmp_path)
    (tmp_path / "model_1" / ".seed_1.tmp-x").mkdir()
    (tmp_path / ".checkpoints" / "model_1" / "seed_2").mkdir(parents=True)
    assert run_folders(tmp_path) == [folder]


def test_recorded_run_is_the_one_rule_for_is_it_recorded(tmp_path):
    config = RunConfig("model_1", seed=3)
    assert recorded_run(config, tmp_path) is None
    save_run(make_run("model_1", seed=3), tmp_path)
    assert recorded_run(config, tmp_path).config == config
    assert recorded_run(RunConfig("model_1", seed=3, epochs=EPOCHS - 1), tmp_path) is None


def test_each_data_set_has_its_folder_and_never_mixes_into_anothers(tmp_path):
    fashion = RunConfig("model_2", seed=1, dataset="fashion-mnist")
    assert fashion.is_protocol and fashion.variant == ""
    assert run_dir(fashion, tmp_path) == tmp_path / "fashion-mnist" / "model_2" / "seed_1"
    assert retrain_hint(fashion) == "mnist-cnn train model_2 --seed 1 --dataset fashion-mnist"
    on_mnist = save_run(make_run("model_2", seed=1), tmp_path)
    on_fashion = save_run(make_run("model_2", seed=1, dataset="fashion-mnist"), tmp_path)
    assert on_mnist == tmp_path / "model_2" / "seed_1" and on_fashion == run_dir(fashion, tmp_path)
    assert [run.path for run in find_runs(tmp_path)] == [on_mnist]
    assert [run.path for run in find_runs(tmp_path, dataset="fashion-mnist")] == [on_fashion]
    assert recorded_run(fashion, tmp_path).path == on_fashion
    assert recorded_run(RunConfig("model_2", seed=1), tmp_path).path == on_mnist


def test_runs_recorded_before_the_data_set_was_a_setting_are_mnist_runs():
    values = RunConfig("model_5", seed=2).to_dict()
    del values["dataset"]  # as every metrics.json written before Fashion-MNIST holds it
    assert RunConfig.from_dict(values) == RunConfig("model_5", seed=2, dataset="mnist")
    with pytest.raises(ConfigError, match="unknown data set 'cifar10'"):
        RunConfig("model_5", dataset="cifar10")


OWN = dict(builder="models/mine.py:build")  # a user's model's function (never imported here)


def test_where_a_models_function_lives_is_no_setting_of_its_runs():
    here, there = RunConfig("mine", seed=2, **OWN), RunConfig("mine", seed=2, builder="b.py:f")
    assert here == there and hash(here) == hash(there)
    assert here.is_protocol and RunConfig("mine", epochs=1, **OWN).variant == "epochs1"
    assert here.to_dict()["builder"] == OWN["builder"]
    assert RunConfig.from_dict(here.to_dict()).builder == OWN["builder"]
    assert "builder" not in RunConfig("model_1").to_dict()  # the seven's records stay as they were
    assert RunConfig.from_dict(RunConfig("model_1").to_dict()) == RunConfig("model_1")


@pytest.mark.parametrize("settings, words", [
    (dict(model="mine"), ["unknown model 'mine'", "model_7", "--model PATH:FUNCTION --name NAME"]),
    (dict(model="model_3", **OWN), ["model_3", "one of the seven"]),
    (dict(model="My-Model", **OWN), ["not a plain name"]),
    (dict(model="mine", builder="mine.py"), ["names no function"]),
])
def test_a_users_model_needs_its_function_and_a_name_of_its_own(settings, words):
    with pytest.raises(MnistCnnError) as raised:
        RunConfig(**settings)
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_a_users_model_lives_in_its_data_sets_folder_on_mnist_too(tmp_path):
    mnist = RunConfig("mine", seed=1, **OWN)
    assert run_dir(mnist, tmp_path) == tmp_path / "mnist" / "mine" / "seed_1"
    fashion = RunConfig("mine", epochs=2, dataset="fashion-mnist", **OWN)
    assert run_dir(fashion, tmp_path) == tmp_path / "fashion-mnist" / "mine" / "epochs2" / "seed_0"
    assert retrain_hint(fashion) == ("mnist-cnn train --model models/mine.py:build --name mine "
                                     "--seed 0 --epochs 2 --dataset fashion-mnist")


def test_the_sevens_tables_never_pick_up_a_users_runs(tmp_path):
    for dataset in ("mnist", "fashion-mnist"):
        seven = save_run(make_run("model_1", seed=0, dataset=dataset), tmp_path)
        # A name that looks like the seven's folders: only MODEL_NAMES are the seven.
        mine = [save_run(make_run(name, seed=0, dataset=dataset, **OWN), tmp_path)
                for name in ("mine", "model_8")]
        assert [run.path for run in find_runs(tmp_path, dataset=dataset)] == [seven]
        assert [run.path for run in find_runs(tmp_path, protocol=False, dataset=dataset)] == [seven]
        assert [run.path for run in find_runs(tmp_path, model="mine", dataset=dataset)] == mine[:1]
        assert find_runs(tmp_path, model="model_8", dataset=dataset)[0].config.builder
        assert sorted(run_folders(tmp_path, dataset)) == sorted([seven, *mine])
        assert representatives(tmp_path, dataset=dataset)["model_1"][0].path == seven
    assert mine[0] == tmp_path / "fashion-mnist" / "mine" / "seed_0"


def test_a_users_model_name_keeps_the_architecture_of_its_first_run(tmp_path):
    first = make_run("mine", seed=0, **OWN)
    first.metrics["architecture"] = {"fingerprint": "a" * 64, "params": 1}
    save_run(first, tmp_path)
    recorded = architecture_file("mine", tmp_path)
    assert recorded == tmp_path / "mnist" / "mine" / "architecture.json"
    assert json.loads(recorded.read_text()) == first.metrics["architecture"]
    assert check_architecture("mine", {"fingerprint": "a" * 64}, tmp_path)
    assert not check_architecture("mine", {"fingerprint": "b" * 64}, tmp_path, "fashion-mnist")

    other = make_run("mine", seed=1, **OWN)
    other.metrics["architecture"] = {"fingerprint": "b" * 64, "params": 2}
    with pytest.raises(ArchitectureError, match=r"^mine names another architecture \(recorded in "
                       rf"{re.escape(str(recorded))}\): use a new --name$"):
        save_run(other, tmp_path)
    assert sorted(p.name for p in recorded.parent.iterdir()) == ["architecture.json", "seed_0"]


def test_a_history_list_with_an_epoch_not_recorded_is_not_complete():
    assert recorded_every_epoch([0.3, 0.2, 0.0]) and recorded_every_epoch([])
    assert not recorded_every_epoch([0.3, None, 0.1])


def test_seconds_per_epoch_is_the_median_of_the_epochs_timed():
    run = make_run("model_1")
    run.history["epoch_seconds"] = [30.0, None, 10.0, 12.0]
    assert run.seconds_per_epoch == 12.0
    run.history["epoch_seconds"] = [None] * 4
    assert run.seconds_per_epoch is None
