"""Task sheets: one self-contained HTML page per team that works printed on A4 and on a phone.

Per day: the route drawn over the run's own imagery (stop markers pushed apart so none hides
another, each tied to its true place by a leader line), then the stops: one row per plot, grouped
by task, with the plot's class, confidence, area and WGS-84 position, boxes for the decision and
room for a note; each task heads its rows with a QR code and links that open walking navigation
(:mod:`scout.survey.navigation`).  Last, an image chip per task with each plot outlined in its
class's colour and labelled with its ID.  On a phone (under 640 px) the table becomes one card
per plot; printed, it fits A4 portrait.  Nothing is fetched from the network: no scripts, fonts
or tiles (the links open only when tapped or scanned).
"""

from __future__ import annotations

import base64
import contextlib
import html
import logging
import warnings
from collections.abc import Callable, Sequence
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

from scout.errors import ImageryError, first_line
from scout.frames.chips import best_frame, frame_mosaic, photo_chip
from scout.frames.georef import Frame
from scout.imagery import GDAL_ERRORS
from scout.lang import Lang, label, text
from scout.survey.navigation import nav_links, qr_svg
from scout.survey.routing import PLANNED, RoutePlan

log = logging.getLogger(__name__)

CHIP_PX = 220
MAP_W, MAP_H = 640, 440
MARKER_R = 11.0  # stop marker radius, SVG px
LABEL_R = 20.0  # half the width of a plot ID label on a chip, SVG px
DAY_COLOURS = ("#00e5ff", "#ffe600", "#76ff03", "#ff9100", "#e040fb", "#ffffff", "#ff1744")  # bright on imagery
CLASS_COLOURS = {"poppy": "#ff00c8", "cannabis": "#ffaa00"}  # as the QGIS style; other classes white
SCALE_BAR = ((1, 2, 5), 10)


class ChipSource(contextlib.AbstractContextManager):
    """Renders north-up images (metric work CRS) of any area from the run's source images; a run
    from raw drone photos (``frames``) gets its chips cut from the original photos, upright."""

    def __init__(self, images: Sequence[Path], crs, frames: Sequence[Frame] = ()) -> None:
        self.crs = crs
        self.frames = [f for f in frames if f.used]
        photos = {Path(f.meta.path).resolve() for f in frames}
        self._stack = contextlib.ExitStack()
        self._images: list[tuple[rasterio.DatasetReader, shapely.Geometry]] = []
        for path in images:
            if Path(path).resolve() in photos:  # placed by its camera model, not a geotransform
                continue
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

    def render(self, bounds: tuple[float, float, float, float], width_px: int, height_px: int) -> str | None:
        """A JPEG data URI of the imagery over ``bounds`` (work CRS), every image that covers part
        of it mosaicked; None where no image covers it or its reads fail."""
        area = box(*bounds)
        sources = [src for src, footprint in self._images if footprint.intersects(area)]
        frames = [f for f in self.frames if f.footprint.intersects(area)]
        if not sources and not frames:
            return None
        transform = from_bounds(*bounds, width_px, height_px)
        mosaic = frame_mosaic(frames, bounds, width_px, height_px)[0]
        for src in sources:
            pixels = np.zeros((3, height_px, width_px), dtype=src.dtypes[0])
            try:
                reproject(rasterio.band(src, _display_bands(src)), pixels, dst_transform=transform, dst_crs=self.crs,
                          resampling=Resampling.bilinear, dst_nodata=0)
            except GDAL_ERRORS as exc:  # a source image damaged since the run: the sheet goes without it
                log.warning("%s: read failed for an image chip (%s)", src.name, first_line(exc))
                continue
            empty = ~mosaic.any(axis=0)
            mosaic[:, empty] = _to_uint8(pixels)[:, empty]
        if not mosaic.any():
            return None
        return "data:image/jpeg;base64," + base64.b64encode(_jpeg(mosaic)).decode("ascii")

    def chip(self, plots: gpd.GeoDataFrame, lang: Lang = "en", size_px: int = CHIP_PX) -> str | None:
        """An SVG of the imagery around ``plots`` (metric CRS; ``plot_id``, ``class``), each outlined in
        its class's colour and labelled with its ID; None without imagery.  From raw photos: the
        original photo that shows them most nearly straight down, upright, with a north arrow (when
        it holds them all; else north up from every photo)."""
        if self.frames and (frame := best_frame(self.frames, shapely.union_all(plots.geometry.values))) is not None:
            try:
                photo = photo_chip(frame, list(plots.geometry.values), size_px)
            except ImageryError as exc:  # a photo damaged since the run: the sheet goes without its chip
                log.warning("%s", exc)
                photo = None
            inside = photo is not None and all(
                ((0 <= c) & (c <= size_px)).all() for c in photo.to_chip(*shapely.get_coordinates(plots.geometry.values).T)
            )
            if photo is not None and inside:
                def photo_px(x: float, y: float) -> tuple[float, float]:
                    col, row = photo.to_chip(np.array([x]), np.array([y]))
                    return float(col[0]), float(row[0])

                jpeg = "data:image/jpeg;base64," + base64.b64encode(_jpeg(np.moveaxis(photo.pixels, -1, 0))).decode("ascii")
                return _chip_svg(jpeg, size_px, plots, photo_px, text("across", lang, m=photo.across_m) + f" · {photo.image}", photo.north_deg)
        minx, miny, maxx, maxy = plots.total_bounds
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        half = max(maxx - minx, maxy - miny) * 0.6 + 15.0  # metres: the plots plus some context
        bounds = (cx - half, cy - half, cx + half, cy + half)
        image = self.render(bounds, size_px, size_px)
        if image is None:
            return None
        scale = size_px / (2 * half)

        def px(x: float, y: float) -> tuple[float, float]:
            return (x - bounds[0]) * scale, (bounds[3] - y) * scale

        return _chip_svg(image, size_px, plots, px, text("across", lang, m=2 * half))


def _chip_svg(image: str, size_px: int, plots: gpd.GeoDataFrame, px: Callable[[float, float], tuple[float, float]], caption: str,
              north_deg: float | None = None) -> str:
    """The chip's SVG: ``image``, each plot outlined through ``px`` (metric CRS -> chip pixels) in its
    class's colour and labelled with its ID (labels of neighbouring plots pushed apart), a caption,
    and a north arrow when north is not up (a chip cut from a photo)."""
    outlines, labels = [], []
    anchors = np.array([px(*g.representative_point().coords[0]) for g in plots.geometry])
    placed = spread_markers(anchors, LABEL_R, width=size_px, height=size_px)  # labels of neighbouring plots apart
    for (plot_id, cls, geom), (ax, ay), (lx, ly) in zip(zip(plots["plot_id"], plots["class"], plots.geometry), anchors, placed):
        colour = CLASS_COLOURS.get(cls, "#ffffff")
        rings = " ".join("M" + " L".join(f"{a:.1f},{b:.1f}" for a, b in (px(x, y) for x, y in np.asarray(r.coords)[:, :2])) + " Z" for r in _rings(geom))
        outlines.append(f'<path d="{rings}" class="halo"/><path d="{rings}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if np.hypot(lx - ax, ly - ay) > 2:
            labels.append(f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{lx:.1f}" y2="{ly:.1f}" class="leader"/>')
        labels.append(f'<text x="{lx:.1f}" y="{ly + 4:.1f}" class="plot-label" fill="{colour}">{html.escape(str(plot_id))}</text>')
    north = "" if north_deg is None else (
        f'<g transform="translate({size_px - 16},16) rotate({north_deg:.0f})"><path d="M0,-11 L5,5 L0,2 L-5,5 Z" class="halo"/>'
        '<path d="M0,-11 L5,5 L0,2 L-5,5 Z" fill="#ffffff"/><text x="0" y="-13" class="scale" text-anchor="middle">N</text></g>'
    )
    return (
        f'<svg class="chip-img" viewBox="0 0 {size_px} {size_px}" role="img">'
        f'<image href="{image}" width="{size_px}" height="{size_px}"/>{"".join(outlines)}{"".join(labels)}{north}'
        f'<text x="4" y="{size_px - 6}" class="scale">{html.escape(caption)}</text></svg>'
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


def _jpeg(pixels: np.ndarray, quality: int = 80) -> bytes:
    """JPEG bytes of (3, h, w) uint8: a tenth of a PNG's size for imagery."""
    count, height, width = pixels.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as memfile:
            with memfile.open(driver="JPEG", width=width, height=height, count=count, dtype="uint8", QUALITY=quality) as dst:
                dst.write(pixels)
            return memfile.read()


# --- the route map ---------------------------------------------------------------------------


def spread_markers(points: np.ndarray, radius: float, fixed: np.ndarray | None = None, width: float = MAP_W, height: float = MAP_H,
                   iterations: int = 400) -> np.ndarray:
    """Marker centres (n, 2) near ``points`` (SVG px) with no two closer than ``2 × radius`` + 2 px,
    and none over a ``fixed`` point (the depot); kept inside the map.  Pairs too close are pushed
    apart along the line between them (coincident ones by a fixed angle per index), repeatedly."""
    pos = np.asarray(points, float).copy()
    n = len(pos)
    fixed = np.empty((0, 2)) if fixed is None else np.asarray(fixed, float)
    gap = 2 * radius + 2
    for _ in range(iterations):
        moved = False
        for i in range(n):
            for j in range(i + 1, n):
                d = pos[j] - pos[i]
                dist = float(np.hypot(*d))
                if dist < gap:
                    angle = 2.39996 * (i + j)  # golden angle: coincident markers fan out in all directions
                    unit = d / dist if dist > 1e-6 else np.array([np.cos(angle), np.sin(angle)])
                    push = (gap - dist) / 2 + 0.01
                    pos[i] -= unit * push
                    pos[j] += unit * push
                    moved = True
            for f in fixed:
                d = pos[i] - f
                dist = float(np.hypot(*d))
                if dist < gap:
                    unit = d / dist if dist > 1e-6 else np.array([0.0, -1.0])
                    pos[i] += unit * (gap - dist + 0.01)
                    moved = True
        pos[:, 0] = np.clip(pos[:, 0], radius + 1, width - radius - 1)
        pos[:, 1] = np.clip(pos[:, 1], radius + 1, height - radius - 1)
        if not moved:
            break
    return pos


def _route_map(line: shapely.LineString, tasks: gpd.GeoDataFrame, depot: shapely.Point, colour: str, chips: ChipSource, lang: Lang, day: int) -> str:
    """Inline SVG of one day's route (metric CRS, north up) over the run's imagery, with the depot,
    numbered stop markers that never overlap, a scale bar and a north arrow."""
    minx, miny, maxx, maxy = shapely.union_all([line, depot, *tasks.geometry]).bounds
    pad = max(maxx - minx, maxy - miny, 50.0) * 0.08 + 20.0
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    scale = min(MAP_W / (maxx - minx), MAP_H / (maxy - miny))  # px per metre, the same both ways
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    bounds = (cx - MAP_W / 2 / scale, cy - MAP_H / 2 / scale, cx + MAP_W / 2 / scale, cy + MAP_H / 2 / scale)

    def px(x: float, y: float) -> tuple[float, float]:
        return (x - bounds[0]) * scale, (bounds[3] - y) * scale

    image = chips.render(bounds, MAP_W, MAP_H)
    parts = [f'<image href="{image}" width="{MAP_W}" height="{MAP_H}"/>' if image else f'<rect width="{MAP_W}" height="{MAP_H}" fill="#f4f4f0"/>']
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(x, y) for x, y in np.asarray(line.coords)[:, :2]))
    parts.append(f'<polyline points="{points}" class="route-halo"/><polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
    dx, dy = px(depot.x, depot.y)
    true = np.array([px(p.x, p.y) for p in tasks.geometry]) if len(tasks) else np.empty((0, 2))
    markers = spread_markers(true, MARKER_R, fixed=np.array([[dx, dy]]))
    for (tx, ty), (mx, my), seq in zip(true, markers, tasks["sequence"]):
        if np.hypot(mx - tx, my - ty) > 2:
            parts.append(f'<line x1="{tx:.1f}" y1="{ty:.1f}" x2="{mx:.1f}" y2="{my:.1f}" class="leader"/><circle cx="{tx:.1f}" cy="{ty:.1f}" r="2.5" class="leader-dot"/>')
        parts.append(f'<circle cx="{mx:.1f}" cy="{my:.1f}" r="{MARKER_R:g}" class="stop" stroke="{colour}"/>'
                     f'<text x="{mx:.1f}" y="{my + 4:.1f}" class="stop-no">{seq}</text>')
    parts.append(f'<rect x="{dx - 8:.1f}" y="{dy - 8:.1f}" width="16" height="16" class="depot"/>'
                 f'<text x="{dx + 11:.1f}" y="{dy - 10:.1f}" class="map-label">{html.escape(text("depot", lang))}</text>')
    bar_m = _nice_length(MAP_W / scale / 4)
    parts.append(f'<rect x="6" y="{MAP_H - 26}" width="{bar_m * scale + 60:.1f}" height="22" class="bar-bg"/>'
                 f'<line x1="12" y1="{MAP_H - 10}" x2="{12 + bar_m * scale:.1f}" y2="{MAP_H - 10}" stroke="#000" stroke-width="4"/>'
                 f'<text x="{18 + bar_m * scale:.1f}" y="{MAP_H - 9}" class="bar-text">{bar_m:,.0f} m</text>'
                 f'<text x="{MAP_W - 26}" y="26" class="north">N↑</text>')
    title = html.escape(text("route_map", lang, day=day))
    return f'<svg class="map" viewBox="0 0 {MAP_W} {MAP_H}" role="img" aria-label="{title}">{"".join(parts)}</svg>'


def _nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 × 10^k metres not above ``metres``."""
    exponent = 10 ** np.floor(np.log10(max(metres, 1.0)))
    return float(max(m * exponent for m in (1, 2, 5) if m * exponent <= max(metres, 1.0)))


# --- the page --------------------------------------------------------------------------------


def _nav(lon: float, lat: float, name: str, lang: Lang, qr: bool = True) -> str:
    links = nav_links(lon, lat, name)
    anchors = (f'<a href="{html.escape(links.amap)}">{text("amap", lang)}</a> · <a href="{html.escape(links.baidu)}">{text("baidu", lang)}</a> · '
               f'<a href="{html.escape(links.geo)}">{text("geo", lang)}</a>')
    code = f'<a class="qr-link" href="{html.escape(links.amap)}" title="{html.escape(text("scan_amap", lang))}">{qr_svg(links.amap)}</a>' if qr else ""
    return f'<div class="nav">{code}<div class="links">{anchors}</div></div>'


def _stop_rows(task, plots: gpd.GeoDataFrame, lang: Lang) -> str:
    """A task's head row (stop number, navigation) and one row per plot."""
    esc = html.escape
    head = text("task_row", lang, task=task.task_id, plots=len(plots), leg=f"{task.leg_m:,.0f} m", eta=task.eta)
    rows = [
        f'<tr class="task-head" id="{esc(task.task_id)}"><td colspan="7"><div class="head"><span class="seq">{task.sequence}</span>'
        f'<span class="what">{esc(head)}</span>{_nav(task.lon, task.lat, task.task_id, lang)}</div></td></tr>'
    ]
    boxes = "".join(f"<span>☐ {esc(label(s, lang))}</span>" for s in ("confirmed", "false_alarm", "eradicated"))
    names = {k: text(k, lang) for k in ("col_plot", "col_class", "col_conf", "col_area", "col_where", "col_decision", "col_note")}
    for _, plot in plots.iterrows():
        cls = plot["class"]
        ll = shapely.Point(plot.centroid_lon, plot.centroid_lat)
        rows.append(
            f'<tr class="plot" data-plot="{esc(str(plot.plot_id))}">'
            f'<td data-label="{names["col_plot"]}" class="pid">{esc(str(plot.plot_id))}</td>'
            f'<td data-label="{names["col_class"]}"><span class="swatch" style="background:{CLASS_COLOURS.get(cls, "#999")}"></span>{esc(label(cls, lang))}</td>'
            f'<td data-label="{names["col_conf"]}">{plot.confidence:.0%}</td>'
            f'<td data-label="{names["col_area"]}">{plot.area_m2:,.0f}</td>'
            f'<td data-label="{names["col_where"]}" class="where">{ll.y:.6f},<br>{ll.x:.6f}</td>'
            f'<td data-label="{names["col_decision"]}" class="boxes">{boxes}</td>'
            f'<td data-label="{names["col_note"]}" class="note"></td></tr>'
        )
    return f'<tbody class="task">{"".join(rows)}</tbody>'


def team_sheet(team: int, plan: RoutePlan, plots: gpd.GeoDataFrame, chips: ChipSource, title: str, lang: Lang = "en") -> str:
    """The HTML task sheet of one team (1-based): per day a route map over the imagery, the stops
    (one row per plot) with navigation links and QR codes, and image chips."""
    tasks = plan.tasks[(plan.tasks["team"] == team) & (plan.tasks["status"] == PLANNED)].sort_values(["day", "sequence"])
    depot = plan.depots.loc[plan.depots["team"] == team].geometry.iloc[0]
    depot_ll = plan.depots.loc[plan.depots["team"] == team].to_crs("EPSG:4326").geometry.iloc[0]
    esc = html.escape
    heading = text("sheet_title", lang, title=title, team=team)
    body = [
        f"<h1>{esc(heading)}</h1>",
        f'<div class="depot-line"><b>{esc(text("depot_line", lang))}</b>: {depot_ll.y:.6f}, {depot_ll.x:.6f} '
        f'{_nav(depot_ll.x, depot_ll.y, text("depot", lang), lang, qr=False)}</div>',
        f'<p class="nav-note">{esc(text("nav_note", lang))}</p>',
    ]
    if tasks.empty:
        body.append(f"<p>{esc(text('no_tasks', lang))}</p>")
    by_id = plots.set_index(plots["plot_id"].astype(str), drop=False)
    cols = "".join(f"<th>{esc(text(k, lang))}</th>" for k in ("col_plot", "col_class", "col_conf", "col_area", "col_where", "col_decision", "col_note"))
    for day, day_tasks in tasks.groupby("day"):
        route = plan.routes[(plan.routes["team"] == team) & (plan.routes["day"] == day)].iloc[0]
        colour = DAY_COLOURS[(day - 1) % len(DAY_COLOURS)]
        body.append(f'<section class="day"><h2>{esc(text("day_head", lang, day=day, stops=route["stops"], km=route["distance_m"] / 1000, hours=route["duration_min"] / 60))}</h2>')
        body.append(_route_map(route.geometry, day_tasks, depot, colour, chips, lang, day))
        groups = [(task, by_id.loc[task.plot_ids.split(",")]) for _, task in day_tasks.iterrows()]
        body.append(f'<table class="stops"><thead><tr>{cols}</tr></thead>{"".join(_stop_rows(t, p, lang) for t, p in groups)}</table>')
        body.append(f'<p class="total">{esc(text("back_to_depot", lang, km=route["distance_m"] / 1000))}</p>')
        body.append('<div class="chips">')
        for task, task_plots in groups:
            svg = chips.chip(task_plots, lang)
            caption = text("task_chip", lang, seq=task.sequence, task=task.task_id) + ": " + ", ".join(
                text("chip_caption", lang, plot=p.plot_id, cls=label(p["class"], lang), area=p.area_m2, conf=p.confidence)
                for _, p in task_plots.iterrows()
            )
            missing = "" if svg else " missing"
            body.append(
                f'<figure class="chip{missing}" data-task="{esc(task.task_id)}">{svg or "<div>" + esc(text("no_imagery", lang)) + "</div>"}'
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )
        body.append("</div></section>")
    return _PAGE.format(lang="zh-CN" if lang == "zh" else "en", title=esc(heading), body="\n".join(body))


_PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
@page {{ size: A4 portrait; margin: 10mm; }}
* {{ box-sizing: border-box; }}
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", sans-serif;
  font-size: 14px; line-height: 1.35; margin: 0 auto; padding: 12px; max-width: 1000px; color: #111; overflow-wrap: anywhere; }}
h1 {{ font-size: 20px; margin: 0 0 6px; }} h2 {{ font-size: 17px; margin: 14px 0 6px; }}
.nav-note {{ font-size: 12px; color: #444; }}
a {{ color: #0645ad; }}
svg.map {{ display: block; width: 100%; max-width: 640px; height: auto; border: 1px solid #666; }}
svg .route-halo {{ fill: none; stroke: #000; stroke-width: 5; stroke-opacity: 0.6; }}
svg .stop {{ fill: #fff; stroke-width: 3; }} svg .stop-no {{ font-size: 12px; font-weight: bold; text-anchor: middle; fill: #000; }}
svg .leader {{ stroke: #fff; stroke-width: 1.5; }} svg .leader-dot {{ fill: #fff; stroke: #000; }}
svg .depot {{ fill: #000; stroke: #fff; stroke-width: 2; }}
svg .map-label, svg .north {{ font-size: 13px; font-weight: bold; fill: #fff; paint-order: stroke; stroke: #000; stroke-width: 3px; }}
svg .bar-bg {{ fill: #fff; fill-opacity: 0.85; }} svg .bar-text {{ font-size: 12px; }}
svg .halo {{ fill: none; stroke: #000; stroke-width: 4; stroke-opacity: 0.7; }}
svg .plot-label {{ font-size: 12px; font-weight: bold; text-anchor: middle; paint-order: stroke; stroke: #000; stroke-width: 3px; }}
svg .scale {{ font-size: 11px; fill: #fff; paint-order: stroke; stroke: #000; stroke-width: 3px; }}
table.stops {{ border-collapse: collapse; width: 100%; margin: 8px 0; table-layout: fixed; }}
.stops th, .stops td {{ border: 1px solid #999; padding: 3px 4px; text-align: left; vertical-align: top; }}
.stops th:nth-child(1) {{ width: 14%; }} .stops th:nth-child(2) {{ width: 11%; }} .stops th:nth-child(3) {{ width: 9%; }}
.stops th:nth-child(4) {{ width: 10%; }} .stops th:nth-child(5) {{ width: 17%; }} .stops th:nth-child(6) {{ width: 17%; }}
.task-head td {{ background: #eef3f8; }}
.head {{ display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; }}
.seq {{ display: inline-block; min-width: 26px; height: 26px; border-radius: 13px; background: #000; color: #fff; text-align: center; line-height: 26px; font-weight: bold; }}
.what {{ flex: 1 1 16em; font-weight: bold; }}
.nav {{ display: flex; align-items: center; gap: 8px; }} .depot-line .nav {{ display: inline-flex; }}
svg.qr {{ width: 84px; height: 84px; display: block; }}
.links {{ font-size: 13px; }}
.boxes span {{ display: block; white-space: nowrap; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; border: 1px solid #000; }}
td.note {{ min-height: 2.5em; }}
.chips {{ display: flex; flex-wrap: wrap; gap: 8px; }}
figure.chip {{ margin: 0; width: 220px; max-width: 100%; break-inside: avoid; }}
figure.chip svg {{ display: block; width: 100%; height: auto; }}
figure.chip.missing div {{ height: 120px; background: #eee; }}
figcaption {{ font-size: 12px; }}
@media (max-width: 640px) {{
  body {{ padding: 8px; }}
  table.stops, .stops tbody, .stops tr, .stops td {{ display: block; width: 100%; }}
  .stops thead {{ display: none; }}
  .stops tr.plot {{ border: 1px solid #999; border-top: none; padding: 2px 0; }}
  .stops td {{ border: none; padding: 2px 6px; }}
  .stops tr.plot td::before {{ content: attr(data-label) ": "; font-weight: bold; }}
  .stops td.where br {{ display: none; }}
  .boxes span {{ display: inline-block; margin-right: 10px; }}
  .task-head td {{ border: 1px solid #999; }}
}}
@media print {{
  body {{ font-size: 10.5px; padding: 0; max-width: none; }}
  section.day {{ break-before: page; }} section.day:first-of-type {{ break-before: auto; }}
  svg.map {{ max-width: 150mm; }} tr {{ break-inside: avoid; }} .task-head {{ break-after: avoid; }}
  svg.qr {{ width: 24mm; height: 24mm; }}
  a {{ color: #000; text-decoration: none; }}
  figure.chip {{ width: 44mm; }}
}}
</style></head>
<body>
{body}
</body></html>
"""
