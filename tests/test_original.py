"""Check the reading of the original's results (original.json) and its refusal of a broken file."""

import pytest

from mnist_cnn.models import MODEL_NAMES
from mnist_cnn.original import load_original
from mnist_cnn.runs import RunError


def test_load_original_reads_the_committed_file():
    reference = load_original()
    assert list(reference["models"]) == list(MODEL_NAMES)


@pytest.mark.parametrize("content", [None, "{not json", "[]",
                                     '{"models": {}, "summary_table": []}'])
def test_load_original_rejects_missing_or_corrupt_files(tmp_path, content):
    path = tmp_path / "original.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RunError, match="parse_seed.py"):
        load_original(path)
