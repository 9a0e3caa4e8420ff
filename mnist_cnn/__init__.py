"""Reproduce a study of seven Keras CNNs (2, 3, 5 and 7 conv layers) on MNIST.

Modules, by layer (a module imports only from the layers below it):
    cli       the `mnist-cnn` command; imports TensorFlow only in the commands that train
    executors a study's execution (in process, in worker processes or as Ray tasks on a
              cluster: `--ray`), each run resumed where its plan says
    plan      a study's plan (runs recorded, runs to train, where each resumes) and its time
              estimate
    notebook  the notebooks' helpers: `setup`, `collect_runs`, running notebooks with papermill
    answer    the README's answer in a few plain bullets, and its figure (answer_figure)
    comparison  any recorded models side by side, users' too (`mnist-cnn findings --models`)
    console   what `train` and `reproduce` print: the plan, each finished run, the study's state
    words     every sentence of the findings a reader sees (`findings_markdown`, the README's
              sections, each section's closing sentence in 06_analysis)
    findings_tables   the findings' tables: both intervals, the claims, across data sets
    findings  the analysed results of one results folder (`analyse` → `Findings`) and their
              JSON (`findings_json`, `transfer`)
    claim_words       the original's claims in words, with their evidence (`Claim`, `claim`)
    report    summary tables and observations against the original's results (no Keras)
    analysis_tables  the analysis notebook's tables and the p-value's format (no Keras)
    readme    the generated sections between marker lines of the README and docs/
    training_plots    loss and error curves per epoch, one model's or every model's (no Keras)
    comparison_plots  confusion matrices, sample digits, mistakes, results against cost (no Keras)
    plot_style        the figures' shared style: sizes, fonts, log axes, one colour per model,
                      saving PNGs (`save_fig`)
    training  the original protocol's training loop, resume, recording (`train`, `train_or_load`)
    runs      the protocol's values, `RunConfig`, the run format under results/, and the one
              rule for which runs represent a model (`representative_runs`)
    custom    a model of the user's own: its function (`--model PATH:FUNCTION`), checked for
              the protocol, and its recorded architecture (`build_custom`, `architecture_record`)
    models    the seven exact architectures (`build_model`, `summary_text`)
    data      offline-capable, fingerprint-verified MNIST (`load_mnist`, `prepare`)
    machine   this machine's device name without Keras (`machine_name`, `cpu_name`)
    claims    the original's claims judged from the analysis's relations: numbers only
    networks  the trained networks one by one: McNemar, confusion matrices, mistakes, ensemble
    relations every pair, depth step and the backend's effect against the margins: numbers only
    analysis  architectures over seeds: intervals, fidelity, trend, power, margins, costs
    original  the original's results, read and checked from its parsed logs (`load_original`)
    resampling  the bootstraps over seeds and test images (on `stats`)
    stats     tests, intervals, power and rounding on plain arrays
    files     atomic writes
    speed     the speed benchmark (`mnist-cnn bench`) and its PyTorch peer, loaded only by `bench`
    reference the original notebook's parsed results (package data)
"""

import contextlib
import os
import sys

# TensorFlow's C++ start-up chatter goes to stderr, which would end up in notebooks and CLI
# output; silence it unless the user asked for it. Must happen before Keras imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"


@contextlib.contextmanager
def _stderr_fd_muted():
    """Send file descriptor 2 to /dev/null for the duration (C++ logs bypass sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras():
    """Import and return Keras, muting the log lines TensorFlow's import writes to stderr."""
    import importlib

    if "keras" not in sys.modules and os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3":
        # absl prints "oneDNN custom operations are on" whatever TF_CPP_MIN_LOG_LEVEL says.
        with _stderr_fd_muted():
            return importlib.import_module("keras")
    return importlib.import_module("keras")


class MnistCnnError(Exception):
    """Bad input or data the user can fix; the CLI prints it as one line and exits 2."""
