"""Synthetic raw photos: rendered through the camera model, placed back where they were taken."""

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.windows import Window

from scout.frames.flight import place_flight
from scout.frames.warp import read_frame
from scout.imagery import Grid
from scout.synth import make_scene
from scout.synth.flight import SynthCamera, lawnmower, render_flight

CAMERA = SynthCamera(width=240, height=180, focal_px=240.0)


def test_lawnmower_covers_the_area_with_the_overlap_asked():
    poses = lawnmower((0, 0, 60, 40), 20.0, CAMERA, overlap=(0.7, 0.6))  # footprint 20 x 15 m
    xs = sorted({p.x for p in poses})
    assert xs[0] == pytest.approx(10) and xs[-1] >= 50 and np.diff(xs) == pytest.approx(8.0)
    strip = [p for p in poses if p.x == xs[0]]
    assert np.diff([p.y for p in strip]) == pytest.approx(4.5) and all(p.yaw_deg == 0 for p in strip)
    assert all(p.yaw_deg == 180 for p in poses if p.x == xs[1])


def test_rendered_photos_are_placed_back_onto_the_scene(tmp_path):
    scene = make_scene(tmp_path, seed=3, size_px=512, gsd_m=0.05)  # 25.6 m square
    photos = render_flight(scene.image_path, tmp_path / "flight", 12.0, CAMERA)  # 12 x 9 m footprints at 5 cm
    flight = place_flight(photos)
    assert len(flight.used) == len(photos) >= 6 and not flight.warnings  # strips flown back are recorded right
    with rasterio.open(scene.image_path) as src:
        truth = src.read([1, 2, 3]).astype(int)
        grid = Grid(src.crs.to_wkt(), tuple(src.transform)[:6], src.width, src.height)
    window = Window(0, 0, grid.width, grid.height)
    claimed = np.zeros((grid.height, grid.width), int)
    cols, rows = np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5)
    x, y = grid.affine * (cols, rows)
    for frame in flight.used:
        assert frame.gsd_m == pytest.approx(0.05, rel=1e-3) and frame.meta.agl_m == 12.0 and frame.cell_wkb
        data, valid = read_frame(frame, (1, 2, 3), grid, window, 0.05)
        claimed += valid
        inner = valid & np.roll(valid, 3, 0) & np.roll(valid, -3, 0) & np.roll(valid, 3, 1) & np.roll(valid, -3, 1)
        if inner.sum() < 200:
            continue
        ys, xs = np.nonzero(inner)
        diff = {(dy, dx): np.abs(data[:, ys, xs].astype(int) - truth[:, np.clip(ys + dy, 0, grid.height - 1), np.clip(xs + dx, 0, grid.width - 1)]).mean()
                for dy in range(-2, 3) for dx in range(-2, 3)}
        assert diff[0, 0] < 6 and min(diff, key=diff.get) == (0, 0)  # the same ground, not a pixel off
    covered = shapely.contains_xy(shapely.union_all([f.footprint for f in flight.used]).buffer(-0.1), x, y)
    assert claimed.max() == 1 and (claimed[covered] == 1).all()  # every ground point read from one photo, once


def test_each_ground_point_is_read_from_the_photo_that_sees_it_most_nearly_straight_down(tmp_path):
    scene = make_scene(tmp_path, seed=4, size_px=256, gsd_m=0.05)
    flight = place_flight(render_flight(scene.image_path, tmp_path / "flight", 8.0, CAMERA))
    pts = np.random.default_rng(0).uniform(scene.bounds[:2], scene.bounds[2:], (2000, 2))
    owners = np.full(len(pts), -1)
    for k, frame in enumerate(flight.used):
        mine = shapely.contains_xy(frame.cell, pts[:, 0], pts[:, 1])
        assert (owners[mine] == -1).all()
        owners[mine] = k
    for p, k in zip(pts, owners):
        seeing = [f for f in flight.used if f.footprint.contains(shapely.Point(p))]
        if seeing:
            best = min(seeing, key=lambda f: (f.view_tan(p)[0], f.name))
            assert flight.used[k] is best
