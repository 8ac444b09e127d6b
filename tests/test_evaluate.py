"""scout evaluate: pixel IoU, plot matching rule, size bins, confusion, false alarms, pooling, CLI."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from rasterio import features
from shapely.geometry import box

from scout.cli import cli
from scout.commands import model_cmds
from scout.errors import OutputError, RunFolderError
from scout.evaluate import evaluate_run, match_plots, pool
from scout.io import typed_frame, write_gpkg_layer
from scout.schema import AOI_FIELDS, PLOT_FIELDS

CRS = "EPSG:32647"
X0, Y0, GSD = 500000.0, 2000010.0, 0.1  # 10 m x 10 m AOI, 100 x 100 px


def _sq(x: float, y: float, w: float, h: float | None = None):
    """A box in metres from the AOI's top-left corner (y down)."""
    h = w if h is None else h
    return box(X0 + x, Y0 - y - h, X0 + x + w, Y0 - y)


def make_run(root, pred: list[tuple[str, object]], threshold: float = 0.5):
    """A run folder whose probability raster is exactly the predicted plots (prob 1 inside)."""
    run = root / "run"
    run.mkdir()
    transform = Affine(GSD, 0, X0, 0, -GSD, Y0)
    probs = np.zeros((2, 100, 100), np.uint8)
    for cls, geom in pred:
        m = features.rasterize([geom], out_shape=(100, 100), transform=transform).astype(bool)
        probs[0 if cls == "poppy" else 1][m] = 255
    with rasterio.open(run / "probability.tif", "w", driver="GTiff", width=100, height=100, count=2, dtype="uint8", crs=CRS, transform=transform) as dst:
        dst.write(probs)
        dst.set_band_description(1, "poppy")
        dst.set_band_description(2, "cannabis")
        dst.write_mask(np.full((100, 100), 255, np.uint8))
    plots = gpd.GeoDataFrame({"class": [c for c, _ in pred], "plot_id": [f"P{i}" for i in range(len(pred))]}, geometry=[g for _, g in pred], crs=CRS)
    write_gpkg_layer(typed_frame(plots, PLOT_FIELDS, CRS), run / "plots.gpkg", "plots")
    aoi = gpd.GeoDataFrame({"aoi": ["a"], "area_m2": [100.0]}, geometry=[_sq(0, 0, 10)], crs=CRS)
    write_gpkg_layer(typed_frame(aoi, AOI_FIELDS, CRS), run / "plots.gpkg", "aoi")
    (run / "run.json").write_text(json.dumps({"parameters": {"thresholds": {"poppy": threshold, "cannabis": threshold}}}))
    return run


@pytest.fixture
def truth_file(tmp_path):
    truth = gpd.GeoDataFrame(
        {"class": ["poppy", "cannabis"]},
        geometry=[_sq(1, 1, 2), _sq(4, 4, 5)],  # 4 m2 poppy, 25 m2 cannabis
        crs=CRS,
    ).to_crs("EPSG:4326")  # truth in another CRS than the run
    path = tmp_path / "truth.gpkg"
    write_gpkg_layer(truth, path, "truth")
    return path


@pytest.fixture
def run(tmp_path):
    return make_run(
        tmp_path,
        [
            ("poppy", _sq(1, 1, 2)),  # exact hit
            ("cannabis", _sq(5.5, 5.5, 2)),  # IoU 0.16 but holds the truth centroid -> found
            ("poppy", _sq(8, 0.5, 1)),  # 1 m2 false alarm
        ],
    )


def test_pixel_iou_plot_scores_and_false_alarm(run, truth_file, tmp_path):
    out = tmp_path / "m.json"
    m = evaluate_run(run, truth_file, out)
    assert m["pixel_iou"]["poppy"] == pytest.approx(400 / 500, abs=1e-3)
    assert m["pixel_iou"]["cannabis"] == pytest.approx(400 / 2500, abs=1e-3)
    poppy, cannabis = m["plots"]["poppy"], m["plots"]["cannabis"]
    assert (poppy["all"]["recall"], poppy["all"]["precision"]) == (1.0, 0.5)
    assert (cannabis["all"]["recall"], cannabis["all"]["precision"]) == (1.0, 1.0)
    assert poppy["<10"]["truth"] == 1 and cannabis["10-100"]["truth"] == 1 and cannabis["<10"]["truth"] == 0
    assert poppy["all"]["f1"] == pytest.approx(2 * 0.5 / 1.5, abs=1e-3)
    assert m["false_alarm_area_m2"] == pytest.approx(1.0, abs=1e-6)
    assert m["false_alarm_fraction"] == pytest.approx(0.01, abs=1e-6)
    with pytest.raises(OutputError, match="m.json: exists; pass --overwrite"):
        evaluate_run(run, truth_file, out)
    assert evaluate_run(run, truth_file, out, overwrite=True) == m
    assert m["outside_truth_fraction"] == pytest.approx(0.01, abs=1e-6)
    assert m["confusion"] == {"poppy": 0.0, "cannabis": 0.0}
    assert json.loads(out.read_text())["plots"]["poppy"]["all"]["precision"] == 0.5


def test_match_rule_low_iou_without_centroid_is_missed():
    truth = gpd.GeoDataFrame({"class": ["poppy"]}, geometry=[_sq(0, 0, 10)], crs=CRS)
    pred = gpd.GeoDataFrame({"class": ["poppy", "poppy"]}, geometry=[_sq(0, 0, 2), _sq(0, 0, 6)], crs=CRS)
    c = match_plots(truth, pred)
    # 4 m2 corner piece: IoU 0.04, no centroid -> does not find the plot, but lies on it -> not a false alarm
    assert c["plots"]["poppy"]["all"]["found"] == 1  # the 36 m2 piece has IoU 0.36
    assert c["plots"]["poppy"]["all"]["correct"] == 2
    assert c["false_alarm_area_m2"] == 0.0
    # a correct plot overshooting the truth outline is not a false alarm, but its overshoot is outside truth
    over = match_plots(truth, gpd.GeoDataFrame({"class": ["poppy"]}, geometry=[_sq(0, 0, 11)], crs=CRS))
    assert over["false_alarm_area_m2"] == 0.0 and over["outside_truth_area_m2"] == pytest.approx(21.0)
    only_small = match_plots(truth, pred.iloc[:1])
    assert only_small["plots"]["poppy"]["all"]["found"] == 0


def test_class_confusion_is_counted(tmp_path, truth_file):
    run = make_run(tmp_path, [("cannabis", _sq(1, 1, 2)), ("cannabis", _sq(4, 4, 5))])
    m = evaluate_run(run, truth_file)
    assert m["confusion"]["poppy"] == 1.0 and m["confusion"]["cannabis"] == 0.0
    assert m["plots"]["poppy"]["all"]["recall"] == 0.0
    assert m["plots"]["cannabis"]["all"]["precision"] == 0.5


def test_empty_run_has_zero_recall_and_no_false_alarms(tmp_path, truth_file):
    m = evaluate_run(make_run(tmp_path, []), truth_file)
    assert m["plots"]["poppy"]["all"]["recall"] == 0.0
    assert m["plots"]["poppy"]["all"]["precision"] is None
    assert m["false_alarm_area_m2"] == 0.0


def test_pool_adds_counts(run, truth_file):
    m = evaluate_run(run, truth_file)
    both = pool([m, m])
    assert both["counts"]["plots"]["poppy"]["all"]["truth"] == 2
    assert both["plots"]["poppy"]["all"]["precision"] == m["plots"]["poppy"]["all"]["precision"]
    assert both["pixel_iou"] == m["pixel_iou"]


def test_missing_files_raise_run_folder_error(tmp_path, truth_file):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="plots.gpkg"):
        evaluate_run(tmp_path / "empty", truth_file)


def test_cli_prints_table_and_reports_errors_in_one_line(run, truth_file, tmp_path):
    model_cmds.register(cli)
    r = CliRunner().invoke(cli, ["evaluate", str(run), "--truth", str(truth_file)])
    assert r.exit_code == 0, r.output
    assert "pixel IoU" in r.output and "poppy" in r.output
    r = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "nope"), "--truth", str(truth_file)])
    assert r.exit_code == 2
    assert "not a run folder" in r.output and "Traceback" not in r.output


def test_evaluate_scenes_runs_detect_on_held_out_scenes(tmp_path):
    """End to end through real scout detect, with a tiny untrained model: pooled counts add up."""
    from scout.evaluate import evaluate_scenes
    from scout.model import ModelCard, build_network, save_model

    arch = {"name": "pixel_linear"}
    card = ModelCard(
        name="lin", version="0", classes=("background", "poppy", "cannabis"), bands=("red", "green", "blue"), gsd_m=0.1, tile_size=128,
        normalization={"scale": {"uint8": 255}, "mean": [0.4] * 3, "std": [0.2] * 3}, architecture=arch,
    )
    save_model(build_network(arch, 3, 3), card, tmp_path / "lin")
    m = evaluate_scenes(tmp_path / "lin", "drone", [5, 6], tmp_path / "work", size_px=256)
    per_scene = [json.loads((tmp_path / "work" / "metrics" / f"drone-000{s}.json").read_text()) for s in (5, 6)]
    for c in ("poppy", "cannabis"):
        assert m["plots"][c]["all"]["truth"] == sum(p["plots"][c]["all"]["truth"] for p in per_scene)
    assert m["scenes"]["seeds"] == [5, 6]
    assert 0 <= m["false_alarm_fraction"] <= 1
