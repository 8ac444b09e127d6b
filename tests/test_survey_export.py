"""``scout tasks`` end to end over a small real run folder: files, GPX, KML, HTML sheets, bad input."""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import gpxpy
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin
from shapely.geometry import LineString, box

from scout.cli import ScoutGroup
from scout.commands import survey_cmds
from scout.io import write_gpkg_layer, write_json
from scout.schema import ROUTE_FIELDS, TASK_FIELDS
from scout.survey import SurveySettings, TaskSettings, make_tasks, write_survey
from scout.survey.inputs import read_run
from scout.survey.routing import RouteSettings
from test_survey_tasks import CRS, X0, Y0, plots_frame

GSD = 5.0
SIZE = 600  # pixels: the image covers 3 km × 3 km
DEPOT = gpd.GeoSeries.from_xy([X0 + 1500], [Y0 + 1500], crs=CRS).to_crs(4326).iloc[0]
DEPOT_ARG = f"{DEPOT.x:.6f},{DEPOT.y:.6f}"


def make_run(folder: Path, plot_rows: list[dict]) -> Path:
    """A run folder as scout detect writes it: plots.gpkg (plots, aoi), plots.geojson, run.json and an RGB image."""
    folder.mkdir(parents=True)
    image = folder.parent / "images" / "flight.tif"
    image.parent.mkdir(exist_ok=True)
    rgb = np.random.default_rng(0).integers(40, 200, (3, SIZE, SIZE), dtype=np.uint8)
    profile = dict(driver="GTiff", width=SIZE, height=SIZE, count=3, dtype="uint8", crs=CRS, transform=from_origin(X0, Y0 + SIZE * GSD, GSD, GSD))
    with rasterio.open(image, "w", **profile) as dst:
        dst.write(rgb)
    plots = plots_frame(plot_rows).assign(source="flight.tif", aoi="valley")
    write_gpkg_layer(plots, folder / "plots.gpkg", "plots")
    aoi = gpd.GeoDataFrame({"aoi": ["valley"], "area_m2": [9e6]}, geometry=[box(X0, Y0, X0 + 3000, Y0 + 3000)], crs=CRS)
    write_gpkg_layer(aoi, folder / "plots.gpkg", "aoi")
    plots.to_crs(4326).to_file(folder / "plots.geojson", driver="GeoJSON", engine="pyogrio")
    write_json(
        folder / "run.json",
        {
            "scout_version": "0.1.0",
            "complete": True,
            "work_crs": CRS,
            "inputs": {"images": [{"path": "/nowhere/flight.tif", "relpath": "../images/flight.tif"}], "aoi": None},
            "counts": {"plots": len(plots)},
        },
    )
    return folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = [{"x": float(x), "y": float(y), "side_m": float(s)} for (x, y), s in zip(rng.uniform(200, 2800, (14, 2)), rng.uniform(20, 60, 14))]
    rows[1]["class"] = "cannabis"
    rows.append({"x": rows[0]["x"] + 60, "y": rows[0]["y"], "class": "cannabis", "side_m": 20.0})  # joins rows[0] into one mixed task
    return make_run(tmp_path / "run", rows)


def scout(*args: str, locale: str = "en_US.UTF-8"):
    group = ScoutGroup("scout")
    survey_cmds.register(group)
    return CliRunner().invoke(group, [str(a) for a in args], env={"LC_ALL": locale})


XSD = Path(__file__).parent / "data" / "xsd"


def assert_valid(path: Path, schema: str) -> None:
    """``path`` validates against ``tests/data/xsd/<schema>`` (GPX 1.1, KML 2.2)."""
    from lxml import etree

    xsd = etree.XMLSchema(etree.parse(str(XSD / schema)))
    document = etree.parse(str(path))
    assert xsd.validate(document), f"{path.name}: {xsd.error_log.last_error}"


def test_scout_tasks_writes_every_output(run_dir: Path, tmp_path: Path):
    out = tmp_path / "survey"
    result = scout("tasks", run_dir, "--teams", "2", "--depot", DEPOT_ARG, "--out", out, "--time-limit", "0.5", "--quiet")
    assert result.exit_code == 0, result.output
    assert "14 task(s): 14 planned for 2 team(s)" in result.output
    names = {p.name for p in out.iterdir()}
    assert names == {"tasks.geojson", "routes.geojson", "depots.geojson", "unreachable.csv", "summary.json",
                     *(f"team_0{t}.{ext}" for t in (1, 2) for ext in ("gpx", "kml", "html"))}
    tasks = gpd.read_file(out / "tasks.geojson")
    assert list(tasks.columns) == [*TASK_FIELDS, "geometry"] and tasks.crs.to_epsg() == 4326
    assert (tasks.geom_type == "Point").all() and (tasks["status"] == "planned").all()
    assert sorted(",".join(tasks["plot_ids"]).split(",")) == [f"p{i:04d}" for i in range(15)]
    routes = gpd.read_file(out / "routes.geojson")
    assert list(routes.columns) == [*ROUTE_FIELDS, "geometry"] and routes["stops"].sum() == 14
    assert json.loads((out / "summary.json").read_text())["planned"] == 14


def test_gpx_kml_and_sheet_per_team(run_dir: Path, tmp_path: Path):
    out = tmp_path / "survey"
    settings = SurveySettings(TaskSettings(), RouteSettings(teams=2, depots=((DEPOT.x, DEPOT.y),), time_limit_s=0.5), lang="en")
    write_survey(run_dir, out, settings)
    tasks = gpd.read_file(out / "tasks.geojson")
    for team in (1, 2):
        mine = tasks[tasks["team"] == team].sort_values(["day", "sequence"])
        assert_valid(out / f"team_0{team}.gpx", "gpx11.xsd")
        assert_valid(out / f"team_0{team}.kml", "ogckml22.xsd")
        gpx = gpxpy.parse((out / f"team_0{team}.gpx").read_text())
        depot, *stops = gpx.waypoints
        assert (depot.name, depot.symbol) == ("Depot", "Residence") and depot.latitude == pytest.approx(DEPOT.y, abs=1e-6)
        assert [w.name for w in stops] == list(mine["task_id"])
        assert all(re.match(r"(poppy|cannabis|poppy\+cannabis|cannabis\+poppy); [\d,]+ m², confidence", w.description) for w in stops)
        assert all(w.description.endswith("WGS-84") for w in stops) and "WGS-84" in gpx.description
        assert len(gpx.routes) == mine["day"].max()
        assert [p.name for p in gpx.routes[0].points] == ["Depot", *mine.loc[mine["day"] == 1, "task_id"], "Depot"]
        assert gpx.tracks[0].segments[0].points[0].latitude == pytest.approx(DEPOT.y, abs=1e-6)

        kml = ET.parse(out / f"team_0{team}.kml").getroot()
        ns = {"k": "http://www.opengis.net/kml/2.2"}
        names = [n.text for n in kml.iterfind(".//k:Placemark/k:name", ns)]
        assert set(mine["task_id"]) <= set(names)
        layers = [name for name, _ in pyogrio.list_layers(out / f"team_0{team}.kml")]  # a layer per folder (day)
        read = {n for layer in layers for n in pyogrio.read_dataframe(out / f"team_0{team}.kml", layer=layer)["Name"]}
        assert set(mine["task_id"]) <= read and "Depot" in read

        page = (out / f"team_0{team}.html").read_text()
        chips = re.findall(r'<figure class="chip" data-task="(T\d+)">', page)
        assert chips == list(mine["task_id"])
        assert page.count("data:image/jpeg;base64,") == len(mine) + mine["day"].nunique()  # chips and the route maps
        assert "http://" not in page and "<script" not in page  # offline; https only in navigation links
        assert all(f'<tr class="task-head" id="{t}">' in page for t in mine["task_id"])


def test_a_task_mixing_classes_is_labelled_with_both(run_dir: Path, tmp_path: Path):
    out = tmp_path / "survey"
    write_survey(run_dir, out, SurveySettings(TaskSettings(), RouteSettings(depots=((DEPOT.x, DEPOT.y),), time_limit_s=0.5), lang="en"))
    tasks = gpd.read_file(out / "tasks.geojson").set_index("task_id")
    mixed = tasks[tasks["plot_ids"].str.contains("p0014")].iloc[0]
    assert (mixed["class"], mixed["classes"]) == ("poppy", "poppy,cannabis")  # the poppy plot is the larger
    assert set(tasks.loc[tasks.index != mixed.name, "classes"]) == {"poppy", "cannabis"}
    gpx = gpxpy.parse((out / "team_01.gpx").read_text())
    by_name = {w.name: w for w in gpx.waypoints}
    assert by_name[mixed.name].description.startswith("poppy+cannabis;") and by_name[mixed.name].type == "poppy,cannabis"
    symbols = {w.symbol for w in gpx.waypoints}
    assert {"Flag, Red", "Flag, Green", "Flag, Blue", "Residence"} <= symbols  # poppy, cannabis, mixed, depot
    kml = ET.parse(out / "team_01.kml").getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    style_of = {m.findtext("k:name", namespaces=ns): m.findtext("k:styleUrl", namespaces=ns) for m in kml.iterfind(".//k:Placemark", ns)}
    assert style_of[mixed.name] == "#mixed" and style_of["Depot"] == "#depot"
    depots = gpd.read_file(out / "depots.geojson")
    assert list(depots["team"]) == [1] and depots["lon"].iloc[0] == pytest.approx(DEPOT.x, abs=1e-6)


def test_chinese_gpx_kml_and_summary(run_dir: Path, tmp_path: Path):
    out = tmp_path / "survey"
    result = scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", out, "--time-limit", "0.5", "--lang", "zh", locale="en_US.UTF-8")
    assert result.exit_code == 0, result.output
    assert "个任务：" in result.output and "公里" in result.output
    assert_valid(out / "team_01.gpx", "gpx11.xsd")
    assert_valid(out / "team_01.kml", "ogckml22.xsd")
    gpx = gpxpy.parse((out / "team_01.gpx").read_text(encoding="utf-8"))
    assert gpx.name == "Scout 第1组" and gpx.waypoints[0].name == "出发点"
    assert "罂粟+大麻" in {w.description.split("；")[0] for w in gpx.waypoints}
    assert gpx.routes[0].name == "第1组 第1天" and "WGS-84" in gpx.description
    assert json.loads((out / "summary.json").read_text())["lang"] == "zh"
    tasks = gpd.read_file(out / "tasks.geojson")
    assert set(tasks["class"]) <= {"poppy", "cannabis"}  # values stay English keys
    # the locale decides when --lang is not given, unless the run says (scout detect --lang stores it)
    out2 = tmp_path / "survey2"
    assert "个任务" in scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", out2, "--time-limit", "0.2", locale="zh_CN.UTF-8").output
    meta = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**meta, "lang": "zh"}))
    out3 = tmp_path / "survey3"
    assert "个任务" in scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", out3, "--time-limit", "0.2", locale="en_US.UTF-8").output


def test_make_tasks_reads_the_run_folder(run_dir: Path):
    tasks = make_tasks(run_dir, TaskSettings(cluster_m=100))
    assert len(tasks) == 14 and tasks.crs.to_epsg() == 32647
    assert tasks.iloc[0]["task_id"] == "T001"


def test_zero_plots_gives_valid_empty_outputs(tmp_path: Path):
    run = make_run(tmp_path / "run", [])
    out = tmp_path / "survey"
    result = scout("tasks", run, "--teams", "2", "--depot", DEPOT_ARG, "--out", out)
    assert result.exit_code == 0, result.output
    assert len(gpd.read_file(out / "tasks.geojson")) == 0
    assert json.loads((out / "routes.geojson").read_text())["features"] == []
    assert [w.name for w in gpxpy.parse((out / "team_01.gpx").read_text()).waypoints] == ["Depot"]  # the depot alone
    assert "No tasks for this team" in (out / "team_02.html").read_text()


def test_depot_far_from_every_aoi_exits_2_and_writes_nothing(run_dir: Path, tmp_path: Path):
    out = tmp_path / "survey"
    result = scout("tasks", run_dir, "--depot", f"{DEPOT.x + 1:.5f},{DEPOT.y:.5f}", "--out", out)
    assert result.exit_code == 2
    assert "km from every AOI" in result.output and "plots.gpkg" in result.output
    assert not out.exists() and list(tmp_path.glob(".survey*")) == []


def test_existing_output_needs_overwrite_and_only_a_survey_folder_is_replaced(run_dir: Path, tmp_path: Path):
    out = tmp_path / "survey"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    for extra in ((), ("--overwrite",)):  # not a survey folder: never replaced
        result = scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", out, "--time-limit", "0.2", *extra)
        assert result.exit_code == 2 and "holds files but no summary.json" in result.output
        assert (out / "mine.txt").read_text() == "keep"
    out = tmp_path / "survey2"
    assert scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", out, "--time-limit", "0.2").exit_code == 0
    result = scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", out, "--time-limit", "0.2")
    assert result.exit_code == 2 and "--overwrite" in result.output
    (out / "team_09.gpx").write_text("an older plan's")  # Scout's file: replaced with the folder
    result = scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", out, "--time-limit", "0.2", "--overwrite")
    assert result.exit_code == 0, result.output
    assert not (out / "team_09.gpx").exists() and (out / "tasks.geojson").exists()
    (out / "notes.txt").write_text("the bridge is out")  # the user's: never deleted (issue 17)
    result = scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", out, "--time-limit", "0.2", "--overwrite")
    assert result.exit_code == 2 and "holds notes.txt, which Scout did not write" in result.output
    assert (out / "notes.txt").read_text() == "the bridge is out"


def test_roads_and_depots_files(run_dir: Path, tmp_path: Path):
    """Depots from a vector file (one per team); a task off a disconnected track is listed unreachable."""
    depots = gpd.GeoDataFrame({"team": [2, 1]}, geometry=gpd.points_from_xy([X0 + 2900, X0 + 100], [Y0 + 100, Y0 + 100]), crs=CRS)
    depots.to_file(tmp_path / "depots.geojson", driver="GeoJSON", engine="pyogrio")
    tasks = make_tasks(run_dir, TaskSettings())
    far_task = tasks.geometry.iloc[0]
    roads = [LineString([(X0 + 100, Y0 + 100 + 300 * k), (X0 + 2900, Y0 + 100 + 300 * k)]) for k in range(10)]
    roads += [LineString([(X0 + 100, Y0 + 100), (X0 + 100, Y0 + 2800)]), LineString([(X0 + 2900, Y0 + 100), (X0 + 2900, Y0 + 2800)])]
    assert min(r.distance(far_task) for r in roads) > 10
    roads.append(far_task.buffer(10).exterior)  # a loop track around that task, joined to nothing
    gpd.GeoDataFrame(geometry=roads, crs=CRS).to_file(tmp_path / "roads.gpkg", engine="pyogrio")
    out = tmp_path / "survey"
    result = scout("tasks", run_dir, "--depots", tmp_path / "depots.geojson", "--roads", tmp_path / "roads.gpkg",
                   "--out", out, "--time-limit", "0.5")
    assert result.exit_code == 0, result.output
    assert "13 planned for 2 team(s), 1 unreachable" in result.output
    unreachable = (out / "unreachable.csv").read_text()
    assert "T001" in unreachable and "not connected by the road network" in unreachable
    routes = gpd.read_file(out / "routes.geojson").to_crs(CRS).set_index("team")
    assert routes.loc[1].geometry.coords[0] == pytest.approx((X0 + 100, Y0 + 100), abs=0.01)  # team 1 from its depot


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda run: (run / "plots.gpkg").unlink(), "plots.gpkg: missing"),
        (lambda run: (run / "run.json").write_text("{"), "run.json: not valid JSON"),
        (lambda run: write_gpkg_layer(plots_frame([{"x": 0, "y": 0, "review_status": "maybe"}]), run / "plots.gpkg", "plots"),
         "plot p0000 has review_status 'maybe'"),
        (lambda run: write_gpkg_layer(plots_frame([{"x": 0, "y": 0, "track_status": "new"}, {"x": 900, "y": 0, "track_status": "old"}]),
                                      run / "plots.gpkg", "plots"),
         "plot p0001 has track_status 'old'; expected one of new, recurring"),
        (lambda run: (run / "run.json").write_text('{"complete": false}'), "run.json: the run did not complete"),
    ],
)
def test_broken_run_folder_exits_2_with_one_line(run_dir: Path, tmp_path: Path, edit, message: str):
    edit(run_dir)
    result = scout("tasks", run_dir, "--depot", DEPOT_ARG, "--out", tmp_path / "survey")
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "survey").exists()


def test_plots_reviewers_drew_where_the_model_found_none_become_tasks(tmp_path: Path):
    """An analyst who sees a field the model missed draws it (missed_plots, or by hand in plots): a team must go there too."""
    run = make_run(tmp_path / "run", [{"x": 500, "y": 500}, {"x": 2500, "y": 500, "review_status": "false_alarm"}, {"x": 1500, "y": 2500, "side_m": 20.0}])
    plots = gpd.read_file(run / "plots.gpkg", layer="plots")  # the third digitised into the plots layer by hand
    plots.loc[2, ["plot_id", "class", "confidence", "area_m2", "review_status"]] = [None, "cannabis", np.nan, np.nan, None]
    write_gpkg_layer(plots, run / "plots.gpkg", "plots")
    drawn = gpd.GeoDataFrame({"class": ["", "poppy"], "note": ["under the walnut trees", ""], "reviewed_by": ["li", "li"], "reviewed_at": ["", ""]},
                             geometry=[box(X0 + 2500, Y0 + 2500, X0 + 2510, Y0 + 2510), box(X0 + 2700, Y0 + 2700, X0 + 2720, Y0 + 2720)], crs=CRS)
    drawn = pd.concat([drawn, drawn.iloc[[1]]])  # drawn twice: one field
    write_gpkg_layer(drawn.to_crs(4326), run / "plots.gpkg", "missed_plots")
    result = scout("tasks", run, "--depot", DEPOT_ARG, "--cluster-m", "1", "--out", tmp_path / "survey")
    assert result.exit_code == 0, result.output
    tasks = gpd.read_file(tmp_path / "survey" / "tasks.geojson")
    assert len(tasks) == 4  # p0000, the one drawn in plots and the two in missed_plots; never the false alarm
    made = make_tasks(run, TaskSettings()).set_index("plot_ids")
    drawn_ids = sorted(i for i in made.index if i.startswith("M"))
    assert len(drawn_ids) == 3 and drawn_ids == sorted(i for i in make_tasks(run, TaskSettings())["plot_ids"] if i.startswith("M"))  # ids stay
    assert sorted(made.loc[drawn_ids, "class"]) == ["cannabis", "poppy", "unknown"]
    assert sorted(read_run(run).plots.set_index("plot_id").loc[drawn_ids, "source"]) == ["drawn in missed_plots", "drawn in missed_plots", "drawn in plots"]
    assert sorted(made.loc[drawn_ids, "area_m2"].round()) == [100.0, 400.0, 400.0]
    gpx = gpxpy.parse((tmp_path / "survey" / "team_01.gpx").read_text())
    assert len(gpx.waypoints) == 4 + 1  # and the depot
    sheet = (tmp_path / "survey" / "team_01.html").read_text(encoding="utf-8")
    assert "unknown crop" in sheet and all(i in sheet for i in drawn_ids)


def test_bad_options_exit_2(run_dir: Path, tmp_path: Path):
    assert scout("tasks", run_dir, "--depot", DEPOT_ARG, "--status", "unreviewed,maybe").exit_code == 2
    assert scout("tasks", run_dir).exit_code == 2  # no depot
    assert "Invalid value for '--max-depot-km'" in scout("tasks", run_dir, "--depot", DEPOT_ARG, "--max-depot-km", "-1").output
    result = scout("tasks", run_dir, "--depot", DEPOT_ARG, "--teams", "3", "--depots", tmp_path / "none.geojson")
    assert result.exit_code == 2


def test_help_states_the_priority_formula():
    result = scout("tasks", "--help")
    assert "p = 100 × w_class × c × area / (area + 1000 m²) × h_track" in result.output


def test_review_status_typed_by_hand_is_read(tmp_path: Path):
    run = make_run(tmp_path / "run", [{"x": 500, "y": 500, "review_status": "Confirmed"}, {"x": 2500, "y": 2500, "review_status": "False alarm"}])
    tasks = make_tasks(run, TaskSettings())  # visits unreviewed and confirmed plots
    assert tasks["plot_ids"].tolist() == ["p0000"]


def test_a_source_image_damaged_since_the_run_costs_its_chips_only(tmp_path, caplog):
    from scout.survey.sheets import ChipSource

    image = tmp_path / "flight.tif"
    rgb = np.random.default_rng(0).integers(40, 200, (3, SIZE, SIZE), dtype=np.uint8)
    profile = dict(driver="GTiff", width=SIZE, height=SIZE, count=3, dtype="uint8", crs=CRS, transform=from_origin(X0, Y0 + SIZE * GSD, GSD, GSD))
    with rasterio.open(image, "w", tiled=True, compress="deflate", **profile) as dst:
        dst.write(rgb)
    plots = gpd.GeoDataFrame({"plot_id": ["p1"], "class": ["poppy"]}, geometry=[box(X0 + 1000, Y0 + 1000, X0 + 1050, Y0 + 1050)], crs=CRS)
    with ChipSource([image], CRS) as chips:
        assert "data:image/jpeg;base64," in chips.chip(plots)
    raw = bytearray(image.read_bytes())
    raw[2000:-100] = bytes(len(raw) - 2100)  # the tiles' deflate streams zeroed; the header is whole
    image.write_bytes(bytes(raw))
    caplog.set_level(logging.WARNING, logger="scout")
    with ChipSource([image], CRS) as chips:
        assert chips.chip(plots) is None
    assert "flight.tif: read failed for an image chip" in caplog.text


def test_a_far_depot_is_echoed_as_given_with_its_true_distance(run_dir: Path, tmp_path: Path):
    """Issue 17, case 9: (0,0) lies outside the run's UTM zone, where it projects to infinity: it read
    '(inf,inf) is inf km' and no --max-depot-km let it pass; a depot at the pole was echoed at 99° E."""
    null_island = scout("tasks", run_dir, "--depot", "0,0", "--out", tmp_path / "a")
    assert null_island.exit_code == 2
    assert re.fullmatch(r"scout: error: depot of team 1 \(0\.00000,0\.00000\) is 10,[0-9]{3}\.[0-9] km from every AOI of .*plots\.gpkg "
                        r"\(limit 50 km\); check it is LON,LAT\n", null_island.output), null_island.output
    pole = scout("tasks", run_dir, "--depot", "97.27,90", "--out", tmp_path / "b")
    assert pole.exit_code == 2 and "(97.27000,90.00000) is 7," in pole.output, pole.output
    anyway = scout("tasks", run_dir, "--depot", "0,0", "--max-depot-km", "1e9", "--out", tmp_path / "c")
    assert anyway.exit_code == 2 and len(anyway.output.splitlines()) == 1 and "inf" not in anyway.output, anyway.output
    assert "(0.00000,0.00000)" in anyway.output and "EPSG:32647" in anyway.output
    assert not any((tmp_path / name).exists() for name in "abc")


def test_without_out_the_tasks_go_into_the_run_folder(run_dir: Path):
    result = scout("tasks", run_dir, "--depot", DEPOT_ARG, "--time-limit", "0.5", "-q")
    assert result.exit_code == 0, result.output
    assert (run_dir / "tasks" / "summary.json").is_file()
