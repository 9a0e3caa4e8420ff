"""The bootstraps over seeds and test images, against binomial, brute-force and known variances."""

import itertools
import math

import numpy as np
import pytest

from mnist_cnn import resampling, stats


def test_two_way_bootstrap_over_images_alone_has_the_binomial_standard_error():
    # Every seed scores the same 1000 images, 300 right: the spread is the images' alone,
    # SE = sqrt(p (1 - p) / n) = sqrt(0.21 / 1000) = 0.01449.
    row = np.zeros(1000)
    row[np.random.default_rng(5).choice(1000, 300, replace=False)] = 1.0
    draws = resampling.two_way_bootstrap({"m": np.tile(row, (5, 1))})["m"]
    low, high = resampling.bootstrap_interval(draws)
    assert high - low == pytest.approx(2 * 1.959964 * math.sqrt(0.3 * 0.7 / 1000), rel=0.05)
    assert (low + high) / 2 == pytest.approx(0.3, abs=0.002)
    assert draws.shape == (stats.RESAMPLES,)


def test_two_way_bootstrap_over_seeds_alone_matches_a_seeds_only_bootstrap():
    seeds = np.array([0.90, 0.92, 0.95, 0.97, 0.99])
    draws = resampling.two_way_bootstrap({"m": np.repeat(seeds[:, None], 200, axis=1)})["m"]
    # Every draw is a mean of five seed values (multiples of 0.002): the images add nothing.
    assert np.allclose(draws * 500, np.round(draws * 500), atol=1e-6)
    # The seeds-only bootstrap, every one of the 5^5 equally likely resamples enumerated.
    exact = [np.mean(pick) for pick in itertools.product(seeds, repeat=5)]
    assert resampling.bootstrap_interval(draws) == pytest.approx(
        resampling.bootstrap_interval(exact), abs=0.004)  # its SE is 0.0146
    assert draws.std() == pytest.approx(np.std(exact), rel=0.03)


def test_two_way_bootstrap_pairs_models_on_images():
    # Per-image log losses, the same on every seed; "b" is a copy of "a", "c" has 3 seeds.
    losses = np.random.default_rng(6).exponential(0.1, 500)
    table = np.tile(losses, (5, 1))
    draws = resampling.two_way_bootstrap({"a": table, "b": table.copy(),
                                     "c": np.random.default_rng(7).random((3, 500))})
    assert draws["a"].std() > 0.001  # the images vary the means ...
    assert np.all(resampling.difference_draws(draws["a"], draws["b"]) == 0)  # ... in step
    assert draws["c"].shape == (stats.RESAMPLES,)
    with pytest.raises(ValueError):
        resampling.two_way_bootstrap({"a": table, "d": np.ones((5, 499))})


def test_two_way_bootstrap_is_deterministic():
    table = np.random.default_rng(8).random((4, 300))
    first = resampling.two_way_bootstrap({"a": table, "b": table[::-1] ** 2}, resamples=600)
    second = resampling.two_way_bootstrap({"a": table, "b": table[::-1] ** 2}, resamples=600)
    assert all(np.array_equal(first[name], second[name]) for name in "ab")
    assert len(first["a"]) == 600  # more than one block of resamples


def backend_table(shifts, images, group_image, on, delta=0.05):
    """Return (seeds, images) values: the group's images, the level's, one shift per run."""
    return np.stack([group_image + on + delta * shift * np.ones(images) for shift in shifts])


def test_within_groups_bootstrap_on_a_table_with_known_image_and_seed_variances():
    images, delta = 500, 0.05
    generator = np.random.default_rng(9)
    # Each group's own images (variance 100) are the same at both levels: paired within the
    # group, they cancel. The "on" level adds 0.3 + v, v = ±1 alternating: the effect's image
    # variance is var(v) / images = 1 / 500. Each run shifts by a multiple of delta (sum 0 in
    # every cell), as a seed moves every image alike.
    v = np.where(np.arange(images) % 2, 1.0, -1.0)
    own = {g: 10 * generator.standard_normal(images) for g in ("g1", "g2", "g3")}
    groups = {"g1": (backend_table((-1, 1), images, own["g1"], 0.3 + v),
                     backend_table((-1, 0, 1), images, own["g1"], 0.0)),
              "g2": (backend_table((0,), images, own["g2"], 0.3 + v),
                     backend_table((-1, 1), images, own["g2"], 0.0)),
              "g3": (np.empty((0, images)), backend_table((-1, 0, 1), images, own["g3"], 0.0))}
    # Weights n_on n_off / (n_on + n_off): g1 2·3/5 = 1.2, g2 1·2/3; g3 has one level: 0.
    total = 1.2 + 2 / 3
    # Rescaled residuals squared (times delta²): 2-run cells ±√2 -> 2, 2; 3-run cells
    # (-1, 0, 1)·√1.5 -> 1.5, 0, 1.5. Pooled over every cell, g3's included: 14 / 10 = 1.4.
    pooled = 1.4 * delta ** 2
    effect, draws = resampling.within_groups_bootstrap(groups)  # every cell under 3 runs: pooled
    assert effect == pytest.approx(0.3)
    assert draws.mean() == pytest.approx(0.3, abs=0.003)
    # A cell's mean draws n residuals: variance pooled / n; over the weighted groups,
    # sum w² (pooled/n_on + pooled/n_off) / total² = pooled / total, as w = 1/(1/n_on + 1/n_off).
    assert draws.var() == pytest.approx(1 / images + pooled / total, rel=0.05)
    # Cells of two runs or more on their own residuals: g1's 2 and 1, g2's off 2 (times delta²);
    # g2's one "on" run still draws from the pool.
    _, own_draws = resampling.within_groups_bootstrap(groups, pool_below=2)
    seeds = (1.2 ** 2 * (2 / 2 + 1 / 3) + (2 / 3) ** 2 * (1.4 / 1 + 2 / 2)) * delta ** 2
    assert own_draws.var() == pytest.approx(1 / images + seeds / total ** 2, rel=0.05)
    # The same effect as least squares on the runs' means.
    rows = [(g, level, table.mean(axis=1)) for g, pair in groups.items()
            for level, table in zip((1, 0), pair)]
    run_means = np.concatenate([m for *_, m in rows])
    assert stats.additive_effect(run_means, [g for g, _, m in rows for _ in m],
                                 [lv for _, lv, m in rows for _ in m]).value == pytest.approx(effect)


def test_within_groups_bootstrap_needs_both_levels_somewhere_and_the_same_images():
    table = np.ones((2, 10))
    with pytest.raises(ValueError, match="both levels"):
        resampling.within_groups_bootstrap({"a": (table, np.empty((0, 10)))})
    with pytest.raises(ValueError, match="same test images"):
        resampling.within_groups_bootstrap({"a": (table, np.ones((2, 11)))})
    first = resampling.within_groups_bootstrap({"a": (table, table * 2)}, resamples=300)
    assert first[0] == -1.0 and np.array_equal(
        first[1], resampling.within_groups_bootstrap({"a": (table, table * 2)}, resamples=300)[1])
