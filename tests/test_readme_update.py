"""Check that a generated section replaces only the text between its markers, or nothing.

(tests/test_readme.py checks the committed README itself.)"""

import pytest

from mnist_cnn import MnistCnnError
from mnist_cnn.readme import README_MARKERS, update_readme


README = "# Title\n\nIntro.\n\n{start}\nold table\n{end}\n\n## After\n"


def test_update_readme_replaces_only_between_markers(tmp_path):
    start, end = README_MARKERS
    path = tmp_path / "README.md"
    path.write_text(README.format(start=start, end=end))
    assert update_readme(path, "| a |\n|---|\n| 1 |\n") is True
    text = path.read_text()
    assert text == f"# Title\n\nIntro.\n\n{start}\n\n| a |\n|---|\n| 1 |\n\n{end}\n\n## After\n"
    assert update_readme(path, "| a |\n|---|\n| 1 |") is False
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temporary files left


@pytest.mark.parametrize("text", ["# No markers\n", "{end}\n{start}\n",
                                  "{start}\n{start}\n{end}\n"])
def test_update_readme_needs_one_pair_of_markers(tmp_path, text):
    start, end = README_MARKERS
    path = tmp_path / "README.md"
    path.write_text(text.format(start=start, end=end))
    with pytest.raises(MnistCnnError, match="results:start"):
        update_readme(path, "| a |")
    assert path.read_text() == text.format(start=start, end=end)


def test_update_readme_reports_a_missing_file(tmp_path):
    with pytest.raises(MnistCnnError, match="cannot read"):
        update_readme(tmp_path / "missing.md", "| a |")
