"""Write a survey folder: task list, routes, per-team GPX, KML and printable sheets.

``DIR/`` holds ``tasks.geojson`` (points, ``TASK_FIELDS``), ``routes.geojson`` (one line per team
and day, ``ROUTE_FIELDS``), ``depots.geojson`` (team, name, lon, lat), ``unreachable.csv`` (task_id, plot_ids, reason), ``summary.json``, and
per team ``team_NN.gpx``, ``team_NN.kml`` (WGS-84, as GPX and KML are) and ``team_NN.html``, all
in the language of :mod:`scout.lang`.  The folder is written under a
temporary name and renamed into place, so it is complete or absent, never half-written.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import gpxpy.gpx
import pandas as pd
from shapely.geometry import Point

from scout.errors import OutputError
from scout.folders import Inventory, check_replaceable, out_path, replaced_folder
from scout.frames.georef import Frame
from scout.io import write_json
from scout.lang import Lang, classes_label, resolve_lang, text
from scout.runfolder import RunFolder
from scout.schema import DEPOTS_GEOJSON, ROUTES_GEOJSON, TASKS_GEOJSON
from scout.survey.inputs import WGS84, read_roads, read_run
from scout.survey.routing import PLANNED, RoutePlan, RouteSettings, check_depots, depot_points, plan_routes
from scout.survey.sheets import ChipSource, team_sheet
from scout.survey.tasks import TaskSettings, select_plots, tasks_from_plots

log = logging.getLogger(__name__)

UNREACHABLE_CSV = "unreachable.csv"
SUMMARY_JSON = "summary.json"
TASKS_FOLDER = Inventory(
    "folder of survey tasks", SUMMARY_JSON, "scout-tasks/1",
    files=(TASKS_GEOJSON, ROUTES_GEOJSON, DEPOTS_GEOJSON, UNREACHABLE_CSV, SUMMARY_JSON, "team_*.gpx", "team_*.kml", "team_*.html"),
    legacy=(("tasks", "planned", "unreachable_tasks"),),  # written before the marker
)
"""What ``scout tasks`` writes: ``--overwrite`` replaces only such a folder (:mod:`scout.folders`)."""
KML_NS = "http://www.opengis.net/kml/2.2"
KML_COLOURS = {"poppy": "ffc800ff", "cannabis": "ff00aaff", "mixed": "ffff5a8c", "depot": "ff000000"}  # aabbggrr, as in QGIS
GPX_SYMBOLS = {"poppy": "Flag, Red", "cannabis": "Flag, Green", "mixed": "Flag, Blue", "depot": "Residence"}  # Garmin names


@dataclass(frozen=True)
class SurveySettings:
    tasks: TaskSettings = field(default_factory=TaskSettings)
    routes: RouteSettings = field(default_factory=RouteSettings)
    roads: Path | None = None
    lang: str | None = None  # zh | en; None: the run's, else the locale's (scout.lang.resolve_lang)


@dataclass(frozen=True)
class SurveySummary:
    out_dir: Path
    tasks: int
    planned: int
    unreachable: int
    teams_used: int
    distance_m: float
    notes: tuple[str, ...]
    lang: Lang = "en"


def write_survey(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None, settings: SurveySettings, overwrite: bool = False) -> SurveySummary:
    """Plan tasks and routes for a run folder and write the survey folder ``out_dir``
    (None: the run folder's ``tasks/``).

    Raises OutputError if ``out_dir`` exists and ``overwrite`` is false, InputError for a depot
    more than ``max_depot_km`` from every AOI, RunFolderError for a broken run folder.
    """
    run_dir = Path(run_dir)
    out_dir = RunFolder(run_dir).tasks_dir if out_dir is None else Path(out_dir)
    check_replaceable(out_path(out_dir), TASKS_FOLDER)
    if out_dir.exists() and not overwrite:
        raise OutputError(f"{out_dir}: exists; use --overwrite to replace it")
    run = read_run(run_dir)
    depots = depot_points(settings.routes, run.crs)
    areas = run.aoi.geometry if not run.aoi.empty else run.plots.geometry
    check_depots(depots, areas, settings.routes.max_depot_km, str(run.folder.plots_gpkg))
    plots = select_plots(run.plots, settings.tasks)
    tasks = tasks_from_plots(plots, settings.tasks)
    roads = read_roads(settings.roads, run.crs) if settings.roads else None
    log.info("%d plot(s) selected -> %d task(s)", len(plots), len(tasks))
    plan = plan_routes(tasks, settings.routes, roads)
    summary = SurveySummary(
        out_dir=out_dir,
        tasks=len(plan.tasks),
        planned=int((plan.tasks["status"] == PLANNED).sum()),
        unreachable=len(plan.unreachable),
        teams_used=int(plan.routes["team"].nunique()),
        distance_m=round(float(plan.routes["distance_m"].sum()), 1),
        notes=plan.notes,
        lang=resolve_lang(settings.lang, run.meta),
    )
    with replaced_folder(out_dir, TASKS_FOLDER) as tmp:
        _write_all(tmp, plan, plots, run.image_paths(), run_dir.resolve().name, summary.lang, run.frames())
        write_json(
            tmp / SUMMARY_JSON,
            TASKS_FOLDER.stamp({**asdict(summary), "run": str(run_dir), "settings": asdict(settings), "unreachable_tasks": plan.unreachable.to_dict("records")}),
        )
    return summary


def _write_all(folder: Path, plan: RoutePlan, plots: gpd.GeoDataFrame, images: list[Path], title: str, lang: Lang, frames: Sequence[Frame] = ()) -> None:
    write_geojson(plan.tasks, folder / TASKS_GEOJSON)
    write_geojson(plan.routes, folder / ROUTES_GEOJSON)
    depots = plan.depots  # lon, lat as given: a depot at a pole keeps its longitude
    write_geojson(depots[["team", "geometry"]].assign(name=text("depot", lang), lon=depots["lon"].round(7), lat=depots["lat"].round(7)), folder / DEPOTS_GEOJSON)
    plan.unreachable.to_csv(folder / UNREACHABLE_CSV, index=False)
    width = max(2, len(str(len(plan.depots))))
    with ChipSource(images, plan.tasks.crs, frames) as chips:
        for team in plan.depots["team"]:
            stem = f"team_{team:0{width}d}"
            (folder / f"{stem}.gpx").write_text(team_gpx(plan, team, lang), encoding="utf-8")
            (folder / f"{stem}.kml").write_bytes(team_kml(plan, team, lang))
            (folder / f"{stem}.html").write_text(team_sheet(team, plan, plots, chips, title, lang), encoding="utf-8")


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    """RFC 7946 GeoJSON (WGS84 lon/lat) of ``frame``."""
    frame.to_crs(WGS84).to_file(path, driver="GeoJSON", engine="pyogrio", RFC7946="YES")


def _team_parts(plan: RoutePlan, team: int) -> tuple[pd.DataFrame, gpd.GeoDataFrame, Point]:
    """A team's planned tasks and routes in WGS84 (by day and sequence) and its depot point."""
    tasks = plan.tasks[(plan.tasks["team"] == team) & (plan.tasks["status"] == PLANNED)].sort_values(["day", "sequence"])
    routes = plan.routes[plan.routes["team"] == team].to_crs(WGS84).sort_values("day")
    depot = plan.depots[plan.depots["team"] == team].to_crs(WGS84).geometry.iloc[0]
    return tasks, routes, depot


def describe(task, lang: Lang = "en") -> str:
    """One-line description of a task for GPS units and phones: every class among its plots."""
    return text(
        "task_desc", lang, classes=classes_label(task["classes"] or task["class"], lang), area=task.area_m2, conf=task.confidence,
        priority=task.priority, plots=task.plot_ids.replace(",", ", "), day=task.day, seq=task.sequence, eta=task.eta,
    )


def _symbol(task) -> tuple[str, str]:
    """GPX symbol and KML style of a task: by class, its own for tasks that mix classes."""
    key = "mixed" if "," in (task["classes"] or "") else task["class"]
    return GPX_SYMBOLS.get(key, GPX_SYMBOLS["mixed"]), key if key in KML_COLOURS else "mixed"


def team_gpx(plan: RoutePlan, team: int, lang: Lang = "en") -> str:
    """GPX 1.1 (WGS-84, as Ovital, 2bulu and QField read it): the depot and a waypoint per task
    (name = task id, symbol by class), a route of the stops and a track per day."""
    tasks, routes, depot = _team_parts(plan, team)
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "scout"
    gpx.name = text("team_name", lang, team=team)
    gpx.description = text("wgs84_note", lang)
    depot_name = text("depot", lang)
    gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(depot.y, depot.x, name=depot_name, description=text("depot_desc", lang), symbol=GPX_SYMBOLS["depot"], type="depot"))
    for _, t in tasks.iterrows():
        symbol, _ = _symbol(t)
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(t.lat, t.lon, name=t.task_id, description=describe(t, lang), symbol=symbol, type=t["classes"] or t["class"])
        )
    for route in routes.itertuples(index=False):
        name = text("team_day", lang, team=team, day=route.day)
        stops = tasks[tasks["day"] == route.day]
        rte = gpxpy.gpx.GPXRoute(name=name, description=text("route_desc", lang, stops=route.stops, km=route.distance_m / 1000, hours=route.duration_min / 60))
        rte.points = [
            gpxpy.gpx.GPXRoutePoint(depot.y, depot.x, name=depot_name),
            *(gpxpy.gpx.GPXRoutePoint(t.lat, t.lon, name=t.task_id) for _, t in stops.iterrows()),
            gpxpy.gpx.GPXRoutePoint(depot.y, depot.x, name=depot_name),
        ]
        gpx.routes.append(rte)
        track = gpxpy.gpx.GPXTrack(name=name)
        track.segments.append(gpxpy.gpx.GPXTrackSegment([gpxpy.gpx.GPXTrackPoint(y, x) for x, y in route.geometry.coords]))
        gpx.tracks.append(track)
    return gpx.to_xml(version="1.1")


def kml_root() -> ET.Element:
    """An empty ``<kml>`` element in the KML 2.2 namespace (written as the default namespace)."""
    ET.register_namespace("", KML_NS)
    return ET.Element(f"{{{KML_NS}}}kml")


def kml_sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    """A KML 2.2 child element ``tag`` of ``parent`` holding ``text``."""
    element = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
    element.text = text
    return element


def team_kml(plan: RoutePlan, team: int, lang: Lang = "en") -> bytes:
    """KML 2.2 for phones (WGS-84): the depot, and a folder per day with the stops (name = task id,
    coloured by class) and the route line."""
    tasks, routes, depot = _team_parts(plan, team)
    sub = kml_sub
    kml = kml_root()
    doc = sub(kml, "Document")
    sub(doc, "name", text("team_name", lang, team=team))
    sub(doc, "description", text("wgs84_note", lang))
    for style_id, colour in KML_COLOURS.items():
        style = sub(doc, "Style")
        style.set("id", style_id)
        sub(sub(style, "IconStyle"), "color", colour)
    line_style = sub(doc, "Style")
    line_style.set("id", "route")
    line = sub(line_style, "LineStyle")
    sub(line, "color", "ffff7f1f")
    sub(line, "width", "3")
    depot_mark = sub(doc, "Placemark")
    sub(depot_mark, "name", text("depot", lang))
    sub(depot_mark, "description", text("depot_desc", lang))
    sub(depot_mark, "styleUrl", "#depot")
    sub(sub(depot_mark, "Point"), "coordinates", f"{depot.x:.7f},{depot.y:.7f}")
    for route in routes.itertuples(index=False):
        folder = sub(doc, "Folder")
        sub(folder, "name", text("day_folder", lang, day=route.day, stops=route.stops, km=route.distance_m / 1000))
        for _, t in tasks[tasks["day"] == route.day].iterrows():
            mark = sub(folder, "Placemark")
            sub(mark, "name", t.task_id)
            sub(mark, "description", describe(t, lang))
            sub(mark, "styleUrl", f"#{_symbol(t)[1]}")
            sub(sub(mark, "Point"), "coordinates", f"{t.lon:.7f},{t.lat:.7f}")
        mark = sub(folder, "Placemark")
        sub(mark, "name", text("route_line", lang, day=route.day))
        sub(mark, "styleUrl", "#route")
        geometry = sub(mark, "LineString")
        sub(geometry, "tessellate", "1")
        sub(geometry, "coordinates", " ".join(f"{x:.7f},{y:.7f}" for x, y in route.geometry.coords))
    return ET.tostring(kml, encoding="utf-8", xml_declaration=True)
