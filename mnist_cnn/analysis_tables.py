"""The analysis notebook's tables (PrettyTables, which notebooks render as HTML), and the one
format of a p-value in tables and sentences.

Apart from tables.py because they read the analysis, which writes its numbers with tables.py's
helpers: one module for both would import in a circle.
"""

from .analysis import (ACCURACY, LOG_LOSS, MEASURES, SHALLOWEST, architecture_pairs, depth_groups,
                       depth_trend, fidelity)
from .claims import seeds_trend
from .stats import LEVEL
from .tables import pair_text, signed, signed_interval, text_table


P_SHOWN_FROM = 0.001  # a smaller p-value reads '< 0.001': its digits would claim a precision


def p_cell(p):
    """Return a p-value as a table shows it: '0.015', or '< 0.001' for the smallest."""
    return f"{p:.2g}" if p >= P_SHOWN_FROM else f"< {P_SHOWN_FROM:g}"


def p_text(p):
    """Return 'p = 0.015', or 'p < 0.001' for the smallest, as a sentence says it."""
    cell = p_cell(p)
    return f"p {cell}" if cell.startswith("<") else f"p = {cell}"


def _interval(measure, low, high):
    return f"[{measure.text(low)}, {measure.text(high)}]" if low is not None else "—"


def fidelity_table(scores, reference):
    """Return per model the original's results against our prediction intervals for one run."""
    rows = []
    accuracy_, loss = (fidelity(scores, reference, m) for m in MEASURES)
    for a, l in zip(accuracy_, loss):
        inside = {True: "yes", False: "no", None: "—"}
        rows.append([a.model, a.seeds, ACCURACY.text(a.original),
                     _interval(ACCURACY, a.low, a.high), inside[a.inside],
                     LOG_LOSS.text(l.original), _interval(LOG_LOSS, l.low, l.high),
                     inside[l.inside]])
    return text_table(["Model", "Seeds", "Original accuracy", f"Our next run's accuracy ({LEVEL})",
                       "Accuracy inside", "Original log loss", f"Our next run's log loss ({LEVEL})",
                       "Log loss inside"], rows, {"Model", "Accuracy inside", "Log loss inside"})


def pairs_table(scores, measure):
    """Return every pair of architectures: difference over seeds, Holm p, P(a run beats)."""
    rows = []
    for p in architecture_pairs(scores, measure):
        d = p.difference
        rows.append([pair_text(p.a, p.b), measure.difference_text(d.difference, unit=False),
                     measure.difference_interval(d.low, d.high, unit=False)
                     if d.low is not None else "—",
                     p_cell(p.p_holm) if p.p_holm is not None else "—",
                     f"{p.p_a_beats_b:.2f} [{p.p_low:.2f}, {p.p_high:.2f}]"])
    return text_table(["Models", measure.difference_header("Difference"),
                       measure.difference_header(f"{LEVEL} interval"), "p (Holm)",
                       "P(a run of a beats b)"], rows, {"Models"})


def trend_table(scores):
    """Return the depth-trend tests: both measures, with and without model_1."""
    rows = []
    for measure in MEASURES:
        for without in ((), (SHALLOWEST,)):
            if len(depth_groups(scores, measure, without)) < 2:
                continue
            trend = depth_trend(scores, measure, without)
            runs = sum(len(v) for _, v in depth_groups(scores, measure, without))
            rows.append([measure.label, f"without {SHALLOWEST}" if without else "all models",
                         runs, f"{trend.statistic:g}", p_text(trend.p_value)])
    return text_table(["Measure", "Models", "Runs", "J", "One-sided p"], rows,
                      {"Measure", "Models"})


def overfitting_table(histories):
    """Return per model the second-half slope of validation loss over seeds, with its interval."""
    rows = []
    for name, model_histories in histories.items():
        trend = seeds_trend(model_histories)
        e = trend.estimate
        rows.append([name, e.n, f"{signed(e.mean, 2)}%",
                     signed_interval(e.low, e.high, 2, "%") if e.low is not None else "—",
                     f"{trend.rising} of {e.n}", f"{signed(trend.train_slope, 2)}%"])
    return text_table(["Model", "Seeds", "Validation loss per epoch", f"{LEVEL} interval",
                       "Seeds where it rises", "Training loss per epoch"], rows, {"Model"})


def mcnemar_table(by_seed):
    """Return per seed how many network pairs McNemar calls different, beside the calibration."""
    rows = [[f"seed {seed}", len(tests), sum(t.significant for t in tests),
             ", ".join(f"{t.better} > {t.b if t.better == t.a else t.a}"
                       for t in tests if t.significant) or "none"]
            for seed, tests in by_seed.by_seed.items()]
    return text_table(["Networks", "Pairs", "Different (Holm p < 0.05)", "Which"], rows,
                      {"Networks", "Which"})
