"""Extract the original notebook's reference numbers into mnist_cnn/reference/original.json.

The seed is the original Keras notebook, printed to PDF and extracted to text. It holds the
per-epoch training logs of seven CNNs (model_1..model_7, 30 epochs each), the test loss and
accuracy printed after each model, and a closing summary table. PDF extraction damaged the logs:
numbers wrapped across lines, `\\_` escapes, code-fence page breaks in the middle of a line, a
repeated or garbled line start, and one stray fragment. This script repairs what it can prove is
damage, records every repair under "fixes", and refuses (exit 2) to write anything when a model's
log or results are incomplete.

Usage (from the repository root):
    python scripts/parse_seed.py [SEED_TXT] [--out mnist_cnn/reference/original.json]
"""

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from mnist_cnn.models import CONV_LAYERS, MODEL_NAMES
from mnist_cnn.runs import BATCH_SIZE, EPOCHS, LEARNING_RATE

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEED = REPO_ROOT.parent / "shared" / "seed" / "000_8f29f4150c7c6a03.txt"
DEFAULT_OUT = REPO_ROOT / "mnist_cnn" / "reference" / "original.json"

MODELS = list(MODEL_NAMES)
# The summary table spells the layer counts out; used to cross-check CONV_LAYERS.
COUNT_WORDS = {"Two": 2, "Three": 3, "Five": 5, "Seven": 7}
# The original's code states the protocol that mnist_cnn.runs holds (batch_size, epochs,
# Adam's learning rate, validation_data=(x_test, y_test)); the same for all seven models.
PROTOCOL = {"epochs": EPOCHS, "batch_size": BATCH_SIZE, "optimizer": "Adam", "lr": LEARNING_RATE,
            "validation": "test set"}
FIELDS = ("loss", "accuracy", "val_loss", "val_accuracy")

# Each model's log follows its own `M<n>_history = model<n>.fit(` cell; the next one ends it.
FIT_RE = re.compile(r"^M(\d)_history = model(\d)\.fit\(", re.M)
EPOCH_RE = re.compile(r"^Epoch (\d+)/(\d+)$")
# The start of a Keras progress line, even when OCR mangled the digits ("00000/00000 [-----]").
PROGRESS_START_RE = re.compile(r"^\S+/\S+ \[[=\-]+\]")
INTACT_START_RE = re.compile(r"^60000/60000 \[=+\]")
# Keras prints every metric with exactly 4 decimals; demanding them means a line cut inside
# its last number ("val_accuracy: 0.99") is never mistaken for a complete one.
NUM = r"(\d+\.\d{4})"
RECORD_RE = re.compile(
    r" - (\d+)s \d+ms/step - loss:\s*" + NUM + r" - accuracy:\s*" + NUM
    + r" - val_loss:\s*" + NUM + r" - val_accuracy:\s*" + NUM + r"$")
TEST_RE = {
    "test_loss": re.compile(r"^[ \t]*Test loss:[ \t]*(\d\S*)[ \t]*$", re.M),
    "test_accuracy": re.compile(r"^[ \t]*Test accuracy:[ \t]*(\d\S*)[ \t]*$", re.M),
}
ADD_ROW_RE = re.compile(
    r'x\.add_row\(\[\s*"Model (\d)"\s*,\s*"(\w+)"\s*,\s*"([\d.]+%)"\s*,\s*"([\d.]+)"\s*\]\)')
# A row of the printed PrettyTable; its closing "|" was wrapped onto the next line.
PRINTED_ROW_RE = re.compile(
    r"^\|\s*Model (\d)\s*\|\s*(\w+)\s*\|\s*([\d.]+%)\s*\|\s*([\d.]+)\s*\|?\s*$", re.M)


class SeedError(Exception):
    """A defect in the seed text that the parser cannot repair safely."""


def epoch_list(epochs):
    """Format epoch numbers compactly, e.g. 'epochs 8-22, 24-30' or 'epoch 7'."""
    spans = []
    for e in sorted(epochs):
        if spans and e == spans[-1][1] + 1:
            spans[-1][1] = e
        else:
            spans.append([e, e])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
    return ("epoch " if len(epochs) == 1 else "epochs ") + text


def parse_log(model, lines):
    """Parse one model's 30-epoch Keras log; return its history and the fixes applied."""
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() == f"Epoch 1/{EPOCHS}")
    except StopIteration:
        raise SeedError(f"{model}: no 'Epoch 1/{EPOCHS}' line after its fit() cell") from None

    history = {f: [] for f in FIELDS}
    history["epoch_seconds"] = []
    fixes = []
    wraps = {}          # text the line was cut after -> epochs cut there
    page_wraps = []     # epochs whose two pieces sit on different pages
    unescaped = []      # epochs whose line carried "\_" escapes
    epoch = 0           # number of the last "Epoch k/30" header seen
    pending = None      # an incomplete progress line waiting for its continuation
    pending_escaped = pending_page_break = False

    for raw in lines[start:]:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("```"):
            # Fences mark the PDF's page breaks; one inside a wrapped line is no content.
            pending_page_break = pending_page_break or pending is not None
            continue
        if "\\_" in line:
            line = line.replace("\\_", "_")
            pending_escaped = True

        header = EPOCH_RE.match(line)
        if header:
            if pending is not None:
                raise SeedError(f"{model} epoch {epoch}: progress line cut off: {pending!r}")
            k, total = int(header[1]), int(header[2])
            done = len(history["loss"])
            if total != EPOCHS:
                raise SeedError(f"{model}: header {line!r} does not say {EPOCHS} epochs")
            if k == epoch and done == epoch - 1:
                # The header was printed again after a page break, before its progress line.
                fixes.append(f"{model} epoch {k}: header {line!r} repeated across a page break;"
                             " the duplicate was ignored")
            elif k == epoch + 1 and done == epoch:
                epoch = k
            else:
                raise SeedError(f"{model}: header {line!r} out of sequence after epoch {epoch}")
            pending_escaped = False
            continue

        if PROGRESS_START_RE.match(line):
            if pending is not None:
                # The line's start was printed twice across a page break; keep one copy,
                # but only if both copies say the same thing after the progress bar.
                if pending.split("]", 1)[1] != line.split("]", 1)[1]:
                    raise SeedError(f"{model} epoch {epoch}: two different progress lines:"
                                    f" {pending!r} and {line!r}")
                dropped = line
                if not INTACT_START_RE.match(pending) and INTACT_START_RE.match(line):
                    pending, dropped = line, pending
                fixes.append(f"{model} epoch {epoch}: the progress line's start was printed"
                             f" twice across a page break; dropped the copy {dropped!r}")
                continue
            if len(history["loss"]) != epoch - 1 or epoch == 0:
                raise SeedError(f"{model}: progress line without its own Epoch header"
                                f" after epoch {epoch}: {line!r}")
            pending = line
        elif pending is not None:
            # A continuation: the extractor cut the line, often inside a number ("0.0|297").
            wraps.setdefault(pending.rsplit(" - ", 1)[-1], []).append(epoch)
            if pending_page_break:
                page_wraps.append(epoch)
            pending += line
        elif "accuracy:" in line:
            # Metrics text with no progress line of its own: extraction debris, not an epoch.
            fixes.append(f"{model} between epochs {epoch} and {epoch + 1}: dropped the stray"
                         f" fragment {line!r}, which follows epoch {epoch}'s complete line and"
                         " has no progress line or Epoch header of its own")
            pending_escaped = False
            continue
        else:
            raise SeedError(f"{model} after epoch {epoch}: unexpected line {line!r}")

        record = RECORD_RE.search(pending)
        if record:
            history["epoch_seconds"].append(int(record[1]))
            for field, value in zip(FIELDS, record.groups()[1:]):
                history[field].append(float(value))
            if pending_escaped:
                unescaped.append(epoch)
            pending = None
            pending_escaped = pending_page_break = False
            if epoch == EPOCHS:
                break

    if pending is not None or len(history["loss"]) != EPOCHS:
        raise SeedError(f"{model}: parsed {len(history['loss'])} complete epochs,"
                        f" expected {EPOCHS}")

    for cut, epochs in sorted(wraps.items(), key=lambda kv: kv[1][0]):
        fix = (f"{model} {epoch_list(epochs)}: progress line wrapped after {cut!r} by PDF"
               " extraction; rejoined with its continuation line")
        crossing = [e for e in epochs if e in page_wraps]
        if crossing:
            fix += f" ({epoch_list(crossing)} across a page break)"
        fixes.append(fix)
    if unescaped:
        fixes.append(f"{model} {epoch_list(unescaped)}: unescaped 'val\\_loss'/'val\\_accuracy'"
                     " to 'val_loss'/'val_accuracy'")
    return history, fixes


def parse_test_scores(model, text):
    """Return the full-precision 'Test loss:' / 'Test accuracy:' printed for one model."""
    scores = {}
    for key, regex in TEST_RE.items():
        found = regex.findall(text)
        if len(found) != 1:
            raise SeedError(f"{model}: expected one printed {key}, found {len(found)}")
        try:
            scores[key] = float(found[0])
        except ValueError:
            raise SeedError(f"{model}: {key} {found[0]!r} is not a number") from None
    return scores


def parse_summary(text):
    """Return the seven summary-table rows, cross-checked against the printed table."""
    rows = [{"model": f"model_{n}", "conv_layers": words, "test_accuracy": acc,
             "test_log_loss": loss} for n, words, acc, loss in ADD_ROW_RE.findall(text)]
    if [r["model"] for r in rows] != MODELS:
        raise SeedError(f"summary table: add_row models are {[r['model'] for r in rows]}")
    printed = PRINTED_ROW_RE.findall(text)
    # The add_row code is the source; the printed output must not contradict it.
    if printed and [(f"model_{n}", w, a, l) for n, w, a, l in printed] != [
            tuple(r.values()) for r in rows]:
        raise SeedError("summary table: printed rows disagree with the add_row calls")
    for row in rows:
        if COUNT_WORDS.get(row["conv_layers"]) != CONV_LAYERS[row["model"]]:
            raise SeedError(f"summary table: {row['model']} has {row['conv_layers']!r}"
                            f" conv layers, expected {CONV_LAYERS[row['model']]}")
    return rows


def parse_seed(seed_path):
    """Parse the whole seed text into the original.json document."""
    text = seed_path.read_text(encoding="utf-8")
    fits = list(FIT_RE.finditer(text))
    if [(int(m[1]), int(m[2])) for m in fits] != [(i, i) for i in range(1, 8)]:
        raise SeedError("expected the fit() cells of model1..model7 in order, found"
                        f" {[m[0] for m in fits]}")

    models, fixes = {}, []
    for i, model in enumerate(MODELS):
        end = fits[i + 1].start() if i + 1 < len(fits) else len(text)
        segment = text[fits[i].start():end]
        history, model_fixes = parse_log(model, segment.splitlines())
        models[model] = {"conv_layers": CONV_LAYERS[model], "history": history,
                         **parse_test_scores(model, segment)}
        fixes += model_fixes

    return {
        "source": f"shared/seed/{seed_path.name} (the original notebook exported to text)",
        "generated_by": "scripts/parse_seed.py",
        "protocol": PROTOCOL,
        "fixes": fixes,
        "models": models,
        "summary_table": parse_summary(text),
    }


def write_atomically(document, out_path):
    """Write the JSON document so that readers never see a half-written file."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the result is a shared artefact
        os.replace(tmp, out_path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    """Parse the seed given on the command line and write original.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", nargs="?", type=Path, default=DEFAULT_SEED,
                        help="the seed text (default: ../shared/seed/... next to the repo)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where to write the JSON (default: mnist_cnn/reference/original.json)")
    args = parser.parse_args(argv)
    try:
        document = parse_seed(args.seed)
    except (SeedError, OSError) as exc:
        print(f"parse_seed: error: {exc}", file=sys.stderr)
        return 2
    write_atomically(document, args.out)
    print(f"wrote {args.out} ({len(document['fixes'])} fixes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
