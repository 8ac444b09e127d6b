"""The sample AOIs in aoi/: one set of townships in every format Scout reads, and the demo's AOI."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
import shapely

from scout.aoi import read_aoi
from scout.demo import DEMO_AOI, DEMO_ORIGIN, SAMPLE_AOIS, run_demo
from scout.runfolder import open_run, read_aoi_layer, read_plots

UTM = "EPSG:32647"
NAMES = ["新寨乡", "老寨乡", "南河镇"]
NAMES_EN = ["Xinzhai Township", "Laozhai Township", "Nanhe Town"]
FILES = ["townships.geojson", "townships.gpkg", "townships.kml", "townships_gbk.shp"]


def _samples():  # aoi/make_samples.py, imported by path
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLE_AOIS / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", FILES)
def test_every_format_gives_the_same_townships(name: str, caplog):
    caplog.set_level(logging.WARNING)
    aois = read_aoi(SAMPLE_AOIS / name, UTM)
    assert aois["aoi"].tolist() == NAMES
    drawn = _samples().townships()
    for got, want in zip(aois.geometry, drawn.geometry):  # reprojected through another datum or degrees: within centimetres
        assert got.symmetric_difference(want).area < 1e-5 * want.area
    gbk_warned = "looks like GBK read as Latin-1" in caplog.text
    assert gbk_warned == name.endswith(".shp")
    assert read_aoi(SAMPLE_AOIS / name, UTM, name_field="name_en")["aoi"].tolist() == NAMES_EN


def test_the_shapefile_says_gbk_only_in_its_text():
    assert not (SAMPLE_AOIS / "townships_gbk.cpg").exists()
    assert (SAMPLE_AOIS / "townships_gbk.dbf").read_bytes()[29] == 0  # no code page: only the text says GBK
    assert "新寨乡".encode("gbk") in (SAMPLE_AOIS / "townships_gbk.dbf").read_bytes()


def test_townships_cover_the_demo_flight_and_split_it():
    left, top = DEMO_ORIGIN
    flight = shapely.box(left, top - 2048 * 0.05, left + 2048 * 0.05, top)
    aois = read_aoi(SAMPLE_AOIS / DEMO_AOI, UTM)
    assert shapely.union_all(aois.geometry.values).contains(flight.buffer(500))  # larger --size flights too
    shares = aois.geometry.intersection(flight).area / flight.area
    assert shares.round(3).tolist() == [0.5, 0.5, 0.0]
    assert shapely.union_all(aois.geometry.values).area == pytest.approx(aois.area.sum(), rel=1e-9)  # no overlaps


def test_the_demo_detects_in_the_townships(tmp_path: Path):
    result = run_demo(tmp_path, size_px=256)
    run = open_run(result.run.out_dir)
    assert read_aoi_layer(run)["aoi"].tolist() == NAMES
    assert set(read_plots(run)["aoi"]) <= {"新寨乡"}  # a 12.8 m flight in the west township's corner
    assert (tmp_path / "scene" / DEMO_AOI).read_bytes() == (SAMPLE_AOIS / DEMO_AOI).read_bytes()
