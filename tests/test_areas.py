"""Unions and clips through a spatial index equal GEOS's own, on parcels that overlap, touch or stand apart."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from scout.areas import Clipper, intersection, union


@pytest.fixture
def parcels() -> np.ndarray:
    """300 squares on a 1 m grid of 0.4-1.2 m sides: some overlap, some touch, most stand apart, and a multipolygon."""
    rng = np.random.default_rng(17)
    x, y = rng.integers(0, 40, 300).astype(float), rng.integers(0, 40, 300).astype(float)
    side = rng.choice([0.4, 1.0, 1.2], 300)
    squares = shapely.box(x, y, x + side, y + side)
    return np.concatenate([squares, [shapely.MultiPolygon([shapely.box(50, 50, 51, 51), shapely.box(53, 50, 54, 51)])]])


def test_union_is_geos_union(parcels):
    ours, geos = union(parcels), shapely.union_all(parcels)
    assert ours.is_valid and ours.geom_type == "MultiPolygon"
    assert ours.area == pytest.approx(geos.area, rel=1e-12) and shapely.symmetric_difference(ours, geos).area < 1e-9
    assert union(parcels[:0]).is_empty and union(parcels[:1]).equals(parcels[0])


def test_intersection_and_clips_are_geos_ones(parcels):
    area = union(parcels)
    footprint = shapely.Point(20, 20).buffer(15)
    assert shapely.symmetric_difference(intersection(area, footprint), shapely.intersection(area, footprint)).area < 1e-9
    plots = shapely.box(np.arange(0, 40, 3.5), 10.3, np.arange(0, 40, 3.5) + 2.7, 13.1)
    clipped = Clipper(area).clip(np.concatenate([plots, [shapely.box(100, 100, 101, 101)]]))
    assert clipped[-1].is_empty
    for ours, plot in zip(clipped, plots):
        assert ours.is_valid and shapely.symmetric_difference(ours, shapely.intersection(plot, area)).area < 1e-9
    block = (5.5, 5.5, 17.25, 12.0)
    assert shapely.symmetric_difference(Clipper(area).bounded(*block), shapely.clip_by_rect(area, *block)).area < 1e-9
