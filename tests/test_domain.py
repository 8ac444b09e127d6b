"""The trust signal's imagery-versus-training distance (scout.domain)."""

from __future__ import annotations

import numpy as np
import pytest

from scout import domain

RGB = ("red", "green", "blue")


def field_windows(rng, n, green=0.5, texture=0.05):
    out = []
    for _ in range(n):
        x = np.full((3, 128, 128), 0.3, np.float32)
        x[1] = green + rng.normal(0, 0.02)
        x += rng.normal(0, texture, x.shape).astype(np.float32)
        out.append(domain.describe(np.clip(x, 0, 1), RGB))
    return np.stack(out)


def test_imagery_like_the_training_windows_is_near_and_unlike_is_far():
    rng = np.random.default_rng(0)
    fitted = domain.fit(field_windows(rng, 200))
    near = domain.compare(field_windows(rng, 50), fitted)
    far = domain.compare(field_windows(rng, 50, green=0.15, texture=0.2), fitted)
    assert near["far_share"] < 0.1 and near["median_ratio"] < 1.5
    assert far["far_share"] > 0.9 and far["median_ratio"] > 3


def test_describe_reads_greenness_or_ndvi_and_texture():
    flat = np.full((3, 128, 128), 0.4, np.float32)
    green = flat.copy()
    green[1] = 0.7
    assert domain.describe(green, RGB)[-1] > domain.describe(flat, RGB)[-1]
    rough = flat + np.random.default_rng(1).normal(0, 0.1, flat.shape).astype(np.float32)
    assert domain.describe(rough, RGB)[6:9].min() > domain.describe(flat, RGB)[6:9].max()
    bgrn = np.stack([flat[0], flat[0], flat[0] * 0.5, flat[0] * 2])
    assert domain.describe(bgrn, ("blue", "green", "red", "nir"))[-1] > 0.5


def test_windows_skip_nodata_and_fit_needs_enough_of_them():
    x = np.zeros((3, 300, 300), np.float32)
    valid = np.ones((300, 300), bool)
    valid[:128, :128] = False
    assert len(domain.windows(x)) == 4 and len(domain.windows(x, valid)) == 3
    with pytest.raises(ValueError, match="at least"):
        domain.fit(np.zeros((5, 11)))
    assert domain.compare(np.zeros((0, 11)), domain.fit(field_windows(np.random.default_rng(2), 40)))["windows"] == 0
