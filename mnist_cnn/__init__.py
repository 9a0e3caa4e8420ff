"""Reproduce a study of seven Keras CNNs (2, 3, 5 and 7 conv layers) on MNIST and Fashion-MNIST.

The modules floor by floor, top down; a module imports only from its own floor or those below.

faces: what users call
    cli               the `mnist-cnn` command; TensorFlow and Ray only in the commands that train
    notebook          the notebooks' helpers: `setup`, `collect_runs`, papermill runs
execution: running a study
    console           what `train` and `reproduce` print: the plan, each finished run, the state
    plan              which runs are recorded, which to train, where each resumes; time estimates
    executors         in this process, in worker processes, or as Ray tasks (`--ray`)
presentation: what a reader sees (no Keras)
    answer_figure     the README's figure: every seed per model by depth, the original marked
    answer            the README's answer in a few plain bullets
    comparison        any recorded models side by side, users' own too (`findings --models`)
    words             every sentence of the findings, 06's closing lines, the Fashion answer
    findings_tables   the findings' tables: both intervals, the claims, across data sets
    findings          one results folder analysed (`analyse` -> `Findings`) and its JSON
    claim_words       the original's claims in words, with their evidence (`claim`)
    analysis_tables   the analysis notebook's tables and the p-value's format
    observations      what the section notebooks say under a model's runs
    report            the summary, cost and per-run tables against the original's results
    comparison_plots  confusion matrices, sample digits, mistakes, results against cost
    training_plots    loss and error curves per epoch
    plot_style        sizes, fonts, log axes, one colour per model, saving PNGs (`save_fig`)
    readme            the generated sections between marker lines of the README and docs/
numbers: computed once, no sentences
    claims            the original's claims judged from the relations
    relations         every pair, depth step and the backend's effect against the margins
    networks          the trained networks one by one: McNemar, confusion, mistakes, ensemble
    analysis          architectures over seeds: one aggregation (`model_estimates`), intervals,
                      trend, power, margins, costs
    original          the original's results from its parsed logs (`load_original`)
    scores            one accuracy and one log loss, from a run's saved test probabilities
    resampling        the bootstraps over seeds and test images
    stats             tests, intervals, power and rounding on plain arrays
training
    training          the protocol's training loop, exact resume, recording (`train`)
run format
    runs              the protocol's values and margins, `RunConfig`, the runs under results/,
                      which runs represent a model (`representatives`)
specification
    custom            a user's own model (`--model PATH:FUNCTION`) and its recorded architecture
    models            the seven exact architectures (`build_model`, `summary_text`)
    data              MNIST and Fashion-MNIST, offline-capable and fingerprint-verified
    reference/        the original notebook's parsed results (package data)
base: the standard library, numpy and PrettyTable only
    tables            aligned HTML tables and the signed number formats every text shares
    machine           this machine's device name without Keras (`machine_name`)
    files             atomic writes
Beside them, loaded only by `mnist-cnn bench`: speed/, the speed benchmark and its PyTorch peer.
"""

import contextlib
import os
import sys

# TensorFlow's C++ start-up chatter goes to stderr, which would end up in notebooks and CLI
# output; silence it unless the user asked for it. Must happen before Keras imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"


@contextlib.contextmanager
def fds_to(path, fds=(1, 2)):
    """Append what this process writes to file descriptors `fds` to `path` meanwhile."""
    # C++ logs and child processes write to the descriptors, bypassing sys.stdout and sys.stderr
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in fds]
    try:
        with open(path, "a") as target:
            for fd in fds:
                os.dup2(target.fileno(), fd)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                for fd, old in zip(fds, saved):
                    os.dup2(old, fd)
    finally:
        for old in saved:
            os.close(old)


def import_keras():
    """Import and return Keras, muting the log lines TensorFlow's import writes to stderr."""
    import importlib

    if "keras" not in sys.modules and os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3":
        # absl prints "oneDNN custom operations are on" whatever TF_CPP_MIN_LOG_LEVEL says.
        with fds_to(os.devnull, fds=(2,)):
            return importlib.import_module("keras")
    return importlib.import_module("keras")


def error_line(error):
    """Return 'ErrorType: the first line of its message'."""
    why = str(error).strip().splitlines()
    return type(error).__name__ + (f": {why[0]}" if why else "")


class MnistCnnError(Exception):
    """Bad input or data the user can fix; the CLI prints it as one line and exits 2."""
