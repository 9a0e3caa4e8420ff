"""Bootstraps over seeds and test images: the two-way bootstrap of model means and the
within-groups bootstrap of a factor's effect, with their percentile intervals.

Pure functions of numbers, like `stats`, whose seeded generator every draw takes: the same inputs
give the same output.
"""

import math

import numpy as np

from .stats import CONFIDENCE, RESAMPLES, rng

BLOCK = 250           # resamples drawn together: bounds memory at BLOCK × images image counts


def _image_resampled_means(rows, resamples, generator):
    """Return a (resamples, rows) array: each row's mean over the same resampled test images."""
    n = rows.shape[1]
    row_means = np.empty((resamples, rows.shape[0]))
    for start in range(0, resamples, BLOCK):
        # Counts of n uniform draws are multinomial(n, 1/n each); counting int32 draws row by row
        # is several times faster than numpy's multinomial, whose binomials run one by one.
        picks = generator.integers(0, n, (min(BLOCK, resamples - start), n), dtype=np.int32)
        counts = np.empty(picks.shape)
        for i, row in enumerate(picks):
            counts[i] = np.bincount(row, minlength=n)
        row_means[start:start + len(picks)] = counts @ rows.T / n
    return row_means


def two_way_bootstrap(per_image, resamples=RESAMPLES):
    """Return {model: `resamples` means}: seeds drawn per model, one image draw shared by all."""
    names = list(per_image)
    tables = [np.atleast_2d(np.asarray(per_image[name], float)) for name in names]
    images = {table.shape[1] for table in tables}
    if len(images) != 1:
        raise ValueError("every model needs the same test images")
    images.pop()
    # Identical rows share one product, so identical models differ by exactly 0, rounding included.
    rows, where = np.unique(np.concatenate(tables), axis=0, return_inverse=True)
    generator = rng()
    # One draw of images for every model keeps the differences paired on images.
    row_means = _image_resampled_means(rows, resamples, generator)
    draws, first, where = {}, 0, where.ravel()  # numpy 2.0 returned it 2-D for axis=0
    for name, table in zip(names, tables):
        seeds = table.shape[0]
        means = row_means[:, where[first:first + seeds]]
        first += seeds
        picks = generator.integers(0, seeds, (resamples, seeds))
        draws[name] = np.take_along_axis(means, picks, axis=1).mean(axis=1)
    return draws


def bootstrap_interval(draws, confidence=CONFIDENCE):
    """Return (low, high): the percentile interval of bootstrap `draws`."""
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.asarray(draws, float), [tail, 1 - tail])
    return float(low), float(high)


def difference_draws(draws_a, draws_b):
    """Return A − B per resample: from the same resamples, so paired on images."""
    return np.asarray(draws_a, float) - np.asarray(draws_b, float)


# A model (or cell) with fewer runs than this borrows the seed-to-seed spread pooled over all:
# a spread from two runs is too rough to build an interval on.
POOL_BELOW = 3


def within_groups_bootstrap(groups, pool_below=POOL_BELOW, resamples=RESAMPLES):
    """Return (effect, draws): a two-level factor's effect within groups and `resamples` draws."""
    cells = []  # (sign, the group's weight, (runs, images) array)
    for group, (on, off) in groups.items():
        on, off = np.asarray(on, float), np.asarray(off, float)
        if on.ndim != 2 or off.ndim != 2:
            raise ValueError(f"pass {group}'s runs at each level as a (seeds, images) array")
        both = len(on) and len(off)
        weight = len(on) * len(off) / (len(on) + len(off)) if both else 0.0
        cells += [(sign, weight, table) for sign, table in ((1, on), (-1, off)) if len(table)]
    if len({table.shape[1] for *_, table in cells}) != 1:
        raise ValueError("every run needs the same test images")
    total = sum(weight for _, weight, _ in cells) / 2  # each group's weight counts at both levels
    if total == 0:
        raise ValueError("no group has runs at both levels of the factor")
    residuals, own = [], []
    for *_, table in cells:
        first = sum(len(r) for r in residuals)
        if len(table) > 1:
            # So that the residuals' squares average to the cell's variance.
            scale = math.sqrt(len(table) / (len(table) - 1))
            residuals.append((table - table.mean(axis=0)) * scale)
        own.append(np.arange(first, first + (len(table) if len(table) > 1 else 0)))
    if any(len(table) < pool_below for *_, table in cells) and not residuals:
        raise ValueError("no cell has two runs: the seeds' spread is unknown")
    means = np.stack([table.mean(axis=0) for *_, table in cells])
    generator = rng()
    row_means = _image_resampled_means(np.concatenate([means, *residuals]), resamples, generator)
    residual_means = row_means[:, len(cells):]
    pool = np.arange(residual_means.shape[1])
    draws = np.zeros(resamples)
    for index, (sign, weight, table) in enumerate(cells):
        if weight == 0:
            continue
        # A small cell draws every cell's residuals, as a model with few seeds borrows a pooled SD.
        source = own[index] if len(table) >= max(pool_below, 2) else pool
        picks = source[generator.integers(0, len(source), (resamples, len(table)))]
        seeds = np.take_along_axis(residual_means, picks, axis=1).mean(axis=1)
        draws += sign * weight * (row_means[:, index] + seeds)
    effect = sum(sign * weight * float(table.mean()) for sign, weight, table in cells)
    return effect / total, draws / total
