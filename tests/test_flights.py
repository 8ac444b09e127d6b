"""``scout flights``: drone missions over a satellite run's suspected plots, one battery each; DJI WPML and KML files."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import box

from scout.cli import ScoutGroup
from scout.commands import flights_cmds
from scout.errors import InputError
from scout.flights import FLIGHT_AREAS, FlightSettings, drone_profile, lawnmower, plan_missions
from scout.io import write_gpkg_layer
from test_survey_export import assert_valid, make_run
from test_survey_tasks import CRS, X0, Y0

NS = {"k": "http://www.opengis.net/kml/2.2", "wpml": "http://www.dji.com/wpmz/1.0.2"}


def scout(*args: str):
    group = ScoutGroup("scout")
    flights_cmds.register(group)
    return CliRunner().invoke(group, [str(a) for a in args], env={"LC_ALL": "en_US.UTF-8"})


def test_altitude_lines_and_speed_follow_the_camera() -> None:
    m3e = drone_profile("mavic3e")
    assert m3e.altitude_m(0.03) == pytest.approx(112.5, abs=0.1)  # DJI quotes GSD = H / 37.5 cm per m for the M3E
    plan = lawnmower(box(0, 0, 600, 190), m3e, FlightSettings(gsd_m=0.03))
    assert plan.line_spacing_m == pytest.approx(0.03 * 5280 * 0.3) and plan.photo_spacing_m == pytest.approx(0.03 * 3956 * 0.2)
    assert len(plan.lines) == math.ceil(190 / plan.line_spacing_m) and plan.direction_deg == pytest.approx(90.0)  # lines east-west, the long side
    assert plan.speed_ms == 12.0  # the photo interval would allow 34 m/s: the mapping speed limit holds
    assert all(line.length == pytest.approx(600 + plan.line_spacing_m, abs=1) for line in plan.lines)
    assert plan.photos == sum(math.floor(line.length / plan.photo_spacing_m) + 1 for line in plan.lines)
    covered = shapely.union_all([line.buffer(plan.line_spacing_m / 2 + 0.01, cap_style="flat") for line in plan.lines])
    assert covered.contains(box(0, 0, 600, 190))  # the footprints of the lines cover the area


def test_missions_fit_one_battery_and_cover_every_plot() -> None:
    profile = drone_profile("mavic3e")
    settings = FlightSettings(gsd_m=0.03)
    plots = [box(0, 0, 40, 40), box(120, 0, 160, 30), box(8000, 8000, 8030, 8030), box(20000, 0, 22000, 1500)]  # the last: 300 ha
    missions = plan_missions(plots, profile, settings)
    assert all(m.plan.flight_s <= profile.usable_min * 60 for m in missions)
    assert sorted({i for m in missions for i in m.plots}) == [0, 1, 2, 3]
    assert [m.plots for m in missions if 0 in m.plots] == [(0, 1)]  # near plots share a mission
    areas = shapely.union_all([m.plan.area for m in missions])
    assert all(areas.contains(p) for p in plots)
    big = [m for m in missions if m.plots == (3,)]
    assert len(big) >= 4 and shapely.union_all([m.plan.area for m in big]).contains(plots[3])
    assert plan_missions([], profile, settings) == []


def test_unknown_drone_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="unknown drone 'phantom9'; known: mavic3e, mavic3m, matrice4e, m350-p1"):
        FlightSettings(drone="phantom9")


@pytest.fixture
def sat_run(tmp_path: Path) -> Path:
    rows = [{"x": 500, "y": 500, "side_m": 60.0}, {"x": 620, "y": 520, "side_m": 40.0, "class": "cannabis"},
            {"x": 2500, "y": 2500, "side_m": 80.0}, {"x": 1500, "y": 2600, "side_m": 50.0, "review_status": "false_alarm"}]
    return make_run(tmp_path / "sat", rows)


def test_scout_flights_writes_wpml_kml_and_flight_areas(sat_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "flights"
    result = scout("flights", sat_run, "--out", out, "--gsd", "0.03", "--drone", "mavic3e")
    assert result.exit_code == 0, result.output
    assert "2 mission(s) over 3 suspected plot(s)" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["F01.kml", "F01.kmz", "F02.kml", "F02.kmz", "flight_areas.geojson", "flights.json"]
    areas = gpd.read_file(out / FLIGHT_AREAS)
    assert areas.crs.to_epsg() == 4326 and list(areas["mission_id"]) == ["F01", "F02"]
    plots = gpd.read_file(sat_run / "plots.gpkg", layer="plots").to_crs(4326)
    suspected = plots[plots["review_status"] != "false_alarm"]
    assert shapely.union_all(areas.geometry).contains(shapely.union_all(suspected.geometry))  # every suspected plot
    assert sorted(",".join(areas["plot_ids"]).split(",")) == sorted(suspected["plot_id"])  # and no false alarm
    assert (areas["flight_min"] > 0).all() and (areas["photos"] > 0).all() and (areas["altitude_m"] == 112.5).all()
    for mission in areas.itertuples():
        assert_valid(out / f"{mission.mission_id}.kml", "ogckml22.xsd")
        with zipfile.ZipFile(out / f"{mission.mission_id}.kmz") as zf:
            assert zf.namelist() == ["wpmz/template.kml", "wpmz/waylines.wpml"]
            template, waylines = (ET.fromstring(zf.read(n)) for n in zf.namelist())
        folder = template.find("k:Document/k:Folder", NS)
        assert folder.findtext("wpml:templateType", namespaces=NS) == "mapping2d"
        assert float(folder.findtext("wpml:waylineCoordinateSysParam/wpml:globalShootHeight", namespaces=NS)) == 112.5
        assert template.findtext(".//wpml:droneInfo/wpml:droneEnumValue", namespaces=NS) == "77"
        assert template.findtext(".//wpml:orthoCameraOverlapH", namespaces=NS) == "80"
        ring = np.array([[float(v) for v in c.split(",")[:2]] for c in template.findtext(".//k:Polygon//k:coordinates", namespaces=NS).split()])
        assert shapely.Polygon(ring).buffer(1e-6).contains(mission.geometry.buffer(-1e-6))
        points = [shapely.Point(*map(float, p.text.split(","))) for p in waylines.iterfind(".//k:Placemark/k:Point/k:coordinates", NS)]
        assert len(points) == 2 * mission.lines and [int(i.text) for i in waylines.iterfind(".//wpml:index", NS)] == list(range(len(points)))
        assert all(mission.geometry.buffer(0.001).contains(p) for p in points)
        triggers = [t.text for t in waylines.iterfind(".//wpml:actionTriggerType", NS)]
        assert triggers == ["reachPoint", "multipleDistance"]
        assert [a.text for a in waylines.iterfind(".//wpml:actionActuatorFunc", NS)] == ["gimbalRotate", "takePhoto"]
        assert float(waylines.findtext(".//wpml:duration", namespaces=NS)) == pytest.approx(mission.flight_min * 60, abs=6)
        for document in (template, waylines):  # DJI publishes no schema: the KML skeleton under the wpml: elements is valid KML 2.2
            _assert_kml_skeleton_valid(document, tmp_path / "skeleton.kml")
    summary = json.loads((out / "flights.json").read_text())
    assert summary["missions"] == 2 and summary["drone"]["name"] == "mavic3e" and [f["mission_id"] for f in summary["flights"]] == ["F01", "F02"]


def _assert_kml_skeleton_valid(document: ET.Element, path: Path) -> None:
    for parent in list(document.iter()):
        for child in [c for c in parent if c.tag.startswith(f"{{{NS['wpml']}}}")]:
            parent.remove(child)
    path.write_bytes(ET.tostring(document, encoding="utf-8", xml_declaration=True))
    assert_valid(path, "ogckml22.xsd")


def test_a_field_reviewers_drew_on_the_satellite_scene_is_flown_too(sat_run: Path, tmp_path: Path) -> None:
    drawn = gpd.GeoDataFrame({"class": ["poppy"], "note": [""], "reviewed_by": ["li"], "reviewed_at": [""]},
                             geometry=[box(X0 + 2900, Y0 + 300, X0 + 2950, Y0 + 340)], crs=CRS)
    write_gpkg_layer(drawn, sat_run / "plots.gpkg", "missed_plots")
    result = scout("flights", sat_run, "--out", tmp_path / "flights", "--gsd", "0.03", "--drone", "mavic3e")
    assert result.exit_code == 0, result.output
    assert "3 mission(s) over 4 suspected plot(s)" in result.output
    areas = gpd.read_file(tmp_path / "flights" / FLIGHT_AREAS).to_crs(CRS)
    assert areas.union_all().contains(drawn.geometry.iloc[0]) and areas["plot_ids"].str.contains("M").any()


def test_a_run_without_suspected_plots_gives_no_missions_and_says_so(tmp_path: Path) -> None:
    run = make_run(tmp_path / "sat", [{"x": 500, "y": 500, "review_status": "false_alarm"}])
    out = tmp_path / "flights"
    result = scout("flights", run, "--out", out, "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert "没有疑似地块" in result.output
    assert len(gpd.read_file(out / FLIGHT_AREAS)) == 0 and not list(out.glob("*.kmz"))


def test_bad_options_exit_2(sat_run: Path, tmp_path: Path) -> None:
    result = scout("flights", sat_run, "--drone", "phantom9", "--out", tmp_path / "f")
    assert result.exit_code == 2 and "known: mavic3e" in result.output and not (tmp_path / "f").exists()
    assert scout("flights", sat_run, "--gsd", "2", "--out", tmp_path / "f").exit_code == 2
    assert scout("flights", tmp_path / "nowhere").exit_code == 2


def test_without_out_the_missions_go_into_the_run_folder(tmp_path: Path) -> None:
    run = make_run(tmp_path / "sat", [{"x": 500, "y": 500, "review_status": "false_alarm"}])
    result = scout("flights", run, "-q")
    assert result.exit_code == 0, result.output
    assert (run / "flights" / FLIGHT_AREAS).is_file()
