"""Check mnist_cnn/reference/original.json, the seed's logs and results parsed by scripts/parse_seed.py."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_cnn import runs

from helpers import import_script

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_JSON = REPO_ROOT / "mnist_cnn" / "reference" / "original.json"
SEED_TXT = REPO_ROOT.parent / "shared" / "seed" / "000_8f29f4150c7c6a03.txt"
PARSER = REPO_ROOT / "scripts" / "parse_seed.py"
# Three models' logs copied verbatim from SEED_TXT (see its first lines): committed, so the
# parser's repairs are tested in CI too, where ../shared does not exist.
EXCERPT = Path(__file__).resolve().parent / "data" / "original_excerpt.txt"

MODELS = [f"model_{i}" for i in range(1, 8)]
FIELDS = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds")

# The spec's "Reference results" table (shared/spec/study.md), the source of truth:
# model: (conv layers, test accuracy, test log loss, seed's total train s).
SPEC = {
    "model_1": (2, 0.9919999837875366, 0.032340202385733575, 2735),
    "model_2": (3, 0.9945999979972839, 0.025601864825535336, 17570),
    "model_3": (3, 0.994700014591217, 0.023077930994681084, 9222),
    "model_4": (5, 0.9940999746322632, 0.024979012705250353, 18845),
    "model_5": (5, 0.9958999752998352, 0.01890334000485018, 30149),
    "model_6": (7, 0.9959999918937683, 0.018550323320517783, 26958),
    "model_7": (7, 0.9962999820709229, 0.018387412990181474, 26293),
}
# The same table's short strings, as the seed's summary table prints them.
SPEC_SUMMARY = {
    "model_1": ("Two", "99.19%", "0.0323"),
    "model_2": ("Three", "99.45%", "0.0256"),
    "model_3": ("Three", "99.47%", "0.0230"),
    "model_4": ("Five", "99.40%", "0.0249"),
    "model_5": ("Five", "99.59%", "0.0189"),
    "model_6": ("Seven", "99.60%", "0.0186"),
    "model_7": ("Seven", "99.63%", "0.0183"),
}


@pytest.fixture(scope="module")
def seed():
    """Load the committed seed.json."""
    return json.loads(SEED_JSON.read_text(encoding="utf-8"))


def test_top_level_schema(seed):
    assert list(seed) == ["source", "generated_by", "protocol", "fixes", "models", "summary_table"]
    assert seed["generated_by"] == "scripts/parse_seed.py"
    # The original's code states the protocol that mnist_cnn.runs holds.
    assert seed["protocol"] == {"epochs": runs.EPOCHS, "batch_size": runs.BATCH_SIZE,
                                "optimizer": "Adam", "lr": runs.LEARNING_RATE,
                                "validation": "test set"}
    assert list(seed["models"]) == MODELS
    assert seed["fixes"] and all(isinstance(f, str) and f for f in seed["fixes"])


def test_known_garbled_fragment_is_recorded(seed):
    stray = [f for f in seed["fixes"] if f.startswith("model_7") and "0.0077" in f]
    assert len(stray) == 1 and "dropped" in stray[0]


@pytest.mark.parametrize("model", MODELS)
def test_thirty_sane_epochs(seed, model):
    entry = seed["models"][model]
    assert list(entry) == ["conv_layers", "history", "test_loss", "test_accuracy"]
    assert entry["conv_layers"] == SPEC[model][0]
    history = entry["history"]
    assert list(history) == list(FIELDS)
    for field in FIELDS:
        assert len(history[field]) == runs.EPOCHS, field
    for field in ("loss", "val_loss"):
        assert all(isinstance(v, float) and 0 < v < 10 for v in history[field]), field
    for field in ("accuracy", "val_accuracy"):
        assert all(isinstance(v, float) and 0 < v <= 1 for v in history[field]), field
    assert all(isinstance(s, int) and s > 0 for s in history["epoch_seconds"])


@pytest.mark.parametrize("model", MODELS)
def test_test_scores_match_spec(seed, model):
    _, accuracy, loss, _ = SPEC[model]
    assert seed["models"][model]["test_accuracy"] == accuracy
    assert seed["models"][model]["test_loss"] == loss


def printed_forms(value, decimals, suffix=""):
    """Return the value printed to the table's decimals, both rounded and truncated."""
    # The seed's table is hand-typed: some entries are rounded, others truncated
    # (e.g. 0.99199998 is printed 99.19%, but 0.99589998 is printed 99.59%).
    truncated = math.floor(value * 10**decimals) / 10**decimals
    return {f"{value:.{decimals}f}{suffix}", f"{truncated:.{decimals}f}{suffix}"}


@pytest.mark.parametrize("model", MODELS)
def test_summary_table_agrees(seed, model):
    rows = {row["model"]: row for row in seed["summary_table"]}
    assert list(rows) == MODELS
    row = rows[model]
    assert (row["conv_layers"], row["test_accuracy"], row["test_log_loss"]) == SPEC_SUMMARY[model]
    entry = seed["models"][model]
    assert row["test_accuracy"] in printed_forms(100 * entry["test_accuracy"], 2, "%")
    assert row["test_log_loss"] in printed_forms(entry["test_loss"], 4)


@pytest.mark.parametrize("model", MODELS)
def test_last_epoch_matches_evaluate(seed, model):
    # Validation data is the test set, so epoch 30's val metrics are evaluate()'s,
    # printed to 4 decimals.
    entry = seed["models"][model]
    assert abs(entry["history"]["val_loss"][-1] - entry["test_loss"]) <= 6e-4
    assert abs(entry["history"]["val_accuracy"][-1] - entry["test_accuracy"]) <= 6e-4


# The spec's model_3 total (9,222 s) also counts the duplicated, garbled start of epoch 7's
# progress line (295 s), which the parser drops as a copy; the other totals match as they are.
DUPLICATED_LINE_SECONDS = {"model_3": 295}


@pytest.mark.parametrize("model", MODELS)
def test_total_train_seconds_match_spec(seed, model):
    total = sum(seed["models"][model]["history"]["epoch_seconds"])
    expected = SPEC[model][3] - DUPLICATED_LINE_SECONDS.get(model, 0)
    assert abs(total - expected) <= 0.01 * expected


def test_parser_reproduces_committed_json(tmp_path):
    if not SEED_TXT.exists():
        pytest.skip(f"seed text not available at {SEED_TXT} (no ../shared checkout, e.g. in CI)")
    out = tmp_path / "seed.json"
    subprocess.run([sys.executable, str(PARSER), str(SEED_TXT), "--out", str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == SEED_JSON.read_bytes()


@pytest.fixture(scope="module")
def parser():
    """Import scripts/parse_seed.py (a script, not part of the package) from its path."""
    return import_script(PARSER)


@pytest.fixture(scope="module")
def excerpt(parser):
    """Return {model: its text, from its fit() cell to its printed test scores}."""
    text = EXCERPT.read_text(encoding="utf-8")
    fits = list(parser.FIT_RE.finditer(text))
    ends = [f.start() for f in fits[1:]] + [len(text)]
    return {f"model_{fit[1]}": text[fit.start():end] for fit, end in zip(fits, ends)}


# The repairs the parser must report for the excerpt: every damage kind it repairs except the
# repeated "Epoch k/30" header (model_4), which the excerpt leaves out.
EXCERPT_FIXES = {
    "model_1": [
        "model_1 epochs 8-22, 24-30: progress line wrapped after 'loss: 0.0' by PDF extraction;"
        " rejoined with its continuation line (epochs 8, 21 across a page break)",
        "model_1 epoch 23: progress line wrapped after 'loss: 0.' by PDF extraction;"
        " rejoined with its continuation line",
        "model_1 epochs 1-7: unescaped 'val\\_loss'/'val\\_accuracy' to 'val_loss'/'val_accuracy'",
    ],
    "model_3": [
        "model_3 epoch 7: the progress line's start was printed twice across a page break;"
        " dropped the copy '00000/00000 [-----] - 295s 5ms/step - loss: 0.'",
        "model_3 epochs 1-30: progress line wrapped after 'loss: 0.' by PDF extraction;"
        " rejoined with its continuation line (epochs 7, 20 across a page break)",
    ],
    "model_7": [
        "model_7 between epochs 6 and 7: dropped the stray fragment '0.0077 - accuracy: 0.9802"
        " - val_loss: 0.0370 - val_accuracy: 0.9900', which follows epoch 6's complete line and"
        " has no progress line or Epoch header of its own",
        "model_7 epochs 1-30: progress line wrapped after 'loss:' by PDF extraction;"
        " rejoined with its continuation line",
    ],
}
# Epochs whose lines carry the damage, read off the excerpt by eye:
# (model, epoch): (seconds, loss, accuracy, val_loss, val_accuracy).
REPAIRED_EPOCHS = {
    ("model_1", 1): (94, 0.2324, 0.9297, 0.0571, 0.9808),   # val\_loss, val\_accuracy
    ("model_1", 8): (89, 0.0297, 0.9905, 0.0307, 0.9908),   # "0.0" | page break | "297 - ..."
    ("model_1", 21): (89, 0.0135, 0.9954, 0.0295, 0.9927),  # cut, then two fences
    ("model_1", 23): (107, 0.0117, 0.9962, 0.0277, 0.9928),  # cut after "0." instead of "0.0"
    ("model_3", 7): (295, 0.0752, 0.9804, 0.0298, 0.9916),  # start printed twice, OCR-garbled
    ("model_7", 6): (836, 0.0877, 0.9782, 0.0378, 0.9909),  # followed by the stray fragment
    ("model_7", 7): (832, 0.0801, 0.9804, 0.0352, 0.9917),
}
EXCERPT_TEST_SCORES = {
    "model_1": (0.032340202385733575, 0.9919999837875366),
    "model_3": (0.023077930994681084, 0.994700014591217),
    "model_7": (0.018387412990181474, 0.9962999820709229),
}


def test_excerpt_holds_the_expected_models(excerpt):
    assert list(excerpt) == list(EXCERPT_FIXES)


@pytest.mark.parametrize("model", list(EXCERPT_FIXES))
def test_parser_repairs_the_excerpt(parser, excerpt, seed, model):
    history, fixes = parser.parse_log(model, excerpt[model].splitlines())
    assert fixes == EXCERPT_FIXES[model]
    for (name, epoch), values in REPAIRED_EPOCHS.items():
        if name == model:
            got = tuple(history[f][epoch - 1] for f in ("epoch_seconds", *parser.FIELDS))
            assert got == values, f"{model} epoch {epoch}"
    # The whole log, as the committed JSON (parsed from the full seed text) holds it.
    assert history == seed["models"][model]["history"]
    scores = parser.parse_test_scores(model, excerpt[model])
    assert (scores["test_loss"], scores["test_accuracy"]) == EXCERPT_TEST_SCORES[model]
    assert scores == {k: seed["models"][model][k] for k in ("test_loss", "test_accuracy")}


def test_excerpt_fixes_are_the_committed_ones(seed):
    # The excerpt's repairs are exactly what the full parse recorded for these models.
    committed = [f for f in seed["fixes"] if f.split()[0] in EXCERPT_FIXES]
    assert committed == sum(EXCERPT_FIXES.values(), [])


def test_excerpt_is_verbatim_from_the_seed(excerpt):
    if not SEED_TXT.exists():
        pytest.skip(f"seed text not available at {SEED_TXT} (no ../shared checkout, e.g. in CI)")
    text = SEED_TXT.read_text(encoding="utf-8")
    for model, segment in excerpt.items():
        assert segment in text, f"{model}'s excerpt differs from the seed text"
