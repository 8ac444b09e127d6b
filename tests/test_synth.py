"""Synthetic scenes: files, georeferencing, truth/label agreement, determinism, cues."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio import features
from rasterio.enums import ColorInterp

from scout.errors import InputError
from scout.synth import LABEL_NODATA, make_scene


@pytest.fixture(scope="module")
def drone(tmp_path_factory):
    return make_scene(tmp_path_factory.mktemp("drone"), seed=3, size_px=384, gsd_m=0.1)


def test_drone_scene_files_and_grid(drone):
    with rasterio.open(drone.image_path) as src:
        assert (src.count, src.dtypes[0], src.crs.to_epsg()) == (3, "uint8", 32647)
        assert src.descriptions == ("red", "green", "blue")
        assert src.res == (0.1, 0.1)
        assert src.bounds == pytest.approx(drone.bounds)
        img = src.read()
    with rasterio.open(drone.label_path) as lab:
        assert (lab.transform, lab.shape, lab.dtypes[0]) == (src.transform, src.shape, "uint8")
        labels = lab.read(1)
    assert set(np.unique(labels)) <= {0, 1, 2}
    assert img.std() > 5  # not a flat image


def test_truth_polygons_agree_with_label_raster(drone):
    truth = gpd.read_file(drone.truth_path, layer="truth")
    assert list(truth.columns[:3]) == ["truth_id", "class", "area_m2"]
    assert set(truth["class"]) <= {"poppy", "cannabis"}
    assert {c: int((truth["class"] == c).sum()) for c in ("poppy", "cannabis")} == dict(drone.n_plots)
    assert sum(drone.n_plots.values()) >= 2
    assert np.allclose(truth["area_m2"], truth.area, rtol=1e-3)
    with rasterio.open(drone.label_path) as lab:
        labels = lab.read(1)
        burned = features.rasterize(
            [(g, 1 if c == "poppy" else 2) for g, c in zip(truth.geometry, truth["class"])], out_shape=lab.shape, transform=lab.transform
        )
    assert (burned == labels).mean() > 0.999
    # plots from ~2 m^2 up, some small
    assert truth["area_m2"].min() >= 1.0


def test_same_seed_same_scene_other_seed_differs(tmp_path, drone):
    again = make_scene(tmp_path, seed=3, size_px=384, gsd_m=0.1)
    other = make_scene(tmp_path / "o", seed=4, size_px=384, gsd_m=0.1)
    with rasterio.open(drone.image_path) as a, rasterio.open(again.image_path) as b, rasterio.open(other.image_path) as c:
        assert np.array_equal(a.read(), b.read())
        assert not np.array_equal(a.read(), c.read())
    assert gpd.read_file(drone.truth_path, layer="truth").geometry.geom_equals(gpd.read_file(again.truth_path, layer="truth").geometry).all()


def test_satellite_scene_is_uint16_reflectance_with_nir(tmp_path):
    s = make_scene(tmp_path, seed=5, kind="satellite", size_px=256)
    with rasterio.open(s.image_path) as src:
        assert (src.count, src.dtypes[0], src.res) == (4, "uint16", (0.5, 0.5))
        assert src.descriptions == ("blue", "green", "red", "nir")
        img = src.read().astype(float) / 10000
    with rasterio.open(s.label_path) as lab:
        labels = lab.read(1)
    assert 0.01 < img.mean() < 0.5
    if (labels == 2).sum() > 50:  # cannabis reflects more NIR than red, strongly
        ndvi = (img[3] - img[2]) / (img[3] + img[2])
        assert ndvi[labels == 2].mean() > 0.4


def test_flight_boundary_gives_alpha_and_nodata_labels(tmp_path):
    s = make_scene(tmp_path, seed=7, size_px=256, gsd_m=0.1, boundary=True)
    with rasterio.open(s.image_path) as src, rasterio.open(s.label_path) as lab:
        assert src.count == 4 and src.descriptions[3] == "alpha"
        assert src.colorinterp[3] == ColorInterp.alpha  # readers take it as the mask
        alpha, labels = src.read(4), lab.read(1)
        assert lab.nodata == LABEL_NODATA
    outside = alpha == 0
    assert 0 < outside.mean() < 0.3
    assert (labels[outside] == LABEL_NODATA).all() and (labels[~outside] != LABEL_NODATA).all()


def test_poppy_in_bloom_shows_flower_colours(tmp_path):
    """Poppy in bloom holds more red, pink, purple or white pixels than the scene at large."""
    found = False
    for seed in range(20, 30):
        s = make_scene(tmp_path, seed=seed, size_px=256, gsd_m=0.05)
        truth = gpd.read_file(s.truth_path, layer="truth")
        bloom = truth[(truth["class"] == "poppy") & (truth["stage"] == "bloom") & (truth["area_m2"] > 5)]
        if bloom.empty:
            continue
        with rasterio.open(s.image_path) as src:
            img = src.read().astype(int)
            m = features.rasterize(bloom.geometry, out_shape=src.shape, transform=src.transform).astype(bool)
        r, g, b = img
        flowery = (r > 1.8 * g) | (b > g + 25) | (img.min(0) > 215)  # red, pink/purple, white
        assert flowery[m].mean() > 2 * flowery[~m].mean()
        found = True
        break
    assert found


@pytest.mark.parametrize("kwargs", [{"kind": "hyperspectral"}, {"gsd_m": 0.0}, {"crs": "EPSG:4326"}, {"size_px": 4}])
def test_bad_arguments_raise_input_error(tmp_path, kwargs):
    with pytest.raises(InputError):
        make_scene(tmp_path, seed=1, **kwargs)


def test_cli_synth_writes_the_scene_and_names_its_files(tmp_path):
    from click.testing import CliRunner

    from scout.cli import cli
    from scout.commands import model_cmds

    model_cmds.register(cli)
    r = CliRunner().invoke(cli, ["synth", str(tmp_path), "--seed", "3", "--size", "128", "--gsd", "0.1", "--kind", "satellite"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "satellite-0003.tif").exists() and "satellite-0003-truth.gpkg" in r.output
    r = CliRunner().invoke(cli, ["synth", str(tmp_path), "--seed", "3", "--crs", "EPSG:4326"])
    assert r.exit_code == 2 and "not projected" in r.output
