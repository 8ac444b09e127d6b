"""scripts/independent_scenes.py (evaluation-only scenes): a tiny scene is a valid GeoTIFF and a truth
GeoPackage that ``scout detect`` and ``scout evaluate`` read, and the same seed gives the same scene."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from shapely.geometry import box

from scout.cli import _register, cli

_register()
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from independent_scenes import make_scene, parse_seeds  # noqa: E402  # scripts/ is no package: it goes on the path first


def _read(scene) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    with rasterio.open(scene.image_path) as src:
        return src.read(), gpd.read_file(scene.truth_path, layer="truth", engine="pyogrio")


def test_drone_scene_is_read_by_detect_and_evaluate(tmp_path, rgb_model):
    scene = make_scene(tmp_path / "scenes", 7, "drone", size_px=256, gsd_m=0.08, boundary=True)
    assert scene.image_path.parent.name == "drone-0007"
    with rasterio.open(scene.image_path) as src:
        assert src.count == 4 and src.dtypes == ("uint8",) * 4
        assert src.descriptions[:3] == ("red", "green", "blue")
        assert src.crs.to_epsg() in (32647, 32648) and src.res == pytest.approx((0.08, 0.08))
        alpha = src.read(4)
        footprint = box(*src.bounds)
    assert 0.3 < (alpha == 255).mean() < 1.0  # a flight edge, the rest valid
    truth = gpd.read_file(scene.truth_path, layer="truth", engine="pyogrio")
    assert len(truth) >= 1 and set(truth["class"]) <= {"poppy", "cannabis"}
    assert truth.crs.to_epsg() == src.crs.to_epsg()
    assert (truth.area >= 1.0).all() and truth.within(footprint).all()
    assert truth.area.round(2).tolist() == truth["area_m2"].tolist()
    assert set(gpd.read_file(scene.truth_path, layer="lookalikes", engine="pyogrio").columns) >= {"kind", "context", "geometry"}

    run = tmp_path / "run"
    res = CliRunner().invoke(cli, ["detect", str(scene.image_path), "--out", str(run), "--model", str(rgb_model), "-q"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["evaluate", str(run), "--truth", str(scene.truth_path), "--out", str(tmp_path / "m.json"), "-q"])
    assert res.exit_code == 0, res.output
    counts = json.loads((tmp_path / "m.json").read_text())["counts"]["plots"]
    assert sum(counts[c]["all"]["truth"] for c in ("poppy", "cannabis")) == len(truth)


def test_same_seed_same_scene_other_seed_another(tmp_path):
    a = make_scene(tmp_path / "a", 11, "satellite", size_px=64)
    b = make_scene(tmp_path / "b", 11, "satellite", size_px=64)
    c = make_scene(tmp_path / "c", 12, "satellite", size_px=64)
    (ia, ta), (ib, tb), (ic, _) = _read(a), _read(b), _read(c)
    assert ia.dtype == np.uint16 and ia.shape == (4, 64, 64)
    with rasterio.open(a.image_path) as src:
        assert src.descriptions == ("blue", "green", "red", "nir") and 0.5 <= src.res[0] <= 1.0
    assert 0 < ia.min() and ia.max() <= 10_000  # reflectance x 10,000
    assert np.array_equal(ia, ib) and len(ta) and list(ta.geometry.to_wkt()) == list(tb.geometry.to_wkt())
    assert not np.array_equal(ia, ic)


def test_seed_lists():
    assert parse_seeds("0-3,9") == [0, 1, 2, 3, 9]
    with pytest.raises(ValueError):
        parse_seeds(" , ")


def test_scene_interval_brackets_the_pooled_ratio():
    from eval_independent import scene_interval

    same = [{"found": 3, "truth": 4}] * 5
    assert scene_interval(same, "found", "truth") == [0.75, 0.75]
    mixed = [{"found": f, "truth": 4} for f in (0, 1, 2, 3, 4)]
    lo, hi = scene_interval(mixed, "found", "truth")
    assert lo < 0.5 < hi and 0 <= lo and hi <= 1
    assert scene_interval([{"found": 0, "truth": 0}], "found", "truth") is None


def test_eval_independent_scores_a_model(tmp_path, rgb_model):
    from eval_independent import evaluate_model, format_summary

    summary = evaluate_model(str(rgb_model), "drone", [7], tmp_path / "eval", size_px=256)
    truth = gpd.read_file(tmp_path / "eval" / "scenes" / "drone-0007" / "truth.gpkg", layer="truth", engine="pyogrio")
    assert summary["counts_ge10"]["both"]["truth"] == int((truth.area >= 10).sum())
    assert summary["seeds"] == [7] and Path(summary["written"]).is_file()
    assert "recall" in format_summary(summary)
