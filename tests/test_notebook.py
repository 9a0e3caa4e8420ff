"""The notebooks' helpers (`mnist_cnn.notebook`): the project folder, and which runs a section
notebook shows or trains (its notebooks run under nbval and in test_notebooks.py)."""

import pytest

from mnist_cnn import notebook, training
from mnist_cnn.notebook import PROJECT_MARKERS, project_root
from mnist_cnn.runs import RunConfig, save_run

from helpers import make_run


def test_the_project_folder_is_found_from_any_folder_inside_it(tmp_path):
    for marker in PROJECT_MARKERS:
        path = tmp_path / marker
        path.mkdir(parents=True) if not path.suffix else path.write_text("")
    inside = tmp_path / "notebooks" / "deeper"
    inside.mkdir(parents=True)
    assert project_root(inside) == tmp_path.resolve()
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    outside.mkdir()
    assert project_root(outside) == outside.resolve()  # no project: the folder itself


def test_collect_runs_prefers_recorded_protocol_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("trained"))
    save_run(make_run("model_3", seed=0, epochs=2), tmp_path)
    shown = notebook.collect_runs("model_3", results_dir=tmp_path)
    assert [run.config.epochs for run in shown.runs] == [2]
    assert "NOT the original protocol" in shown.note and "epochs2" in shown.note
    assert "mnist-cnn reproduce --models model_3" in shown.note

    for seed in (0, 2):
        save_run(make_run("model_3", seed=seed), tmp_path)
    shown = notebook.collect_runs("model_3", seeds=[0, 1], results_dir=tmp_path)
    assert [run.config.seed for run in shown.runs] == [0, 2]
    assert all(run.config.is_protocol for run in shown.runs)
    assert shown.note.startswith("Shown: the 2 runs of model_3 recorded under the original's "
                                 "protocol (seeds 0, 2), not retrained.")
    assert "not recorded yet: seed 1 (mnist-cnn reproduce" in shown.note
    save_run(make_run("model_5", seed=0), tmp_path)
    one = notebook.collect_runs("model_5", results_dir=tmp_path)
    assert one.note == ("Shown: the run of model_5 recorded under the original's protocol "
                        "(seed 0), not retrained.")


def test_collect_runs_trains_what_is_missing_or_asked_for(tmp_path, monkeypatch):
    trained = []

    def fake_train(config, *args, **kwargs):
        trained.append(config)
        return make_run(config.model, config.seed, epochs=config.epochs)

    monkeypatch.setattr(training, "train", fake_train)
    notebook.collect_runs("model_4", results_dir=tmp_path)  # nothing recorded at all
    assert trained == [RunConfig("model_4")]
    trained.clear()
    shown = notebook.collect_runs("model_4", epochs=1, subset=2000, seeds=[0, 1], retrain=True,
                                  results_dir=tmp_path)
    assert trained == [RunConfig("model_4", epochs=1, subset=2000, seed=s) for s in (0, 1)]
    assert shown.note.startswith("Showing 2 runs of model_4, trained now")
