"""The original notebook's results: its parsed logs and summary table, loaded and checked.

Package data (mnist_cnn/reference/original.json, rebuilt by scripts/parse_seed.py); plain Python,
so every layer above reads the original's numbers from here (in a measure's unit:
`analysis.Measure.original`).
"""

import json
from pathlib import Path

from .models import MODEL_NAMES
from .runs import RunError

# The original notebook's parsed logs and summary table, package data (scripts/parse_seed.py).
ORIGINAL_REFERENCE = Path(__file__).resolve().parent / "reference" / "original.json"


def _check_reference(reference):
    """Raise ValueError unless `reference` holds every model's results and summary-table row."""
    printed = {row.get("model"): row for row in reference["summary_table"]}
    for name in MODEL_NAMES:
        if not {"history", "test_accuracy", "test_loss"} <= set(reference["models"].get(name, ())):
            raise ValueError(f"no results for {name}")
        if not {"conv_layers", "test_accuracy", "test_log_loss"} <= set(printed.get(name, ())):
            raise ValueError(f"no summary-table row for {name}")


def load_original(path=ORIGINAL_REFERENCE):
    """Return the original's parsed results (original.json); raise RunError if unreadable."""
    path = Path(path)
    try:
        reference = json.loads(path.read_text(encoding="utf-8"))
        _check_reference(reference)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else f"{type(e).__name__}: {e}"
        raise RunError(f"the original's results {path} are missing or unreadable ({reason}); "
                       f"restore it "
                       f"from git or rebuild it: python scripts/parse_seed.py") from None
    return reference
