"""Relations against a margin of practical equivalence (`analysis.margins`): every pair of
models, every step between depths, each model's mean and the backend's effect.

Each is better, worse, equal (its 90% interval inside ±margin) or undecided, on intervals from a
two-way bootstrap over seeds and test images (paired on images) beside the seeds-only ones, with
the seeds per model that would decide what is undecided. Numbers only: `claims` judges the
original's claims from them, `findings` puts them in words.
"""

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from . import resampling, stats
from .analysis import (_architecture_pairs, _depth_arrays, _draws, _hashable, depth_groups,
                       model_estimates, values)
from .models import CONV_LAYERS
from .stats import CONFIDENCE, SIGNIFICANCE


def _negated(interval):
    return None if interval is None else (0.0 - interval[1], 0.0 - interval[0])  # never -0.0


_REVERSED = {stats.BETTER: stats.WORSE, stats.WORSE: stats.BETTER}


@dataclass(frozen=True)
class Comparison:
    """A against B on one measure: A − B, its intervals, the relation and what would decide it."""

    measure: str
    a: object
    b: object
    difference: float                  # mean(A) − mean(B)
    interval: tuple | None             # 95%: better or worse only when it excludes 0
    equivalence_interval: tuple | None  # 90%: equal when it lies inside ±margin
    seeds_interval: tuple | None       # 95%, Welch over seeds only
    relation: str                      # stats.BETTER, WORSE, EQUAL or UNDECIDED: A against B
    p_holm: float | None = None        # pairs: Welch over seeds, Holm over every pair
    seeds_to_decide: int | None = None  # undecided only: seeds per model, rounded for people
    unresolvable: bool = False         # undecided, and no practical number of seeds decides it

    def reversed(self):
        """Return B against A."""
        return dataclasses.replace(
            self, a=self.b, b=self.a, difference=0.0 - self.difference,
            interval=_negated(self.interval),
            equivalence_interval=_negated(self.equivalence_interval),
            seeds_interval=_negated(self.seeds_interval),
            relation=_REVERSED.get(self.relation, self.relation))


def fewest_of(*counts):
    """Return the smallest count that is not None (None if none is)."""
    return min((n for n in counts if n is not None), default=None)


def _to_decide(difference, margin, seed_variance, floor, alpha=SIGNIFICANCE):
    """Return (seeds per model rounded for people, unresolvable) for an undecided difference."""
    if seed_variance is None:
        return None, False
    over_images = stats.seeds_to_show_difference(difference, seed_variance, floor)
    over_seeds = stats.seeds_to_show_difference(difference, seed_variance, alpha=alpha)
    # Showing it needs both what relation asks: the interval off 0 and Welch's test over seeds.
    shown = None if None in (over_images, over_seeds) else max(over_images, over_seeds)
    # Or by fitting it inside ±margin, if fewer seeds do that (one just inside is easier shown).
    n = fewest_of(shown, stats.seeds_to_fit(margin - abs(difference), seed_variance, floor))
    return (None, True) if n is None else (stats.count_for_people(n), False)


def _compare(measure, margin, a, b, welch, values_a, values_b, draws, significant=None):
    """Return the Comparison of A against B, without the seeds to decide it."""
    seeds_interval = None if welch.low is None else (welch.low, welch.high)
    if draws is not None and min(len(values_a), len(values_b)) >= 2:
        differences = resampling.difference_draws(*draws)
        interval = resampling.bootstrap_interval(differences, CONFIDENCE)
        equivalence = resampling.bootstrap_interval(differences, stats.EQUIVALENCE_CONFIDENCE)
    elif draws is None and seeds_interval is not None:
        tost = stats.tost_welch(values_a, values_b, margin)
        interval, equivalence = seeds_interval, (tost.low, tost.high)
    else:
        interval = equivalence = None
    relation = stats.relation(welch.difference, interval or (None, None),
                              equivalence or (None, None), margin, measure.higher_is_better,
                              significant)
    return Comparison(measure.name, a, b, welch.difference, interval, equivalence,
                      seeds_interval, relation)


def _with_seeds(comparison, margin, seed_variance, sides, alpha=SIGNIFICANCE):
    """Return an undecided `comparison` with the seeds that would decide it; others unchanged."""
    if comparison.relation != stats.UNDECIDED:
        return comparison
    floor = 0.0 if sides is None else stats.image_floor(*sides)
    needed, unresolvable = _to_decide(comparison.difference, margin, seed_variance, floor, alpha)
    return dataclasses.replace(comparison, seeds_to_decide=needed, unresolvable=unresolvable)


def pair_comparisons(scores, measure, margin, per_image_values=None):
    """Return every pair of models with runs compared on `measure` (A − B, in `model_order`)."""
    return list(_pair_comparisons(_hashable(scores), measure, margin, per_image_values))


@functools.lru_cache(maxsize=32)
def _pair_comparisons(scores, measure, margin, images):
    by_model = values(dict(scores), measure)
    sds = {name: e.sd for name, e in model_estimates(dict(scores), measure).items()}
    draws = None if images is None else _draws(images)
    pairs = _architecture_pairs(scores, measure)
    result = []
    for pair in pairs:
        a, b = pair.a, pair.b
        comparison = _compare(measure, margin, a, b, pair.difference, by_model[a], by_model[b],
                              None if draws is None else (draws[(measure.name, a)],
                                                          draws[(measure.name, b)]),
                              pair.significant)
        seed_variance = None if sds[a] is None or sds[b] is None else sds[a] ** 2 + sds[b] ** 2
        sides = None if images is None else ([images[measure.name][a]],
                                             [images[measure.name][b]])
        # Bonferroni's bound on Holm's correction over the pairs, for the seeds to decide.
        result.append(_with_seeds(dataclasses.replace(comparison, p_holm=pair.p_holm), margin,
                                  seed_variance, sides, SIGNIFICANCE / len(pairs)))
    return tuple(result)


def step_comparisons(scores, measure, margin, per_image_values=None):
    """Return each step between adjacent depths: the deeper depth's runs against the shallower's."""
    return list(_step_comparisons(_hashable(scores), measure, margin, per_image_values))


def _depth_seed_variance(by_model, depth):
    """Return the variance of `depth`'s mean with one seed per model, or None."""
    models = [v for name, v in by_model.items() if CONV_LAYERS[name] == depth]
    sd, _ = stats.pooled_sd(models)
    return None if sd is None else sd ** 2 / len(models)


@functools.lru_cache(maxsize=32)
def _step_comparisons(scores, measure, margin, images):
    scores = dict(scores)
    by_model = values(scores, measure)
    groups = depth_groups(scores, measure)
    draws = None if images is None else _draws(images)
    arrays = None if images is None else _depth_arrays(images[measure.name])
    result = []
    for (d1, v1), (d2, v2) in zip(groups, groups[1:]):
        comparison = _compare(measure, margin, d2, d1, stats.welch(v2, v1), v2, v1,
                              None if draws is None else (draws[(measure.name, d2)],
                                                          draws[(measure.name, d1)]))
        parts = [_depth_seed_variance(by_model, depth) for depth in (d1, d2)]
        seed_variance = None if None in parts else sum(parts)
        result.append(_with_seeds(comparison, margin, seed_variance,
                                  None if arrays is None else (arrays[d2], arrays[d1])))
    return tuple(result)


@dataclass(frozen=True)
class ModelMean:
    """A model's mean on one measure, with its interval over seeds and test images."""

    model: str
    measure: str
    mean: float
    interval: tuple | None        # 95%, two-way bootstrap (seeds only without per-image values)
    seeds_interval: tuple | None  # 95% t interval over seeds (pooled SD under POOL_BELOW seeds)
    seeds: int
    pooled: bool


def model_means(scores, measure, per_image_values=None):
    """Return {model: ModelMean} of `measure`; a two-way interval needs two seeds or more."""
    draws = None if per_image_values is None else _draws(per_image_values)
    means = {}
    for name, e in model_estimates(scores, measure).items():
        seeds_interval = None if e.low is None else (e.low, e.high)
        if draws is None:
            interval = seeds_interval
        else:
            interval = (resampling.bootstrap_interval(draws[(measure.name, name)])
                        if e.n >= 2 else None)
        means[name] = ModelMean(name, measure.name, e.mean, interval, seeds_interval, e.n,
                                e.pooled)
    return means


JAX = "jax"  # the backend whose runs the backend's effect sets against the others (TensorFlow)


def backend_effect(scores, measure, confidence=CONFIDENCE):
    """Return the effect of Keras on JAX (GPU) against TensorFlow (CPU) within models, or None."""
    rows = [(name, s.backend == JAX, measure.of(s)) for name, runs in scores.items()
            for s in runs]
    try:
        return stats.additive_effect([v for *_, v in rows], [n for n, *_ in rows],
                                     [j for _, j, _ in rows], confidence)
    except ValueError:
        return None


@dataclass(frozen=True)
class BackendComparison:
    """Runs on JAX (GPU) against TensorFlow (CPU) within the same models, judged on the margin."""

    measure: str
    difference: float                   # JAX − TensorFlow, least squares within models
    interval: tuple                     # 95%: two-way over seeds and test images where given
    equivalence_interval: tuple         # 90%, the same way: equal when inside ±margin
    seeds_interval: tuple               # 95%, least squares over seeds only
    p_value: float                      # over seeds only
    relation: str                       # stats.BETTER, WORSE, EQUAL or UNDECIDED: JAX against TF
    models: tuple                       # the models with runs on both backends


def backend_comparison(scores, measure, margin, per_image_values=None):
    """Return the BackendComparison of `measure`, or None without a model on both backends."""
    return _backend_comparison(_hashable(scores), measure, margin, per_image_values)


@functools.lru_cache(maxsize=16)
def _backend_comparison(scores, measure, margin, images):
    scores = dict(scores)
    effect = backend_effect(scores, measure)
    if effect is None:
        return None
    seeds_interval = (float(effect.low), float(effect.high))
    if images is None:
        tight = backend_effect(scores, measure, stats.EQUIVALENCE_CONFIDENCE)
        interval, equivalence = seeds_interval, (float(tight.low), float(tight.high))
    else:
        groups = {}
        for name, runs in scores.items():
            table, on = images[measure.name][name], np.array([s.backend == JAX for s in runs])
            if len(table) != len(runs):  # the rows must be these runs, in this order
                raise ValueError(f"{name} has {len(runs)} runs but {len(table)} rows of "
                                 "per-image values: pass the per-image values of these runs")
            groups[name] = (table[on], table[~on])
        _, draws = resampling.within_groups_bootstrap(groups)
        interval = resampling.bootstrap_interval(draws, CONFIDENCE)
        equivalence = resampling.bootstrap_interval(draws, stats.EQUIVALENCE_CONFIDENCE)
    models = tuple(name for name, runs in scores.items()
                   if len({s.backend == JAX for s in runs}) == 2)
    relation = stats.relation(effect.value, interval, equivalence, margin,
                              measure.higher_is_better)
    return BackendComparison(measure.name, effect.value, interval, equivalence, seeds_interval,
                             effect.p_value, relation, models)
