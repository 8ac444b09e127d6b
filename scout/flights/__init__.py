"""Satellite to drone: the suspected plots of a satellite run as DJI mapping missions, one battery each.

``write_flights`` (this module) reads a run folder, plans missions (:mod:`scout.flights.plan`) and
writes ``OUT/``: per mission ``F01.kmz`` (DJI WPML, :mod:`scout.flights.wpml`, for DJI Pilot 2) and
``F01.kml`` (the area polygon, WGS-84, for any map app), ``flight_areas.geojson`` (one polygon per
mission, together covering every suspected plot, with estimated minutes and photos) and
``flights.json``.  ``scout flights`` is a thin command over it; ``scout track SAT_RUN DRONE_RUN``
(:mod:`scout.review.verify`) then says which plots the flights confirmed or cleared.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from scout.errors import OutputError
from scout.flights.plan import DRONES, DroneProfile, FlightSettings, Mission, drone_profile, lawnmower, plan_missions
from scout.flights.wpml import kmz, template_kml, waylines_wpml
from scout.folders import Inventory, check_replaceable, out_path, replaced_folder
from scout.io import typed_frame, write_json
from scout.lang import Lang, resolve_lang, text
from scout.runfolder import RunFolder

log = logging.getLogger(__name__)

__all__ = ["DRONES", "DroneProfile", "FlightSettings", "FlightsSummary", "drone_profile", "lawnmower", "plan_missions", "write_flights"]

FLIGHTS_JSON = "flights.json"
FLIGHT_AREAS = "flight_areas.geojson"
FLIGHTS_FOLDER = Inventory("folder of drone missions", FLIGHTS_JSON, "scout-flights/1", files=(FLIGHTS_JSON, FLIGHT_AREAS, "F*.kmz", "F*.kml"))
"""What ``scout flights`` writes: ``--overwrite`` replaces only such a folder (:mod:`scout.folders`)."""
AREA_FIELDS: dict[str, str] = {
    "mission_id": "str",
    "plot_ids": "str",  # comma-separated
    "plots": "int64",
    "area_ha": "float64",
    "drone": "str",
    "gsd_m": "float64",
    "altitude_m": "float64",  # above the take-off point
    "speed_ms": "float64",
    "direction_deg": "float64",  # line bearing, clockwise from north
    "lines": "int64",
    "flight_min": "float64",
    "photos": "int64",
}
SUSPECTED = ("unreviewed", "confirmed", "eradicated")
"""Review statuses a drone flight should look at again (false alarms are left out)."""


@dataclass(frozen=True)
class FlightsSummary:
    out_dir: Path
    missions: int
    plots: int
    flight_min: float
    photos: int
    lang: Lang


def write_flights(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None, settings: FlightSettings, overwrite: bool = False,
                  lang: str | None = None) -> FlightsSummary:
    """Plan drone missions over the suspected plots of ``run_dir`` and write ``out_dir`` (None:
    the run folder's ``flights/``; see module docstring).

    A run without suspected plots gives an empty ``flight_areas.geojson`` and no missions.
    """
    from scout.survey.inputs import WGS84, read_run

    out_dir = RunFolder(Path(run_dir)).flights_dir if out_dir is None else Path(out_dir)
    check_replaceable(out_path(out_dir), FLIGHTS_FOLDER)
    if out_dir.exists() and not overwrite:
        raise OutputError(f"{out_dir}: exists; use --overwrite to replace it")
    run = read_run(run_dir)
    language: Lang = resolve_lang(lang, run.meta)
    profile = drone_profile(settings.drone)
    plots = run.plots[run.plots["review_status"].isin(SUSPECTED) & (run.plots["plot_id"].str.strip() != "")]
    plots = plots[plots.geometry.notna() & ~plots.geometry.is_empty].reset_index(drop=True)
    missions = plan_missions(list(plots.geometry), profile, settings)
    width = max(2, len(str(len(missions))))
    rows, files = [], {}
    for number, mission in enumerate(missions, start=1):
        mission_id = f"F{number:0{width}d}"
        ids = [str(plots["plot_id"].iloc[i]) for i in mission.plots]
        row = _area_row(mission_id, ids, mission, profile, settings)
        rows.append(row)
        files[mission_id] = _mission_files(mission_id, mission, row, profile, settings, run.crs, language)
    areas = gpd.GeoDataFrame(rows, geometry=[m.plan.area for m in missions], crs=run.crs) if rows else None
    areas = typed_frame(areas, AREA_FIELDS, run.crs)
    summary = FlightsSummary(out_dir, len(missions), len(plots), round(float(areas["flight_min"].sum()), 1), int(areas["photos"].sum()), language)
    with replaced_folder(out_dir, FLIGHTS_FOLDER) as tmp:
        areas.to_crs(WGS84).to_file(tmp / FLIGHT_AREAS, driver="GeoJSON", engine="pyogrio", RFC7946="YES")
        for mission_id, (kmz_bytes, kml_bytes) in files.items():
            (tmp / f"{mission_id}.kmz").write_bytes(kmz_bytes)
            (tmp / f"{mission_id}.kml").write_bytes(kml_bytes)
        write_json(tmp / FLIGHTS_JSON, FLIGHTS_FOLDER.stamp({**asdict(summary), "run": str(run_dir), "settings": asdict(settings), "drone": asdict(profile),
                                                             "flights": rows}))
    if not missions:
        log.warning("%s: no suspected plots; no drone missions", run_dir)
    return summary


def _area_row(mission_id: str, ids: list[str], mission: Mission, profile: DroneProfile, settings: FlightSettings) -> dict:
    plan = mission.plan
    return {
        "mission_id": mission_id, "plot_ids": ",".join(ids), "plots": len(ids), "area_ha": round(plan.area.area / 10_000, 2),
        "drone": profile.name, "gsd_m": settings.gsd_m, "altitude_m": round(plan.altitude_m, 1), "speed_ms": round(plan.speed_ms, 1),
        "direction_deg": round(plan.direction_deg, 1), "lines": len(plan.lines), "flight_min": round(plan.flight_s / 60, 1), "photos": plan.photos,
    }


def _mission_files(mission_id: str, mission: Mission, row: dict, profile: DroneProfile, settings: FlightSettings, crs, lang: Lang) -> tuple[bytes, bytes]:
    """The mission's WPML KMZ and its KML polygon (both WGS-84)."""
    plan = mission.plan
    to_wgs84 = gpd.GeoSeries([plan.area.exterior if plan.area.geom_type == "Polygon" else plan.area.convex_hull.exterior, plan.path, plan.area.centroid], crs=crs).to_crs(4326)
    ring, path, centre = (shapely.get_coordinates(g) for g in to_wgs84)
    name = text("mission_name", lang, mission=mission_id)
    template = template_kml(name, plan, ring, profile, settings, takeoff=(float(centre[0, 0]), float(centre[0, 1])))
    waylines = waylines_wpml(name, plan, path, profile)
    description = text("mission_desc", lang, drone=profile.label, plots=row["plots"], ids=row["plot_ids"].replace(",", ", "), area=row["area_ha"],
                       gsd=settings.gsd_m * 100, altitude=row["altitude_m"], speed=row["speed_ms"], minutes=row["flight_min"], photos=row["photos"])
    return kmz(template, waylines), _area_kml(name, description, ring)


def _area_kml(name: str, description: str, ring: np.ndarray) -> bytes:
    from scout.survey.export import kml_root
    from scout.survey.export import kml_sub as sub

    kml = kml_root()
    doc = sub(kml, "Document")
    sub(doc, "name", name)
    style = sub(doc, "Style")
    style.set("id", "area")
    sub(sub(style, "LineStyle"), "color", "ffffe500")
    poly_style = sub(style, "PolyStyle")
    sub(poly_style, "color", "40ffe500")
    mark = sub(doc, "Placemark")
    sub(mark, "name", name)
    sub(mark, "description", description)
    sub(mark, "styleUrl", "#area")
    coords = sub(sub(sub(sub(mark, "Polygon"), "outerBoundaryIs"), "LinearRing"), "coordinates")
    coords.text = " ".join(f"{lon:.7f},{lat:.7f}" for lon, lat in ring)
    return ET.tostring(kml, encoding="utf-8", xml_declaration=True)
