"""Planting synthetic plots into real imagery, and domain randomisation."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio import features

from conftest import known_plots
from scout.augment import Augmentation, augment, jpeg, rotate
from scout.labels import read_labels
from scout.synth.canvas import plant_scene
from scout.synth.plant import IGNORE, SpriteBank, default_families, noise_level, plant, sensor_gain
from scout.synth.render import SPRITE_KINDS, render_sprite

REAL = Path(__file__).parent / "data" / "real"
RGB = ("red", "green", "blue")


def real_patch(name: str = "manila-urban-10cm-256.tif") -> np.ndarray:
    with rasterio.open(REAL / name) as src:
        return src.read([1, 2, 3]).astype(np.float32) / 255


@pytest.mark.parametrize("kind", SPRITE_KINDS)
def test_every_sprite_kind_renders_consistent_arrays(kind):
    s = render_sprite(np.random.default_rng(3), kind, 0.1, area_m2=30.0)
    assert s.reflectance.shape[1:] == s.alpha.shape == s.footprint.shape
    assert 0 <= s.reflectance.min() and s.reflectance.max() <= 1
    assert s.footprint.any() and (s.alpha[s.footprint] > 0).all()
    assert s.is_target == (kind in ("poppy", "cannabis"))


def test_sensor_gain_reads_exposure_and_white_balance_from_the_canvas():
    canvas = real_patch()
    gain = sensor_gain(canvas, RGB, camera=True)
    darker = sensor_gain(canvas * 0.5, RGB, camera=True)
    assert np.allclose(darker, gain * 0.5**2.2, rtol=0.05)  # linear, through the camera's gamma
    warm = canvas.copy()
    warm[0] *= 1.2  # a red cast
    assert sensor_gain(warm, RGB, camera=True)[0] > gain[0] * 1.2


def test_planting_writes_target_labels_and_clears_them_under_lookalikes():
    rng = np.random.default_rng(0)
    canvas = real_patch()
    before = canvas.copy()
    labels = np.zeros(canvas.shape[1:], np.uint8)
    labels[:, :20] = IGNORE  # nodata stays ignored
    poppy = render_sprite(rng, "poppy", 0.1, area_m2=80.0)
    planted = plant(canvas, labels, [poppy], RGB, camera=True, rng=rng)
    assert len(planted) == 1
    assert (labels == 1).sum() > 0.3 * poppy.footprint.sum()  # partly outside the canvas at most
    assert (labels[:, :20] == IGNORE).all()
    changed = np.abs(canvas - before).max(0) > 1e-3
    assert changed[labels == 1].mean() > 0.9 and canvas.min() >= 0 and canvas.max() <= 1
    tree = render_sprite(rng, "tree", 0.1, area_m2=200.0)
    labels[:] = 1  # a tree planted over a labelled plot hides it
    plant(canvas, labels, [tree], RGB, camera=True, rng=rng)
    assert (labels == 0).sum() > 0


def test_planted_sprites_get_the_canvas_noise():
    rng = np.random.default_rng(1)
    canvas = real_patch("brazil-pasture-10cm-256.tif")
    sigma = noise_level(canvas)
    assert 0.001 < sigma < 0.1
    labels = np.zeros(canvas.shape[1:], np.uint8)
    plant(canvas, labels, [render_sprite(rng, "lawn", 0.1, area_m2=300.0)], RGB, camera=True, rng=rng)
    inside = labels == 0  # all background: a look-alike
    assert noise_level(canvas[:, 100:150, 100:150]) > 0.2 * sigma or not inside.all()


def test_sprite_bank_draws_targets_and_lookalikes_and_refreshes():
    rng = np.random.default_rng(2)
    bank = SpriteBank(default_families(), 0.2, 12, rng)
    kinds = {s.kind for s in bank.sprites}
    assert kinds & {"poppy", "cannabis"} and kinds - {"poppy", "cannabis"}
    first = list(bank.sprites)
    bank.refresh(rng, share=0.5)
    assert sum(a is not b for a, b in zip(first, bank.sprites)) == 6
    assert bank.render(rng, True).is_target and not bank.render(rng, False).is_target
    drawn = bank.draw(rng, 3, 2)
    assert len(drawn) == 5 and sum(s.is_target for s in drawn) == 3


def test_plant_scene_keeps_the_canvas_grid_and_writes_truth(tmp_path):
    canvas = REAL / "manila-urban-10cm-256.tif"
    scene = plant_scene(canvas, tmp_path, seed=5, targets=3, lookalikes=2)
    with rasterio.open(canvas) as a, rasterio.open(scene.image_path) as b, rasterio.open(scene.label_path) as lab:
        assert (a.crs, a.transform, a.count, a.dtypes, a.descriptions) == (b.crs, b.transform, b.count, b.dtypes, b.descriptions)
        assert (a.read(4) == b.read(4)).all()  # alpha untouched
        changed = (a.read([1, 2, 3]) != b.read([1, 2, 3])).any(0)
        labels = lab.read(1)
    truth = gpd.read_file(scene.truth_path, layer="truth")
    assert len(truth) >= 1 and set(truth["class"]) <= {"poppy", "cannabis"}
    assert truth.crs == gpd.read_file(scene.truth_path, layer="lookalikes").crs
    assert changed[labels > 0].mean() > 0.9
    again = plant_scene(canvas, tmp_path / "again", seed=5, targets=3, lookalikes=2)
    assert Path(again.image_path).read_bytes() == Path(scene.image_path).read_bytes() or np.array_equal(
        rasterio.open(again.image_path).read(), rasterio.open(scene.image_path).read())


def test_confirmed_plots_in_the_canvas_join_the_truth_untouched_by_planting(tmp_path):
    canvas = REAL / "manila-urban-10cm-256.tif"
    labels = known_plots(tmp_path / "labels.gpkg", canvas)
    scene = plant_scene(canvas, tmp_path, seed=5, targets=12, lookalikes=12, known_plots=read_labels(labels, require_plots=False))
    with rasterio.open(canvas) as a, rasterio.open(scene.image_path) as b, rasterio.open(scene.label_path) as lab:
        confirmed = features.rasterize([gpd.read_file(labels).to_crs(a.crs).geometry.iloc[0]], out_shape=a.shape, transform=a.transform) > 0
        before, after, lab1 = a.read([1, 2, 3]), b.read([1, 2, 3]), lab.read(1)
    assert confirmed.sum() > 500 and (lab1[confirmed] == 1).all()  # 3 m x 2 m at 10 cm: poppy, whatever was planted there
    assert (before[:, confirmed] == after[:, confirmed]).all() and (before[:, ~confirmed] != after[:, ~confirmed]).any()
    truth = gpd.read_file(scene.truth_path, layer="truth")
    plain = plant_scene(canvas, tmp_path / "plain", seed=5, targets=12, lookalikes=12)
    assert truth.area.sum() > gpd.read_file(plain.truth_path, layer="truth").area.sum()


def test_plant_scene_into_a_satellite_canvas_plants_in_every_band(tmp_path):
    scene = plant_scene(REAL / "worldview-rotterdam-1m-128.tif", tmp_path, seed=1, targets=2, lookalikes=0)
    assert scene.kind == "satellite"
    with rasterio.open(scene.image_path) as img, rasterio.open(scene.label_path) as lab:
        data, labels = img.read(), lab.read(1)
    assert data.dtype == np.uint16 and (labels > 0).any()
    veg = labels > 0
    ndvi = (data[3].astype(float) - data[2]) / (data[3].astype(float) + data[2] + 1)
    assert ndvi[veg].mean() > 0.2  # planted plots are vegetation in the NIR too


def test_augmentation_keeps_labels_aligned_and_values_in_range():
    rng = np.random.default_rng(4)
    x = np.zeros((2, 3, 64, 64), np.float32) + 0.4
    x[:, :, 20:40, 10:30] = 0.9
    y = np.zeros((2, 64, 64), np.uint8)
    y[:, 20:40, 10:30] = 1
    ax, ay = augment(rng, x, y, RGB, camera=True, how=Augmentation(strength=0))
    for n in range(2):  # flips and right-angle turns only: the bright square is still the label
        assert ax[n].mean(0)[ay[n] == 1].min() > 0.85
    bx, by = augment(rng, x, y, RGB, camera=True)
    assert bx.min() >= 0 and bx.max() <= 1 and set(np.unique(by)) <= {0, 1, IGNORE}


def test_rotation_ignores_the_corners_it_brings_in():
    x = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
    y = np.ones((32, 32), np.uint8)
    _, yr = rotate(x, y, 45)
    assert yr[0, 0] == IGNORE and yr[16, 16] == 1


def test_jpeg_round_trip_changes_pixels_a_little():
    x = real_patch()[:, :64, :64]
    out = jpeg(x, 30, [0, 1, 2])
    d = np.abs(out - x)
    assert 0.001 < d.mean() < 0.1
