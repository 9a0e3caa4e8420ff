"""The study's analysed results and their JSON, computed from whatever runs a folder holds.

`analyse(results_dir)` loads the protocol runs once and computes every architecture-level result
(`mnist_cnn.analysis`, numbers only) into `Findings`, the claims judged and put in words
(`claim_words`); `findings_json` is what `mnist-cnn findings --json` prints, and `transfer` each
claim's verdict on each data set. The sentences are in `words`, the tables in `findings_tables`.
No number here is typed by hand.
"""

from dataclasses import dataclass

from . import MnistCnnError, analysis, claims, relations
from .analysis import ACCURACY, LOG_LOSS, MEASURES
from .claim_words import claim
from .original import load_original
from .data import DEFAULT_DATASET, get_dataset, is_original_data
from .runs import RESULTS_DIR, representatives
from .scores import score_runs, test_labels


class NoRunsError(MnistCnnError):
    """A results folder with no protocol run to analyse."""


@dataclass
class Findings:
    """Everything the findings say, computed once from one results folder."""

    runs: dict        # {model: [Run]}
    scores: dict      # {model: [RunScore]}
    histories: dict   # {model: [history]}
    reference: dict   # the original's results (on MNIST)
    claims: list      # [Claim]: the verdicts in words
    dataset: str = DEFAULT_DATASET  # the data set the runs trained and were tested on
    per_image: analysis.PerImage | None = None  # every run's score on each test image
    verdicts: tuple = ()  # the claims' verdicts in numbers (claims.judge_claims)

    @property
    def on_original_data(self):
        """Whether the runs are on the original's data set, so the original's numbers compare."""
        return is_original_data(self.dataset)

    @property
    def n_runs(self):
        return sum(len(runs) for runs in self.scores.values())

    @property
    def seed_counts(self):
        """Return how many seeds each model recorded has, {model: n}."""
        return {name: len(scores) for name, scores in self.scores.items()}

    @property
    def even(self):
        """Whether every model recorded has the same number of seeds."""
        return len(set(self.seed_counts.values())) == 1

    def fidelity(self, measure):
        return analysis.fidelity(self.scores, self.reference, measure)

    @property
    def margins(self):
        """Return {measure name: margin} of this data set (analysis.margins)."""
        return analysis.margins(self.dataset)

    def means(self, measure):
        """Return {model: relations.ModelMean} of `measure`."""
        return relations.model_means(self.scores, measure, self.per_image)

    def pairs(self, measure):
        """Return every pair of models compared on `measure` (relations.Comparison)."""
        return relations.pair_comparisons(self.scores, measure, self.margins[measure.name],
                                         self.per_image)

    def steps(self, measure):
        """Return each step between adjacent depths on `measure` (relations.Comparison)."""
        return relations.step_comparisons(self.scores, measure, self.margins[measure.name],
                                         self.per_image)


def analyse(results_dir=RESULTS_DIR, reference=None, labels=None, dataset=DEFAULT_DATASET):
    """Load `dataset`'s protocol runs in `results_dir` and judge the original's claims on them."""
    runs = {name: model_runs for name, model_runs
            in representatives(results_dir, protocol_only=True, dataset=dataset).items()
            if model_runs}
    if not runs:
        option = "" if dataset == DEFAULT_DATASET else f" --dataset {dataset}"
        raise NoRunsError(f"no {get_dataset(dataset).title} protocol runs under {results_dir}: "
                          f"train some first (mnist-cnn reproduce{option}), or pass --results-dir")
    reference = load_original() if reference is None else reference
    labels = test_labels(dataset) if labels is None else labels
    scores = score_runs(runs, labels)
    histories = {name: [run.history for run in model_runs] for name, model_runs in runs.items()}
    per_image = analysis.per_image(runs, labels)
    verdicts = tuple(claims.judge_claims(scores, histories, reference, per_image, dataset))
    margins = analysis.margins(dataset)
    return Findings(runs, scores, histories, reference, [claim(v, margins) for v in verdicts],
                 dataset, per_image, verdicts)


def _fidelity_entry(accuracy, loss):
    return {"model": accuracy.model, "seeds": accuracy.seeds, "pooled_sd": accuracy.pooled,
            "original_accuracy": accuracy.original / 100, "mean_accuracy": accuracy.mean / 100,
            "accuracy_interval": (None if accuracy.low is None
                                  else [accuracy.low / 100, accuracy.high / 100]),
            "accuracy_inside": accuracy.inside,
            "original_log_loss": loss.original, "mean_log_loss": loss.mean,
            "log_loss_interval": None if loss.low is None else [loss.low, loss.high],
            "log_loss_inside": loss.inside}


def _listed(interval):
    return None if interval is None else [interval[0], interval[1]]


def comparison_entry(comparison, names=("a", "b")):
    """Return a Comparison as JSON; `names`: what A and B are called ("to", "from" for steps)."""
    return {"measure": comparison.measure, names[0]: comparison.a, names[1]: comparison.b,
            "difference": comparison.difference, "interval": _listed(comparison.interval),
            "seeds_interval": _listed(comparison.seeds_interval),
            "equivalence_interval": _listed(comparison.equivalence_interval),
            "relation": comparison.relation, "seeds_to_decide": comparison.seeds_to_decide,
            "unresolvable": comparison.unresolvable}


def pair_entry(comparison):
    """Return a pair of models as JSON: `comparison_entry` with Holm's p over the pairs."""
    return comparison_entry(comparison) | {"p_holm": comparison.p_holm}


MEAN_UNITS = {ACCURACY.name: "%", LOG_LOSS.name: "nats"}


def margins_entry(margins):
    """Return {measure name: margin} (analysis.margins) as JSON: each value with its unit."""
    return {name: {"value": value, "unit": analysis.MARGIN_UNITS[name]}
            for name, value in margins.items()}


def mean_entry(mean):
    """Return an relations.ModelMean as JSON (accuracy in %)."""
    return {"model": mean.model, "measure": mean.measure, "unit": MEAN_UNITS[mean.measure],
            "mean": mean.mean, "interval": _listed(mean.interval),
            "seeds_interval": _listed(mean.seeds_interval), "seeds": mean.seeds}


def findings_json(study):
    """Return the findings as one JSON-ready object (what `mnist-cnn findings --json` prints)."""
    fidelity = ([_fidelity_entry(a, l) for a, l in zip(study.fidelity(ACCURACY),
                                                       study.fidelity(LOG_LOSS))]
                if study.on_original_data else [])
    return {"dataset": study.dataset, "runs": study.n_runs,
            "margins": margins_entry(study.margins),
            "means": [mean_entry(m) for measure in MEASURES
                      for m in study.means(measure).values()],
            "pairs": [pair_entry(c) for measure in MEASURES for c in study.pairs(measure)],
            "depth_steps": [comparison_entry(c, ("to", "from"))
                            for measure in MEASURES for c in study.steps(measure)],
            "backend_effect": _backend_entry(study),
            "claims": [claim.to_dict() for claim in study.claims], "fidelity": fidelity}


def _backend_entry(study, measure=ACCURACY):
    """Return the backend's effect on `measure` as JSON (JAX − TensorFlow), or None."""
    effect = relations.backend_comparison(study.scores, measure, study.margins[measure.name],
                                         study.per_image)
    if effect is None:
        return None
    return {"measure": effect.measure, "unit": analysis.MARGIN_UNITS[effect.measure],
            "difference": effect.difference, "interval": _listed(effect.interval),
            "seeds_interval": _listed(effect.seeds_interval),
            "equivalence_interval": _listed(effect.equivalence_interval),
            "relation": effect.relation, "p_value": effect.p_value,
            "models": list(effect.models)}


# --- one question, two data sets ---------------------------------------------------------

def transfer(studies):
    """Return each of the original's claims with its verdict on each data set studied."""
    rows = {}
    for dataset, study in studies.items():
        for judged in study.claims:
            row = rows.setdefault(judged.id, {"id": judged.id, "statement": judged.statement,
                                              "verdicts": {}})
            row["verdicts"][dataset] = judged.verdict
    return list(rows.values())
