"""Atomic writes (mnist_cnn.files): the old file or the new one, never half, and nothing left over."""

import json
import os
import stat

import pytest

from mnist_cnn import files


def names(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def umask_022():
    """Run the test under umask 022, the usual one, whatever this process had."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_write_text_creates_the_file_and_its_folders(tmp_path):
    path = tmp_path / "a" / "b" / "notes.txt"
    files.write_text(path, "first\n")
    assert path.read_text() == "first\n"
    assert names(path.parent) == ["notes.txt"]  # no temporary file beside it


def test_write_text_replaces_a_file_whole(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("an old text, longer than the new one\n")
    files.write_text(str(path), "new\n")  # a str path is taken too
    assert path.read_text() == "new\n"
    assert names(tmp_path) == ["notes.txt"]


def test_write_json_writes_indented_json_ending_in_a_newline(tmp_path):
    path = tmp_path / "metrics.json"
    obj = {"model": "model_1", "test_accuracy": 0.992, "seeds": [0, 1]}
    files.write_json(path, obj)
    text = path.read_text()
    assert text == json.dumps(obj, indent=1) + "\n"
    assert json.loads(text) == obj and '\n "model": "model_1",' in text


def test_the_temporary_file_is_hidden_beside_the_target_and_renamed_on_success(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("old\n")
    with files.atomic_path(path) as tmp:
        # Same folder, so that the rename is atomic; hidden, so that no listing of runs shows it.
        assert tmp.parent == tmp_path and tmp.name.startswith(".notes.txt.")
        assert tmp.name.endswith(".tmp") and tmp.exists()
        tmp.write_text("new\n")
        assert path.read_text() == "old\n"  # a reader meanwhile sees the old file whole
    assert path.read_text() == "new\n" and not tmp.exists()
    assert names(tmp_path) == ["notes.txt"]


def test_a_failure_in_the_middle_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="disk gone"):
        with files.atomic_path(path) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("disk gone")
    assert path.read_text() == "old\n"
    assert names(tmp_path) == ["notes.txt"]


def test_a_text_that_cannot_be_written_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("old\n")
    # A lone surrogate cannot be encoded: writing the temporary file fails.
    with pytest.raises(UnicodeEncodeError):
        files.write_text(path, "new " * 10_000 + "\ud800")
    assert path.read_text() == "old\n"
    assert names(tmp_path) == ["notes.txt"]


def test_an_interrupt_also_cleans_up_and_a_first_write_that_fails_leaves_no_file(tmp_path):
    path = tmp_path / "notes.txt"
    with pytest.raises(KeyboardInterrupt):  # not an Exception: Ctrl-C while saving a run
        with files.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert names(tmp_path) == []


def test_a_failure_after_the_temporary_file_is_gone_raises_the_failure_itself(tmp_path):
    path = tmp_path / "notes.txt"
    with pytest.raises(ValueError, match="the body's own"):
        with files.atomic_path(path) as tmp:
            tmp.unlink()
            raise ValueError("the body's own")
    assert names(tmp_path) == []


def test_json_that_cannot_be_written_leaves_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    files.write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        files.write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert names(tmp_path) == ["metrics.json"]


@pytest.mark.usefixtures("umask_022")
def test_the_new_file_gets_the_usual_permissions_not_the_temporary_files(tmp_path):
    path = tmp_path / "notes.txt"
    files.write_text(path, "new\n")
    # mkstemp makes 0600; a file written the ordinary way under umask 022 is 0644.
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.umask(0o022) == 0o022  # reading the umask left it as it was
