"""Calibration of detection defaults: re-tracing a run's probabilities, picking per-class settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from click.testing import CliRunner
from rasterio import features
from shapely.geometry import box

from conftest import known_plots, linear_model
from scout.calibrate import THRESHOLDS, calibrate, calibrate_model, plots_from_run
from scout.cli import cli
from scout.commands import model_cmds
from scout.detection import DetectSettings
from scout.io import typed_frame, write_gpkg_layer, write_json
from scout.model import ModelCard, load_model
from scout.schema import AOI_FIELDS

CRS = "EPSG:32647"
X0, Y0, GSD, N = 500000.0, 2000020.0, 0.1, 200  # 20 m x 20 m


def _sq(x: float, y: float, w: float):
    return box(X0 + x, Y0 - y - w, X0 + x + w, Y0 - y)


def make_run(path, poppy: list[tuple[object, float]]):
    """A run folder whose poppy probability is ``p`` inside each polygon and 0 elsewhere."""
    path.mkdir()
    transform = Affine(GSD, 0, X0, 0, -GSD, Y0)
    probs = np.zeros((2, N, N), np.uint8)
    for geom, p in poppy:
        probs[0][features.rasterize([geom], out_shape=(N, N), transform=transform).astype(bool)] = round(p * 255)
    with rasterio.open(path / "probability.tif", "w", driver="GTiff", width=N, height=N, count=2, dtype="uint8", crs=CRS, transform=transform) as dst:
        dst.write(probs)
        dst.descriptions = ("poppy", "cannabis")
        dst.write_mask(np.full((N, N), 255, np.uint8))
    aoi = gpd.GeoDataFrame({"aoi": ["a"]}, geometry=[_sq(0, 0, 20)], crs=CRS)
    write_gpkg_layer(typed_frame(aoi, AOI_FIELDS, CRS), path / "plots.gpkg", "aoi")
    return path


def test_retrace_applies_threshold_floor_and_area(tmp_path):
    run = make_run(tmp_path / "run", [(_sq(1, 1, 4), 0.9), (_sq(10, 10, 5), 0.55)])
    both = plots_from_run(run, DetectSettings(thresholds={"*": 0.5}, min_area_m2=1.0))
    assert sorted(np.round(both["area_m2"])) == [16, 25]
    assert len(plots_from_run(run, DetectSettings(thresholds={"*": 0.6}, min_area_m2=1.0))) == 1
    assert len(plots_from_run(run, DetectSettings(thresholds={"*": 0.5}, min_confidence={"poppy": 0.6}, min_area_m2=1.0))) == 1
    assert len(plots_from_run(run, DetectSettings(thresholds={"*": 0.5}, min_area_m2=20.0))) == 1


def test_calibration_keeps_real_plots_and_drops_the_look_alike(tmp_path):
    real, small = _sq(1, 1, 4), _sq(1, 12, 2)  # 16 m² and 4 m² poppy
    look_alike = _sq(10, 10, 6)  # 36 m² field the model half believes
    run = make_run(tmp_path / "run", [(real, 0.9), (small, 0.66), (look_alike, 0.56)])
    truth = tmp_path / "truth.gpkg"
    write_gpkg_layer(gpd.GeoDataFrame({"class": ["poppy", "poppy"]}, geometry=[real, small], crs=CRS), truth, "truth")
    cal = calibrate([(run, truth)])
    assert "cannabis" not in cal["thresholds"]  # no cannabis truth: left to the defaults
    assert cal["calibration"]["poppy"] == {"precision_ge10": 1.0, "recall_ge10": 1.0, "recall_lt10": 1.0, "precision_all": 1.0, "recall_floors_met": True}
    settings = DetectSettings(thresholds=cal["thresholds"], min_confidence=cal["min_confidence"], min_area_m2=cal["min_area_m2"])
    kept = plots_from_run(run, settings)
    assert sorted(np.round(kept["area_m2"])) == [4, 16]
    # at 0.5 with no floor the look-alike is a plot: calibration made a difference
    assert len(plots_from_run(run, DetectSettings(thresholds={"*": 0.5}, min_area_m2=1.0))) == 3


def test_unreachable_recall_floors_fall_back_to_recall_weighted_score(tmp_path, caplog):
    real, faint = _sq(1, 1, 4), _sq(1, 12, 2)  # the 4 m² plot is under every threshold tried
    look_alike = _sq(10, 10, 6)
    run = make_run(tmp_path / "run", [(real, 0.9), (faint, 0.2), (look_alike, 0.56)])
    truth = tmp_path / "truth.gpkg"
    write_gpkg_layer(gpd.GeoDataFrame({"class": ["poppy", "poppy"]}, geometry=[real, faint], crs=CRS), truth, "truth")
    cal = calibrate([(run, truth)])
    assert cal["calibration"]["poppy"]["recall_floors_met"] is False
    assert "no poppy setting finds 97% of the plots" in caplog.text and "finds 100% and 0%" in caplog.text  # said, not only stored
    assert cal["calibration"]["poppy"]["recall_ge10"] == 1.0 and cal["calibration"]["poppy"]["precision_ge10"] == 1.0


def test_cli_calibrate_replaces_inherited_defaults_in_the_card(tmp_path):
    model = linear_model(tmp_path / "tuned")
    card_path = tmp_path / "tuned.json"
    inherited = {"thresholds": {"poppy": 0.5, "cannabis": 0.5}, "min_confidence": {"poppy": 0.99, "cannabis": 0.99}, "inherited_from": "base 1"}
    write_json(card_path, replace(ModelCard.read(card_path), sensor="drone", detection=inherited).to_dict())
    canvas = Path(__file__).parent / "data" / "real" / "manila-urban-10cm-256.tif"
    labels = known_plots(tmp_path / "labels.gpkg", canvas)
    det = calibrate_model(model, [canvas], scenes=1, size_px=256, work=tmp_path / "work", labels=labels)
    (planted,) = (tmp_path / "work" / "planted").glob("*-truth.gpkg")
    confirmed = gpd.read_file(labels).to_crs(gpd.read_file(planted, layer="truth").crs).geometry.iloc[0]
    assert gpd.read_file(planted, layer="truth").intersects(confirmed).any()  # a find there is no false alarm
    card = load_model(model).card  # weights untouched: the sha256 still holds
    assert card.detection == det and "inherited_from" not in det
    assert det["calibration"]["runs"] == 2 and det["calibration"]["scenes"]["planted_canvases"] == [canvas.name]
    assert set(det["thresholds"]) == {"poppy", "cannabis"} and all(t in THRESHOLDS for t in det["thresholds"].values())
    assert all(m < 0.99 for m in det["min_confidence"].values())  # the inherited floors hid every plot
    model_cmds.register(cli)
    r = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "missing"), "-q"])
    assert r.exit_code != 0 and "missing" in r.output and "Traceback" not in r.output
    (tmp_path / "bad.gpkg").write_text("not a GeoPackage")
    r = CliRunner().invoke(cli, ["calibrate", str(model), str(canvas), "--labels", str(tmp_path / "bad.gpkg"), "-q"])
    assert r.exit_code != 0 and "bad.gpkg" in r.output and "Traceback" not in r.output
    assert ModelCard.read(card_path).detection == det  # the card is untouched
