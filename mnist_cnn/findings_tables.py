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
    """Return an interval of a difference, its unit left to the header, or `text`'s form."""
    if interval is None:
        return "—"
    return text(*interval) if text else measure.difference_interval(*interval, unit=False)


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
    return [measure.difference_text(c.difference, unit=False), _interval_cell(measure, c.interval),
            _interval_cell(measure, c.seeds_interval),
            _interval_cell(measure, c.equivalence_interval), c.relation, _decide_cell(c)]


def _decide_cell(c):
    if c.unresolvable:
        return "beyond this test set"
    # "≈8", not "about 8": one word, so the widest table keeps inside GitHub's width unwrapped.
    return f"≈{c.seeds_to_decide:,}" if c.seeds_to_decide else "—"


# Short headers keep the tables inside GitHub's width; the notebook says what each interval is.
COMPARISON_HEADERS = ["Difference", f"{LEVEL}, seeds and images", f"{LEVEL}, seeds only",
                      f"{EQUIVALENCE_LEVEL}, seeds and images", "Relation",
                      "Seeds per model to decide"]


def _comparison_headers(measure):
    """Return COMPARISON_HEADERS, those of differences with their unit ('Difference (pp)')."""
    return [*map(measure.difference_header, COMPARISON_HEADERS[:4]), *COMPARISON_HEADERS[4:]]


def relations_table(study, measure):
    """Return every pair of models: difference and intervals (unit in the header), Holm's p,
    relation, seeds to decide."""
    def row(c):
        cells = _comparison_row(measure, c)
        p_holm = analysis_tables.p_cell(c.p_holm) if c.p_holm is not None else "—"
        return [pair_text(c.a, c.b), *cells[:4], p_holm, *cells[4:]]

    rows = [row(c) for c in study.pairs(measure)]
    headers = _comparison_headers(measure)
    return text_table(["Models", *headers[:4], "p (Welch, Holm)", *headers[4:]], rows,
                      {"Models", headers[-1]})


def steps_table(study, measure):
    """Return each step between adjacent depths, as relations_table does for pairs."""
    rows = [[f"{c.b} → {c.a}", *_comparison_row(measure, c)] for c in study.steps(measure)]
    headers = _comparison_headers(measure)
    return text_table(["Conv layers", *headers], rows, {"Conv layers", headers[-1]})


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
