"""Printable task sheets: one self-contained HTML page per team that works offline.

Per day: an overview map of the route (inline SVG), a table of stops (coordinates, leg and
cumulative distance, ETA, boxes for the decision) and an image chip of each task's plots cut from
the run's source imagery with their outlines drawn (base64 PNG under an SVG overlay).  Nothing is
fetched from the network: no scripts, fonts, tiles or links.
"""

from __future__ import annotations

import base64
import contextlib
import html
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import from_bounds
from rasterio.warp import reproject, transform_bounds
from shapely.geometry import box

from scout.errors import first_line
from scout.imagery import GDAL_ERRORS
from scout.survey.routing import PLANNED, RoutePlan

log = logging.getLogger(__name__)

CHIP_PX = 200
MAP_W, MAP_H = 640, 420
DAY_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


class ChipSource(contextlib.AbstractContextManager):
    """Cuts north-up image chips (metric work CRS) around plots from the run's source images."""

    def __init__(self, images: Sequence[Path], crs) -> None:
        self.crs = crs
        self._stack = contextlib.ExitStack()
        self._images: list[tuple[rasterio.DatasetReader, shapely.Geometry]] = []
        for path in images:
            try:
                src = self._stack.enter_context(rasterio.open(path))
            except GDAL_ERRORS as exc:
                log.warning("%s: cannot open for image chips (%s)", path, exc)
                continue
            if src.crs is None:
                log.warning("%s: no CRS; no image chips from it", path)
                continue
            self._images.append((src, box(*transform_bounds(src.crs, crs, *src.bounds))))

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def chip(self, plots: gpd.GeoSeries, size_px: int = CHIP_PX) -> str | None:
        """An SVG of the imagery around ``plots`` (metric CRS) with their outlines, or None without imagery."""
        minx, miny, maxx, maxy = plots.total_bounds
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        half = max(maxx - minx, maxy - miny) * 0.65 + 20.0  # metres: the plots plus some context
        bounds = (cx - half, cy - half, cx + half, cy + half)
        src = next((s for s, footprint in self._images if footprint.contains(shapely.Point(cx, cy))), None)
        if src is None:
            return None
        bands = _display_bands(src)
        pixels = np.zeros((len(bands), size_px, size_px), dtype=src.dtypes[0])
        transform = from_bounds(*bounds, size_px, size_px)
        try:
            reproject(rasterio.band(src, bands), pixels, dst_transform=transform, dst_crs=self.crs, resampling=Resampling.bilinear, dst_nodata=0)
        except GDAL_ERRORS as exc:  # a source image damaged since the run: the sheet goes without this chip
            log.warning("%s: read failed for an image chip (%s)", src.name, first_line(exc))
            return None
        png = base64.b64encode(_png(_to_uint8(pixels))).decode("ascii")
        scale = size_px / (2 * half)
        rings = []
        for geom in plots:
            for ring in [*_rings(geom)]:
                xy = (np.asarray(ring.coords)[:, :2] - [bounds[0], bounds[3]]) * [scale, -scale]
                rings.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + " Z")
        return (
            f'<svg class="chip-img" viewBox="0 0 {size_px} {size_px}" width="{size_px}" height="{size_px}">'
            f'<image href="data:image/png;base64,{png}" width="{size_px}" height="{size_px}"/>'
            f'<path d="{" ".join(rings)}" fill="none" stroke="#ffff00" stroke-width="2"/>'
            f'<text x="4" y="{size_px - 6}" class="scale">{2 * half:,.0f} m across</text></svg>'
        )


def _rings(geom: shapely.Geometry) -> list[shapely.LinearRing]:
    polygons = getattr(geom, "geoms", [geom])
    return [ring for p in polygons if p.geom_type == "Polygon" for ring in (p.exterior, *p.interiors)]


def _display_bands(src: rasterio.DatasetReader) -> list[int]:
    """Red, green, blue band indexes by colour interpretation or name, else the first three (or one grey)."""
    wanted = ("red", "green", "blue")
    by_interp = [src.colorinterp.index(getattr(ColorInterp, c)) + 1 for c in wanted if getattr(ColorInterp, c) in src.colorinterp]
    if len(by_interp) == 3:
        return by_interp
    names = [str(d or "").lower() for d in src.descriptions]
    if all(c in names for c in wanted):
        return [names.index(c) + 1 for c in wanted]
    return [1, 2, 3] if src.count >= 3 else [1, 1, 1]


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    """8-bit display values: uint8 as is, anything else stretched 2–98 % per band over valid pixels."""
    if pixels.dtype == np.uint8:
        return pixels
    out = np.zeros(pixels.shape, dtype=np.uint8)
    for i, band in enumerate(pixels.astype(float)):
        valid = band[band != 0]
        if valid.size:
            lo, hi = np.percentile(valid, [2, 98])
            out[i] = np.clip((band - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
    return out


def _png(pixels: np.ndarray) -> bytes:
    count, height, width = pixels.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as memfile:
            with memfile.open(driver="PNG", width=width, height=height, count=count, dtype="uint8") as dst:
                dst.write(pixels)
            return memfile.read()


def team_sheet(team: int, plan: RoutePlan, plots: gpd.GeoDataFrame, chips: ChipSource, title: str, lang: str = "en") -> str:
    """The HTML task sheet of one team (1-based): per day a route map, a stop table and image chips."""
    tasks = plan.tasks[(plan.tasks["team"] == team) & (plan.tasks["status"] == PLANNED)].sort_values(["day", "sequence"])
    depot = plan.depots.loc[plan.depots["team"] == team].geometry.iloc[0]
    depot_ll = plan.depots.loc[plan.depots["team"] == team].to_crs("EPSG:4326").geometry.iloc[0]
    esc = html.escape
    body = [f"<h1>{esc(title)} — team {team}</h1>", f"<p>Depot: {depot_ll.y:.6f}, {depot_ll.x:.6f} (lat, lon, WGS84)</p>"]
    if tasks.empty:
        body.append("<p>No tasks for this team.</p>")
    plot_geoms = plots.set_index(plots["plot_id"].astype(str)).geometry
    for day, day_tasks in tasks.groupby("day"):
        route = plan.routes[(plan.routes["team"] == team) & (plan.routes["day"] == day)].iloc[0]
        body.append(
            f'<section class="day"><h2>Day {day}: {route["stops"]} stops, {route["distance_m"] / 1000:.1f} km, '
            f'{route["duration_min"] / 60:.1f} h</h2>'
        )
        body.append(_route_map(route.geometry, day_tasks, depot, DAY_COLOURS[(day - 1) % len(DAY_COLOURS)]))
        body.append(_stop_table(day_tasks, route["distance_m"]))
        body.append('<div class="chips">')
        for _, task in day_tasks.iterrows():
            svg = chips.chip(plot_geoms.loc[task.plot_ids.split(",")])
            caption = f"{task.sequence}. {task.task_id} — {task['class']}, {task.area_m2:,.0f} m², {task.confidence:.2f}"
            missing = "" if svg else " missing"
            body.append(
                f'<figure class="chip{missing}" data-task="{esc(task.task_id)}">{svg or "<div>no imagery here</div>"}'
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )
        body.append("</div></section>")
    return _PAGE.format(title=esc(f"{title} — team {team}"), body="\n".join(body))


def _stop_table(tasks: gpd.GeoDataFrame, total_m: float) -> str:
    head = "<tr><th>#</th><th>Task</th><th>Plots</th><th>Class</th><th>Conf.</th><th>Area m²</th><th>Lat</th><th>Lon</th><th>Leg m</th><th>Cum. km</th><th>ETA</th><th>Decision</th><th>Note</th></tr>"
    rows, cumulative = [], 0.0
    for _, t in tasks.iterrows():
        cumulative += t.leg_m
        rows.append(
            f"<tr><td>{t.sequence}</td><td>{html.escape(t.task_id)}</td><td>{html.escape(t.plot_ids)}</td><td>{html.escape(t['class'])}</td>"
            f"<td>{t.confidence:.2f}</td><td>{t.area_m2:,.0f}</td><td>{t.lat:.6f}</td><td>{t.lon:.6f}</td><td>{t.leg_m:,.0f}</td>"
            f"<td>{cumulative / 1000:.2f}</td><td>{html.escape(t.eta)}</td>"
            "<td class='boxes'>☐ confirmed ☐ false alarm ☐ eradicated</td><td class='note'></td></tr>"
        )
    rows.append(f"<tr class='total'><td colspan='9'>back to depot, total</td><td>{total_m / 1000:.2f}</td><td colspan='3'></td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _route_map(line: shapely.LineString, tasks: gpd.GeoDataFrame, depot: shapely.Point, colour: str) -> str:
    """Inline SVG of one route (metric CRS, north up) with numbered stops, depot and a scale bar."""
    minx, miny, maxx, maxy = line.bounds
    scale = min((MAP_W - 40) / max(maxx - minx, 1.0), (MAP_H - 40) / max(maxy - miny, 1.0))  # px per metre

    def px(x: float, y: float) -> tuple[float, float]:
        return 20 + (x - minx) * scale, MAP_H - 20 - (y - miny) * scale

    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(x, y) for x, y in np.asarray(line.coords)[:, :2]))
    parts = [f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>']
    dx, dy = px(depot.x, depot.y)
    parts.append(f'<rect x="{dx - 6:.1f}" y="{dy - 6:.1f}" width="12" height="12" fill="#000"/><text x="{dx + 8:.1f}" y="{dy - 8:.1f}">depot</text>')
    for _, t in tasks.iterrows():
        x, y = px(t.geometry.x, t.geometry.y)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="#fff" stroke="{colour}" stroke-width="2"/>'
                     f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{t.sequence}</text>')
    bar_m = _nice_length((MAP_W - 40) / scale / 4)
    parts.append(f'<line x1="20" y1="{MAP_H - 8}" x2="{20 + bar_m * scale:.1f}" y2="{MAP_H - 8}" stroke="#000" stroke-width="3"/>'
                 f'<text x="{24 + bar_m * scale:.1f}" y="{MAP_H - 4}">{bar_m:,.0f} m</text>'
                 f'<text x="{MAP_W - 24}" y="24" font-weight="bold">N ↑</text>')
    return f'<svg class="map" viewBox="0 0 {MAP_W} {MAP_H}" width="{MAP_W}" height="{MAP_H}">{"".join(parts)}</svg>'


def _nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 × 10^k metres not above ``metres``."""
    exponent = 10 ** np.floor(np.log10(max(metres, 1.0)))
    return float(max(m * exponent for m in (1, 2, 5) if m * exponent <= max(metres, 1.0)))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; font-size: 11pt; margin: 1.5em; }}
table {{ border-collapse: collapse; margin: 0.8em 0; }}
th, td {{ border: 1px solid #999; padding: 2px 5px; text-align: right; }}
td.note {{ min-width: 10em; }} td.boxes {{ white-space: nowrap; text-align: left; }}
svg.map {{ border: 1px solid #999; max-width: 100%; height: auto; }}
svg text {{ font-size: 11px; }} svg .scale {{ fill: #fff; }}
.chips {{ display: flex; flex-wrap: wrap; gap: 8px; }}
figure.chip {{ margin: 0; width: 200px; break-inside: avoid; }} figure.chip.missing div {{ height: 200px; background: #eee; }}
figcaption {{ font-size: 9pt; }}
@media print {{ section.day {{ break-before: page; }} section.day:first-of-type {{ break-before: auto; }} }}
</style></head>
<body>
{body}
</body></html>
"""
