"""Any recorded models side by side: the seven's and users' own, by the study's relations.

`compare_models(names)` loads the named models' protocol runs (a user's model under
results/<data set>/NAME/, as `mnist-cnn train --model PATH:FUNCTION --name NAME` records it)
and returns them as a findings.Findings without claims: its means and pairs are
`relations.model_means` and `relations.pair_comparisons` of those models alone, the margins the
data set's. `comparison_markdown` and `comparison_json` say what `mnist-cnn findings --models`
prints, in the findings' tables and JSON entries. The original's claims are not judged here:
they are over the seven alone (`findings.analyse`), so a user's model adds pairs and changes
no claim.
"""

from . import MnistCnnError, analysis
from .analysis import MEASURES, POOL_BELOW
from .data import DEFAULT_DATASET, get_dataset
from .claim_words import decide_text, margin_text
from .findings import Findings, margins_entry, mean_entry, pair_entry
from .findings_tables import means_table, relations_table
from .report import markdown_table
from .runs import RESULTS_DIR, model_dir, representative_runs, run_folders
from .scores import score_runs, test_labels
from .stats import BETTER, EQUAL, LEVEL, UNDECIDED, WORSE
from .tables import names_text, plural
from .words import margins_sentence

TRAIN_YOURS = "mnist-cnn reproduce --model PATH:FUNCTION --name NAME"


class CompareError(MnistCnnError):
    """Models named for a comparison that cannot be compared: too few, repeated, not recorded."""


def recorded_models(results_dir=RESULTS_DIR, dataset=DEFAULT_DATASET):
    """Return the models with protocol runs of `dataset` under `results_dir`, the seven first."""
    names = {folder.parent.name for folder in run_folders(results_dir, dataset)
             if model_dir(folder.parent.name, results_dir, dataset) == folder.parent}
    return analysis.model_order(sorted(names))


def _check_names(names, recorded, results_dir, dataset):
    """Raise CompareError unless `names` are two or more recorded models, each named once."""
    repeated = [name for i, name in enumerate(names) if name in names[:i]]
    if repeated:
        raise CompareError(f"--models names {repeated[0]} twice: name each model once")
    option = "" if dataset == DEFAULT_DATASET else f" --dataset {dataset}"
    runs = f"{get_dataset(dataset).title} protocol runs"
    if not recorded:
        raise CompareError(f"no {runs} under {results_dir}: train some first (mnist-cnn "
                           f"reproduce{option}, or {TRAIN_YOURS}{option}), or pass --results-dir")
    unknown = [name for name in names if name not in recorded]
    if unknown:
        raise CompareError(f"no {runs} of {names_text(unknown)} under {results_dir}: name "
                           f"recorded models ({', '.join(recorded)}), or train yours first "
                           f"({TRAIN_YOURS}{option})")
    if len(names) < 2:
        others = [name for name in recorded if name not in names]
        add = (f"add another of those recorded ({', '.join(others)})" if others
               else f"train another first ({TRAIN_YOURS}{option})")
        raise CompareError(f"--models needs two models or more to compare: {add}")


def compare_models(names, results_dir=RESULTS_DIR, dataset=DEFAULT_DATASET, labels=None):
    """Return the named models' protocol runs of `dataset` as a findings.Findings without claims."""
    names = list(names)
    recorded = recorded_models(results_dir, dataset)
    _check_names(names, recorded, results_dir, dataset)
    runs = {name: representative_runs(name, results_dir, protocol_only=True, dataset=dataset)
            for name in analysis.model_order(names)}
    empty = [name for name, model_runs in runs.items() if not model_runs]
    if empty:  # a protocol run's folder that holds no protocol run of this data set
        _check_names(names, [name for name in recorded if name not in empty], results_dir,
                     dataset)
    labels = test_labels(dataset) if labels is None else labels
    histories = {name: [run.history for run in model_runs] for name, model_runs in runs.items()}
    return Findings(runs, score_runs(runs, labels), histories, reference=None, claims=[],
                    dataset=dataset, per_image=analysis.per_image(runs, labels))


def seed_numbers(study):
    """Return {model: its seeds, in order}."""
    return {name: sorted(run.config.seed for run in runs) for name, runs in study.runs.items()}


def fewer_seeds(study):
    """Return the models with fewer seeds than the most any compared model has."""
    most = max(study.seed_counts.values())
    return [name for name, n in study.seed_counts.items() if n < most]


def _seeds_text(seeds):
    """Return '5 seeds: 0–4', '2 seeds: 0, 3', '1 seed: 2'."""
    consecutive = len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1))
    listed = f"{seeds[0]}–{seeds[-1]}" if consecutive else ", ".join(map(str, seeds))
    return f"{plural(len(seeds), 'seed')}: {listed}"


def models_sentence(study):
    """Name the models compared with their seeds; say which have fewer seeds, and what follows."""
    seeds = seed_numbers(study)
    text = (f"Compared on {get_dataset(study.dataset).title}, over their protocol runs: "
            + names_text(f"{name} ({_seeds_text(numbers)})" for name, numbers in seeds.items())
            + ".")
    fewer = fewer_seeds(study)
    if fewer:
        counts = study.seed_counts
        most = [name for name in seeds if name not in fewer]
        one = len(fewer) == 1
        each = " each" if len(most) > 1 else ""
        text += (f" {names_text(f'{name} ({counts[name]})' for name in fewer)} "
                 f"{'has' if one else 'have'} fewer seeds than {names_text(most)} "
                 f"({counts[most[0]]}{each}): {'its' if one else 'their'} intervals are wider, "
                 f"and {'its' if one else 'their'} relations take more runs to decide.")
    pooled = [name for name in seeds if study.seed_counts[name] < POOL_BELOW]
    if pooled:
        text += (f" Under {POOL_BELOW} seeds, {names_text(pooled)} "
                 f"{'borrows' if len(pooled) == 1 else 'borrow'} the seed-to-seed SD pooled over "
                 "the models compared (marked *).")
    return text


def rules_sentence(study):
    """Say what makes a relation: the margins, Welch and Holm over the pairs, the intervals."""
    pairs = len(study.pairs(MEASURES[0]))
    correction = f", Holm-corrected for the {pairs} pairs compared" if pairs > 1 else ""
    return (f"{margins_sentence(study)} A model is better or worse than another by Welch's test "
            f"over seeds{correction}, with the {LEVEL} interval over seeds and test images off 0. "
            "Each pair reads A − B, A against B (the seven first, in their order).")


def _relation_words(comparison, margin):
    """Say one pair's relation: 'model_1_bn better than model_1', 'model_4 and … tied'."""
    a, b = comparison.a, comparison.b
    if comparison.relation in (BETTER, WORSE):
        winner, loser = (a, b) if comparison.relation == BETTER else (b, a)
        return f"{winner} better than {loser}"
    if comparison.relation == EQUAL:
        return f"{a} and {b} practically tied (within {margin})"
    decide = decide_text(comparison.seeds_to_decide, comparison.unresolvable)
    return f"{a} and {b} undecided ({decide or 'two seeds of each first'})"


def relations_sentence(study, measure):
    """Say every pair's relation on `measure`, the undecided ones with the seeds to decide them."""
    margin = margin_text(measure.name, study.margins[measure.name])
    pairs = study.pairs(measure)
    lines = [_relation_words(c, margin) for c in pairs]
    open_ = sum(c.relation == UNDECIDED for c in pairs)
    decided = "The pair is" if len(pairs) == 1 else "Every pair is"
    return ("; ".join(lines) + "."
            + ("" if open_ else f" {decided} decided on {measure.label}."))


def comparison_markdown(study):
    """Return the comparison for readers: models and seeds, the rules, means and pairs."""
    parts = [models_sentence(study), rules_sentence(study)]
    for measure in MEASURES:
        parts += [f"**{measure.label.capitalize()}.** {relations_sentence(study, measure)}",
                  markdown_table(means_table(study, measure)),
                  markdown_table(relations_table(study, measure))]
    return "\n\n".join(parts)


def comparison_json(study):
    """Return the comparison as one JSON-ready object (what `findings --models --json` prints)."""
    means = {measure.name: study.means(measure) for measure in MEASURES}
    fewer = fewer_seeds(study)
    return {"dataset": study.dataset, "runs": study.n_runs,
            "margins": margins_entry(study.margins),
            "models": [{"name": name, "seeds": len(numbers), "seed_numbers": numbers,
                        "fewer_seeds": name in fewer,
                        **{measure: mean_entry(by_model[name])
                           for measure, by_model in means.items()}}
                       for name, numbers in seed_numbers(study).items()],
            "pairs": [pair_entry(c) for measure in MEASURES for c in study.pairs(measure)]}
