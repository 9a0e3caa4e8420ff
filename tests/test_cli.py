"""The `mnist-cnn` command as a user runs it: real processes, exit codes, stderr, files."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_cnn.runs import EPOCHS, RunConfig, load_run, run_dir, save_run

from helpers import (fashion_labels_or_skip, heavy_modules_after, make_run, make_study,
                     write_checkpoint, write_own_models)

ROOT = Path(__file__).resolve().parents[1]


def mnist_cnn(*args, env=None, cwd=None):
    """Run the installed command line in a fresh process."""
    return subprocess.run([sys.executable, "-m", "mnist_cnn.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})})


def mnist_cnn_here(capsys, *args):
    """Run the command line in this process, returned as `mnist_cnn` returns it.

    For cases whose own process would add only TensorFlow's import; the exit code and the
    one-line error come from the same `main` as in a fresh process.
    """
    from mnist_cnn.cli import main

    capsys.readouterr()  # what the test printed before is not the command's
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit:  # argparse's errors
        code = exit.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def snapshot(folder):
    """Return every path under `folder` (to prove nothing was written)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A results folder holding one quick run of model_1, made through the CLI."""
    results = tmp_path_factory.mktemp("results")
    done = mnist_cnn("train", "model_1", "--epochs", 1, "--subset", 500, "--seed", 3,
                     "--results-dir", results)
    assert done.returncode == 0, done.stderr
    return results, results / "model_1" / "epochs1_subset500" / "seed_3"


def assert_clean_failure(done, *words):
    """Exit 2, one line on stderr naming `words`, no traceback."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mnist-cnn"), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.training
def test_train_records_a_run(recorded):
    results, folder = recorded
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["config"]["subset"] == 500 and metrics["config"]["seed"] == 3


BAD_INPUT = [
    (["train", "model_99"], ["model_99", "model_1", "model_7"]),
    (["train", "model_1", "--lr", "nan"], ["learning rate", "nan"]),
    (["train", "model_1", "--lr", "inf"], ["learning rate", "inf"]),
    (["reproduce", "--seeds", "-1"], ["seed", "-1"]),
    (["reproduce", "--models", "model_1", "--seeds", "0", "-1"], ["seed", "-1"]),
    (["reproduce", "--jobs", "0"], ["--jobs", "0"]),
    (["train", "model_1", "--epochs", "0"], ["epochs", "positive"]),
    (["train", "model_1", "--epochs", "-3"], ["epochs"]),
    (["train", "model_1", "--batch-size", "0"], ["batch size"]),
    (["train", "model_1", "--subset", "60001"], ["subset", "60,000"]),
    (["train", "model_1", "--subset", "0"], ["subset"]),
    (["train", "model_1", "--lr", "-1"], ["learning rate"]),
    (["train", "model_1", "--seed", "-1"], ["seed"]),
    (["train", "model_1", "--epochs", "many"], ["--epochs"]),
    (["train", "model_1", "model_8"], ["model_8"]),
    (["reproduce", "--models", "model_0"], ["model_0"]),
    (["summary", "model_42"], ["model_42"]),
    (["frobnicate"], ["frobnicate"]),
    (["train", "model_1", "--jobs", "0"], ["--jobs", "0"]),
]
# A model of one's own (--model, --name); {code} is the folder of helpers.OWN_MODELS.
OWN = "{code}/own_models.py:"
OWN_BAD_INPUT = [
    (["train", "--model", "missing.py:build", "--name", "mine"], ["no file /", "missing.py"]),
    (["train", "--model", "no_such_package_anywhere:build", "--name", "mine"],
     ["no module no_such_package_anywhere"]),
    (["train", "--model", OWN + "nope", "--name", "mine"], ["no function nope"]),
    (["train", "--model", OWN + "raises", "--name", "mine"], ["raised RuntimeError"]),
    (["train", "--model", OWN + "not_a_model", "--name", "mine"], ["not a Keras model"]),
    (["train", "--model", OWN + "wrong_input", "--name", "mine"], ["(None, 28, 28, 1)"]),
    (["train", "--model", OWN + "wrong_output", "--name", "mine"], ["(None, 5)"]),
    (["reproduce", "--model", OWN + "logits", "--name", "mine"], ["softmax"]),
    (["train", "--model", OWN + "build", "--name", "model_3"], ["model_3", "one of the seven"]),
    (["train", "--model", OWN + "build", "--name", "My-Model"], ["not a plain name"]),
    (["train", "--model", OWN + "build"], ["--model needs --name"]),
    (["reproduce", "--name", "mine"], ["--name mine", "--model PATH:FUNCTION"]),
    (["train", "model_1", "--model", OWN + "build", "--name", "mine"], ["leave out model_1"]),
    (["reproduce", "--models", "model_1", "model_4", "--model", OWN + "build", "--name", "mine"],
     ["leave out model_1 model_4"]),
    (["train"], ["train needs models", "--model PATH:FUNCTION --name NAME"]),
    (["train", "mine"], ["unknown model 'mine'", "--model PATH:FUNCTION --name NAME"]),
]


@pytest.fixture(scope="module")
def own_code(tmp_path_factory):
    """A folder (outside the tests' working folders) holding helpers.OWN_MODELS."""
    return write_own_models(tmp_path_factory.mktemp("code"))


@pytest.mark.parametrize("args, words", BAD_INPUT + OWN_BAD_INPUT)
def test_bad_input_fails_cleanly_and_writes_nothing(tmp_path, monkeypatch, capsys, own_code,
                                                    args, words):
    # In this process (a real process below), in an empty folder with the default
    # --results-dir (results/, relative to it), so that anything written shows up below.
    import mnist_cnn.cli

    args = [arg.format(code=own_code) for arg in args]
    monkeypatch.chdir(tmp_path)
    try:
        code = mnist_cnn.cli.main(args)
    except SystemExit as e:  # argparse's errors
        code = e.code
    captured = capsys.readouterr()
    done = subprocess.CompletedProcess(args, code, captured.out, captured.err)
    assert_clean_failure(done, *words)
    assert snapshot(tmp_path) == []


@pytest.mark.parametrize("args, words", [BAD_INPUT[0], BAD_INPUT[6], BAD_INPUT[13],
                                         OWN_BAD_INPUT[4]])
def test_bad_input_in_a_real_process(tmp_path, own_code, args, words):
    # OWN_BAD_INPUT[4]: the user's module imports Keras, whose chatter must not reach stderr.
    args = [arg.format(code=own_code) for arg in args]
    assert_clean_failure(mnist_cnn(*args, cwd=tmp_path), *words)
    assert snapshot(tmp_path) == []


README_WITHOUT_MARKERS = "# Results\n\nNo markers here.\n"
# The table's markers but not the cost table's or the findings': nothing may be rewritten either.
README_HALF_MARKED = ("# Results\n\n<!-- results:start -->\nold table\n<!-- results:end -->\n\n"
                      "## Findings\n\nold findings\n")


@pytest.mark.parametrize("text, words", [(README_WITHOUT_MARKERS, ["results:start"]),
                                         (README_HALF_MARKED, ["costs:start"])],
                         ids=["no markers", "only the table's markers"])
def test_update_readme_without_its_markers_leaves_it_untouched(tmp_path, text, words):
    readme = tmp_path / "README.md"
    readme.write_text(text, encoding="utf-8")
    before = readme.read_bytes()
    assert_clean_failure(mnist_cnn("table", "--update-readme", "README.md", cwd=tmp_path),
                         "README.md", *words)
    assert readme.read_bytes() == before
    assert snapshot(tmp_path) == ["README.md"]


def test_update_readme_reports_a_missing_readme(tmp_path):
    assert_clean_failure(mnist_cnn("table", "--update-readme", "README.md", cwd=tmp_path),
                         "README.md", "cannot read")
    assert snapshot(tmp_path) == []


def test_corrupt_data_file_fails_cleanly(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"\x00" * 100)
    env = {"MNIST_CNN_DATA": str(bad)}
    assert_clean_failure(mnist_cnn("data", env=env, cwd=tmp_path), str(bad))
    assert_clean_failure(mnist_cnn("train", "model_1", "--epochs", "1", env=env, cwd=tmp_path),
                         str(bad))
    # With worker processes too: the data is checked before any starts (or writes a log).
    assert_clean_failure(mnist_cnn("train", "model_1", "--epochs", "1", "--seed", "0", "1",
                                   "--jobs", "2", env=env, cwd=tmp_path), str(bad))
    assert snapshot(tmp_path) == ["mnist.npz"]


@pytest.mark.training
@pytest.mark.parametrize("damage", ["corrupt metrics", "missing probs", "short history"])
def test_damaged_run_fails_cleanly(recorded, tmp_path, damage):
    _, folder = recorded
    results = tmp_path / "results"
    copy = results / "model_1" / "seed_0"
    copy.mkdir(parents=True)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["config"].update(epochs=EPOCHS, subset=None, seed=0)  # pose as a protocol run
    (copy / "metrics.json").write_text(json.dumps(metrics))
    (copy / "history.json").write_bytes((folder / "history.json").read_bytes())
    (copy / "test_probs.npz").write_bytes((folder / "test_probs.npz").read_bytes())
    if damage == "corrupt metrics":
        (copy / "metrics.json").write_text('{"test_loss": 0.1,')
    elif damage == "missing probs":
        (copy / "test_probs.npz").unlink()
    # "short history": one epoch recorded where the config says EPOCHS.
    before = snapshot(tmp_path)
    for args in (["table"], ["reproduce", "--models", "model_1"], ["list"]):
        assert_clean_failure(mnist_cnn(*args, "--results-dir", "results", cwd=tmp_path),
                             str(copy.relative_to(tmp_path)), "retrain")
    assert snapshot(tmp_path) == before


# Synthetic protocol runs of model_1, seed: (test accuracy, test log loss).
PROTOCOL_RESULTS = {0: (0.9931, 0.0241), 2: (0.9941, 0.0263)}


@pytest.fixture
def protocol_results(tmp_path):
    """A results folder under tmp_path holding protocol runs of model_1 (seeds 0 and 2) and a
    quick run of model_2, which is not the protocol and so must not count as one."""
    results = tmp_path / "results"
    for seed, (accuracy, loss) in PROTOCOL_RESULTS.items():
        save_run(make_run("model_1", seed=seed, test_accuracy=accuracy, test_loss=loss), results)
    save_run(make_run("model_2", seed=0, epochs=1, subset=100), results)
    return results


def test_list_shows_the_seeds_of_each_models_protocol_runs(protocol_results, tmp_path):
    before = snapshot(tmp_path)
    listing = mnist_cnn("list", "--results-dir", "results", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["model", "conv", "layers", "protocol", "runs", "in", "results"]
    assert [line.split(None, 2) for line in lines[1:]] == [
        ["model_1", "2", "seeds 0, 2"], ["model_2", "3", "-"], ["model_3", "3", "-"],
        ["model_4", "5", "-"], ["model_5", "5", "-"], ["model_6", "7", "-"], ["model_7", "7", "-"]]
    assert snapshot(tmp_path) == before


def test_table_markdown_shows_the_protocol_runs_against_the_original(protocol_results, tmp_path):
    before = snapshot(tmp_path)
    table = mnist_cnn("table", "--markdown", "--results-dir", "results", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    rows = [" ".join(line.split()) for line in table.stdout.splitlines()
            if re.match(r"\| model_\d", line)]
    # model_1 by hand: accuracy mean (0.9931 + 0.9941) / 2 = 0.9936, sample std
    # 0.0005 * sqrt(2) = 0.000707; log loss mean 0.0252, std 0.0011 * sqrt(2) = 0.001556.
    # The original's log records 0.99199998 (9,920 images: 99.20%) and 0.03234: +0.16 pp and
    # -0.0071.
    assert rows[0] == ("| model_1 | 2 | 99.36 ± 0.07% | 99.20% | +0.16 pp | 0.0252 ± 0.0016 "
                       "| 0.0323 | -0.0071 | 2 |")
    # model_2's quick run is not the protocol: no run, as for the models that have none at all.
    assert rows[1] == "| model_2 | 3 | — | 99.46% | — | — | 0.0256 | — | no run |"
    assert len(rows) == 7 and all(row.endswith(" | no run |") for row in rows[1:])
    assert snapshot(tmp_path) == before


def test_summary_prints_the_layers_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    summary = mnist_cnn_here(capsys, "summary", "model_5")
    assert summary.returncode == 0, summary.stderr
    assert "Total params: 4,078,666" in summary.stdout
    assert snapshot(tmp_path) == []


@pytest.mark.training
def test_reproduce_skips_recorded_runs(recorded, tmp_path):
    _, folder = recorded
    target = tmp_path / "results" / "model_1" / "seed_0"
    target.mkdir(parents=True)
    # The quick run's files, stretched to the protocol's epochs, stand in for a full run: only the
    # skip logic is under test here.
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["config"].update(epochs=EPOCHS, subset=None, seed=0)
    history = json.loads((folder / "history.json").read_text())
    (target / "metrics.json").write_text(json.dumps(metrics))
    (target / "history.json").write_text(json.dumps({k: v * EPOCHS for k, v in history.items()}))
    (target / "test_probs.npz").write_bytes((folder / "test_probs.npz").read_bytes())
    done = mnist_cnn("reproduce", "--models", "model_1", "--seeds", "0",
                     "--results-dir", tmp_path / "results")
    assert done.returncode == 0, done.stderr
    assert "up to date: model_1 seed 0" in done.stdout


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training and MNIST with fakes; return the list of configs `train` was called for.

    The fake `train` records a synthetic run of its config (test accuracy 0.5) as the real one
    would; the study's plan, its in-process executor and the CLI are the real ones.
    """
    import mnist_cnn.data
    import mnist_cnn.training

    calls = []

    def fake_train(config, data=None, *, results_dir, **how):
        assert data == "the MNIST arrays"  # what the CLI loaded, passed through
        calls.append(config)
        settings = {key: value for key, value in config.to_dict().items()
                    if key not in ("model", "seed")}
        run = make_run(config.model, seed=config.seed, test_accuracy=0.5, test_loss=0.5,
                       **settings)
        save_run(run, results_dir)
        return run

    monkeypatch.setattr(mnist_cnn.training, "train", fake_train)
    monkeypatch.setattr(mnist_cnn.data, "load_dataset", lambda name: "the MNIST arrays")
    return calls


def test_reproduce_trains_the_five_seed_study_by_default(fake_training, tmp_path):
    from mnist_cnn.cli import main

    results = tmp_path / "results"
    save_run(make_run("model_1", seed=2, test_accuracy=0.99, test_loss=0.03), results)
    assert main(["reproduce", "--models", "model_1", "--results-dir", str(results)]) == 0
    assert fake_training == [RunConfig("model_1", seed=s) for s in (0, 1, 3, 4)]


def make_reproduce_commands(*variables):
    """Return the commands `make reproduce` would run with these VARIABLE=value settings."""
    make = ["make", "-n", "-C", str(Path(__file__).resolve().parents[1]), "reproduce"]
    return subprocess.run([*make, *variables], capture_output=True, text=True, check=True).stdout


def test_make_reproduce_leaves_the_seeds_to_the_command_unless_asked():
    default, chosen = make_reproduce_commands(), make_reproduce_commands("SEEDS=5 6")
    assert "mnist-cnn reproduce" in default and "--seeds" not in default
    assert "--seeds 5 6" in chosen


def test_reproduce_reuses_a_recorded_run_and_retrains_it_only_when_asked(fake_training, tmp_path,
                                                                       capsys):
    from mnist_cnn.cli import main

    results = tmp_path / "results"
    folder = save_run(make_run("model_1", seed=0, test_accuracy=0.99, test_loss=0.03), results)
    reproduce = ["reproduce", "--models", "model_1", "--results-dir", str(results)]

    assert main([*reproduce, "--seeds", "0", "1"]) == 0
    assert fake_training == [RunConfig("model_1", seed=1)]  # seed 0 is recorded: reused
    assert load_run(folder).test_accuracy == 0.99
    out = capsys.readouterr().out
    assert "up to date: model_1 seed 0" in out
    assert "== model_1 seed 0: test accuracy 0.9900" in out
    assert "== model_1 seed 1: test accuracy 0.5000" in out

    fake_training.clear()
    assert main([*reproduce, "--seeds", "0", "--retrain"]) == 0
    assert fake_training == [RunConfig("model_1", seed=0)]
    assert load_run(folder).test_accuracy == 0.5
    assert "== model_1 seed 0: test accuracy 0.5000" in capsys.readouterr().out


@pytest.mark.training
def test_interrupted_train_resumes_from_its_checkpoint(tmp_path):
    results = tmp_path / "results"
    # No validation: 10,000 test images an epoch would cost more than the epochs themselves.
    args = ["train", "model_1", "--epochs", "3", "--subset", "2000", "--batch-size", "32",
            "--validation", "none", "--results-dir", results]
    config = RunConfig("model_1", epochs=3, subset=2000, batch_size=32, validation="none")
    checkpoints = results / ".checkpoints"
    log = tmp_path / "interrupted.log"
    with open(log, "w") as out:
        # SIGINT at its default in the child even where the test runner ignores it (a
        # background job does), so that Python turns it into KeyboardInterrupt.
        worker = subprocess.Popen([sys.executable, "-m", "mnist_cnn.cli", *map(str, args)],
                                  stdout=out, stderr=subprocess.STDOUT,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not list(checkpoints.rglob("state.json")):  # the first epoch is done
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no checkpoint after 120 s:\n" + log.read_text()
            time.sleep(0.1)
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    text = log.read_text()
    assert worker.returncode == 130, text
    assert ("mnist-cnn: interrupted; run the same command again to resume from the last "
            "finished epoch") in text
    assert "Traceback" not in text
    assert not (results / "model_1").exists()  # no run recorded, not even a partial one
    assert len(list(checkpoints.rglob("state.json"))) == 1

    done = mnist_cnn(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = re.search(r"resuming model_1 seed 0 after epoch (\d)/3", done.stdout)
    assert resumed and resumed.group(1) in ("1", "2"), done.stdout
    run = load_run(run_dir(config, results))
    assert run.config == config and len(run.history["loss"]) == 3
    assert run.metrics["resumed_after_epoch"] == int(resumed.group(1))
    assert not checkpoints.exists()  # deleted once the run is saved


@pytest.mark.training
def test_plot_writes_small_figures(recorded, tmp_path):
    results, _ = recorded
    done = mnist_cnn("plot", "--results-dir", results, "--figures-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["loss_model_1.png", "sample_digits.png", "tradeoff.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size < 150_000
               for p in tmp_path.iterdir())


def test_list_table_and_plot_show_the_data_set_asked_for(protocol_results, tmp_path):
    labels = fashion_labels_or_skip()
    for seed, accuracy in enumerate((0.9301, 0.9321)):
        save_run(make_run("model_2", seed, accuracy, 0.25, labels, dataset="fashion-mnist"),
                 protocol_results)
    before = snapshot(protocol_results)
    fashion = ("--dataset", "fashion-mnist", "--results-dir", "results")
    listing = mnist_cnn("list", *fashion, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].endswith("protocol runs in results/fashion-mnist")
    assert [line.split(None, 2)[2] for line in lines[1:3]] == ["-", "seeds 0, 1"]
    table = mnist_cnn("table", "--markdown", *fashion, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    rows = [" ".join(line.split()) for line in table.stdout.splitlines()
            if re.match(r"\| (Model|model_[12]) ", line)]
    # model_2 by hand: mean (0.9301 + 0.9321) / 2 = 93.11%, sample std 0.001 * sqrt(2) = 0.14 pp;
    # the original never trained on Fashion-MNIST, so no column of its values.
    assert rows == ["| Model | Conv layers | Test accuracy | Test log loss | Seeds |",
                    "| model_1 | 2 | — | — | no run |",
                    "| model_2 | 3 | 93.11 ± 0.14% | 0.2500 ± 0.0000 | 2 |"]
    mnist = mnist_cnn("table", "--results-dir", "results", cwd=tmp_path)
    assert "93.11" not in mnist.stdout and "Original accuracy" in mnist.stdout
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    refused = mnist_cnn("table", "--update-readme", "README.md", *fashion, cwd=tmp_path)
    assert_clean_failure(refused, "--update-readme", "--dataset")
    assert readme.read_text() == "no markers\n"
    figures = tmp_path / "figures"
    plot = mnist_cnn("plot", "--figures-dir", figures, *fashion, cwd=tmp_path)
    assert plot.returncode == 0, plot.stderr
    assert [p.name for p in figures.iterdir()] == ["fashion-mnist"]
    assert sorted(p.name for p in (figures / "fashion-mnist").iterdir()) == [
        "loss_model_2.png", "sample_images.png", "tradeoff.png"]
    assert snapshot(protocol_results) == before


@pytest.mark.parametrize("args", [["--help"], ["list"], ["table"], ["bench", "--help"],
                                  ["plot", "--figures-dir", "figures"]])
def test_light_commands_do_not_import_tensorflow(args, tmp_path):
    done, heavy = heavy_modules_after(
        args, ("tensorflow", "keras", "torch", "mnist_cnn.speed.bench"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert heavy == [], done.stderr


# `reproduce` says what it will train, and for how long, before it trains. The synthetic runs
# are recorded on make_run's device; its per-run median s/epoch is 10 + seed.
THIS_MACHINE = "CPU: test (2 cores)"


@pytest.fixture
def reproduce(fake_training, monkeypatch, tmp_path, capsys):
    """Run `mnist-cnn reproduce ARGS` in process on THIS_MACHINE, with no benchmark unless a
    test writes tmp_path/bench.json; return the lines it printed."""
    import mnist_cnn.cli
    import mnist_cnn.plan

    monkeypatch.setattr(mnist_cnn.plan, "machine_name", lambda: THIS_MACHINE)
    # whose kernel library is unknown (as off x86), like the made-up runs it reads
    monkeypatch.setattr(mnist_cnn.plan, "tensorflow_cpu_kernels", lambda: None)
    monkeypatch.setattr(mnist_cnn.plan, "BENCH_JSON", tmp_path / "bench.json")

    def run(*args):
        code = mnist_cnn.cli.main(["reproduce", *map(str, args),
                                   "--results-dir", str(tmp_path / "results")])
        assert code == 0
        return capsys.readouterr().out.splitlines()
    return run


@pytest.fixture
def timed_results(tmp_path):
    """Runs recorded on THIS_MACHINE: model_1 seeds 0 and 4 (10 and 14 s/epoch: median 12) and
    a 3-epoch variant of model_3 (seed 2: 12 s/epoch); and a model_3 run from another machine,
    at 100 s/epoch, that no estimate may use."""
    results = tmp_path / "results"
    for run in (make_run("model_1", seed=0), make_run("model_1", seed=4),
                make_run("model_3", seed=2, epochs=3)):
        save_run(run, results)
    elsewhere = make_run("model_3", seed=3)
    elsewhere.metrics["device"] = "GPU: elsewhere"
    elsewhere.history["epoch_seconds"] = [100.0] * EPOCHS
    save_run(elsewhere, results)
    return results


def test_reproduce_plan_counts_names_and_times_the_missing_runs(timed_results, reproduce,
                                                                 fake_training):
    out = reproduce("--models", "model_1", "model_3", "--seeds", 0, 1)
    # model_1 seed 1: 30 epochs x 12 s = 360 s; model_3 seeds 0 and 1: 2 x 30 x 12 s = 720 s.
    assert out[:2] == [
        "1 of 4 runs recorded; 3 to train: model_3 seed 0, model_1 seed 1, model_3 seed 1",
        "time to train: about 18 min on this machine (CPU: test (2 cores)), "
        "from the recorded runs' s/epoch"]
    assert fake_training == [RunConfig("model_3", seed=0), RunConfig("model_1", seed=1),
                             RunConfig("model_3", seed=1)]  # seed by seed


def test_reproduce_plan_with_nothing_missing_or_with_retrain(timed_results, reproduce,
                                                            fake_training):
    out = reproduce("--models", "model_1", "--seeds", 0, 4)
    assert out[0] == "all 2 runs recorded; nothing to train"
    assert "up to date: model_1 seed 0" in out[1] and fake_training == []
    out = reproduce("--models", "model_1", "--seeds", 0, 1, "--retrain")
    assert out[:2] == ["1 of 2 runs recorded; retraining all 2: model_1 seed 0, model_1 seed 1",
                       "time to train: about 12 min on this machine (CPU: test (2 cores)), "
                       "from the recorded runs' s/epoch"]


def test_reproduce_plan_subtracts_the_epochs_a_checkpoint_has_done(timed_results, reproduce):
    write_checkpoint(RunConfig("model_1", seed=1), timed_results, 12)
    out = reproduce("--models", "model_1", "--seeds", 1)
    # 30 - 12 = 18 epochs left, at 12 s: 216 s.
    assert out[:2] == ["0 of 1 run recorded; 1 to train: model_1 seed 1 (resumes after epoch 12)",
                       "time to train: about 4 min on this machine (CPU: test (2 cores)), "
                       "from the recorded runs' s/epoch"]


def test_reproduce_plan_says_unknown_without_runs_or_a_benchmark_of_this_machine(
        timed_results, reproduce, monkeypatch, tmp_path):
    import mnist_cnn.plan

    # A benchmark of another machine (THIS_MACHINE, not this one) does not apply either.
    (tmp_path / "bench.json").write_text(json.dumps(
        {"machine": {"cpu": "test", "cores": 2}, "settings": {"batch_size": 128},
         "results": [{"model": "model_1", "precision": "fp32", "ours_ms_per_step": 1.0}]}))
    monkeypatch.setattr(mnist_cnn.plan, "machine_name", lambda: "CPU: test (64 cores)")
    out = reproduce("--models", "model_1", "model_3", "--seeds", 1)
    assert out[:2] == ["0 of 2 runs recorded; 2 to train: model_1 seed 1, model_3 seed 1",
                       "time to train: unknown on this machine (CPU: test (64 cores)): no run of "
                       "these models recorded or benchmarked on it"]


def test_reproduce_plan_falls_back_to_a_benchmark_of_this_machine(timed_results, reproduce,
                                                                  tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(
        {"machine": {"cpu": "test", "cores": 2}, "settings": {"batch_size": 128},
         "results": [{"model": "model_5", "precision": "fp32", "ours_ms_per_step": 100.0},
                     {"model": "model_5", "precision": "bf16", "ours_ms_per_step": 1.0}]}))
    out = reproduce("--models", "model_1", "model_5", "--seeds", 1)
    # model_5: 100 ms x (469 training steps + 79 validation batches / 3) = 49.53 s/epoch,
    # x 30 = 1486 s; with model_1's 360 s: 1846 s.
    assert out[1] == (
        f"time to train: about 31 min on this machine (CPU: test (2 cores)), "
        f"from the recorded runs' s/epoch and {bench.as_posix()}'s ms/step")


def test_reproduce_plan_scales_the_nearest_model_by_training_flops(timed_results, reproduce):
    from mnist_cnn.analysis import load_costs

    flops = {name: cost["train_flops_per_image"] for name, cost in load_costs().items()}
    # model_7's FLOPs are nearer model_3's than model_1's, so model_3's run on this machine
    # (12 s/epoch) is scaled, not model_1's; the run of model_3 elsewhere (100 s) is not used,
    # nor is a subset run of model_6 (model_7's FLOPs exactly): subset runs only stand in for
    # their own model.
    assert flops["model_1"] < flops["model_3"] < flops["model_7"] == flops["model_6"]
    save_run(make_run("model_6", seed=2, epochs=3, subset=1280), timed_results)
    expected = 30 * 12.0 * flops["model_7"] / flops["model_3"]
    assert reproduce("--models", "model_7", "--seeds", 1)[1] == (
        f"time to train: about {expected / 60:.0f} min on this machine (CPU: test (2 cores)), "
        "from model_3's s/epoch scaled by training FLOPs")


def test_reproduce_plan_scales_a_subset_run_to_the_full_training_set(reproduce, tmp_path):
    # 3 epochs on 1,280 images with validation: 10 training steps + 79/3 for validation; the
    # protocol's epoch is 469 + 79/3 steps, 13.6 times the work: 12 s -> 163.6 s/epoch,
    # x 30 epochs = 4908 s; for two seeds 9816 s = 2.7 h.
    save_run(make_run("model_2", seed=2, epochs=3, subset=1280), tmp_path / "results")
    assert reproduce("--models", "model_2", "--seeds", 0, 1)[1] == (
        "time to train: about 2.7 h on this machine (CPU: test (2 cores)), "
        "from subset runs' s/epoch scaled to 60,000 images")
    # Now that (fake) training recorded seeds 0 and 1 on the full set (10 and 11 s/epoch), their
    # median is the estimate, not the subset run: 10.5 s x 30 = 315 s.
    assert reproduce("--models", "model_2", "--seeds", 3)[1] == (
        "time to train: about 5 min on this machine (CPU: test (2 cores)), "
        "from the recorded runs' s/epoch")


@pytest.mark.parametrize("command", [["reproduce", "--models", "model_1", "--seeds", "0"],
                                     ["train", "model_1"]])
@pytest.mark.parametrize("terminal, verbose", [(True, 1), (False, 2)],
                         ids=["terminal", "log file"])
def test_training_shows_a_progress_bar_only_on_a_terminal(fake_training, monkeypatch, tmp_path,
                                                          command, terminal, verbose):
    import mnist_cnn.training
    from mnist_cnn.cli import main

    fake, seen = mnist_cnn.training.train, []

    def spy(config, data=None, **how):
        seen.append(how["verbose"])
        return fake(config, data, **how)

    monkeypatch.setattr(mnist_cnn.training, "train", spy)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    assert main([*command, "--results-dir", str(tmp_path / "results")]) == 0
    assert seen == [verbose]


def test_corrupt_fashion_mnist_fails_cleanly(tmp_path):
    bad = tmp_path / "fashion.npz"
    bad.write_bytes(b"\x00" * 100)
    env = {"MNIST_CNN_FASHION_MNIST_DATA": str(bad)}
    assert_clean_failure(mnist_cnn("data", "--dataset", "fashion-mnist", env=env, cwd=tmp_path),
                         str(bad))
    assert_clean_failure(mnist_cnn("train", "model_1", "--epochs", "1", "--dataset",
                                   "fashion-mnist", env=env, cwd=tmp_path), str(bad))
    assert snapshot(tmp_path) == ["fashion.npz"]


def test_make_reproduce_runs_the_data_set_asked_for():
    default, fashion = make_reproduce_commands(), make_reproduce_commands("DATASET=fashion-mnist")
    assert "mnist-cnn reproduce --dataset mnist" in default and "fashion-mnist" not in default
    assert "mnist-cnn reproduce --dataset fashion-mnist" in fashion
    assert "mnist-cnn data --dataset fashion-mnist" in fashion  # installed and verified first


@pytest.mark.training
def test_the_example_trains_under_its_name_and_a_name_keeps_its_architecture(tmp_path, own_code,
                                                                             capsys):
    # The example of docs/compare_your_model.md, as its commands give it, on a short subset.
    results = tmp_path / "results"
    own = ["--model", "examples/batchnorm_model_1.py:build", "--name", "model_1_bn"]
    done = mnist_cnn("train", *own, "--epochs", 1, "--subset", 256, "--results-dir", results,
                     cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = results / "mnist" / "model_1_bn" / "epochs1_subset256" / "seed_0"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["config"]["builder"] == f"{ROOT}/examples/batchnorm_model_1.py:build"
    architecture = json.loads((results / "mnist" / "model_1_bn" / "architecture.json").read_text())
    assert metrics["architecture"] == architecture and architecture["conv_layers"] == 2
    assert architecture["keras_config"]["layers"][2]["class_name"] == "BatchNormalization"
    assert not list(results.glob("model_*"))  # not among the seven's MNIST folders

    # Another function under the same name: refused before training, nothing written.
    before = snapshot(tmp_path)
    for command in (["train", "--epochs", 1, "--subset", 256], ["reproduce"]):
        done = mnist_cnn_here(capsys, *command, "--model", own_code / "own_models.py:build",
                              "--name", "model_1_bn", "--results-dir", results)
        assert_clean_failure(done, "model_1_bn names another architecture (recorded in "
                             f"{results}/mnist/model_1_bn/architecture.json): use a new --name")
    assert snapshot(tmp_path) == before


@pytest.mark.training
def test_jobs_train_an_own_model_in_concurrent_workers(own_code, tmp_path):
    # A path relative to the working folder, made absolute for the workers.
    code = tmp_path / "code"
    code.mkdir()
    (code / "own_models.py").write_text((own_code / "own_models.py").read_text())
    done = mnist_cnn("train", "--model", "own_models.py:build", "--name", "tiny", "--epochs", 1,
                     "--subset", 128, "--seed", 0, 1, "--jobs", 2, "--results-dir", "results",
                     cwd=code)
    assert done.returncode == 0, done.stdout + done.stderr
    for seed in (0, 1):
        run = load_run(code / "results" / "mnist" / "tiny" / "epochs1_subset128" / f"seed_{seed}")
        assert run.config.builder == f"{code}/own_models.py:build"
        assert run.metrics["architecture"]["conv_layers"] == 1
        # One line per finished run: its results, the worker process that trained it, minutes.
        assert re.search(rf"^== tiny seed {seed}, epochs1_subset128: test accuracy .* "
                         r"\(worker \d+, \d+\.\d min: \d+ s to \d+ s\)$", done.stdout, re.M), \
            done.stdout
    assert "== study: 2 of 2 runs recorded" in done.stdout  # the study's state after the last
    assert len(list((code / "results" / ".logs").glob("*.log"))) == 2


def test_reproduce_trains_an_own_model_and_times_it_by_its_flops(timed_results, reproduce,
                                                                 fake_training, own_code):
    spec = f"{own_code}/own_models.py:build"
    other = make_run("other", seed=0, builder=spec)  # a user's run: no FLOPs of its own known
    save_run(other, timed_results)
    lines = reproduce("--model", spec, "--name", "tiny", "--seeds", 0, 1)
    assert lines[0] == "0 of 2 runs recorded; 2 to train: tiny seed 0, tiny seed 1"
    assert lines[1].startswith("time to train: about ") and lines[1].endswith(
        "from model_1's s/epoch scaled by training FLOPs")
    assert fake_training == [RunConfig("tiny", seed=seed, builder=spec) for seed in (0, 1)]
    assert all(config.builder == spec for config in fake_training)


# `findings --models`: two of the seven, three seeds each, beside a user's model with two.
COMPARED = {"model_1": (0.9920, 0.9922, 0.9925), "model_4": (0.9955, 0.9952, 0.9958),
            "model_1_bn": (0.9960, 0.9962)}


@pytest.fixture(scope="module")
def compared_results(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("compared"), COMPARED)


def test_findings_models_compares_a_users_model_with_the_seven_without_tensorflow(
        compared_results):
    done, heavy = heavy_modules_after(["findings", "--models", "model_1", "model_1_bn",
                                       "--json", "--results-dir", compared_results],
                                      ("tensorflow", "keras", "jax"))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert heavy == []
    answer = json.loads(done.stdout)
    assert set(answer) == {"dataset", "runs", "margins", "models", "pairs"}
    assert [(m["name"], m["seeds"], m["fewer_seeds"]) for m in answer["models"]] == [
        ("model_1", 3, False), ("model_1_bn", 2, True)]
    # model_1_bn is 0.39 pp above model_1 in every seed: model_1 is worse on both measures.
    assert [(p["measure"], p["a"], p["b"], p["relation"]) for p in answer["pairs"]] == [
        ("accuracy", "model_1", "model_1_bn", "worse"),
        ("log_loss", "model_1", "model_1_bn", "worse")]


def test_findings_models_in_words_names_each_model_and_its_seeds(compared_results, capsys):
    done = mnist_cnn_here(capsys, "findings", "--models", "model_4", "model_1_bn", "model_1",
                          "--results-dir", compared_results)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Compared on MNIST, over their protocol runs: model_1 (3 seeds: "
                                  "0–2), model_4 (3 seeds: 0–2) and model_1_bn (2 seeds: 0, 1).")
    assert "model_1_bn (2) has fewer seeds than model_1 and model_4 (3 each)" in done.stdout
    assert "| model_1 − model_1_bn " in done.stdout and "**Test log loss.**" in done.stdout


@pytest.mark.parametrize("names, words", [
    (["model_1", "model_1_bn", "model_1"], ["--models names model_1 twice"]),
    (["model_1_bn"], ["two models or more", "model_1, model_4"]),
    (["model_1", "mine"], ["no MNIST protocol runs of mine",
                           "(model_1, model_4, model_1_bn)", "--name NAME"]),
    (["model_1", "model_1_bn", "--dataset", "fashion-mnist"],
     ["no Fashion-MNIST protocol runs", "--dataset fashion-mnist"]),
])
def test_findings_models_bad_input_fails_cleanly_and_writes_nothing(compared_results, capsys,
                                                                    names, words):
    before = snapshot(compared_results)
    for json_option in ([], ["--json"]):
        done = mnist_cnn_here(capsys, "findings", "--models", *names, *json_option,
                              "--results-dir", compared_results)
        assert_clean_failure(done, *words)
        assert done.stdout == ""
    assert snapshot(compared_results) == before


def test_findings_models_bad_input_in_a_real_process(compared_results, tmp_path):
    done = mnist_cnn("findings", "--models", "model_1", "--results-dir", compared_results,
                     cwd=tmp_path)
    assert_clean_failure(done, "two models or more")
    assert done.stdout == "" and snapshot(tmp_path) == []
