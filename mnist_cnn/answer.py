"""The answer a reader finds on the README's first screen: at most six plain bullets.

Words only (never Keras): every number comes from the analysis of the recorded runs
(`findings.analyse` → `Findings`, its `analysis` dataclasses). `answer_bullets` says whether the
reproduction is faithful, which depth steps help, which models are tied or apart, which of the
original's claims hold and what Fashion-MNIST adds; `answer_markdown` sets them above the figure
that shows them (answer_figure.py) and its caption; `readme_answer` is what
`mnist-cnn table --update-readme` writes between ANSWER_MARKERS.
"""

from . import analysis, claims
from .analysis import ACCURACY, MEASURE_NAMED, MEASURES
from .data import get_dataset
from .claim_words import images_text, margin_text, short_text
from .findings import NoRunsError, analyse
from .models import MODEL_NAMES
from .runs import RESULTS_DIR
from .stats import BETTER, EQUAL, LEVEL, UNDECIDED, WORSE
from .tables import names_text, plural
from .words import clearly_behind, tied_groups, transfer_sentence

ANSWER_MARKERS = ("<!-- answer:start -->", "<!-- answer:end -->")
ANSWER_FIGURE = "figures/answer.png"  # where the figure lies, relative to the README
FASHION = "fashion-mnist"
FASHION_NOTEBOOK = "notebooks/07_fashion_mnist.ipynb"  # where the Fashion-MNIST study is shown
MAX_BULLETS = 6
# Models listed by a range ("model_3 to model_7") when at least this many follow each other.
RANGE_FROM = 3
PLURAL_LABELS = {"test accuracy": "test accuracies", "test log loss": "test log losses"}
NO_RUNS = "No protocol run is recorded yet: `mnist-cnn reproduce` trains them."


def models_text(names):
    """Return models as a reader lists them, neighbours in MODEL_NAMES as 'model_3 to model_7'."""
    ordered = sorted(set(names), key=MODEL_NAMES.index)
    runs = []
    for name in ordered:
        if runs and MODEL_NAMES.index(name) == MODEL_NAMES.index(runs[-1][-1]) + 1:
            runs[-1].append(name)
        else:
            runs.append([name])
    parts = []
    for run in runs:
        if len(run) >= RANGE_FROM:
            parts.append(f"{run[0]} to {run[-1]}")
        else:
            parts += run
    return names_text(parts)


def _verb(names, one, many):
    """Return the verb that agrees with a list of models ('does'/'do')."""
    return one if len(names) == 1 else many


# --- (a) fidelity ------------------------------------------------------------------------

def fidelity_bullet(study):
    """Say how many of the original's numbers a run of ours could have given."""
    entries = {measure.label: [f for f in study.fidelity(measure)] for measure in MEASURES}
    total = sum(len(e) for e in entries.values())
    judged = [f for e in entries.values() for f in e if f.inside is not None]
    outside = [(label, f) for label, e in entries.items() for f in e if f.inside is False]
    kinds = ", ".join(f"{len(e)} {PLURAL_LABELS[label] if len(e) != 1 else label}"
                      for label, e in entries.items())
    where = f"the range in which a new run of ours lands {LEVEL} of the time"
    if not outside and len(judged) == total:
        return (f"The reproduction is faithful: each of the original's {total} numbers "
                f"({kinds}) lies inside {where}.")
    text = (f"The reproduction matches {sum(f.inside for f in judged)} of the original's "
            f"{total} numbers ({kinds}): they lie inside {where}")
    if outside:
        text += "; outside it: " + ", ".join(
            f"{f.model}'s {label} ({MEASURE_NAMED[f.measure].text(f.original)} against our "
            f"mean {MEASURE_NAMED[f.measure].text(f.mean)})" for label, f in outside)
    unjudged = total - len(judged)
    if unjudged:
        text += (f"; {unjudged} {_verb(range(unjudged), 'has', 'have')} no range yet (a model "
                 "needs two seeds)")
    return text + "."


# --- (b) depth ---------------------------------------------------------------------------

# How each kind of depth step reads, after "more conv layers" (the first) or "they".
STEP_VERBS = {BETTER: "raise mean {label}", WORSE: "lower mean {label}",
              EQUAL: "make no practical difference", UNDECIDED: "may or may not help"}


def margin_words(study, measure=ACCURACY):
    """Return what the margin is: '±0.1 pp (percentage points: 10 of the 10,000 test images)'."""
    margin = study.margins[measure.name]
    text = margin_text(measure.name, margin)
    if measure is ACCURACY:
        text += f" (percentage points: {images_text(margin)})"
    return text


def depth_bullet(study, measure=ACCURACY):
    """Say which steps between depths help, which make no practical difference, on `measure`."""
    steps = study.steps(measure)
    if not steps:
        return "Runs of one depth only are recorded: depth cannot be compared yet."
    groups = {}  # relation: [steps], in the order the first of each appears
    for step in steps:
        groups.setdefault(step.relation, []).append(step)
    clauses = []
    for index, (relation, members) in enumerate(groups.items()):
        where = " and ".join(f"from {s.b} to {s.a} layers "
                             f"({measure.difference_text(s.difference)})" for s in members)
        subject = "More conv layers" if index == 0 else "they"
        clauses.append(f"{subject} {STEP_VERBS[relation].format(label=measure.label)} {where}")
    return ("; ".join(clauses) + f". A difference within {margin_words(study, measure)} "
            "counts as none.")


# --- (c) which models are tied, which differ ----------------------------------------------

def _means_text(means, names, measure):
    shown = [measure.text(means[name]) for name in names]
    if len(set(shown)) == 1:
        return shown[0] + (" each" if len(names) > 1 else "")
    ordered = sorted(means[name] for name in names)
    return f"{measure.text(ordered[0])} to {measure.text(ordered[-1])}"


def models_bullet(study, measure=ACCURACY):
    """Say which models are practically tied and which are clearly apart on `measure`."""
    pairs = study.pairs(measure)
    means = {name: e.mean for name, e in analysis.model_estimates(study.scores, measure).items()}
    if not pairs:
        [name] = means
        return f"Only {name} is recorded ({measure.text(means[name])}): no two models to compare."
    parts = []
    tied = tied_groups([(c.a, c.b) for c in pairs if c.relation == EQUAL])
    if len(tied) == 1 and len(tied[0]) == len(means):
        parts.append(f"All {len(means)} models are practically tied on {measure.label}")
    elif tied:
        parts.append(f"On {measure.label}, " + "; ".join(
            f"{names_text(group)} are practically tied ({_means_text(means, group, measure)})"
            for group in tied))
    behind = clearly_behind(pairs)
    for loser, winners in behind.items():
        parts.append(f"{models_text(winners)} {_verb(winners, 'is', 'are each')} clearly better "
                     f"than {loser} ({_means_text(means, [loser], measure)})")
    open_ = [c for c in pairs if c.relation == UNDECIDED]
    seeds = min(study.seed_counts.values())
    if open_ and len(open_) < len(pairs):
        parts.append(f"the other {len(open_)} of the {plural(len(pairs), 'pair')} cannot be "
                     f"told apart yet with {plural(seeds, 'seed')} per model")
    elif open_:
        parts.append(f"no two models can be told apart yet with {plural(seeds, 'seed')} per "
                     "model")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


# --- (d) the original's claims -----------------------------------------------------------

def _depth_claims(verdicts):
    """Return [(verdict, text)] of depth claims, merged where verdicts and gainless steps agree."""
    texts = {}
    for v in verdicts:
        short = MEASURE_NAMED[v.measure].better_text
        if v.verdict == claims.PARTLY:
            missing = " and ".join(f"from {s.b} to {s.a}" for s in v.steps
                                   if s.relation != BETTER)
            key = (v.verdict, f" (no gain shown {missing} layers)")
        else:
            key = (v.verdict, "")
        texts.setdefault(key, []).append(short)
    return [(verdict, f"more conv layers give {' and '.join(shorts)}{detail}")
            for (verdict, detail), shorts in texts.items()]


def _best_claim(v):
    text = short_text(v)
    if v.leaders and v.verdict in (claims.UNDECIDED, claims.PARTLY):
        text += f" (it is practically tied with {names_text(v.leaders)})"
    return v.verdict, text


def _overfitting_claims(verdicts):
    """Return [(verdict, text)]: per verdict, the models that overfit and those that do not."""
    worded = []
    for verdict in claims.VERDICTS:
        overfit = [v.model for v in verdicts if v.verdict == verdict and v.original.rises]
        steady = [v.model for v in verdicts if v.verdict == verdict and not v.original.rises]
        if overfit:
            worded.append((verdict, f"{models_text(overfit)} "
                                    f"{_verb(overfit, 'overfits', 'overfit')}"))
        if steady:
            worded.append((verdict, f"{models_text(steady)} "
                                    f"{_verb(steady, 'does', 'do')} not overfit"))
    return worded


def claims_bullet(study):
    """Say which of the original's claims hold, grouped by verdict, each in a few words."""
    verdicts = study.verdicts
    worded = (_depth_claims([v for v in verdicts if isinstance(v, claims.DepthVerdict)])
              + [_best_claim(v) for v in verdicts if isinstance(v, claims.BestVerdict)]
              + _overfitting_claims([v for v in verdicts
                                     if isinstance(v, claims.OverfittingVerdict)]))
    groups = [(verdict, [text for v, text in worded if v == verdict]) for verdict in claims.VERDICTS]
    return "The original's claims, judged over our seeds. " + " ".join(
        f"{verdict.capitalize()}: {'; '.join(texts)}." for verdict, texts in groups if texts)


# --- (e) Fashion-MNIST -------------------------------------------------------------------

def fashion_bullet(study, fashion):
    """Say how far the models spread on each data set and where the original's claims stand."""
    title = get_dataset(fashion.dataset).title
    return (f"The same question on harder images ({title}). "
            f"{transfer_sentence({study.dataset: study, fashion.dataset: fashion})} "
            f"[07_fashion_mnist]({FASHION_NOTEBOOK}) sets the two data sets side by side.")


# --- the section ---------------------------------------------------------------------------

def answer_bullets(study, fashion=None):
    """Return the answer's bullets (at most MAX_BULLETS), with Fashion-MNIST's when recorded."""
    bullets = [fidelity_bullet(study), depth_bullet(study), models_bullet(study),
               claims_bullet(study)]
    if fashion is not None:
        bullets.append(fashion_bullet(study, fashion))
    return bullets[:MAX_BULLETS]


def figure_caption(study, measure=ACCURACY):
    """Say what the answer's figure shows, and which runs."""
    counts = set(study.seed_counts.values())
    per_model = (f"{plural(counts.pop(), 'seed')} of each model" if len(counts) == 1
                 else "every seed of each model")
    means = {name: e.mean for name, e in analysis.model_estimates(study.scores, measure).items()}
    best_tier = analysis.ranking(analysis.model_estimates(study.scores, measure), measure)[0]
    return (f"*{measure.label.capitalize()} of all {plural(study.n_runs, 'run')} ({per_model}, "
            f"one dot each, grouped by conv layers); a line marks each model's mean, a hollow "
            f"marker the original's single run; the grey band is "
            f"{margin_text(measure.name, study.margins[measure.name])} around the best mean "
            f"({names_text(best_tier)}, {measure.text(means[best_tier[0]])}), inside which a "
            f"difference counts as none.*")


def answer_markdown(study, fashion=None):
    """Return the README's answer: the bullets, the figure and its caption."""
    bullets = "\n".join(f"- {bullet}" for bullet in answer_bullets(study, fashion))
    return (f"{bullets}\n\n![Test accuracy of every run per model, grouped by depth, against "
            f"the original's]({ANSWER_FIGURE})\n\n{figure_caption(study)}")


def readme_answer(results_dir=RESULTS_DIR):
    """Return the README's answer from the runs under `results_dir`, or NO_RUNS when none."""
    try:
        study = analyse(results_dir)
    except NoRunsError:
        return NO_RUNS
    try:
        fashion = analyse(results_dir, dataset=FASHION)
    except NoRunsError:
        fashion = None
    return answer_markdown(study, fashion)
