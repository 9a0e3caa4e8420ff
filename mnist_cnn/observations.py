"""What the section notebooks (01–04) say under a model's runs, over all its seeds.

Where each run's validation loss bottoms out and ends against its training loss, ours against
the original's test results (the numbers of report.summary_rows, as its tables show them),
whether the original's result is one a new run of ours could give, and why two losses that look
alike differ; `observations` returns them as a Markdown list.
"""

import statistics

from . import analysis
from .analysis import ACCURACY, LOG_LOSS
from .models import MODEL_NAMES
from .original import load_original
from .report import delta_text, summary_rows
from .runs import recorded_every_epoch
from .scores import EPSILON_TEXT, score_runs
from .stats import LEVEL
from .tables import signed

# Why a validation loss can end below the training loss, said wherever it does.
BELOW_TRAINING = ("Validation loss can end below training loss because Keras measures the training "
                  "loss with dropout active and reports it as the running mean over the epoch's "
                  "batches, taken while the weights still improve; validation loss is measured at "
                  "the epoch's end, without dropout.")


def _fidelity_lines(runs, reference):
    """Say whether the original's results lie where one new run of ours would fall."""
    if len(runs) < analysis.POOL_BELOW:  # fewer seeds borrow the study's pooled SD: see 05
        return []
    scores = score_runs({runs[0].config.model: runs})
    lines = []
    for measure in analysis.MEASURES:
        entry = analysis.fidelity(scores, reference, measure)[0]
        lines.append(f"the original's {measure.label} {measure.text(entry.original)} lies "
                     f"{'inside' if entry.inside else 'outside'} the {LEVEL} interval where one "
                     f"new run of ours would fall ({measure.text(entry.low)} to "
                     f"{measure.text(entry.high)}, from {entry.seeds} seeds).")
    return lines


def _curve_facts(history):
    """Return (best epoch, best val loss, last val loss, last train loss) of one history."""
    val = history["val_loss"]
    best = min(range(len(val)), key=val.__getitem__)
    return best + 1, val[best], val[-1], history["loss"][-1]


def _curve_line(runs):
    """Summarise the validation and training loss at the end of `runs` (one model's seeds)."""
    facts = [_curve_facts(run.history) for run in runs]
    best, low, last, train = zip(*facts)
    below = sum(v < t for v, t in zip(last, train))
    gap = statistics.fmean(v - t for v, t in zip(last, train))
    who = runs[0].label if len(runs) == 1 else f"{runs[0].config.model} over {len(runs)} seeds"
    mean = "" if len(runs) == 1 else " on average"
    where = ("below" if below else "above") if len(runs) == 1 else (
        "below training in every seed" if below == len(runs) else
        "above training in every seed" if not below else
        f"below training in {below} of {len(runs)} seeds")
    epochs = runs[0].config.epochs
    when = (f"epoch {best[0]} of {epochs}" if len(set(best)) == 1 else
            f"epoch {min(best)} to {max(best)} of {epochs}, depending on the seed")
    return (f"{who}: validation loss is lowest at {when} "
            f"({statistics.fmean(low):.4f}{mean}) and ends at "
            f"{statistics.fmean(last):.4f}{mean}; the last training loss is "
            f"{statistics.fmean(train):.4f}{mean}, so validation ends "
            + (f"{where} training by {abs(gap):.4f}." if len(runs) == 1 else
               f"{where} (validation minus training: {signed(gap, 4)}{mean}).")), below


def observations(runs, reference=None):
    """Return short observations on one model's runs, over all its seeds, against the original."""
    runs = sorted(runs, key=lambda run: run.config.seed)
    reference = load_original() if reference is None else reference
    model = runs[0].config.model
    original = reference["models"][model]
    lines, below = [], 0
    if all(recorded_every_epoch(run.history["val_loss"]) for run in runs):
        line, below = _curve_line(runs)
        lines.append(line)
    if not runs[0].config.is_protocol:
        lines.append(f"these runs use another configuration ({runs[0].config.variant}), not the "
                     f"original protocol, so they are not compared with the original.")
        return _bullets(lines, below)
    s_best, s_low, s_last, s_train = _curve_facts(original["history"])
    below += s_last < s_train
    lines.append(f"the original: validation loss is lowest at epoch {s_best} ({s_low:.4f}) "
                 f"and ends at {s_last:.4f}; its last training loss is {s_train:.4f}, so "
                 f"validation ends {'below' if s_last < s_train else 'above'} training.")
    row = summary_rows(runs, reference)[MODEL_NAMES.index(model)]
    several = f" (mean of {len(runs)} seeds)" if len(runs) > 1 else ""
    lines.append(f"test accuracy {ACCURACY.text(row['accuracy_mean'])}{several} against the "
                 f"original's {ACCURACY.text(row['original_accuracy'])}: "
                 f"{delta_text(row, ACCURACY)}; test log loss "
                 f"{LOG_LOSS.text(row['log_loss_mean'])} against "
                 f"{LOG_LOSS.text(row['original_log_loss'])}: {delta_text(row, LOG_LOSS)}.")
    lines += _fidelity_lines(runs, reference)
    lines += _validation_loss_lines(runs, row["log_loss_mean"])
    for run in runs:
        if run.metrics.get("resumed_after_epoch") and run.metrics.get("resume") != "exact":
            epoch = run.metrics["resumed_after_epoch"]
            lines.append(f"{run.label} was interrupted after epoch {epoch} and resumed with a "
                         f"new shuffling of the data and new dropout masks, so its later epochs "
                         f"differ from those of an uninterrupted run; it is shown as recorded.")
    return _bullets(lines, below)


def _validation_loss_lines(runs, test_loss):
    """Say why the last validation loss and the test log loss differ, where they do once rounded."""
    if not all(recorded_every_epoch(run.history["val_loss"]) for run in runs):
        return []
    last = statistics.fmean(run.history["val_loss"][-1] for run in runs)
    if LOG_LOSS.text(last) == LOG_LOSS.text(test_loss):
        return []
    return [f"the last validation loss ({LOG_LOSS.text(last)}) and the test log loss "
            f"({LOG_LOSS.text(test_loss)}) are measured on the same test images but differ: "
            f"validation loss is what Keras recorded after each epoch (on TensorFlow, from the "
            f"logits and unclipped), the test log loss is scored from the saved test "
            f"probabilities, clipped at {EPSILON_TEXT}, the one definition every backend "
            f"shares."]


def _bullets(lines, below):
    """Return `lines` as a Markdown list, then BELOW_TRAINING where a validation loss ends below."""
    text = "\n".join(f"- {line}" for line in lines)
    return text + (f"\n\n{BELOW_TRAINING}" if below else "")
