"""``scout review``: decisions read back, precision with Wilson intervals, area estimates, labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from review_runs import UTM, X0, Y0, plots_frame, write_run
from scout import schema
from scout.cli import cli
from scout.commands import review_cmds
from scout.errors import OutputError, RunFolderError
from scout.io import write_gpkg_layer
from scout.review.decisions import LABEL_FIELDS, labels_frame, review_run, summarise
from scout.review.stats import Stratum, ratio_estimate, wilson_interval
from scout.schema import REVIEW_JSON

review_cmds.register(cli)


def test_wilson_interval_known_values() -> None:
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 0) is None
    lo, hi = wilson_interval(10, 10)
    assert hi == pytest.approx(1.0) and 0.69 < lo < 0.73
    assert wilson_interval(0, 5)[0] == 0.0


def test_ratio_estimate_by_hand() -> None:
    stratum = Stratum("all", [100.0, 200.0, 300.0, 400.0], [100.0, 300.0], [True, False])
    est = ratio_estimate([stratum], observed_real_m2=100.0)
    # R = 100/400; Y = 0.25 * 1000; Var = 4²(1 - 2/4)/2 * (75² + 75²)/1 = 45000
    assert est.total_m2 == pytest.approx(250.0)
    assert est.standard_error_m2 == pytest.approx(45000**0.5)
    assert est.ci95_m2 == (100.0, 1000.0)  # t(1 df) is wide: clipped to [observed, flagged]


def test_ratio_estimate_census_and_gaps() -> None:
    census = ratio_estimate([Stratum("a", [10.0, 30.0], [10.0, 30.0], [True, False])], 10.0)
    assert census.total_m2 == 10.0 and census.ci95_m2 == (10.0, 10.0)
    unseen = ratio_estimate([Stratum("a", [10.0], [10.0], [True]), Stratum("b", [5.0, 6.0], [], [])], 10.0)
    assert unseen.total_m2 is None and "'b'" in unseen.reason
    single = ratio_estimate([Stratum("a", [10.0, 20.0, 30.0], [20.0], [True])], 20.0)
    assert single.total_m2 == pytest.approx(60.0) and single.ci95_m2 is None and "only 1" in single.reason


def test_ratio_estimate_interval_covers_the_truth_about_95_percent() -> None:
    rng = np.random.default_rng(7)
    areas = rng.lognormal(6, 0.8, 300)
    real = rng.random(300) < 0.4 + 0.4 * (areas > np.median(areas))
    truth = areas[real].sum()
    hits = 0
    for _ in range(400):
        idx = rng.choice(300, 60, replace=False)
        est = ratio_estimate([Stratum("all", areas, areas[idx], real[idx])], areas[idx][real[idx]].sum())
        hits += est.ci95_m2[0] <= truth <= est.ci95_m2[1]
    assert 0.9 <= hits / 400 <= 0.99


def test_summarise_table_precision_and_areas() -> None:
    plots = plots_frame(
        ["poppy", "poppy", "poppy", "cannabis", "cannabis", "poppy"],
        ["confirmed", "eradicated", "false_alarm", "confirmed", "unreviewed", "unreviewed"],
        ["north", "north", "south", "south", "south", "north"],
    )
    s = summarise(plots, "class")
    assert s["plots"] == 6 and s["reviewed"] == 4
    assert {(r["review_status"], r["class"], r["aoi"]): r["plots"] for r in s["table"]} == {
        ("confirmed", "cannabis", "south"): 1, ("confirmed", "poppy", "north"): 1, ("eradicated", "poppy", "north"): 1,
        ("false_alarm", "poppy", "south"): 1, ("unreviewed", "cannabis", "south"): 1, ("unreviewed", "poppy", "north"): 1,
    }
    assert s["precision"]["all"]["confirmed"] == 3 and s["precision"]["all"]["false_alarm"] == 1
    assert s["precision"]["by_class"]["poppy"]["precision"] == pytest.approx(2 / 3)
    assert s["precision"]["by_aoi"]["south"]["precision"] == pytest.approx(1 / 2)
    assert s["area_m2"]["confirmed"] == 800.0 and s["area_m2"]["eradicated"] == 400.0
    # every plot is 400 m²: poppy 2 of 3 reviewed real -> 4 * 400 * 2/3; cannabis 1 of 1 -> 2 * 400
    assert s["estimate"]["confirmed_area_m2"] == pytest.approx(4 * 400 * 2 / 3 + 800, abs=0.01)
    assert "within each class stratum" in s["estimate"]["assumption"]


def test_summarise_zero_plots() -> None:
    s = summarise(plots_frame([]))
    assert s["plots"] == 0 and s["table"] == [] and s["precision"]["all"]["precision"] is None
    assert s["estimate"]["confirmed_area_m2"] == 0.0


def test_review_run_writes_json_and_labels(tmp_path: Path) -> None:
    statuses = ["confirmed", "false_alarm", "eradicated", "unreviewed"]
    run = write_run(tmp_path / "r1", plots_frame(["poppy", "cannabis", "cannabis", "poppy"], statuses), image=False, probability=False)
    out = tmp_path / "labels.gpkg"
    result = CliRunner().invoke(cli, ["review", str(run), "--labels", str(out)])
    assert result.exit_code == 0, result.output
    assert "precision 0.67" in result.output and "false_alarm" in result.output
    written = json.loads((run / REVIEW_JSON).read_text())
    assert written["by_status"] == dict(zip(schema.REVIEW_STATUSES, [1, 1, 1, 1]))
    assert written["labels"]["rows"] == 3
    labels = gpd.read_file(out, layer="labels")
    assert list(labels.columns) == [*LABEL_FIELDS, "geometry"]
    assert labels.set_index("plot_id")[["class", "label_kind"]].to_dict("index") == {
        "P000": {"class": "poppy", "label_kind": "positive"},
        "P001": {"class": "background", "label_kind": "hard_negative"},
        "P002": {"class": "cannabis", "label_kind": "positive"},
    }
    assert labels.crs.to_epsg() == 32647
    again = CliRunner().invoke(cli, ["review", str(run), "--labels", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    with pytest.raises(OutputError):
        review_run(run, labels=out)
    assert review_run(run, labels=out, overwrite=True)["labels"]["rows"] == 3


def test_zero_plots_give_empty_valid_outputs(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r0", plots_frame([]), image=False, probability=False)
    summary = review_run(run, labels=tmp_path / "labels.gpkg")
    assert summary["plots"] == 0 and (run / REVIEW_JSON).is_file()
    labels = gpd.read_file(tmp_path / "labels.gpkg", layer="labels")
    assert len(labels) == 0 and list(labels.columns) == [*LABEL_FIELDS, "geometry"]
    assert len(labels_frame(plots_frame([]))) == 0


@pytest.mark.parametrize("value", ["maybe", None])
def test_bad_review_status_names_plot_and_value(tmp_path: Path, value: str | None) -> None:
    run = write_run(tmp_path / "r1", plots_frame(["poppy", "cannabis", "poppy"]), image=False, probability=False)
    plots = gpd.read_file(run / schema.PLOTS_GPKG, layer="plots")  # edited carelessly in another tool
    plots.loc[plots["plot_id"].isin(["P001", "P002"]), "review_status"] = value
    write_gpkg_layer(plots, run / schema.PLOTS_GPKG, "plots")
    result = CliRunner().invoke(cli, ["review", str(run)])
    assert result.exit_code == 2
    expected = "'maybe'" if value else "''"
    assert f"plot P001 has review_status {expected} (and 1 more plot(s))" in result.output
    assert "Traceback" not in result.output and not (run / REVIEW_JSON).exists()


def test_fields_the_model_missed_are_reported_and_exported_as_positives(tmp_path: Path) -> None:
    """Drawn by hand in plots (no plot_id) or in the missed_plots layer: counted apart, never refused."""
    run = write_run(tmp_path / "r1", plots_frame(["poppy", "cannabis", "poppy"], ["confirmed", "unreviewed", "unreviewed"]), image=False, probability=False)
    plots = gpd.read_file(run / schema.PLOTS_GPKG, layer="plots")  # a missed plot digitised into the plots layer
    plots.loc[1, ["plot_id", "area_m2", "confidence"]] = [None, np.nan, np.nan]
    write_gpkg_layer(plots, run / schema.PLOTS_GPKG, "plots")
    drawn = gpd.GeoDataFrame({"class": ["Poppy", ""], "note": ["by the stream", ""], "reviewed_by": ["li", ""], "reviewed_at": ["", ""]},
                             geometry=[shapely.box(X0 + 300, Y0 - 60, X0 + 330, Y0 - 30), shapely.box(X0 + 350, Y0 - 60, X0 + 360, Y0 - 50)], crs=UTM).to_crs(4326)
    write_gpkg_layer(drawn, run / schema.PLOTS_GPKG, "missed_plots")
    out = tmp_path / "labels.gpkg"
    result = CliRunner().invoke(cli, ["review", str(run), "--labels", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "missed by the model, drawn by reviewers: 3 plot(s) (poppy 1, cannabis 1), 1400 m²; 1 without class" in result.output
    summary = json.loads((run / REVIEW_JSON).read_text())
    assert summary["plots"] == 2 and summary["missed"]["by_class"] == {"poppy": 1, "cannabis": 1}
    labels = gpd.read_file(out, layer="labels")
    positives = labels[labels["label_kind"] == "positive"]
    assert sorted(positives["class"]) == ["cannabis", "poppy", "poppy"]  # P000 confirmed, and two drawn with a class
    assert (positives["review_status"] == "missed").sum() == 2
    assert sorted(positives.to_crs(UTM).area.round()) == [400.0, 400.0, 900.0]
    zh = CliRunner().invoke(cli, ["review", str(run), "--lang", "zh"])
    assert "模型漏检、核查人员补画：3 个地块（罂粟 1, 大麻 1）" in zh.output and "确认" in zh.output


def test_review_rewrites_plots_geojson_with_the_decisions(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r1", plots_frame(["poppy", "cannabis"]), image=False, probability=False)
    plots = gpd.read_file(run / schema.PLOTS_GPKG, layer="plots")
    plots["review_status"] = ["confirmed", "false_alarm"]
    write_gpkg_layer(plots, run / schema.PLOTS_GPKG, "plots")
    review_run(run)
    geojson = gpd.read_file(run / schema.PLOTS_GEOJSON)
    assert list(geojson["review_status"]) == ["confirmed", "false_alarm"] and geojson.crs.to_epsg() == 4326


def test_review_status_typed_by_hand_is_read(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r1", plots_frame(["poppy", "cannabis", "poppy"]), image=False, probability=False)
    plots = gpd.read_file(run / schema.PLOTS_GPKG, layer="plots")  # typed in the attribute table, not picked
    plots["review_status"] = ["Confirmed", " False alarm", "false-alarm"]
    write_gpkg_layer(plots, run / schema.PLOTS_GPKG, "plots")
    assert review_run(run)["by_status"] == {"unreviewed": 0, "confirmed": 1, "false_alarm": 2, "eradicated": 0}


def test_column_edited_away(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r1", plots_frame(["poppy"]), image=False, probability=False)
    plots = gpd.read_file(run / schema.PLOTS_GPKG, layer="plots")
    write_gpkg_layer(plots.drop(columns=["review_status"]), run / schema.PLOTS_GPKG, "plots")
    with pytest.raises(RunFolderError, match="plots.gpkg: layer 'plots' lacks column\\(s\\) review_status"):
        review_run(run)


def test_damaged_geometry_in_the_geopackage_is_one_line(tmp_path: Path) -> None:
    """A plot whose ring no longer closes (a damaged blob) raised GEOSException out of review and track (found by fuzzing)."""
    import sqlite3
    import struct

    run = write_run(tmp_path / "r1", plots_frame(["poppy", "cannabis"]), image=False, probability=False)
    gpkg = run / schema.PLOTS_GPKG
    with sqlite3.connect(gpkg) as db:
        column = db.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = 'plots'").fetchone()[0]
        fid, blob = db.execute(f'SELECT fid, "{column}" FROM plots LIMIT 1').fetchone()
        blob = bytearray(blob)
        header = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(blob[3] >> 1) & 7]  # GP, version, flags, srs_id, envelope
        assert struct.unpack_from("<I", blob, header + 1)[0] in (3, 6)  # a (multi)polygon, little-endian
        struct.pack_into("<d", blob, len(blob) - 16, 1.0)  # the closing point's x: the ring stays open
        for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():  # R-tree triggers call SpatiaLite
            db.execute(f'DROP TRIGGER "{trigger}"')
        db.execute(f'UPDATE plots SET "{column}" = ? WHERE fid = ?', (bytes(blob), fid))
    with pytest.raises(RunFolderError, match=r"plots.gpkg: cannot read layer 'plots' \(.*closed.*\); the GeoPackage may be damaged"):
        review_run(run)


@pytest.mark.parametrize(("damage", "says"), [
    ("UPDATE gpkg_contents SET data_type = 'attributes' WHERE table_name = 'plots'", "layer 'plots' has no geometry"),  # AttributeError before
    ("UPDATE gpkg_geometry_columns SET geometry_type_name = 'XYZ' WHERE table_name = 'plots'", "not a readable GeoPackage (Geometry type is not supported"),
    ("UPDATE gpkg_geometry_columns SET srs_id = 99 WHERE table_name = 'plots'", "layer 'plots' has no CRS"),
])
def test_damaged_geopackage_tables_are_one_line(tmp_path: Path, damage: str, says: str) -> None:
    import sqlite3
    import warnings

    from scout.review.track import track_runs

    old = write_run(tmp_path / "old" / "run", plots_frame(["poppy"]), image=False, probability=False)
    new = write_run(tmp_path / "new" / "run", plots_frame(["poppy", "cannabis"]), image=False, probability=False)
    with sqlite3.connect(new / schema.PLOTS_GPKG) as db:
        db.execute(damage)
    before = (new / schema.PLOTS_GPKG).read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for run_it in (lambda: review_run(new), lambda: track_runs(old, new)):
            with pytest.raises(RunFolderError, match=f"plots.gpkg: {re.escape(says)}"):
                run_it()
    assert (new / schema.PLOTS_GPKG).read_bytes() == before


def test_a_geopackage_another_program_is_writing_says_so(tmp_path: Path, monkeypatch) -> None:
    """Issue 17, case 9: QGIS saving (a write lock on plots.gpkg) read 'not a readable GeoPackage (... database is locked)'."""
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT", "100")  # ms GDAL waits for the lock (5 s a try by default)
    import subprocess
    import sys

    from scout.review.track import track_runs

    old = write_run(tmp_path / "old" / "run", plots_frame(["poppy"]), image=False, probability=False)
    new = write_run(tmp_path / "new" / "run", plots_frame(["poppy", "cannabis"]), image=False, probability=False)
    before = (new / schema.PLOTS_GPKG).read_bytes()
    hold = "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); db.execute('BEGIN EXCLUSIVE'); print('held', flush=True); sys.stdin.read()"
    # another process: SQLite's locks are the process's, and GDAL's SQLite would not see one taken here
    with subprocess.Popen([sys.executable, "-c", hold, str(new / schema.PLOTS_GPKG)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as editor:
        try:
            assert editor.stdout.readline() == "held\n"
            for run_it in (lambda: review_run(new), lambda: track_runs(old, new)):
                with pytest.raises(RunFolderError, match=r"plots\.gpkg: another program .* is writing it; .* run again"):
                    run_it()
        finally:
            editor.stdin.close()
    assert (new / schema.PLOTS_GPKG).read_bytes() == before
