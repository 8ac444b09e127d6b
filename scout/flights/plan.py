"""Drone mapping missions over suspected plots (pure geometry, metres in a metric CRS).

A satellite run flags plots at 0.5 m; a drone flight at a few centimetres confirms or clears them.
Each mission is one area a drone maps on one battery with parallel lines (a "lawnmower"):

- altitude above take-off ``H = gsd × focal × image_width / sensor_width`` (the GSD asked for);
- footprint on the ground ``gsd × image_width`` across the line, ``gsd × image_height`` along it;
- line spacing = across-footprint × (1 − side overlap); photo spacing = along-footprint × (1 − front overlap);
- speed = min(the drone's mapping speed, photo spacing / its shortest photo interval);
- flight time = climb and descent at ``climb_ms`` + transit from the area's centre to the first line
  and back at ``transit_ms`` + the lines and the legs between them at mapping speed + ``turn_s`` per turn;
- photos = along-line length / photo spacing + one per line.

Plots within ``cluster_m`` of each other share an area: the convex hull of the plots buffered by
``margin_m`` (a field's edge is seen from both sides), its lines along the hull's longer side.  An
area whose flight exceeds the battery's usable minutes is cut across its longer side: in two
between its plots when it holds several, into as many strips as batteries when one field alone
is too large, until every mission fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, box

from scout.errors import InputError


@dataclass(frozen=True)
class DroneProfile:
    """A mapping drone and its camera, from the maker's published specifications."""

    name: str
    label: str
    sensor_width_mm: float
    focal_mm: float
    image_width_px: int
    image_height_px: int
    min_interval_s: float  # shortest time between two photos
    max_speed_ms: float  # fastest mapping speed Scout plans (below the airframe's top speed: motion blur)
    usable_min: float  # minutes of one battery Scout plans with, a reserve kept (below the rated flight time)
    drone_enum: int  # WPML droneEnumValue
    drone_sub_enum: int
    payload_enum: int  # WPML payloadEnumValue

    def altitude_m(self, gsd_m: float) -> float:
        """Height above the take-off point that gives ``gsd_m`` (metres per pixel) on flat ground."""
        return gsd_m * self.focal_mm * self.image_width_px / self.sensor_width_mm


DRONES: dict[str, DroneProfile] = {
    p.name: p
    for p in (
        # Mavic 3 Enterprise: 4/3" CMOS 17.3 × 13 mm, 5280 × 3956, 12.29 mm (24 mm equivalent), 0.7 s interval, 45 min rated
        DroneProfile("mavic3e", "DJI Mavic 3 Enterprise (M3E)", 17.3, 12.29, 5280, 3956, 0.7, 12.0, 30.0, 77, 0, 66),
        # Mavic 3 Multispectral, its RGB camera: the same 4/3" sensor and lens, 43 min rated
        DroneProfile("mavic3m", "DJI Mavic 3 Multispectral (M3M, RGB camera)", 17.3, 12.29, 5280, 3956, 0.7, 12.0, 28.0, 77, 2, 68),
        # Matrice 4E wide camera: 4/3" 17.3 × 13 mm, 5280 × 3956, 24 mm equivalent, 0.5 s interval, 49 min rated
        DroneProfile("matrice4e", "DJI Matrice 4E (wide camera)", 17.3, 12.29, 5280, 3956, 0.5, 15.0, 33.0, 99, 0, 88),
        # Matrice 350 RTK with Zenmuse P1 (35 mm lens): full frame 35.9 × 24 mm, 8192 × 5460, 0.7 s, ~42 min with P1
        DroneProfile("m350-p1", "DJI Matrice 350 RTK + Zenmuse P1 35 mm", 35.9, 35.0, 8192, 5460, 0.7, 15.0, 30.0, 89, 0, 50),
    )
}


def drone_profile(name: str) -> DroneProfile:
    """The profile called ``name``; an unknown name lists the known ones."""
    try:
        return DRONES[name.lower()]
    except KeyError:
        raise InputError(f"unknown drone {name!r}; known: {', '.join(DRONES)}") from None


@dataclass(frozen=True)
class FlightSettings:
    """How the missions are flown (metres, seconds, fractions)."""

    gsd_m: float = 0.03
    drone: str = "mavic3e"
    front_overlap: float = 0.8
    side_overlap: float = 0.7
    margin_m: float = 30.0
    cluster_m: float = 300.0
    transit_ms: float = 10.0
    climb_ms: float = 5.0
    turn_s: float = 6.0

    def __post_init__(self) -> None:
        if not 0.005 <= self.gsd_m <= 0.5:
            raise InputError(f"--gsd {self.gsd_m} m: expected 0.005 to 0.5 m per pixel")
        for name in ("front_overlap", "side_overlap"):
            if not 0.0 <= getattr(self, name) < 0.95:
                raise InputError(f"{name.replace('_', ' ')} {getattr(self, name)}: expected 0 to 0.95")
        drone_profile(self.drone)


@dataclass(frozen=True)
class Lawnmower:
    """The planned lines of one area and what flying them costs."""

    area: shapely.Geometry  # the polygon mapped (metric CRS)
    lines: list[LineString]  # in flying order, alternate directions
    direction_deg: float  # line bearing, degrees clockwise from north
    altitude_m: float
    speed_ms: float
    photo_spacing_m: float
    line_spacing_m: float
    flight_s: float
    photos: int

    @property
    def path(self) -> LineString:
        """The whole mapping path: the lines joined end to start."""
        return LineString([c for line in self.lines for c in line.coords])


def lawnmower(area: shapely.Geometry, profile: DroneProfile, settings: FlightSettings) -> Lawnmower:
    """Parallel lines over ``area`` (metric CRS) along its longer side, and the flight they make."""
    altitude = profile.altitude_m(settings.gsd_m)
    line_spacing = settings.gsd_m * profile.image_width_px * (1 - settings.side_overlap)
    photo_spacing = settings.gsd_m * profile.image_height_px * (1 - settings.front_overlap)
    speed = min(profile.max_speed_ms, photo_spacing / profile.min_interval_s)
    rect = area.minimum_rotated_rectangle
    corners = np.asarray(rect.exterior.coords)[:4] if rect.geom_type == "Polygon" else np.asarray(area.envelope.exterior.coords)[:4]
    edges = np.diff(np.vstack([corners, corners[:1]]), axis=0)
    long_edge = edges[int(np.argmax(np.hypot(*edges.T)))]
    angle = math.degrees(math.atan2(long_edge[1], long_edge[0]))  # of the lines, from east, counter-clockwise
    centre = area.centroid
    upright = affinity.rotate(area, -angle, origin=centre)  # lines run along x here
    x0, y0, x1, y1 = upright.bounds
    count = max(1, math.ceil((y1 - y0) / line_spacing))
    start = (y0 + y1) / 2 - (count - 1) * line_spacing / 2
    lines: list[LineString] = []
    for k in range(count):
        y = start + k * line_spacing
        cut = upright.buffer(line_spacing / 2).intersection(LineString([(x0 - line_spacing, y), (x1 + line_spacing, y)]))
        if cut.is_empty:
            continue
        xs = shapely.get_coordinates(cut)[:, 0]
        a, b = (xs.min(), xs.max()) if len(lines) % 2 == 0 else (xs.max(), xs.min())
        lines.append(affinity.rotate(LineString([(a, y), (b, y)]), angle, origin=centre))
    along = sum(line.length for line in lines)
    legs = sum(LineString([p.coords[-1], q.coords[0]]).length for p, q in zip(lines, lines[1:]))
    transit = centre.distance(shapely.Point(lines[0].coords[0])) + centre.distance(shapely.Point(lines[-1].coords[-1]))
    flight_s = 2 * altitude / settings.climb_ms + transit / settings.transit_ms + (along + legs) / speed + settings.turn_s * max(0, 2 * (len(lines) - 1))
    photos = int(sum(math.floor(line.length / photo_spacing) + 1 for line in lines))
    return Lawnmower(area, lines, (90.0 - angle) % 180.0, altitude, speed, photo_spacing, line_spacing, flight_s, photos)


@dataclass(frozen=True)
class Mission:
    """One battery's mapping mission: the plots it covers (indices into the plots given) and its lines."""

    plots: tuple[int, ...]
    plan: Lawnmower


def plan_missions(geometries: list[shapely.Geometry], profile: DroneProfile, settings: FlightSettings) -> list[Mission]:
    """Missions (each within one battery) covering every geometry (metric CRS), see the module docstring."""
    if not geometries:
        return []
    import geopandas as gpd

    from scout.survey.tasks import cluster_plots  # walking-distance clusters serve flying distance as well

    labels = cluster_plots(gpd.GeoSeries(geometries), settings.cluster_m)
    budget_s = profile.usable_min * 60
    missions: list[Mission] = []
    todo: list[tuple[tuple[int, ...], shapely.Geometry | None]] = [(tuple(int(i) for i in np.flatnonzero(labels == k)), None) for k in np.unique(labels)]
    while todo:
        members, area = todo.pop(0)
        if area is None:
            area = shapely.union_all([geometries[i] for i in members]).buffer(settings.margin_m).convex_hull
        plan = lawnmower(area, profile, settings)
        if plan.flight_s <= budget_s or area.area < plan.line_spacing_m**2:  # fits (or cannot be cut smaller)
            missions.append(Mission(members, plan))
        elif len(members) > 1:  # cut between plots, across the longer side
            axis = _long_axis(area)
            order = sorted(members, key=lambda i: float(np.dot(geometries[i].centroid.coords[0], axis)))
            todo[:0] = [(tuple(order[: len(order) // 2]), None), (tuple(order[len(order) // 2 :]), None)]
        else:  # one field too large for one battery: its area in as many strips as batteries
            todo[:0] = [(members, strip) for strip in _strips(area, math.ceil(plan.flight_s / budget_s))]
    return missions


def _long_axis(area: shapely.Geometry) -> np.ndarray:
    rect = np.asarray(area.minimum_rotated_rectangle.exterior.coords)[:4]
    edges = np.diff(np.vstack([rect, rect[:1]]), axis=0)
    edge = edges[int(np.argmax(np.hypot(*edges.T)))]
    return edge / max(float(np.hypot(*edge)), 1e-9)


def _strips(area: shapely.Geometry, n: int) -> list[shapely.Geometry]:
    """``area`` cut into ``n`` strips of equal width across its longer side."""
    axis = _long_axis(area)
    angle = math.degrees(math.atan2(axis[1], axis[0]))
    centre = area.centroid
    upright = affinity.rotate(area, -angle, origin=centre)
    x0, y0, x1, y1 = upright.bounds
    cuts = np.linspace(x0, x1, max(n, 2) + 1)
    parts = [upright.intersection(box(a, y0 - 1, b, y1 + 1)) for a, b in zip(cuts, cuts[1:])]
    return [affinity.rotate(p, angle, origin=centre) for p in parts if not p.is_empty]
