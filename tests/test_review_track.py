"""``scout track``: plots matched across flights, history carried forward, written atomically."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner

from review_runs import needs_qgis, plots_frame, qgis_check, write_run
from scout import schema
from scout.cli import cli
from scout.commands import review_cmds
from scout.errors import RunFolderError
from scout.io import write_gpkg_layer
from scout.review.project import write_project
from scout.review.track import match_plots, track_runs
from scout.runfolder import open_run, read_plots, rewrite_plots
from scout.schema import TRACK_FIELDS

review_cmds.register(cli)

OLD_STATUSES = ["eradicated", "false_alarm", "confirmed", "unreviewed"]


def _plots(run: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(run / schema.PLOTS_GPKG, layer="plots").set_index("plot_id")


def _runs(tmp_path: Path, new_crs: str = "EPSG:32647") -> tuple[Path, Path]:
    old = plots_frame(["poppy", "cannabis", "poppy", "cannabis"], OLD_STATUSES)
    old["reviewed_by"] = ["ana", "ben", "ana", ""]
    old["note"] = ["burnt", "maize", "", ""]
    # the next flight: the same four fields, shifted 3 m east and 2 m south, plus one new plot
    new = plots_frame(["poppy", "cannabis", "poppy", "cannabis", "poppy"], offset=(3, -2), ids=["N0", "N1", "N2", "N3", "N4"], crs=new_crs)
    return write_run(tmp_path / "jan", old, image=False, probability=False), write_run(tmp_path / "mar", new, image=False, probability=False)


def test_match_plots_by_overlap() -> None:
    old = gpd.GeoSeries([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10), shapely.box(40, 0, 60, 20)])
    new = gpd.GeoSeries([shapely.box(1, 0, 11, 10), shapely.box(25, 5, 35, 15), shapely.box(45, 5, 50, 10), shapely.box(100, 0, 110, 10)])
    m = match_plots(new, old, min_overlap=0.3).set_index("new")
    assert m.loc[0, "old"] == 0 and m.loc[0, "iou"] == pytest.approx(90 / 110)
    assert 1 not in m.index  # overlap 25 / 100 is below 0.3
    assert m.loc[2, "old"] == 2 and m.loc[2, "overlap"] == 1.0  # a small regrown patch inside an old field
    assert 3 not in m.index
    assert set(match_plots(new, old, min_overlap=0.2).set_index("new").index) == {0, 1, 2}


def test_track_marks_and_carries_history(tmp_path: Path) -> None:
    old, new = _runs(tmp_path)
    result = CliRunner().invoke(cli, ["track", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert "new 1  recurring 2  regrowth 1  known_false_alarm 1" in result.output
    plots = _plots(new)
    assert list(plots.columns[-len(TRACK_FIELDS) - 1:-1]) == list(TRACK_FIELDS)
    assert plots["track_status"].to_dict() == {"N0": "regrowth", "N1": "known_false_alarm", "N2": "recurring", "N3": "recurring", "N4": "new"}
    assert plots["prev_plot_id"].to_dict() == {"N0": "P000", "N1": "P001", "N2": "P002", "N3": "P003", "N4": ""}
    assert plots.loc["N0", "prev_reviewed_by"] == "ana" and plots.loc["N1", "prev_note"] == "maize"
    assert plots.loc["N0", "track_overlap"] == pytest.approx(17 * 18 / 400, abs=1e-3)
    assert (plots["review_status"] == "unreviewed").all()  # a new flight needs new decisions


def test_track_keeps_layers_styles_and_is_idempotent(tmp_path: Path) -> None:
    old, new = _runs(tmp_path)
    gpkg = new / schema.PLOTS_GPKG
    geometry_type = pyogrio.read_info(gpkg, layer="plots")["geometry_type"]
    track_runs(old, new)
    first = _plots(new)
    track_runs(old, new)
    second = _plots(new)
    assert list(first.columns) == list(second.columns) and first.equals(second)
    assert {name for name, _ in pyogrio.list_layers(gpkg)} == {"plots", "aoi", "tiles", "layer_styles"}
    assert pyogrio.read_info(gpkg, layer="plots")["geometry_type"] == geometry_type
    with sqlite3.connect(gpkg) as con:
        rows = con.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault = 1").fetchall()
    assert sorted(r[0] for r in rows) == ["aoi", "plots", "tiles"]
    assert 'name="History"' in dict(rows)["plots"]
    assert [p.name for p in new.iterdir() if p.name.startswith(".")] == []


def test_history_survives_an_unreviewed_flight_and_a_crs_change(tmp_path: Path) -> None:
    old, new = _runs(tmp_path, new_crs="EPSG:32648")  # the next run was worked in the neighbouring UTM zone
    track_runs(old, new)
    later = plots_frame(["poppy", "cannabis", "poppy"], offset=(-2, 1), ids=["L0", "L1", "L2"])
    later_run = write_run(tmp_path / "may", later, image=False, probability=False)
    track_runs(new, later_run)  # nobody reviewed the March plots
    plots = _plots(later_run)
    assert plots["track_status"].to_dict() == {"L0": "regrowth", "L1": "known_false_alarm", "L2": "recurring"}
    assert plots.loc["L0", "prev_plot_id"] == "N0" and plots.loc["L0", "prev_reviewed_by"] == "ana"


def test_zero_plots(tmp_path: Path) -> None:
    old, new = _runs(tmp_path)
    empty = write_run(tmp_path / "empty", plots_frame([]), image=False, probability=False)
    assert track_runs(old, empty) == dict.fromkeys(schema.TRACK_STATUSES, 0)
    assert list(_plots(empty).columns[-len(TRACK_FIELDS) - 1:-1]) == list(TRACK_FIELDS)
    assert track_runs(empty, new) == {"new": 5, "recurring": 0, "regrowth": 0, "known_false_alarm": 0}


def test_bad_input_leaves_new_run_untouched(tmp_path: Path) -> None:
    old, new = _runs(tmp_path)
    gpkg = new / schema.PLOTS_GPKG
    before = hashlib.sha256(gpkg.read_bytes()).hexdigest()
    plots = gpd.read_file(old / schema.PLOTS_GPKG, layer="plots")
    plots.loc[0, "review_status"] = "done"
    write_gpkg_layer(plots, old / schema.PLOTS_GPKG, "plots")
    result = CliRunner().invoke(cli, ["track", str(old), str(new)])
    assert result.exit_code == 2 and "plot P000 has review_status 'done'" in result.output
    with pytest.raises(RunFolderError, match="same folder"):
        track_runs(new, new)
    (tmp_path / "jan" / schema.RUN_JSON).unlink()
    with pytest.raises(RunFolderError, match="run.json: missing"):
        track_runs(old, new)
    assert hashlib.sha256(gpkg.read_bytes()).hexdigest() == before


def test_refuses_a_geopackage_open_elsewhere(tmp_path: Path) -> None:
    old, new = _runs(tmp_path)
    gpkg = new / schema.PLOTS_GPKG
    con = sqlite3.connect(gpkg)  # as QGIS or QField holds it while the project is open
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("SELECT count(*) FROM plots").fetchone()
        with pytest.raises(RunFolderError, match="open in QGIS or QField"):
            track_runs(old, new)
    finally:
        con.close()
    assert "track_status" not in _plots(new).columns
    assert track_runs(old, new)["regrowth"] == 1  # once closed, it goes through


@needs_qgis
@pytest.mark.qgis
def test_qgis_shows_history_of_a_tracked_run(tmp_path: Path) -> None:
    old, new = _runs(tmp_path)
    track_runs(old, new)
    report = qgis_check(write_project(new), "--set", "N0=eradicated")
    plots = next(layer for layer in report["layers"] if layer["name"] == "plots")
    assert plots["valid"] and plots["form_tabs"] == ["Review", "History", "Plot"]
    assert "track_status" in plots["read_only_fields"]
    assert report["edits"][0]["ok"] and report["edits"][0]["attributes"]["track_status"] == "regrowth"


def _sat_and_drone(tmp_path: Path) -> tuple[Path, Path]:
    """A satellite run (0.5 m model) and a drone run (0.05 m) whose imagery misses the westmost 40 m."""
    sat = plots_frame(["poppy"] * 4 + ["cannabis"], ids=["S0", "S1", "S2", "S3", "S4"])
    sat.loc[4, "geometry"] = shapely.affinity.translate(sat.geometry.iloc[4], 1000, 0)  # far outside the flight
    drone = plots_frame(["cannabis"], ids=["D0"], size=10, offset=(74, -3))  # 4 m east of S1 (satellite placement), 16 m from S2
    sat_run = write_run(tmp_path / "sat", sat, image=False, probability=False)
    drone_run = write_run(tmp_path / "drone", drone, image=False, probability=True)
    with rasterio.open(drone_run / schema.PROBABILITY_TIF, "r+") as dst:
        mask = np.full((dst.height, dst.width), 255, np.uint8)
        mask[:, :40] = 0  # 1 m pixels: x < X0 + 40 m not flown (S0 lies at X0 + 10..30)
        dst.write_mask(mask)
    for run, gsd in ((sat_run, 0.5), (drone_run, 0.05)):
        meta = json.loads((run / schema.RUN_JSON).read_text())
        meta["model"]["gsd_m"] = gsd
        (run / schema.RUN_JSON).write_text(json.dumps(meta))
    return sat_run, drone_run


def test_satellite_then_drone_says_confirmed_cleared_or_not_covered(tmp_path: Path) -> None:
    sat_run, drone_run = _sat_and_drone(tmp_path)
    result = CliRunner().invoke(cli, ["track", str(sat_run), str(drone_run)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "confirmed 1  cleared 2  not_covered 2"
    plots = _plots(sat_run)
    assert plots["drone_status"].to_dict() == {"S0": "not_covered", "S1": "confirmed", "S2": "cleared", "S3": "cleared", "S4": "not_covered"}
    assert plots.loc["S1", "drone_plot_ids"] == "D0" and plots.loc["S0", "drone_coverage"] == 0.0 and plots.loc["S2", "drone_coverage"] == 1.0
    assert set(plots["drone_run"]) == {"drone"} and "track_status" not in plots.columns
    assert "drone_status" not in _plots(drone_run).columns  # the drone run is left as it was
    with sqlite3.connect(sat_run / schema.PLOTS_GPKG) as con:  # the form shows what the drone said
        qml = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'plots' AND styleName = 'scout'").fetchone()[0]
    assert 'name="Drone"' in qml and "drone_status" in qml
    again = CliRunner().invoke(cli, ["track", str(sat_run), str(drone_run), "--tolerance-m", "1"])
    assert again.output.strip().splitlines()[-1] == "confirmed 0  cleared 3  not_covered 2"  # re-run replaces the columns; 4 m off is not within 1 m
    folder = open_run(drone_run)  # the drone plot, reviewed on the drone imagery, was a false alarm: it confirms nothing
    drone = read_plots(folder)
    rewrite_plots(folder, drone.assign(review_status="false_alarm"))
    third = CliRunner().invoke(cli, ["track", str(sat_run), str(drone_run)])
    assert third.output.strip().splitlines()[-1] == "confirmed 0  cleared 3  not_covered 2" and _plots(sat_run).loc["S1", "drone_plot_ids"] == ""
