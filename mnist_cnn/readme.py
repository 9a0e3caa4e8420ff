"""Generated sections of the README and docs/: the text between a pair of marker lines, replaced.

The markers of the results and cost tables and of the benchmark's summary live here; the answer's
and the findings' beside the code that writes them.
"""

from pathlib import Path

from . import MnistCnnError
from .files import write_text

README_MARKERS = ("<!-- results:start -->", "<!-- results:end -->")
COST_MARKERS = ("<!-- costs:start -->", "<!-- costs:end -->")
BENCH_MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")


class ReadmeError(MnistCnnError, ValueError):
    """A README that has no place marked for the results table."""


def update_readme(readme_path, markdown, markers=None):
    """Replace the text between two marker lines of `readme_path`; return whether it changed."""
    return update_readme_sections(readme_path, {markers or README_MARKERS: markdown})


def update_readme_sections(readme_path, sections):
    """Replace every marked section, or none on a bad marker; return whether it changed."""
    path = Path(readme_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ReadmeError(f"cannot read {path} ({e.strerror or e})") from None
    new = text
    for (start, end), markdown in sections.items():
        if new.count(start) != 1 or new.count(end) != 1 or new.index(start) > new.index(end):
            raise ReadmeError(f"{path} needs one {start} line and, after it, one {end} line "
                              f"around the place for the generated text")
        head, rest = new.split(start)
        tail = rest.split(end)[1]
        # Blank lines keep GitHub from reading the table as part of the HTML comment block.
        new = f"{head}{start}\n\n{markdown.strip()}\n\n{end}{tail}"
    if new == text:
        return False
    write_text(path, new)
    return True
