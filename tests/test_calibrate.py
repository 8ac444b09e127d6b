"""Calibration of detection defaults: re-tracing a run's probabilities, picking per-class settings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from rasterio import features
from shapely.geometry import box

from scout.calibrate import calibrate, plots_from_run
from scout.detection import DetectSettings
from scout.io import typed_frame, write_gpkg_layer
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


def test_unreachable_recall_floors_fall_back_to_recall_weighted_score(tmp_path):
    real, faint = _sq(1, 1, 4), _sq(1, 12, 2)  # the 4 m² plot is under every threshold tried
    look_alike = _sq(10, 10, 6)
    run = make_run(tmp_path / "run", [(real, 0.9), (faint, 0.2), (look_alike, 0.56)])
    truth = tmp_path / "truth.gpkg"
    write_gpkg_layer(gpd.GeoDataFrame({"class": ["poppy", "poppy"]}, geometry=[real, faint], crs=CRS), truth, "truth")
    cal = calibrate([(run, truth)])
    assert cal["calibration"]["poppy"]["recall_floors_met"] is False
    assert cal["calibration"]["poppy"]["recall_ge10"] == 1.0 and cal["calibration"]["poppy"]["precision_ge10"] == 1.0
