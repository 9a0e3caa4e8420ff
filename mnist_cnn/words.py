"""Every sentence of the findings a reader sees, generated from a study's `Findings`.

`findings_markdown` the findings in full (05_conclusion, `mnist-cnn findings`),
`transfer_sentence` the claims across data sets (07, the README's
answer), and the `*_sentence` functions the sentence that closes each section of 06_analysis.
The claims' own words are in `claim_words`. No number here is typed by hand.
"""

import numpy as np

from . import analysis, analysis_tables, claims, networks, relations
from .analysis import (ACCURACY, LOG_LOSS, MEASURE_NAMED, MEASURES, OVERFITTING_SLOPE,
                       SHALLOWEST)
from .claim_words import decide_text, images_text, margin_text, seeds_text, step_text
from .data import get_dataset
from .findings import transfer
from .models import CONV_LAYERS, MODEL_NAMES
from .runs import EPOCHS, LOG_LOSS_MARGIN, TYPICAL_ERROR, TYPICAL_LOG_LOSS
from .scores import EPSILON_TEXT, KERAS_EPSILON, test_labels
from .stats import (BETTER, EQUAL, EQUIVALENCE_LEVEL, LEVEL, SEEDS_MOST, SIGNIFICANCE, UNDECIDED,
                    WORSE)
from .tables import names_text, pair_text, plural

KERAS_GAP = 1e-4  # a recorded Keras loss further than this from ours differs by its definition


def transfer_sentence(studies):
    """Say how the models spread on each data set and which claims keep their verdict."""
    parts = []
    for dataset, study in studies.items():
        estimates = analysis.model_estimates(study.scores, ACCURACY)
        title = get_dataset(dataset).title
        if len(estimates) == 1:
            [(name, estimate)] = estimates.items()
            parts.append(f"on {title} only {name} is recorded so far "
                         f"({plural(study.n_runs, 'run')}): {ACCURACY.text(estimate.mean)}")
            continue
        tiers = analysis.ranking(estimates, ACCURACY)  # models whose means tie share a tier
        low, high = estimates[tiers[-1][0]].mean, estimates[tiers[0][0]].mean
        parts.append(f"on {title} ({plural(study.n_runs, 'run')}) mean test accuracy runs from "
                     f"{ACCURACY.text(low)} ({names_text(tiers[-1])}) to {ACCURACY.text(high)} "
                     f"({names_text(tiers[0])}), a spread of {high - low:.{ACCURACY.digits}f} pp")
    text = "Across the seven models, " + "; ".join(parts) + "."
    waiting = {dataset: [name for name in MODEL_NAMES if study.seed_counts.get(name, 0) < 2]
               for dataset, study in studies.items()}
    if any(waiting.values()):
        return text + " " + " ".join(
            f"On {get_dataset(dataset).title}, the original's claims wait for two or more seeds "
            f"of {names_text(names) if len(names) < len(MODEL_NAMES) else 'every model'}, "
            "since each is judged over seeds." for dataset, names in waiting.items() if names)
    rows = transfer(studies)
    first, second = studies
    changed = [row for row in rows if row["verdicts"].get(first) != row["verdicts"].get(second)]
    same = len(rows) - len(changed)
    short = {c.id: c.short for study in studies.values() for c in study.claims}
    return text + (f" Of the original's {plural(len(rows), 'claim')}, {same} "
                   f"{'gets' if same == 1 else 'get'} the same verdict on both"
                   + (": " + "; ".join(f"“{short[row['id']]}” is {row['verdicts'][first]} on "
                                       f"{get_dataset(first).title} and "
                                       f"{row['verdicts'][second]} on {get_dataset(second).title}"
                                       for row in changed) if changed else "") + ".")


# --- sentences ---------------------------------------------------------------------------

def runs_sentence(study):
    """Say what the findings rest on: runs, seeds per model, devices."""
    counts = study.seed_counts
    missing = [name for name in MODEL_NAMES if name not in counts]
    per_model = (plural(min(counts.values()), "seed") + " of each model"
                 if study.even and not missing
                 else ", ".join(f"{plural(n, 'seed')} of {name}" for name, n in counts.items()))
    on = "" if study.on_original_data else f" on {get_dataset(study.dataset).title}"
    return (f"These findings rest on {plural(study.n_runs, 'run')} of the original protocol{on} "
            f"({per_model})" + (f"; no run yet of {names_text(missing)}" if missing else "") + ".")


def margins_sentence(study):
    """Name the margins once, with what each means."""
    margins = study.margins
    error, loss = TYPICAL_ERROR[study.dataset], TYPICAL_LOG_LOSS[study.dataset]
    return (f"A difference within {margin_text(ACCURACY.name, margins[ACCURACY.name])} of test "
            f"accuracy ({images_text(margins[ACCURACY.name])}) counts as none: two accuracies "
            f"at the typical error of {error:.1%} differ by about that much by chance, measured on "
            f"two independent test sets of that size; so does one within "
            f"{margin_text(LOG_LOSS.name, margins[LOG_LOSS.name])} of test log loss "
            f"({LOG_LOSS_MARGIN:.0%} of a typical {loss:g}). Two models are practically tied when "
            f"the {EQUIVALENCE_LEVEL} interval of their difference lies inside it.")


def tied_groups(equal_pairs):
    """Return the tied models in MODEL_NAMES order: a wholly tied group whole, others by pairs."""
    groups = []
    for a, b in equal_pairs:
        joined = [g for g in groups if a in g or b in g]
        merged = set().union({a, b}, *joined)
        groups = [g for g in groups if g not in joined] + [merged]
    equal = set(equal_pairs)
    tied = []
    for group in groups:
        members = tuple(sorted(group, key=MODEL_NAMES.index))
        if all((a, b) in equal for i, a in enumerate(members) for b in members[i + 1:]):
            tied.append(members)
        else:
            tied += [(a, b) for a, b in equal_pairs if a in group]
    return tied


def clearly_behind(pairs):
    """Return {model: the models clearly better than it}, both in MODEL_NAMES order."""
    behind = {}
    for c in pairs:
        if c.relation in (BETTER, WORSE):
            winner, loser = (c.a, c.b) if c.relation == BETTER else (c.b, c.a)
            behind.setdefault(loser, []).append(winner)
    return {loser: sorted(behind[loser], key=MODEL_NAMES.index)
            for loser in sorted(behind, key=MODEL_NAMES.index)}


def differences_sentence(study, measure=ACCURACY):
    """Say which architectures differ, which are practically tied, and what each depth adds."""
    pairs = study.pairs(measure)
    estimates = analysis.model_estimates(study.scores, measure)
    others = [n for n in estimates if n != SHALLOWEST]
    unit = measure.difference_suffix
    worse, better = ("below", "above") if measure.higher_is_better else ("above", "below")
    margin = study.margins[measure.name]
    text = []
    if SHALLOWEST in estimates and others:
        sign = 1 if measure.higher_is_better else -1  # positive: the deeper model is better
        gaps = sorted(sign * (estimates[n].mean - estimates[SHALLOWEST].mean) for n in others)
        low, high = sorted(abs(g) for g in (gaps[0], gaps[-1]))
        span = (f"{low:.{measure.digits}f}" if low == high else
                f"{low:.{measure.digits}f}–{high:.{measure.digits}f}")
        deeper = "each deeper model" if len(others) > 1 else others[0]
        if gaps[0] > 0:
            where = f"{span}{unit} {worse} {deeper}"
        elif gaps[-1] < 0:
            where = f"{span}{unit} {better} {deeper}"
        else:  # better than some, worse than others
            where = (f"from {-gaps[0]:.{measure.digits}f}{unit} {better} to "
                     f"{gaps[-1]:.{measure.digits}f}{unit} {worse} the deeper models")
        text.append(f"{SHALLOWEST}, the only model with {CONV_LAYERS[SHALLOWEST]} conv layers, "
                    f"averages {measure.text(estimates[SHALLOWEST].mean)}, {where}.")
    if len(others) > 1:
        span = sorted(estimates[n].mean for n in others)
        text.append(f"The {len(others)} deeper models average between {measure.text(span[0])} "
                    f"and {measure.text(span[-1])}.")
    # Holm's correction over a single pair changes nothing, so it is named only over several.
    correction = f", Holm-corrected for the {len(pairs)} pairs" if len(pairs) > 1 else ""
    rule = (f"Welch's test over seeds{correction}, and the {LEVEL} interval over seeds and test "
            f"images off 0")
    behind = clearly_behind(pairs)
    if behind:
        text.append(f"Clearly apart ({rule}): " + "; ".join(
            f"{names_text(winners)} better than {loser}" for loser, winners in behind.items())
            + ".")
    elif pairs:
        text.append(f"No two architectures are clearly apart ({rule}).")
    else:
        [(name, estimate)] = estimates.items()
        text.append(f"{name} alone is recorded ({measure.text(estimate.mean)}): no two "
                    f"architectures to compare yet.")
    tied = [names_text(group) for group in
            tied_groups([(c.a, c.b) for c in pairs if c.relation == EQUAL])]
    if tied:
        text.append(f"Practically tied (within {margin_text(measure.name, margin)}): "
                    + "; ".join(tied) + ".")
    open_ = [c for c in pairs if c.relation == UNDECIDED]
    if open_ and len(open_) < len(pairs):
        text.append(f"The other {plural(len(open_), 'pair')} "
                    f"{'is' if len(open_) == 1 else 'are'} undecided.")
    elif open_:
        text.append("Every pair is undecided.")
    steps = study.steps(measure)
    if steps:
        text.append(f"From depth to depth ({LEVEL} intervals over seeds and test images): "
                    + "; ".join(step_text(s, margin) for s in steps) + ".")
    return f"*{measure.label.capitalize()}.* " + " ".join(text)


def leaders_text(study, leaders, measure=ACCURACY):
    """Say how the leaders by mean stand to each other: tied, apart, or what would decide it."""
    margin = margin_text(measure.name, study.margins[measure.name])
    among = [c for c in study.pairs(measure) if c.a in leaders and c.b in leaders]
    relations = {c.relation for c in among}
    pair = "they" if len(leaders) == 2 else f"all {len(leaders)}"
    if relations == {EQUAL}:
        return f"{pair} are practically tied (within {margin})"
    clear = [c for c in among if c.relation in (BETTER, WORSE)]
    if clear:
        return "; ".join(f"{c.a if c.relation == BETTER else c.b} is clearly better than "
                         f"{c.b if c.relation == BETTER else c.a}" for c in clear)
    open_ = [c for c in among if c.relation == UNDECIDED]
    needed, unresolvable = claims.open_questions(open_)
    what = ("telling them apart" if all(abs(c.difference) >= study.margins[measure.name]
                                        for c in open_)
            else "telling them apart or showing them tied")
    if unresolvable:
        return (f"{what} is beyond this test set: no practical number of seeds (up to "
                f"{SEEDS_MOST:,} per model) would do it")
    if needed:
        return f"{what} would take about {seeds_text(needed)}"
    return f"{what} needs two seeds of each first"


def power_sentence(study, measure=ACCURACY):
    """Say what the seeds recorded can detect, and how the leaders by mean stand."""
    power = analysis.power(study.scores, measure)
    if power.sd is None:
        return f"No model has two seeds yet, so the seed-to-seed spread of {measure.label} is unknown."
    unit = measure.difference_suffix
    best = analysis.best_probabilities(study.scores, measure)
    ranked = sorted(best, key=best.get, reverse=True)
    sentence = (f"Two runs of one architecture differ by chance: the seed-to-seed SD of "
                f"{measure.label} is {power.sd:.{measure.digits + 1}f}{unit} (pooled over the "
                f"models but {SHALLOWEST}). With {power.seeds} seeds per model"
                + ("" if study.even else " (the fewest any model has)")
                + f" a difference below {power.detectable:.{measure.digits}f}{unit} can "
                f"go unnoticed ({analysis.stats.POWER:.0%} power). ")
    estimates = analysis.model_estimates(study.scores, measure)
    # A mean a hair below the best reads the same once rounded: say so, or the table beside the
    # sentence shows a third "best" that the sentence leaves out.
    alike = [name for name, e in estimates.items() if name not in power.leaders
             and measure.text(e.mean) == measure.text(power.best)]
    shown_alike = (f" ({names_text(alike)}, also {measure.text(power.best)} when rounded, "
                   f"{'is' if len(alike) == 1 else 'are'} lower by less than one test image "
                   f"on average)" if alike else "")
    if power.gap == 0 and len(power.leaders) > 1:
        sentence += (f"The best mean, {measure.text(power.best)}, is shared by "
                     f"{names_text(power.leaders)}{shown_alike}: "
                     f"{leaders_text(study, power.leaders, measure)}. ")
    elif len(power.leaders) == 2:
        a, b = power.leaders
        sentence += (f"The two best by mean, {a} and {b}, differ by "
                     f"{power.gap:.{measure.digits + 1}f}{unit}: "
                     f"{leaders_text(study, power.leaders, measure)}. ")
    sentence += ("The chance that each model is the best: " + ", ".join(
        f"{name} {best[name]:.2f}" for name in ranked if best[name] >= 0.005) + ".")
    return sentence


def complete_splits_sentence(study, measure=ACCURACY):
    """Say what a P(a run of A beats B) of 0.00 or 1.00 means with the seeds recorded."""
    pairs = analysis.architecture_pairs(study.scores, measure)
    split = [p for p in pairs if p.p_a_beats_b in (0.0, 1.0)]
    if not split:
        return ""
    fewest = min(study.seed_counts.values())
    chance = analysis.stats.complete_split_p(fewest, fewest)
    clear = [pair_text(p.a, p.b) for p in split if p.significant]
    not_clear = [pair_text(p.a, p.b) for p in split if not p.significant]
    sentence = (f"{len(split)} of the {len(pairs)} pairs split completely (0.00 or 1.00): every "
                f"recorded run of one beat every run of the other. Their intervals, resampled "
                f"from those same runs, cannot reach past them, so [0.00, 0.00] or [1.00, 1.00] "
                f"is no certainty. With {fewest} seeds of each model"
                + ("" if study.even else " (the fewest any model has)")
                + f" a complete split happens by chance once in {round(1 / chance)}, and a rank "
                f"test could not call it significant after Holm's correction over the "
                f"{len(pairs)} pairs (its corrected p would be at least "
                f"{min(1.0, len(pairs) * chance):.2f}). Welch's test in the table, which also "
                f"weighs how far apart the runs lie, finds ")
    if clear and not_clear:
        sentence += f"{names_text(clear)} significant, and not {names_text(not_clear)}."
    else:
        sentence += f"{'all' if clear else 'none'} of them significant."
    return sentence


def claims_sentences(study):
    """Return one plain line per claim: its statement, verdict and the gist of the evidence."""
    lines = []
    for claim in study.claims:
        decide = decide_text(claim.seeds_to_decide, claim.unresolvable)
        lines.append(f"{claim.statement} **{claim.verdict.capitalize()}**: {claim.summary}."
                     + (f" {decide[0].upper()}{decide[1:]}." if decide else ""))
    return lines


def claims_summary(study):
    """Count the claims by verdict, e.g. '2 supported, 1 partly supported, 7 undecided'."""
    counts = {v: sum(c.verdict == v for c in study.claims) for v in claims.VERDICTS}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n)


def conclusion_sentence(study):
    """Return the sentence 05_conclusion closes on: fidelity and how the claims fare."""
    parts = []
    for measure in MEASURES:
        entries = [f for f in study.fidelity(measure) if f.inside is not None]
        parts.append(f"{sum(f.inside for f in entries)} of {len(entries)} models in {measure.label}")
    return (f"In short, a run of ours could give the original's result for {parts[0]} and for "
            f"{parts[1]}; of the original's {plural(len(study.claims), 'claim')}, judged over "
            f"seeds: {claims_summary(study)}.")


def analysis_closing_sentence(study):
    """Return the sentence 06_analysis closes on: how the pairs and the claims stand."""
    counts = []
    for measure in MEASURES:
        pairs = study.pairs(measure)
        counts.append((len(pairs), sum(c.relation in (BETTER, WORSE) for c in pairs),
                       sum(c.relation == EQUAL for c in pairs),
                       sum(c.relation == UNDECIDED for c in pairs)))
    (total, clear, tied, open_), (_, clear_loss, tied_loss, open_loss) = counts
    return (f"In short, over seeds {clear} of the {total} pairs of architectures differ clearly in "
            f"{ACCURACY.label}, {tied} are practically tied and {open_} stay undecided (in "
            f"{LOG_LOSS.label}: {clear_loss} clearly, {tied_loss} tied, {open_loss} undecided); "
            f"of the original's {plural(len(study.claims), 'claim')}: {claims_summary(study)}.")


def sources_sentence(study):
    """Say what each kind of claim rests on in the original: 'depth and model_7: …; …'."""
    kinds = {}
    for claim in study.claims:
        # The kind is the id's stem ("overfitting-model_3"); a source's parenthesis is per claim.
        kinds.setdefault(claim.source.split(" (")[0], []).append(claim.id.split("-")[0])
    return "; ".join(f"{names_text(dict.fromkeys(stems))}: {source}"
                     for source, stems in kinds.items())


def fidelity_sentence(study):
    """Say for how many models the original's result is one a run of ours could give."""
    parts = []
    for measure in MEASURES:
        entries = [f for f in study.fidelity(measure) if f.inside is not None]
        outside = [f.model for f in entries if not f.inside]
        parts.append(f"{measure.label} for {sum(f.inside for f in entries)} of "
                     f"{plural(len(entries), 'model')}"
                     + (f" (outside: {names_text(outside)})" if outside else ""))
    pooled = [f.model for f in study.fidelity(ACCURACY) if f.pooled]
    return (f"The original's result lies inside the {LEVEL} interval where one new run of ours "
            "would fall: its " + ", and its ".join(parts) + "."
            + (f" The intervals of {names_text(pooled)}, with fewer than {analysis.POOL_BELOW} seeds, "
               f"use the seed-to-seed SD pooled over all models." if pooled else ""))


def backend_sentence(study, measure=ACCURACY):
    """Say how far JAX (GPU) runs differ from TensorFlow (CPU) runs, judged against the margin."""
    effect = relations.backend_comparison(study.scores, measure, study.margins[measure.name],
                                         study.per_image)
    if effect is None:
        return ("No model has runs on both backends, so the backend's effect cannot be "
                "separated from the architecture's.")
    margin = margin_text(measure.name, study.margins[measure.name])
    equivalence = (f"{EQUIVALENCE_LEVEL} interval "
                   f"{measure.difference_interval(*effect.equivalence_interval)}")
    verdict = {
        BETTER: f"a clear difference, in favour of JAX (GPU): the {LEVEL} interval excludes 0",
        WORSE: (f"a clear difference, in favour of TensorFlow (CPU): the {LEVEL} interval "
                "excludes 0"),
        EQUAL: f"practically equal: the {equivalence} lies inside {margin}",
        UNDECIDED: (f"undecided: neither clearly different (the {LEVEL} interval includes 0) nor "
                    f"shown within {margin} (the {equivalence})")}[effect.relation]
    return (f"Runs under Keras on JAX (GPU) against TensorFlow (CPU), within the same models: "
            f"{measure.difference_text(effect.difference)} {measure.label} "
            f"{measure.difference_interval(*effect.interval)} over seeds and test images "
            f"({measure.difference_interval(*effect.seeds_interval)} over seeds only, "
            f"{analysis_tables.p_text(effect.p_value)}), {verdict}.")


def log_loss_sentence(study):
    """Say how the study's log loss differs from the number Keras recorded on TensorFlow."""
    tf = [s for runs in study.scores.values() for s in runs if s.backend == "tensorflow"]
    gaps = sorted(((s.keras_log_loss - s.log_loss, s) for s in tf), key=lambda g: g[0])
    if not gaps:
        return ("Every log loss here is the mean cross-entropy of the saved test probabilities "
                f"clipped at {EPSILON_TEXT}, as Keras computes it on JAX.")
    above = [g for g, _ in gaps if g > KERAS_GAP]
    largest, score = gaps[-1]
    run = next(r for r in study.runs[score.model] if r.config.seed == score.seed)
    labels = test_labels(study.dataset)
    near_zero = int((run.probs[np.arange(len(labels)), labels].astype(float) <= KERAS_EPSILON).sum())
    return ("Every log loss here is the mean cross-entropy of the saved test probabilities "
            f"clipped at {EPSILON_TEXT}, as Keras computes it on JAX; Keras on TensorFlow records "
            f"it unclipped from the logits, which is higher by more than {KERAS_GAP:g} in "
            f"{len(above)} of {plural(len(gaps), 'TensorFlow run')} (at most by {largest:.4f}, in "
            f"{score.model} seed {score.seed}, which gives "
            f"{plural(near_zero, 'test image')} a probability of {EPSILON_TEXT} or less for its "
            f"true {get_dataset(study.dataset).label_word}).")


def overfitting_sentence(study):
    """Say which models overfit over seeds, which stay below the margin, which are open."""
    verdicts = [v for v in study.verdicts if isinstance(v, claims.OverfittingVerdict)
                and v.ours is not None]
    groups = {state: [v.model for v in verdicts if v.overfits is state]
              for state in (True, False, None)}
    margin = study.margins[OVERFITTING_SLOPE]
    text = (f"Over epochs {claims.OVERFIT_FROM_EPOCH}–{EPOCHS}, validation loss "
            f"rises over seeds while training loss falls in "
            + (names_text(groups[True]) if groups[True] else "no model"))
    if groups[False]:
        text += (f"; it stays below a rise of {margin:g}% per epoch (the {EQUIVALENCE_LEVEL} "
                 f"interval's upper bound) in {names_text(groups[False])}")
    if groups[None]:
        text += f"; {names_text(groups[None])} could still go either way"
    return text + "."


def depth_sentence(study):
    """Say what the depth-trend tests show, with and without model_1."""
    depth = [v for v in study.verdicts if isinstance(v, claims.DepthVerdict)]
    if not depth or not all(v.trend for v in depth):
        return "A depth trend needs runs of at least two depths; these runs have one."
    parts = []
    for verdict in depth:
        label = MEASURE_NAMED[verdict.measure].label
        text = f"{label} {analysis_tables.p_text(verdict.trend.p_value)}"
        if verdict.trend_without:
            text += (f" (without {SHALLOWEST}: "
                     f"{analysis_tables.p_text(verdict.trend_without.p_value)})")
        parts.append(text)
    return ("Over all runs, the chance of a depth trend at least this strong if depth did not "
            "matter: " + "; ".join(parts) + f". A trend that needs {SHALLOWEST} to be significant "
            f"says only that {CONV_LAYERS[SHALLOWEST]} conv layers are too few.")


def mcnemar_sentence(by_seed):
    """Say how often McNemar tells two networks apart, against two seeds of one architecture."""
    share = by_seed.same_architecture_share
    tests = [t for seed_tests in by_seed.by_seed.values() for t in seed_tests]
    text = (f"Within a seed, McNemar tells {sum(t.significant for t in tests)} of "
            f"{plural(len(tests), 'pair')} of networks apart (Holm within each seed).")
    if share is not None:
        same = by_seed.same_architecture
        text += (f" Two seeds of the same architecture differ by the same test (p < "
                 f"{SIGNIFICANCE:g}) in {sum(r.p_value < SIGNIFICANCE for *_, r in same)} of "
                 f"{plural(len(same), 'pair')} ({share:.0%}): a significant McNemar test says "
                 f"that two trained networks differ, not that their architectures do.")
    return text


def ensemble_sentence(probs, labels):
    """Say what the ensemble of the headline networks scores against the best one alone."""
    from .scores import accuracy, log_loss

    mixed = networks.ensemble(list(probs.values()))
    best = max(probs, key=lambda name: accuracy(probs[name], labels))
    return (f"The mean of the {len(probs)} networks' probabilities scores "
            f"{accuracy(mixed, labels):.2%} test accuracy and {log_loss(mixed, labels):.4f} log "
            f"loss, against {accuracy(probs[best], labels):.2%} and "
            f"{log_loss(probs[best], labels):.4f} for the best single network ({best}).")


def findings_markdown(study):
    """Return the findings in full for readers (05_conclusion, `mnist-cnn findings`)."""
    claims = "\n".join(f"- {line}" for line in claims_sentences(study))
    faithful = (f"\n\n**How faithful the reproduction is.** {fidelity_sentence(study)} "
                f"{backend_sentence(study)}" if study.on_original_data else "")
    # 06_analysis shows the tests on the original's data; another data set's are in its JSON.
    evidence = ("`mnist-cnn findings --json`, or 06_analysis" if study.on_original_data
                else f"`mnist-cnn findings --dataset {study.dataset} --json`")
    return f"""{runs_sentence(study)}

**Which architectures differ.** {margins_sentence(study)}

{differences_sentence(study, ACCURACY)}

{differences_sentence(study, LOG_LOSS)}

**What cannot be told apart yet.** {power_sentence(study, ACCURACY)}

**Do the original's claims hold?** {claims_summary(study)}, each judged over seeds rather than on
single trained networks (the evidence: {evidence}):

{claims}{faithful}

**One log loss.** {log_loss_sentence(study)}"""
