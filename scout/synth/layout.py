"""Where things are in a synthetic scene: fields, farmsteads, tracks, trees and plots.

Pure geometry: every function takes a ``numpy.random.Generator`` and returns shapely
geometries in local scene metres (x to the right, y down, origin at the top-left
corner), so a layout can be tested without files and rendered at any GSD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

# Field cover types and how often they occur (look-alikes included on purpose).
FIELD_COVERS: dict[str, float] = {
    "wheat": 0.18,
    "maize": 0.2,
    "potato": 0.1,
    "bare": 0.12,
    "grass": 0.12,
    "rapeseed": 0.08,  # yellow bloom: a look-alike for poppy in flower
    "cabbage": 0.06,  # glaucous blue-green heads: a look-alike for poppy foliage
    "fallow": 0.08,
    "pasture": 0.06,
}
POPPY_STAGES = ("vegetative", "bloom", "capsule")


@dataclass
class Field:
    geom: Polygon
    cover: str
    row_angle: float  # radians
    row_spacing_m: float


@dataclass
class Building:
    roof: Polygon
    roof_kind: str  # red | metal | thatch | concrete | blue
    height_m: float


@dataclass
class Tree:
    x: float
    y: float
    radius_m: float
    height_m: float


@dataclass
class Plot:
    geom: Polygon
    cls: str  # poppy | cannabis
    stage: str  # poppy: vegetative | bloom | capsule; cannabis: clumps | rows | dense
    setting: str  # in_field | whole_field | in_maize | courtyard | garden
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Layout:
    width_m: float
    height_m: float
    boundary: Polygon  # valid footprint (flight boundary for drone scenes)
    fields: list[Field]
    tracks: list[Polygon]
    courtyards: list[Polygon]
    gardens: list[Polygon]  # vegetable gardens: look-alikes
    flower_beds: list[Polygon]  # colourful ornamentals: look-alikes for poppy in bloom
    buildings: list[Building]
    trees: list[Tree]
    plots: list[Plot]
    sun_azimuth: float  # radians, clockwise from north (scene up)
    sun_elevation: float  # radians above the horizon
    poppy_stage: str  # the scene's dominant poppy stage


def blob(rng: np.random.Generator, cx: float, cy: float, area_m2: float, rect: bool = False) -> Polygon:
    """An irregular polygon of about ``area_m2`` square metres centred on (cx, cy).

    ``rect`` gives a jittered, rotated rectangle (farmers often plant those);
    otherwise a lobed, elongated blob.
    """
    aspect = rng.uniform(1.0, 2.5)
    if rect:
        w = math.sqrt(area_m2 * aspect)
        h = area_m2 / w
        pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
        pts += rng.normal(0, 0.06 * min(w, h), pts.shape)
    else:
        n = int(rng.integers(9, 16))
        theta = np.sort(rng.uniform(0, 2 * math.pi, n))
        r = 1.0 + 0.22 * rng.standard_normal(n)
        r = np.clip(r, 0.55, 1.6)
        pts = np.column_stack([r * np.cos(theta) * aspect, r * np.sin(theta)])
    poly = Polygon(pts).buffer(0)
    if poly.geom_type != "Polygon" or poly.area <= 0:
        poly = Point(0, 0).buffer(1.0)
    poly = affinity.scale(poly, math.sqrt(area_m2 / poly.area), math.sqrt(area_m2 / poly.area), origin=(0, 0))
    poly = affinity.rotate(poly, rng.uniform(0, 180), origin=(0, 0))
    return affinity.translate(poly, cx, cy)


def _largest(geom: BaseGeometry) -> Polygon | None:
    if geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return max(polys, key=lambda g: g.area) if polys else None


def _fields_voronoi(rng: np.random.Generator, scene: Polygon, mean_area: float) -> list[Polygon]:
    n = max(2, int(scene.area / mean_area))
    minx, miny, maxx, maxy = scene.bounds
    pts = MultiPoint(rng.uniform([minx, miny], [maxx, maxy], (n, 2)))
    cells = shapely.voronoi_polygons(pts, extend_to=scene)
    return [c.intersection(scene) for c in cells.geoms]


def _fields_strips(rng: np.random.Generator, scene: Polygon, mean_area: float) -> list[Polygon]:
    """Long narrow fields in a rotated lattice (plains, valley floors)."""
    angle = rng.uniform(0, 180)
    cx, cy = scene.centroid.x, scene.centroid.y
    rot = affinity.rotate(scene, -angle, origin=(cx, cy))
    minx, miny, maxx, maxy = rot.bounds
    width_mean = math.sqrt(mean_area / 3)
    cells = []
    y = miny
    while y < maxy:
        h = rng.uniform(0.5, 1.5) * width_mean
        x = minx
        while x < maxx:
            w = rng.uniform(1.5, 5.0) * width_mean
            cells.append(affinity.rotate(box(x, y, x + w, y + h), angle, origin=(cx, cy)).intersection(scene))
            x += w
        y += h
    return cells


def _flight_boundary(rng: np.random.Generator, width: float, height: float) -> Polygon:
    """An irregular footprint covering most of the image, as a drone flight leaves."""
    n = 24
    theta = np.linspace(0, 2 * math.pi, n, endpoint=False)
    r = np.clip(1.0 + 0.05 * rng.standard_normal(n), 0.85, 1.1)
    # a squircle reaching close to the corners
    c, s = np.cos(theta), np.sin(theta)
    sq = (np.abs(c) ** 6 + np.abs(s) ** 6) ** (-1 / 6)
    xs = width / 2 + 0.5 * width * 0.97 * r * sq * c
    ys = height / 2 + 0.5 * height * 0.97 * r * sq * s
    return Polygon(np.column_stack([xs, ys])).buffer(0).intersection(box(0, 0, width, height))


def _track(rng: np.random.Generator, width: float, height: float) -> Polygon:
    """A meandering dirt track crossing the scene."""
    side = rng.integers(2)
    n = 8
    t = np.linspace(-0.05, 1.05, n)
    wobble = np.cumsum(rng.normal(0, 0.06, n))
    start = rng.uniform(0.1, 0.9)
    if side == 0:
        pts = np.column_stack([t * width, (start + wobble) * height])
    else:
        pts = np.column_stack([(start + wobble) * width, t * height])
    line = LineString(pts).simplify(0)
    line = shapely.segmentize(line, max(width, height) / 20)
    return line.buffer(rng.uniform(1.0, 2.0), cap_style="flat")


def _farmstead(rng: np.random.Generator, cx: float, cy: float) -> tuple[Polygon, list[Building], Polygon, Polygon | None]:
    """A courtyard with buildings on its edges, a vegetable garden and maybe a flower bed."""
    angle = rng.uniform(0, 90)
    w, h = rng.uniform(10, 22), rng.uniform(8, 18)
    yard = box(-w / 2, -h / 2, w / 2, h / 2)
    buildings = []
    for edge in rng.permutation(4)[: int(rng.integers(1, 4))]:
        depth = rng.uniform(4, 7)
        length = rng.uniform(0.4, 0.9) * (w if edge in (0, 2) else h)
        if edge == 0:
            b = box(-length / 2, -h / 2, length / 2, -h / 2 + depth)
        elif edge == 2:
            b = box(-length / 2, h / 2 - depth, length / 2, h / 2)
        elif edge == 1:
            b = box(w / 2 - depth, -length / 2, w / 2, length / 2)
        else:
            b = box(-w / 2, -length / 2, -w / 2 + depth, length / 2)
        kind = str(rng.choice(["red", "metal", "thatch", "concrete", "blue"], p=[0.35, 0.3, 0.15, 0.1, 0.1]))
        buildings.append(Building(b, kind, rng.uniform(2.5, 5.0)))
    gw, gh = rng.uniform(4, 12), rng.uniform(4, 10)
    garden = box(w / 2 + 1, -gh / 2, w / 2 + 1 + gw, gh / 2)
    bed = None
    if rng.random() < 0.6:
        bw, bh = rng.uniform(1.0, 3.0), rng.uniform(0.8, 2.0)
        bx, by = rng.uniform(-w / 2 + bw, w / 2 - bw), rng.uniform(-h / 2 + bh, h / 2 - bh)
        bed = box(bx - bw / 2, by - bh / 2, bx + bw / 2, by + bh / 2)

    def place(g: Polygon) -> Polygon:
        return affinity.translate(affinity.rotate(g, angle, origin=(0, 0)), cx, cy)

    return place(yard), [Building(place(b.roof), b.roof_kind, b.height_m) for b in buildings], place(garden), (place(bed) if bed is not None else None)


def plot_area(rng: np.random.Generator, min_area: float, max_area: float) -> float:
    """Plot areas in square metres: a third small (< 10), a third 10-100, a third larger."""
    u = rng.random()
    lo, hi = (min_area, 10.0) if u < 0.34 else ((10.0, 100.0) if u < 0.67 else (100.0, max_area))
    lo, hi = max(lo, min_area), max(min(hi, max_area), max(lo, min_area) * 1.01)
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def make_layout(rng: np.random.Generator, width_m: float, height_m: float, kind: str = "drone", boundary: bool = False) -> Layout:
    """Plan a scene of ``width_m`` x ``height_m`` metres."""
    scene = box(0, 0, width_m, height_m)
    area = scene.area
    foot = _flight_boundary(rng, width_m, height_m) if boundary else scene
    # field size: a few hundred to a few thousand m^2
    mean_field = rng.uniform(300, 1500) if kind == "drone" else rng.uniform(800, 4000)
    cells = _fields_voronoi(rng, scene, mean_field) if rng.random() < 0.5 else _fields_strips(rng, scene, mean_field)
    names, weights = zip(*FIELD_COVERS.items())
    probs = np.array(weights) / sum(weights)
    fields = []
    for cell in cells:
        inner = _largest(cell.buffer(-rng.uniform(0.3, 1.0)))
        if inner is None or inner.area < 4:
            continue
        cover = str(rng.choice(names, p=probs))
        spacing = {"wheat": 0.18, "maize": 0.75, "potato": 0.7, "cabbage": 0.6, "bare": 0.35}.get(cover, 0.0)
        fields.append(Field(inner, cover, rng.uniform(0, math.pi), spacing * rng.uniform(0.85, 1.2)))

    tracks = [_track(rng, width_m, height_m) for _ in range(int(rng.integers(0, 3)))]
    n_farms = int(rng.poisson(area / 6000)) + (1 if rng.random() < 0.6 else 0)
    courtyards: list[BaseGeometry] = []
    buildings: list[BaseGeometry] = []
    gardens: list[BaseGeometry] = []
    beds: list[BaseGeometry] = []
    for _ in range(n_farms):
        cx, cy = rng.uniform(0.1, 0.9) * width_m, rng.uniform(0.1, 0.9) * height_m
        yard, bld, garden, bed = _farmstead(rng, cx, cy)
        if any(yard.buffer(6).intersects(y) for y in courtyards):
            continue
        courtyards.append(yard)
        buildings.extend(bld)
        gardens.append(garden.difference(yard))
        if bed is not None:
            beds.append(bed)

    blocked = shapely.union_all([*(b.roof for b in buildings), *tracks]) if (buildings or tracks) else Polygon()
    inside = foot.buffer(-1.5)
    poppy_stage = str(rng.choice(POPPY_STAGES, p=[0.25, 0.5, 0.25]))
    plots = _place_plots(rng, kind, fields, courtyards, buildings, gardens, inside, blocked, area, poppy_stage)

    taken = shapely.union_all([p.geom for p in plots] + [b.roof for b in buildings]) if (plots or buildings) else Polygon()
    trees = _place_trees(rng, fields, courtyards, taken.buffer(0.5), area)
    return Layout(
        width_m,
        height_m,
        foot,
        fields,
        tracks,
        courtyards,
        gardens,
        beds,
        buildings,
        trees,
        plots,
        sun_azimuth=rng.uniform(0, 2 * math.pi),
        sun_elevation=math.radians(rng.uniform(30, 75)),
        poppy_stage=poppy_stage,
    )


def _place_plots(
    rng: np.random.Generator,
    kind: str,
    fields: list[Field],
    courtyards: list[Polygon],
    buildings: list[Building],
    gardens: list[Polygon],
    inside: BaseGeometry,
    blocked: BaseGeometry,
    area: float,
    poppy_stage: str,
) -> list[Plot]:
    """Poppy and cannabis plots in fields, hidden in maize, in courtyards and gardens."""
    min_area = 2.0 if kind == "drone" else 6.0
    n_target = int(np.clip(rng.poisson(area / 1800) + 2, 2, 40))
    plots: list[Plot] = []
    occupied = blocked
    for _ in range(n_target * 8):
        if len(plots) >= n_target:
            break
        cls = "poppy" if rng.random() < 0.6 else "cannabis"
        choice = rng.random()
        target = plot_area(rng, min_area, max(min(3000.0, area / 6), min_area * 2))
        setting, geom = "in_field", None
        if cls == "cannabis" and choice < 0.35:
            maize = [f for f in fields if f.cover == "maize"]
            if not maize and fields:
                f = fields[int(rng.integers(len(fields)))]
                f.cover, f.row_spacing_m = "maize", 0.75 * rng.uniform(0.85, 1.2)
                maize = [f]
            if maize:
                f = maize[int(rng.integers(len(maize)))]
                setting, geom = "in_maize", _blob_in(rng, f.geom, target)
        elif choice < 0.2 and courtyards:
            yard = courtyards[int(rng.integers(len(courtyards)))]
            setting, geom = "courtyard", _blob_in(rng, yard, min(target, rng.uniform(min_area, 40)), rect=True)
        elif choice < 0.3 and gardens:
            g = gardens[int(rng.integers(len(gardens)))]
            setting, geom = "garden", _blob_in(rng, g, min(target, rng.uniform(min_area, 30)), rect=True)
        elif cls == "poppy" and choice < 0.45 and fields:
            f = fields[int(rng.integers(len(fields)))]
            if 100 <= f.geom.area <= 4000:
                setting, geom = "whole_field", f.geom.buffer(-0.2)
        if geom is None and fields:
            f = fields[int(rng.integers(len(fields)))]
            geom = _blob_in(rng, f.geom, target, rect=rng.random() < 0.4)
        geom = _largest(geom.intersection(inside).difference(occupied)) if geom is not None else None
        if geom is None or geom.area < min_area:
            continue
        stage = _stage(rng, cls, poppy_stage)
        plots.append(Plot(geom, cls, stage, setting, {"seed": int(rng.integers(1 << 31))}))
        occupied = occupied.union(geom.buffer(1.5))
    return plots


def _stage(rng: np.random.Generator, cls: str, scene_stage: str) -> str:
    if cls == "poppy":
        return scene_stage if rng.random() < 0.7 else str(rng.choice(POPPY_STAGES))
    return str(rng.choice(["clumps", "rows", "dense"], p=[0.45, 0.3, 0.25]))


def _blob_in(rng: np.random.Generator, host: Polygon, area_m2: float, rect: bool = False) -> Polygon | None:
    """A blob of about ``area_m2`` inside ``host``, or None when it does not fit."""
    if host.area < area_m2 * 1.1:
        area_m2 = host.area * 0.6
    minx, miny, maxx, maxy = host.bounds
    for _ in range(20):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if host.contains(p):
            g = _largest(blob(rng, p.x, p.y, area_m2, rect).intersection(host))
            if g is not None and g.area > 0.5 * area_m2:
                return g
    return None


def _place_trees(rng: np.random.Generator, fields: list[Field], courtyards: list[Polygon], avoid: BaseGeometry, area: float) -> list[Tree]:
    """Tree crowns along field edges and around farmsteads, away from plots and roofs."""
    n = int(rng.poisson(area / 350))
    edges = [f.geom.exterior for f in fields] + [y.exterior for y in courtyards]
    trees: list[Tree] = []
    if not edges:
        return trees
    lengths = np.array([e.length for e in edges])
    for _ in range(n):
        e = edges[int(rng.choice(len(edges), p=lengths / lengths.sum()))]
        p = e.interpolate(rng.uniform(0, e.length))
        r = rng.uniform(1.2, 4.0)
        if avoid.intersects(Point(p.x, p.y).buffer(r)):
            continue
        trees.append(Tree(p.x, p.y, r, r * rng.uniform(1.5, 3.0)))
    return trees
