"""Paint a synthetic scene layout into surface reflectance, then through a sensor.

Reflectance is kept for four bands (blue, green, red, NIR) at the scene GSD in metres
per pixel.  Features smaller than a pixel (flowers, crop rows, plants at satellite
GSD) are drawn with their area coverage, so one layout renders sensibly from 2 cm
drone imagery to 3 m satellite imagery.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
import torch
import torch.nn.functional as F
from affine import Affine
from rasterio import features
from scipy import ndimage
from shapely import affinity
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from scout.synth.layout import Building, Field, Layout, Plot, blob, plot_area
from scout.synth.sprite import Sprite

B = 4  # bands: blue, green, red, nir

# Surface reflectance (blue, green, red, NIR), 0-1.  Poppy foliage is glaucous (more
# blue, less green than cereals); cannabis is dark green with high NIR.
SPECTRA: dict[str, tuple[float, float, float, float]] = {
    "soil_dry": (0.11, 0.15, 0.21, 0.27),
    "soil_moist": (0.06, 0.08, 0.11, 0.16),
    "soil_red": (0.07, 0.10, 0.18, 0.24),
    "grass": (0.045, 0.095, 0.07, 0.32),
    "wheat": (0.04, 0.095, 0.055, 0.38),
    "wheat_ripe": (0.09, 0.15, 0.19, 0.32),
    "maize": (0.035, 0.085, 0.045, 0.42),
    "potato": (0.04, 0.10, 0.05, 0.45),
    "cabbage": (0.085, 0.125, 0.09, 0.40),
    "onion": (0.08, 0.115, 0.085, 0.36),
    "lettuce": (0.06, 0.15, 0.08, 0.42),
    "rapeseed_leaf": (0.04, 0.10, 0.06, 0.40),
    "rapeseed_flower": (0.05, 0.26, 0.32, 0.42),
    "weeds": (0.05, 0.10, 0.08, 0.28),
    "poppy_leaf": (0.10, 0.15, 0.10, 0.42),
    "poppy_capsule_leaf": (0.10, 0.14, 0.12, 0.35),
    "capsule": (0.10, 0.145, 0.12, 0.30),
    "cannabis": (0.025, 0.07, 0.035, 0.52),
    "tree": (0.03, 0.065, 0.035, 0.36),
    "track": (0.17, 0.19, 0.21, 0.26),
    "courtyard": (0.2, 0.21, 0.22, 0.26),
    "roof_red": (0.07, 0.08, 0.30, 0.35),
    "roof_metal": (0.30, 0.32, 0.33, 0.33),
    "roof_thatch": (0.12, 0.15, 0.19, 0.24),
    "roof_concrete": (0.25, 0.26, 0.26, 0.28),
    "roof_blue": (0.25, 0.15, 0.08, 0.20),
}
POPPY_FLOWERS = {
    "red": (0.04, 0.04, 0.42, 0.45),
    "pink": (0.35, 0.22, 0.52, 0.50),
    "white": (0.55, 0.58, 0.58, 0.55),
    "purple": (0.28, 0.09, 0.22, 0.45),
}
ORNAMENTAL_FLOWERS = [
    (0.04, 0.20, 0.50, 0.45),  # orange marigold
    (0.05, 0.30, 0.40, 0.45),  # yellow
    (0.30, 0.06, 0.35, 0.45),  # magenta
    (0.04, 0.05, 0.40, 0.45),  # red
    (0.55, 0.57, 0.57, 0.55),  # white
]
SHADOW = np.array([0.45, 0.38, 0.35, 0.30], dtype=np.float32)  # skylight keeps shadows bluish


def _spec(name: str) -> np.ndarray:
    return np.array(SPECTRA[name], dtype=np.float32)


class Canvas:
    """Reflectance (4, H, W) at ``gsd`` metres per pixel, with shared noise fields."""

    def __init__(self, rng: np.random.Generator, height: int, width: int, gsd: float) -> None:
        self.rng, self.h, self.w, self.gsd = rng, height, width, gsd
        self.refl = np.zeros((B, height, width), dtype=np.float32)
        self.transform = Affine(gsd, 0, 0, 0, gsd, 0)  # local metres, y down
        self.fine = self.noise(0.08)
        self.med = self.noise(0.4)
        self.coarse = self.noise(3.0)
        self.patch = self.noise(15.0)

    def noise(self, scale_m: float) -> np.ndarray:
        """Smooth noise of about unit std with features ``scale_m`` metres across.

        Below a pixel the detail averages out, so the amplitude falls with the scale.
        """
        scale_px = scale_m / self.gsd
        if scale_px <= 1.0:
            return (self.rng.standard_normal((self.h, self.w)) * scale_px).astype(np.float32)
        small = self.rng.standard_normal((int(self.h / scale_px) + 3, int(self.w / scale_px) + 3)).astype(np.float32)
        size = (int(small.shape[0] * scale_px), int(small.shape[1] * scale_px))
        up = F.interpolate(torch.from_numpy(small)[None, None], size=size, mode="bicubic", align_corners=False)[0, 0].numpy()
        up = up[: self.h, : self.w]
        return up / (up.std() + 1e-6)

    def mask(self, geom: BaseGeometry) -> tuple[tuple[slice, slice], np.ndarray] | None:
        """(window, boolean mask inside it) for a geometry in scene metres."""
        if geom.is_empty:
            return None
        minx, miny, maxx, maxy = geom.bounds
        c0, r0 = max(int(minx / self.gsd) - 1, 0), max(int(miny / self.gsd) - 1, 0)
        c1, r1 = min(int(maxx / self.gsd) + 2, self.w), min(int(maxy / self.gsd) + 2, self.h)
        if c1 <= c0 or r1 <= r0:
            return None
        win = (slice(r0, r1), slice(c0, c1))
        t = self.transform @ Affine.translation(c0, r0)
        m = features.rasterize([(geom, 1)], out_shape=(r1 - r0, c1 - c0), transform=t, dtype="uint8").astype(bool)
        return (win, m) if m.any() else None

    def coords(self, win: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre x, y in scene metres for a window."""
        ys = (np.arange(win[0].start, win[0].stop) + 0.5) * self.gsd
        xs = (np.arange(win[1].start, win[1].stop) + 0.5) * self.gsd
        return np.meshgrid(xs, ys)

    def put(self, win: tuple[slice, slice], m: np.ndarray, colour: np.ndarray) -> None:
        """Write ``colour`` (4,) or (4, h, w) into the masked part of a window."""
        view = self.refl[:, win[0], win[1]]
        if colour.ndim == 1:
            view[:, m] = colour[:, None]
        else:
            view[:, m] = colour[:, m]

    def rows(self, win: tuple[slice, slice], angle: float, spacing_m: float, duty: float) -> np.ndarray:
        """Crop-row canopy cover in 0-1; rows finer than ~3 px blur to their mean cover."""
        x, y = self.coords(win)
        u = x * math.cos(angle) + y * math.sin(angle)
        p = 0.5 + 0.5 * np.cos(2 * math.pi * u / spacing_m)
        cov = np.clip((p - (1 - duty)) / 0.3 + 0.5, 0, 1)
        att = float(np.clip((spacing_m / self.gsd - 2.0) / 4.0, 0.0, 1.0))
        return (duty + (cov - duty) * att).astype(np.float32)

    def dots(self, xs: np.ndarray, ys: np.ndarray, radius_m: np.ndarray, colours: np.ndarray) -> None:
        """Composite small discs (flowers, capsules, cabbage heads) with area coverage."""
        if len(xs) == 0:
            return
        cx, cy, r = xs / self.gsd, ys / self.gsd, np.maximum(radius_m / self.gsd, 1e-3)
        small = r < 1.0  # sub-pixel dots add their area to the pixel they fall in
        reach = int(math.ceil(r[~small].max())) + 1 if (~small).any() else 0
        ix0, iy0 = np.floor(cx).astype(int), np.floor(cy).astype(int)
        flats, wgts, which = [], [], []
        for dy in range(-reach, reach + 1):
            for dx in range(-reach, reach + 1):
                ix, iy = ix0 + dx, iy0 + dy
                d = np.hypot(ix + 0.5 - cx, iy + 0.5 - cy)
                wgt = np.where(small, np.pi * r**2 if dx == dy == 0 else 0.0, np.clip(r + 0.5 - d, 0, 1))
                ok = (wgt > 0) & (ix >= 0) & (iy >= 0) & (ix < self.w) & (iy < self.h)
                flats.append(iy[ok] * self.w + ix[ok])
                wgts.append(wgt[ok])
                which.append(np.nonzero(ok)[0])
        flat, wgt, dot = np.concatenate(flats), np.concatenate(wgts), np.concatenate(which)
        n = self.h * self.w
        cov = np.bincount(flat, wgt, n).reshape(self.h, self.w)
        acc = np.stack([np.bincount(flat, wgt * colours[dot, b], n).reshape(self.h, self.w) for b in range(B)])
        hit = cov > 0
        mean = acc[:, hit] / cov[hit]
        a = np.minimum(cov[hit], 1.0)
        self.refl[:, hit] = self.refl[:, hit] * (1 - a) + mean * a

    def crowns(self, xs: np.ndarray, ys: np.ndarray, radius_m: np.ndarray, colour: np.ndarray, lobes: int, sun: tuple[float, float], rough: float) -> None:
        """Lobed, sun-lit crowns (trees, cannabis plants) composited with soft edges."""
        rng = self.rng
        for x, y, rm in zip(xs, ys, radius_m):
            r = rm / self.gsd
            cx, cy = x / self.gsd, y / self.gsd
            c0, c1 = max(int(cx - r * 1.3) - 1, 0), min(int(cx + r * 1.3) + 2, self.w)
            r0, r1 = max(int(cy - r * 1.3) - 1, 0), min(int(cy + r * 1.3) + 2, self.h)
            if c1 <= c0 or r1 <= r0:
                continue
            yy, xx = np.mgrid[r0:r1, c0:c1]
            dx, dy = xx + 0.5 - cx, yy + 0.5 - cy
            d = np.hypot(dx, dy)
            th = np.arctan2(dy, dx)
            reff = r * (1 + 0.18 * np.sin(lobes * th + rng.uniform(0, 2 * math.pi)) + 0.08 * np.sin((lobes + 3) * th))
            a = np.clip(reff - d + 0.5, 0, 1)
            lit = 1 + 0.35 * (dx * sun[0] + dy * sun[1]) / max(r, 1e-3) - 0.25 * (d / max(r, 1e-3)) ** 2
            tex = 1 + rough * self.med[r0:r1, c0:c1] + 0.5 * rough * self.fine[r0:r1, c0:c1]
            col = colour[:, None, None] * rng.uniform(0.85, 1.15) * np.clip(lit * tex, 0.3, 1.6)
            view = self.refl[:, r0:r1, c0:c1]
            view[:] = view * (1 - a) + col * a

    def shade(self, shadow: np.ndarray) -> None:
        """Darken where ``shadow`` (0-1 cover) falls; bluish skylight fills it."""
        f = 1 - shadow[None] * (1 - SHADOW[:, None, None])
        self.refl *= f


def _jitter(rng: np.random.Generator, colour: np.ndarray, sd: float = 0.06) -> np.ndarray:
    return (colour * np.exp(rng.normal(0, sd, B)) * rng.uniform(0.9, 1.1)).astype(np.float32)


def _soil(rng: np.random.Generator) -> np.ndarray:
    return _jitter(rng, _spec(str(rng.choice(["soil_dry", "soil_moist", "soil_red"], p=[0.45, 0.3, 0.25]))))


def _veg(cv: Canvas, win, canopy: np.ndarray, soil: np.ndarray, cov: np.ndarray, tex: float) -> np.ndarray:
    """Canopy over soil with cover ``cov`` and multiplicative texture of strength ``tex``."""
    t = 1 + tex * (cv.fine[win] + 0.6 * cv.med[win]) + 0.08 * cv.coarse[win]
    return canopy[:, None, None] * t * cov + soil[:, None, None] * (1 - cov) * (1 + 0.1 * cv.fine[win])


def paint_field(cv: Canvas, f: Field) -> None:
    hit = cv.mask(f.geom)
    if hit is None:
        return
    win, m = hit
    rng = cv.rng
    soil = _soil(rng)
    cover = f.cover
    if cover == "wheat":
        canopy = _jitter(rng, _spec("wheat") + rng.uniform(0, 0.7) * (_spec("wheat_ripe") - _spec("wheat")))
        col = _veg(cv, win, canopy, soil, cv.rows(win, f.row_angle, f.row_spacing_m, rng.uniform(0.7, 0.95)), 0.1)
    elif cover in ("maize", "potato"):
        cov = cv.rows(win, f.row_angle, f.row_spacing_m, rng.uniform(0.45, 0.85))
        cov = np.clip(cov * (1 + 0.3 * cv.fine[win]), 0, 1)
        col = _veg(cv, win, _jitter(rng, _spec(cover)), soil, cov, 0.18)
    elif cover == "bare":
        furrow = cv.rows(win, f.row_angle, f.row_spacing_m, 0.5)
        col = soil[:, None, None] * (0.85 + 0.3 * furrow) * (1 + 0.08 * cv.fine[win] + 0.06 * cv.coarse[win])
    elif cover in ("grass", "pasture", "fallow"):
        canopy = _jitter(rng, _spec("weeds" if cover == "fallow" else "grass"))
        cov = np.clip(rng.uniform(0.5, 0.95) + 0.25 * cv.coarse[win] + 0.15 * cv.fine[win], 0, 1)
        col = _veg(cv, win, canopy, soil, cov, 0.12)
    elif cover == "rapeseed":
        leaf = _veg(cv, win, _jitter(rng, _spec("rapeseed_leaf")), soil, np.full(m.shape, 0.9, np.float32), 0.1)
        bloom = np.clip(rng.uniform(0.3, 0.9) + 0.3 * cv.fine[win] + 0.2 * cv.coarse[win], 0, 1)
        col = leaf * (1 - bloom) + _jitter(rng, _spec("rapeseed_flower"))[:, None, None] * bloom
    elif cover == "cabbage":
        col = soil[:, None, None] * (1 + 0.08 * cv.fine[win])
        cv.put(win, m, col)
        _heads(cv, f.geom, f.row_angle, f.row_spacing_m, _jitter(rng, _spec("cabbage")))
        return
    else:
        raise ValueError(f"unknown field cover {cover!r}")
    cv.put(win, m, col.astype(np.float32))


def _grid_points(rng: np.random.Generator, geom: Polygon, angle: float, dx: float, dy: float, jitter: float) -> tuple[np.ndarray, np.ndarray]:
    """Points on a rotated grid (rows ``dy`` apart, ``dx`` along a row) inside ``geom``."""
    cx, cy = geom.centroid.x, geom.centroid.y
    rot = affinity.rotate(geom, -angle, origin=(cx, cy), use_radians=True)
    minx, miny, maxx, maxy = rot.bounds
    gx, gy = np.meshgrid(np.arange(minx, maxx, dx), np.arange(miny, maxy, dy))
    gx = gx.ravel() + rng.normal(0, jitter, gx.size)
    gy = gy.ravel() + rng.normal(0, jitter, gy.size)
    c, s = math.cos(angle), math.sin(angle)
    x = cx + (gx - cx) * c - (gy - cy) * s
    y = cy + (gx - cx) * s + (gy - cy) * c
    inside = shapely.contains_xy(geom, x, y)
    return x[inside], y[inside]


def _heads(cv: Canvas, geom: Polygon, angle: float, spacing: float, colour: np.ndarray) -> None:
    """Cabbage-like heads in a grid: glaucous, like poppy, but in discrete round heads."""
    rng = cv.rng
    x, y = _grid_points(rng, geom, angle, spacing * 0.8, spacing, 0.04)
    r = rng.uniform(0.16, 0.26, len(x))
    cols = colour[None] * np.exp(rng.normal(0, 0.05, (len(x), 1))).astype(np.float32)
    cv.dots(x, y, r, cols)


def paint_garden(cv: Canvas, geom: Polygon) -> None:
    """Vegetable beds of several crops with paths between them (a look-alike)."""
    hit = cv.mask(geom)
    if hit is None:
        return
    win, m = hit
    rng = cv.rng
    angle = rng.uniform(0, math.pi)
    pitch = rng.uniform(1.0, 1.8)
    x, y = cv.coords(win)
    u = x * math.cos(angle) + y * math.sin(angle)
    bed = np.floor(u / pitch).astype(int)
    path = (u / pitch - bed) > 0.75
    crops = [_jitter(rng, _spec(c)) for c in rng.choice(["lettuce", "onion", "cabbage", "potato", "weeds"], 4)]
    soil = _soil(rng)
    col = np.empty((B, *m.shape), np.float32)
    for i, c in enumerate(crops):
        sel = (bed % len(crops)) == i
        cov = np.clip(0.75 + 0.3 * cv.fine[win], 0, 1)
        col[:, sel] = (c[:, None, None] * (1 + 0.15 * cv.med[win]) * cov + soil[:, None, None] * (1 - cov))[:, sel]
    col[:, path] = soil[:, None] * 1.1
    cv.put(win, m, col)


def paint_flower_bed(cv: Canvas, geom: Polygon) -> None:
    """Ornamental flowers on ordinary green foliage: colourful dots that are not poppy."""
    hit = cv.mask(geom)
    if hit is None:
        return
    win, m = hit
    rng = cv.rng
    col = _veg(cv, win, _jitter(rng, _spec("lettuce")), _soil(rng), np.full(m.shape, 0.85, np.float32), 0.2)
    cv.put(win, m, col)
    n = int(geom.area * rng.uniform(40, 120))
    x, y = _points_in(rng, geom, n)
    palette = np.array(ORNAMENTAL_FLOWERS, np.float32)
    cols = palette[rng.integers(len(palette), size=len(x))] * np.exp(rng.normal(0, 0.08, (len(x), 1)))
    cv.dots(x, y, rng.uniform(0.03, 0.07, len(x)), cols.astype(np.float32))


def _points_in(rng: np.random.Generator, geom: BaseGeometry, n: int) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = geom.bounds
    frac = geom.area / max((maxx - minx) * (maxy - miny), 1e-9)
    k = int(n / max(frac, 0.05)) + 8
    x, y = rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)
    inside = shapely.contains_xy(geom, x, y)
    return x[inside][:n], y[inside][:n]


def paint_poppy(cv: Canvas, p: Plot) -> None:
    """Glaucous foliage; in bloom scattered red/pink/white/purple flowers; capsules later."""
    hit = cv.mask(p.geom)
    if hit is None:
        return
    win, m = hit
    rng = np.random.default_rng(p.params["seed"])
    soil = _soil(rng)
    leaf = _jitter(rng, _spec("poppy_capsule_leaf" if p.stage == "capsule" else "poppy_leaf"), 0.05)
    mean_cov = {"vegetative": rng.uniform(0.6, 0.9), "bloom": rng.uniform(0.7, 0.95), "capsule": rng.uniform(0.65, 0.9)}[p.stage]
    cov = np.clip(mean_cov + 0.3 * cv.fine[win] + 0.1 * cv.coarse[win], 0, 1)
    if rng.random() < 0.3:
        cov = cov * cv.rows(win, rng.uniform(0, math.pi), rng.uniform(0.25, 0.4), 0.8)
    cv.put(win, m, _veg(cv, win, leaf, soil, cov, 0.15).astype(np.float32))
    area = p.geom.area
    if p.stage == "bloom":
        n = int(area * rng.uniform(6, 60))
        x, y = _points_in(rng, p.geom, n)
        names = list(POPPY_FLOWERS)
        w = rng.dirichlet(np.full(len(names), 0.4))
        pick = rng.choice(len(names), size=len(x), p=w)
        palette = np.array([POPPY_FLOWERS[k] for k in names], np.float32)
        cols = palette[pick] * np.exp(rng.normal(0, 0.08, (len(x), 1)))
        cv.dots(x, y, rng.uniform(0.03, 0.055, len(x)), cols.astype(np.float32))
    elif p.stage == "capsule":
        n = int(area * rng.uniform(15, 40))
        x, y = _points_in(rng, p.geom, n)
        cols = _spec("capsule")[None] * np.exp(rng.normal(0, 0.06, (len(x), 1)))
        cv.dots(x, y, rng.uniform(0.015, 0.03, len(x)), cols.astype(np.float32))


def cannabis_plants(rng: np.random.Generator, p: Plot) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Plant centres, crown radii and heights (metres) for a cannabis plot."""
    g = p.geom
    if p.stage == "rows":
        spacing = rng.uniform(0.9, 1.6)
        x, y = _grid_points(rng, g, rng.uniform(0, math.pi), spacing * rng.uniform(0.7, 1.0), spacing, 0.12)
        r = rng.uniform(0.35, 0.7, len(x))
    elif p.stage == "dense":
        x, y = _grid_points(rng, g, rng.uniform(0, math.pi), 0.7, 0.7, 0.2)
        r = rng.uniform(0.45, 0.8, len(x))
    else:  # clumps: plants gathered around a few centres
        n = max(1, int(g.area * rng.uniform(0.5, 1.0)))
        x, y = _points_in(rng, g, n)
        r = rng.uniform(0.35, 0.9, len(x))
    if len(x) == 0:  # tiny plot: one plant in the middle
        c = g.representative_point()
        x, y, r = np.array([c.x]), np.array([c.y]), np.array([min(0.8, math.sqrt(g.area / math.pi))])
    h = r * rng.uniform(2.0, 3.5, len(r))
    return x, y, r, h


def paint_cannabis_ground(cv: Canvas, p: Plot) -> None:
    hit = cv.mask(p.geom)
    if hit is None:
        return
    win, m = hit
    rng = np.random.default_rng(p.params["seed"])
    cov = np.clip(rng.uniform(0.0, 0.4) + 0.3 * cv.coarse[win], 0, 1)
    col = _veg(cv, win, _jitter(rng, _spec("weeds")), _soil(rng), cov, 0.1)
    cv.put(win, m, col.astype(np.float32))


def paint_building(cv: Canvas, b: Building, sun: tuple[float, float]) -> None:
    """A gable roof: the half facing the sun is brighter."""
    hit = cv.mask(b.roof)
    if hit is None:
        return
    win, m = hit
    rng = cv.rng
    col = _jitter(rng, _spec("roof_" + b.roof_kind), 0.08)
    rect = b.roof.minimum_rotated_rectangle
    pts = np.array(rect.exterior.coords)[:3]
    e1, e2 = pts[1] - pts[0], pts[2] - pts[1]
    short = e1 if np.hypot(*e1) < np.hypot(*e2) else e2
    nrm = short / (np.hypot(*short) + 1e-9)
    x, y = cv.coords(win)
    c = b.roof.centroid
    side = np.sign((x - c.x) * nrm[0] + (y - c.y) * nrm[1])
    facing = side * (nrm[0] * sun[0] + nrm[1] * sun[1])
    tex = 1 + 0.05 * cv.fine[win] + 0.12 * facing
    cv.put(win, m, (col[:, None, None] * tex).astype(np.float32))


def shadow_cover(cv: Canvas, layout: Layout, plants: Sequence[tuple[np.ndarray, ...]]) -> np.ndarray:
    """Cast-shadow cover (0-1) of buildings, trees and cannabis plants on the ground."""
    az, el = layout.sun_azimuth, layout.sun_elevation
    away = (-math.sin(az), math.cos(az))  # shadows point away from the sun (y down)
    k = 1 / math.tan(el)
    shapes: list[tuple[BaseGeometry, int]] = []
    for b in layout.buildings:
        moved = affinity.translate(b.roof, away[0] * b.height_m * k, away[1] * b.height_m * k)
        shapes.append((b.roof.union(moved).convex_hull, 1))
    mask = np.zeros((cv.h, cv.w), np.float32)
    if shapes:
        mask = features.rasterize(shapes, out_shape=(cv.h, cv.w), transform=cv.transform, dtype="uint8").astype(np.float32)
    xs, ys, rs = [], [], []
    for t in layout.trees:
        off = (t.height_m - t.radius_m) * k
        xs.append(t.x + away[0] * off)
        ys.append(t.y + away[1] * off)
        rs.append(t.radius_m)
    for x, y, r, h in plants:
        off = (h - r) * k * 0.7
        xs.extend(x + away[0] * off)
        ys.extend(y + away[1] * off)
        rs.extend(r * 0.95)
    if xs:
        sh = Canvas.__new__(Canvas)
        sh.rng, sh.h, sh.w, sh.gsd = cv.rng, cv.h, cv.w, cv.gsd
        sh.refl = np.zeros((B, cv.h, cv.w), np.float32)
        sh.dots(np.array(xs), np.array(ys), np.array(rs), np.ones((len(xs), B), np.float32))
        mask = np.maximum(mask, sh.refl[0])
    return mask


def hillshade(cv: Canvas, layout: Layout, relief_m: float) -> np.ndarray:
    """Terrain shading factor (1 on flat ground) from smooth hills ``relief_m`` high."""
    z = cv.noise(min(layout.width_m, layout.height_m) * 0.6) * relief_m
    gy, gx = np.gradient(z, cv.gsd)
    n = np.stack([-gx, -gy, np.ones_like(z)])
    n /= np.linalg.norm(n, axis=0)
    az, el = layout.sun_azimuth, layout.sun_elevation
    s = np.array([math.cos(el) * math.sin(az), -math.cos(el) * math.cos(az), math.sin(el)], np.float32)
    direct = np.clip(np.tensordot(s, n, axes=1), 0, None) / math.sin(el)
    return (0.3 + 0.7 * direct).astype(np.float32)


def render_reflectance(layout: Layout, rng: np.random.Generator, gsd: float, height: int, width: int) -> np.ndarray:
    """Surface reflectance (4, height, width): blue, green, red, NIR."""
    cv = Canvas(rng, height, width, gsd)
    base = _jitter(rng, _spec("grass"))
    cov = np.clip(0.7 + 0.2 * cv.patch + 0.2 * cv.coarse, 0, 1)
    full = (slice(0, height), slice(0, width))
    cv.refl[:] = _veg(cv, full, base, _soil(rng), cov, 0.12)
    for f in layout.fields:
        paint_field(cv, f)
    track_col = _jitter(rng, _spec("track"))
    for t in layout.tracks:
        hit = cv.mask(t)
        if hit:
            cv.put(hit[0], hit[1], track_col[:, None, None] * (1 + 0.08 * cv.fine[hit[0]] + 0.05 * cv.coarse[hit[0]]))
    for y in layout.courtyards:
        hit = cv.mask(y)
        if hit:
            cv.put(hit[0], hit[1], _jitter(rng, _spec("courtyard"))[:, None, None] * (1 + 0.06 * cv.med[hit[0]]))
    for g in layout.gardens:
        paint_garden(cv, g)
    for bed in layout.flower_beds:
        paint_flower_bed(cv, bed)
    plants = []
    for p in layout.plots:
        if p.cls == "poppy":
            paint_poppy(cv, p)
        else:
            paint_cannabis_ground(cv, p)
            plants.append(cannabis_plants(np.random.default_rng(p.params["seed"] + 1), p))
    cv.shade(shadow_cover(cv, layout, plants))
    az = layout.sun_azimuth
    sun = (math.sin(az), -math.cos(az))
    for x, y, r, _h in plants:
        cv.crowns(x, y, r, _jitter(rng, _spec("cannabis"), 0.05), int(rng.integers(7, 10)), sun, 0.3)
    if layout.trees:
        t = layout.trees
        cv.crowns(np.array([a.x for a in t]), np.array([a.y for a in t]), np.array([a.radius_m for a in t]), _jitter(rng, _spec("tree")), 5, sun, 0.2)
    for b in layout.buildings:
        paint_building(cv, b, sun)
    cv.refl *= hillshade(cv, layout, rng.uniform(0, 8))[None]
    return np.clip(cv.refl, 0, 1)


def drone_sensor(refl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An RGB camera: haze, exposure, white balance, vignetting, blur, tone curve, noise -> uint8 (3, H, W)."""
    rgb = refl[[2, 1, 0]]
    haze = rng.uniform(0, 0.12)
    rgb = rgb * (1 - haze) + haze * np.array([0.2, 0.22, 0.26], np.float32)[:, None, None]
    gain = rng.uniform(1.8, 3.2) * np.exp(rng.normal(0, 0.07, 3))
    h, w = rgb.shape[1:]
    yy, xx = np.mgrid[0:h, 0:w]
    vig = 1 - rng.uniform(0, 0.2) * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    lin = rgb * gain[:, None, None] * vig[None]
    sigma = rng.uniform(0, 0.7)
    if sigma > 0.2:
        lin = ndimage.gaussian_filter(lin, (0, sigma, sigma))
    tone = np.clip(lin, 0, 1) ** (1 / 2.2)
    grey = tone.mean(0, keepdims=True)
    tone = grey + rng.uniform(1.2, 1.7) * (tone - grey)  # cameras boost saturation
    dn = 255 * tone + rng.normal(0, rng.uniform(0.5, 3.0), lin.shape)
    return np.clip(np.round(dn), 0, 255).astype(np.uint8)


def satellite_sensor(refl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 4-band multispectral sensor: haze, calibration error, PSF blur, noise -> uint16 reflectance*10000."""
    haze = rng.uniform(0, 0.25)
    air = np.array([0.26, 0.22, 0.2, 0.15], np.float32)[:, None, None]
    out = refl * (1 - haze) + haze * air * 0.6
    out = out * np.exp(rng.normal(0, 0.04, B))[:, None, None].astype(np.float32)
    out = ndimage.gaussian_filter(out, (0, rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8)))
    out = out + rng.normal(0, rng.uniform(0.002, 0.006), out.shape)
    return np.clip(np.round(out * 10000), 1, 65535).astype(np.uint16)


# -- sprites: one object drawn alone, for planting into real canvases (scout.synth.plant) --------

FIELD_SPRITES = {"rapeseed": "rapeseed", "cabbage": "cabbage", "lawn": "grass", "fallow": "fallow", "maize": "maize", "wheat": "wheat", "pasture": "pasture"}
SPRITE_KINDS = ("poppy", "cannabis", "tree", "vegetable_garden", "flower_bed", *FIELD_SPRITES)
SPRITE_HEIGHT_M = {"poppy": (0.6, 1.2), "cannabis": (1.2, 3.5), "tree": (3.0, 12.0), "maize": (1.5, 2.5), "rapeseed": (0.8, 1.5)}


def sprite_area(rng: np.random.Generator, kind: str) -> float:
    """Area in m² of a sprite of ``kind``: plots 2-1,500 m² (log-uniform in three bands, as in scenes)."""
    if kind == "tree":
        return float(rng.uniform(4, 120))
    if kind == "flower_bed":
        return float(rng.uniform(1, 12))
    return plot_area(rng, 2.0, 1500.0)


def render_sprite(rng: np.random.Generator, kind: str, gsd_m: float, area_m2: float | None = None) -> Sprite:
    """One object of ``kind`` (see SPRITE_KINDS) alone at ``gsd_m``, painted as scenes paint it."""
    if kind not in SPRITE_KINDS:
        raise ValueError(f"unknown sprite kind {kind!r} (known: {', '.join(SPRITE_KINDS)})")
    area = float(area_m2 if area_m2 is not None else sprite_area(rng, kind))
    if kind == "tree":  # a clump of crowns
        n = int(rng.integers(1, 5))
        r = np.sqrt(area / n / math.pi) * rng.uniform(0.7, 1.2, n)
        spread = math.sqrt(area) * 0.5
        xs, ys = rng.normal(0, spread * 0.5, n), rng.normal(0, spread * 0.5, n)
        geom = shapely.union_all([Point(x, y).buffer(rr * 0.85, 12) for x, y, rr in zip(xs, ys, r)])  # inside the lobes
    else:
        geom = blob(rng, 0, 0, area, rect=rng.random() < 0.4)
    margin = 1.5  # metres around the object: crowns and plants overhang the plot outline
    minx, miny, maxx, maxy = geom.bounds
    geom = affinity.translate(geom, margin - minx, margin - miny)
    w = max(int(math.ceil((maxx - minx + 2 * margin) / gsd_m)), 4)
    h = max(int(math.ceil((maxy - miny + 2 * margin) / gsd_m)), 4)
    cv = Canvas(rng, h, w, gsd_m)
    cv.refl[:] = _soil(rng)[:, None, None]
    az = rng.uniform(0, 2 * math.pi)
    sun = (math.sin(az), -math.cos(az))
    cover = None
    if kind == "poppy":
        paint_poppy(cv, Plot(geom, "poppy", str(rng.choice(["vegetative", "bloom", "capsule"])), "in_field", {"seed": int(rng.integers(1 << 31))}))
    elif kind == "cannabis":
        p = Plot(geom, "cannabis", str(rng.choice(["clumps", "rows", "dense"], p=[0.45, 0.3, 0.25])), "in_field", {"seed": int(rng.integers(1 << 31))})
        paint_cannabis_ground(cv, p)
        x, y, r, _ = cannabis_plants(np.random.default_rng(p.params["seed"] + 1), p)
        cv.crowns(x, y, r, _jitter(rng, _spec("cannabis"), 0.05), int(rng.integers(7, 10)), sun, 0.3)
        cover = shapely.union_all([Point(a, b).buffer(c, 8) for a, b, c in zip(x, y, r)])
    elif kind == "tree":
        cv.crowns(xs + margin - minx, ys + margin - miny, r, _jitter(rng, _spec("tree")), 5, sun, 0.2)
    elif kind == "vegetable_garden":
        paint_garden(cv, geom)
    elif kind == "flower_bed":
        paint_flower_bed(cv, geom)
    else:
        paint_field(cv, Field(geom, FIELD_SPRITES[kind], rng.uniform(0, math.pi), rng.uniform(0.3, 0.9) if kind != "cabbage" else rng.uniform(0.45, 0.7)))
    footprint = features.rasterize([(geom, 1)], out_shape=(h, w), transform=cv.transform, dtype="uint8").astype(bool)
    alpha = footprint.astype(np.float32)
    if cover is not None:
        alpha = np.maximum(alpha, features.rasterize([(cover, 1)], out_shape=(h, w), transform=cv.transform, dtype="uint8").astype(np.float32))
    lo, hi = SPRITE_HEIGHT_M.get(kind, (0.05, 0.4))
    return Sprite(np.clip(cv.refl, 0, 1), alpha, footprint, kind, float(rng.uniform(lo, hi)), gsd_m)
