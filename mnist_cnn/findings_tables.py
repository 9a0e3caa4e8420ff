"""The findings' tables: both intervals side by side for 06_analysis, the claims with their
evidence, and the claims and depth steps across data sets (07_fashion_mnist).
"""

from . import analysis_tables, claims
from .analysis import ACCURACY
from .claim_words import STEP_WORDS, decide_text, with_interval
from .data import get_dataset
from .findings import transfer
from .stats import EQUIVALENCE_LEVEL, LEVEL
from .tables import pair_text, text_table


def transfer_table(studies):
    """Return the transfer table: each claim's verdict on each data set, side by side."""
    titles = [get_dataset(dataset).title for dataset in studies]
    return text_table(["The original's finding", *titles],
                      [[row["statement"],
                        *(row["verdicts"].get(dataset, "—") for dataset in studies)]
                       for row in transfer(studies)],
                      {"The original's finding", *titles})


def depth_steps_table(studies, measure=ACCURACY):
    """Return each step between adjacent depths per data set: mean, both 95% intervals, relation."""
    steps = {dataset: {(s.b, s.a): s for s in study.steps(measure)}
             for dataset, study in studies.items()}
    keys = sorted({key for by_step in steps.values() for key in by_step})

    def cell(step):
        if step is None:
            return "—"
        if step.seeds_interval is None:
            return measure.difference_text(step.difference) + " (one seed: no interval)"
        return (f"{with_interval(measure, step)}: {STEP_WORDS[step.relation]} (seeds only "
                f"{measure.difference_interval(*step.seeds_interval)})")

    titles = [get_dataset(dataset).title for dataset in studies]
    return text_table(["Conv layers", *titles],
                      [[f"{d1} → {d2}", *(cell(steps[dataset].get((d1, d2))) for dataset in studies)]
                       for d1, d2 in keys], {"Conv layers", *titles})


def _interval_cell(measure, interval, text=None):
    if interval is None:
        return "—"
    text = text or measure.difference_interval
    return text(*interval)


def means_table(study, measure):
    """Return per model its seeds, mean and both 95% intervals (pooled SD marked *)."""
    def bounds(low, high):
        return f"[{measure.text(low)}, {measure.text(high)}]"

    rows = [[m.model, m.seeds, measure.text(m.mean), _interval_cell(measure, m.interval, bounds),
             _interval_cell(measure, m.seeds_interval, bounds) + (" *" if m.pooled else "")]
            for m in study.means(measure).values()]
    return text_table(["Model", "Seeds", f"Mean {measure.label}", *COMPARISON_HEADERS[1:3]],
                      rows, {"Model"})


def _comparison_row(measure, c):
    return [measure.difference_text(c.difference), _interval_cell(measure, c.interval),
            _interval_cell(measure, c.seeds_interval),
            _interval_cell(measure, c.equivalence_interval), c.relation, _decide_cell(c)]


def _decide_cell(c):
    if c.unresolvable:
        return "beyond this test set"
    return f"about {c.seeds_to_decide:,}" if c.seeds_to_decide else "—"


# Short headers keep the tables inside GitHub's width; the notebook says what each interval is.
COMPARISON_HEADERS = ["Difference", f"{LEVEL}, seeds and images", f"{LEVEL}, seeds only",
                      f"{EQUIVALENCE_LEVEL}, seeds and images", "Relation",
                      "Seeds per model to decide"]


def relations_table(study, measure):
    """Return every pair of models: difference, intervals, Holm's p, relation, seeds to decide."""
    rows = [[pair_text(c.a, c.b), *_comparison_row(measure, c)[:4],
             analysis_tables.p_cell(c.p_holm) if c.p_holm is not None else "—", *_comparison_row(measure, c)[4:]]
            for c in study.pairs(measure)]
    return text_table(["Models", *COMPARISON_HEADERS[:4], "p (Welch, Holm)",
                       *COMPARISON_HEADERS[4:]], rows, {"Models", COMPARISON_HEADERS[-1]})


def steps_table(study, measure):
    """Return each step between adjacent depths, as relations_table does for pairs."""
    rows = [[f"{c.b} → {c.a}", *_comparison_row(measure, c)] for c in study.steps(measure)]
    return text_table(["Conv layers", *COMPARISON_HEADERS], rows,
                      {"Conv layers", COMPARISON_HEADERS[-1]})


SENSITIVITY_SCALES = (0.5, 1.0, 2.0)  # each margin halved, as declared, doubled


def sensitivity_table(study):
    """Return every claim's verdict with each margin halved, as declared and doubled."""
    by_scale = {scale: claims.judge_claims(study.scores, study.histories, study.reference,
                                             study.per_image, study.dataset, scale)
                for scale in SENSITIVITY_SCALES}
    statements = {c.id: c.statement for c in study.claims}  # ids stay in the JSON
    rows = [[statements[verdict.id],
             *(by_scale[scale][index].verdict for scale in SENSITIVITY_SCALES)]
            for index, verdict in enumerate(by_scale[1.0])]
    columns = [f"margins × {scale:g}" for scale in SENSITIVITY_SCALES]
    return text_table(["The original's finding", *columns], rows,
                      {"The original's finding", *columns})


def claims_table(claims):
    """Return the claims with their verdicts and evidence."""
    def verdict(c):
        decide = decide_text(c.seeds_to_decide, c.unresolvable)
        return c.verdict + (f" ({decide})" if decide else "")

    return text_table(["The original's finding", "Verdict", "Evidence"],
                      [[c.statement, verdict(c), c.evidence] for c in claims],
                      {"The original's finding", "Verdict", "Evidence"})
