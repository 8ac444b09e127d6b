#!/usr/bin/env python
"""Independent drone and satellite scenes with known poppy and cannabis plots: EVALUATION ONLY.

Why it exists: a detector trained on one scene generator learns that generator's fingerprints
(its textures, colours, field shapes) instead of the crops.  This generator was written apart
from Scout's own (``scout synth``), without reading it, so that a score on its scenes says how
the detector does on imagery it has never seen the like of.  **Never train on these scenes**, nor
tune training augmentations by looking at them: once a model has learned them they measure
nothing.  It lives under ``scripts/``, outside the ``scout`` package, so that no training code
can import it by accident.

What it draws (all from its own seeded random numbers; the same seed gives the same scene):

* hilly smallholder farmland of SW China and the Golden Triangle: a terrain height field with
  contour terraces (lit and shaded risers), irregular fields (warped Voronoi cells split along
  the terraces), maize (green or dry), rice paddies (flooded, green, ripe, stubble), vegetable
  beds (cabbage, lettuce, garlic, plastic mulch), tobacco, tea hedgerows, rapeseed, fallow and
  tilled laterite, orchards, banana groves, bamboo clumps, forest; field margins and bunds,
  dirt paths and concrete roads, village compounds (walls, gates, clay-tile, metal and flat
  concrete roofs, solar water heaters, concrete yards with beds and trees);
* targets (layer ``truth``, field ``class``): opium poppy as rosettes, glaucous blue-green
  foliage, in flower (white, red, pink, purple petals) or at capsule stage; cannabis as young
  plants or tall palmate bushes casting shadows, in rows or scattered; in their own small plots,
  as whole fields, as large plots over several fields, as strips among maize, in courtyards, in
  forest clearings on slopes, under the edge of trees and along paths (field ``context``);
* look-alikes planted the same way (layer ``lookalikes``, not targets): cabbage and garlic
  beds, flower beds, lawn, rapeseed in bloom, tobacco, soybean strips, shrubs, hedges, besides
  the trees, banana and bamboo of the scenery;
* light and camera: sun azimuth and elevation (cast shadows from every object's height, terrain
  shading), overcast skies, sky-blue ambient light, haze or burning-season smoke, white balance,
  exposure, saturation, frame-to-frame brightness drift, optical and motion blur, sensor noise,
  JPEG; satellite scenes add path radiance, band gains, MTF blur and 12-bit-like noise;
* the drone flight edge as an alpha band (the union of frame footprints along flight lines).

Each scene folder holds ``image.tif`` (drone: RGB uint8 + optional alpha, bands named red, green,
blue; satellite: blue, green, red, nir uint16 reflectance x 10,000), ``truth.gpkg`` (layers
``truth`` and ``lookalikes`` in the image CRS), ``landcover.tif`` (uint8 codes of what is seen
at each pixel, names in ``scene.json``) and ``scene.json`` (every drawn parameter).

    python scripts/independent_scenes.py OUT --kind drone --seeds 0-19
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from PIL import Image
from rasterio import features
from rasterio.enums import ColorInterp
from scipy import ndimage
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box

log = logging.getLogger("independent_scenes")
logging.getLogger("pyogrio").setLevel(logging.WARNING)

GENERATOR_VERSION = 3
"""Bump when scenes change: cached scenes of another version are made again."""

BANDS = ("blue", "green", "red", "nir")
# Surface reflectance per band (blue, green, red, NIR), from typical spectra of each material.
SPEC: dict[str, tuple[float, float, float, float]] = {
    "soil_red": (0.07, 0.10, 0.185, 0.25), "soil_brown": (0.06, 0.08, 0.11, 0.18),
    "soil_dry": (0.13, 0.16, 0.20, 0.26), "soil_wet": (0.045, 0.055, 0.07, 0.11),
    "soil_grey": (0.10, 0.11, 0.12, 0.17), "litter": (0.05, 0.065, 0.08, 0.20),
    "grass": (0.04, 0.085, 0.05, 0.38), "grass_dry": (0.09, 0.13, 0.16, 0.28),
    "lawn": (0.045, 0.115, 0.05, 0.46), "weeds": (0.045, 0.09, 0.06, 0.33),
    "broadleaf": (0.028, 0.068, 0.038, 0.36), "broadleaf_light": (0.04, 0.095, 0.05, 0.42),
    "broadleaf_yellow": (0.045, 0.10, 0.075, 0.38), "conifer": (0.025, 0.05, 0.032, 0.24),
    "banana": (0.055, 0.135, 0.085, 0.44), "bamboo": (0.05, 0.115, 0.07, 0.40),
    "tea": (0.028, 0.068, 0.034, 0.34), "shrub": (0.035, 0.075, 0.045, 0.33),
    "hedge": (0.03, 0.07, 0.038, 0.35), "maize": (0.045, 0.10, 0.065, 0.42),
    "maize_dry": (0.10, 0.13, 0.16, 0.26), "rice_green": (0.04, 0.105, 0.05, 0.40),
    "rice_ripe": (0.07, 0.13, 0.16, 0.32), "stubble": (0.11, 0.14, 0.17, 0.25),
    "cabbage": (0.085, 0.125, 0.09, 0.40), "lettuce": (0.05, 0.135, 0.07, 0.44),
    "veg_dark": (0.035, 0.08, 0.045, 0.36), "garlic": (0.07, 0.11, 0.08, 0.33),
    "soybean": (0.045, 0.11, 0.06, 0.44), "tobacco": (0.055, 0.125, 0.075, 0.45),
    "rape_leaf": (0.045, 0.10, 0.06, 0.40), "flower_yellow": (0.05, 0.28, 0.36, 0.45),
    "poppy_leaf": (0.078, 0.118, 0.088, 0.42), "poppy_young": (0.072, 0.108, 0.082, 0.30),
    "poppy_capsule": (0.10, 0.135, 0.115, 0.32), "poppy_dry": (0.095, 0.12, 0.115, 0.27),
    "capsule": (0.12, 0.16, 0.13, 0.35), "cannabis": (0.034, 0.09, 0.04, 0.48),
    "cannabis_light": (0.045, 0.112, 0.05, 0.48),
    "petal_white": (0.55, 0.58, 0.60, 0.62), "petal_red": (0.05, 0.05, 0.40, 0.45),
    "petal_pink": (0.40, 0.27, 0.55, 0.52), "petal_purple": (0.26, 0.10, 0.24, 0.45),
    "petal_orange": (0.04, 0.20, 0.52, 0.45), "petal_magenta": (0.30, 0.07, 0.42, 0.45),
    "concrete": (0.22, 0.235, 0.245, 0.27), "concrete_old": (0.14, 0.15, 0.155, 0.18),
    "tile_grey": (0.10, 0.105, 0.11, 0.13), "tile_dark": (0.06, 0.065, 0.07, 0.09),
    "terracotta": (0.09, 0.11, 0.22, 0.28), "metal_blue": (0.26, 0.17, 0.09, 0.20),
    "metal_red": (0.075, 0.07, 0.19, 0.28), "metal_grey": (0.26, 0.27, 0.28, 0.29),
    "metal_rust": (0.07, 0.09, 0.16, 0.22), "wall_white": (0.45, 0.46, 0.47, 0.50),
    "wall_mud": (0.14, 0.17, 0.21, 0.26), "brick": (0.08, 0.09, 0.17, 0.24),
    "solar": (0.05, 0.055, 0.065, 0.06), "water": (0.065, 0.075, 0.06, 0.03),
    "water_muddy": (0.075, 0.095, 0.095, 0.05), "plastic_white": (0.50, 0.51, 0.51, 0.50),
    "plastic_black": (0.04, 0.04, 0.045, 0.05), "asphalt": (0.07, 0.075, 0.08, 0.09),
}

# What is seen at a pixel (landcover.tif): lets an evaluation say what false alarms sit on.
COVER = (
    "nodata", "soil", "grass", "maize", "rice", "vegetables", "tea", "orchard", "banana", "bamboo",
    "forest", "shrub_hedge", "rapeseed", "lawn", "flower_bed", "path_road", "roof", "wall", "yard",
    "water", "poppy", "cannabis", "tobacco", "soybean", "tree",
)
CV = {name: i for i, name in enumerate(COVER)}


def spec(name: str) -> np.ndarray:
    return np.asarray(SPEC[name], np.float32)


def _hash(a: np.ndarray, b: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) per integer pair and salt: per-cell random attributes without state."""
    h = (a.astype(np.int64) * 0x27D4EB2D + b.astype(np.int64) * 0x165667B1 + ((salt * 0x9E3779B1) & 0xFFFFFFFF)) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    h ^= h >> 12
    h = (h * 0x297A2D39) & 0xFFFFFFFF
    h ^= h >> 15
    return (h.astype(np.float64) / 2**32).astype(np.float32)


# ----------------------------------------------------------------------------------- the canvas


@dataclass(frozen=True)
class Sun:
    azimuth_deg: float  # clockwise from north
    elevation_deg: float

    @property
    def vector(self) -> tuple[float, float, float]:
        """Unit vector towards the sun in (east, south, up): image columns, rows, height."""
        a, e = math.radians(self.azimuth_deg), math.radians(self.elevation_deg)
        return math.sin(a) * math.cos(e), -math.cos(a) * math.cos(e), math.sin(e)


@dataclass
class Region:
    """Pixels of one painted thing (row, column indexes) and their local metres (u east, v south)."""

    r: np.ndarray
    c: np.ndarray
    u: np.ndarray
    v: np.ndarray

    def __len__(self) -> int:
        return len(self.r)

    def sub(self, keep: np.ndarray) -> Region:
        return Region(self.r[keep], self.c[keep], self.u[keep], self.v[keep])


class Canvas:
    """Surface reflectance, height above ground (m), local direct-light factor and cover, per pixel.

    Local metres: u east from the left edge, v south from the top edge (pixel centres at
    (i + 0.5) * gsd).  Painting is last-writer-wins, except where it asks for a z-buffer.
    """

    def __init__(self, height: int, width: int, gsd_m: float, sun: Sun, seed: int) -> None:
        self.H, self.W, self.g = height, width, gsd_m
        self.sun = sun
        self.refl = np.zeros((4, height, width), np.float32)
        self.shade = np.ones((height, width), np.float32)
        self.z = np.zeros((height, width), np.float32)
        self.cover = np.zeros((height, width), np.uint8)
        self.protect = np.zeros((height, width), bool)
        self.surface = np.zeros((height, width), np.float32)  # terrain height (m), for light and shadows
        self.u = ((np.arange(width) + 0.5) * gsd_m).astype(np.float32)
        self.v = ((np.arange(height) + 0.5) * gsd_m).astype(np.float32)
        self.seed = seed
        self._noise: dict[tuple[float, int], np.ndarray] = {}

    @property
    def extent(self) -> tuple[float, float]:
        return self.W * self.g, self.H * self.g

    def _white(self, k: int) -> np.ndarray:
        key = (0.0, k % 4)
        if key not in self._noise:
            self._noise[key] = np.random.default_rng([self.seed, 0, key[1], 7]).standard_normal((self.H, self.W), np.float32)
        return self._noise[key]

    def _grid(self, scale_m: float, k: int) -> tuple[np.ndarray, float, float]:
        """A smooth field of features ~``scale_m`` across, kept at a few samples per feature."""
        key = (scale_m, k)
        if key not in self._noise:
            r = np.random.default_rng([self.seed, int(scale_m * 1000), k, 7])
            n0, n1 = max(3, math.ceil(self.H * self.g / scale_m) + 3), max(3, math.ceil(self.W * self.g / scale_m) + 3)
            small = ndimage.gaussian_filter(r.standard_normal((n0, n1)).astype(np.float32), 0.8, mode="reflect")
            small /= small.std() + 1e-6
            step = max(1, min(16, int(scale_m / self.g / 4)))
            h, w = math.ceil(self.H / step), math.ceil(self.W / step)
            # cubic from the coarse cells (no straight ridges), sampled linearly from there on
            self._noise[key] = ndimage.zoom(small, (h / n0, w / n1), order=3, grid_mode=True, mode="nearest").astype(np.float32)
        mid = self._noise[key]
        return mid, self.H / mid.shape[0], self.W / mid.shape[1]

    @staticmethod
    def _octave(scale_m: float) -> float:
        return 2.0 ** round(math.log2(max(scale_m, 1e-3)))  # a few octaves serve every caller

    def noise(self, scale_m: float, k: int = 0) -> np.ndarray:
        """A smooth Gaussian random field (std ~1, full raster) with features about ``scale_m`` metres across."""
        scale_m = self._octave(scale_m)
        if scale_m <= 1.5 * self.g:
            return self._white(k)
        mid, sr, sc = self._grid(scale_m, k)
        return ndimage.zoom(mid, (sr, sc), order=1, grid_mode=True, mode="nearest")[: self.H, : self.W]

    def noise_at(self, scale_m: float, k: int, reg: Region) -> np.ndarray:
        """:meth:`noise` at the pixels of ``reg`` only."""
        scale_m = self._octave(scale_m)
        if scale_m <= 1.5 * self.g:
            return self._white(k)[reg.r, reg.c]
        mid, sr, sc = self._grid(scale_m, k)
        return ndimage.map_coordinates(mid, [(reg.r + 0.5) / sr - 0.5, (reg.c + 0.5) / sc - 0.5], order=1, mode="nearest").astype(np.float32)

    def region(self, geom: Any, pad_m: float = 0.0) -> Region | None:
        """Pixels whose centres fall in ``geom`` (local metres), or in its bounding box grown by ``pad_m``."""
        if geom is None or geom.is_empty:
            return None
        x0, y0, x1, y1 = geom.bounds
        c0, c1 = max(0, int((x0 - pad_m) / self.g)), min(self.W, int(math.ceil((x1 + pad_m) / self.g)))
        r0, r1 = max(0, int((y0 - pad_m) / self.g)), min(self.H, int(math.ceil((y1 + pad_m) / self.g)))
        if c1 <= c0 or r1 <= r0:
            return None
        if pad_m:
            m = np.ones((r1 - r0, c1 - c0), bool)
        else:
            m = features.rasterize([geom], out_shape=(r1 - r0, c1 - c0), transform=Affine(self.g, 0, c0 * self.g, 0, self.g, r0 * self.g), dtype="uint8").astype(bool)
        rr, cc = np.nonzero(m)
        if not len(rr):
            return None
        rr, cc = (rr + r0).astype(np.int32), (cc + c0).astype(np.int32)
        return Region(rr, cc, self.u[cc], self.v[rr])

    def mask(self, geom: Any) -> np.ndarray:
        m = np.zeros((self.H, self.W), bool)
        reg = self.region(geom)
        if reg is not None:
            m[reg.r, reg.c] = True
        return m

    def put(self, reg: Region, col: np.ndarray, cover: int, shade: np.ndarray | float = 1.0, z: np.ndarray | float = 0.0, keep: np.ndarray | None = None) -> None:
        """Write colour (4, n), light factor, height and cover at ``reg`` (where ``keep``)."""
        r, c = (reg.r, reg.c) if keep is None else (reg.r[keep], reg.c[keep])
        sel = (slice(None),) if keep is None else (keep,)
        col = col if col.ndim == 2 else np.broadcast_to(col[:, None], (4, len(reg)))
        self.refl[:, r, c] = col[(slice(None), *sel)]
        self.shade[r, c] = shade if np.isscalar(shade) else shade[sel]
        self.z[r, c] = z if np.isscalar(z) else z[sel]
        self.cover[r, c] = cover


def lambert(sun: Sun, nu: np.ndarray, nv: np.ndarray, nz: np.ndarray) -> np.ndarray:
    """Direct light on a surface of normal (nu, nv, nz), relative to flat ground (0 when facing away)."""
    su, sv, sz = sun.vector
    n = np.sqrt(nu * nu + nv * nv + nz * nz) + 1e-6
    return np.clip((nu * su + nv * sv + nz * sz) / (n * sz), 0.0, 2.2).astype(np.float32)


# ------------------------------------------------------------------------------------ plants


@dataclass(frozen=True)
class Plants:
    """A stand of plants on a jittered grid along rows (``along`` m within a row, ``across`` m between rows)."""

    along: float
    across: float
    radius: float  # m
    height: float  # m, tallest plant top
    radius_var: float = 0.25
    jitter: float = 0.6  # share of a cell a centre may move
    density: float = 1.0  # share of cells holding a plant
    shape: str = "dome"  # dome | rosette | star | leaves | ragged
    lobes: int = 6
    sharp: float = 4.0  # for leaves/star: larger is narrower
    reach: int = 1  # neighbouring cells searched each way


def _outline(shape: str, theta: np.ndarray, lobes: int, sharp: float, h: np.ndarray) -> np.ndarray:
    """Radius factor by direction: how a plant's edge looks from above."""
    if shape == "dome":
        return np.ones_like(theta)
    if shape == "rosette":
        return 0.78 + 0.22 * np.cos(lobes * theta)
    if shape == "star":  # palmate: narrow pointed leaflets
        return 0.18 + 0.82 * np.abs(np.cos(0.5 * lobes * theta)) ** sharp
    if shape == "leaves":  # long leaves radiating from a centre (maize, banana, bamboo sprays), of uneven length
        return (0.08 + 0.92 * np.abs(np.cos(0.5 * lobes * theta)) ** sharp) * (0.82 + 0.18 * np.cos(3 * theta + 6.3 * h))
    # ragged: an irregular bush or crown outline
    return 0.86 + 0.08 * np.cos(lobes * theta + 6.3 * h) + 0.06 * np.cos((lobes + 3) * theta + 2.1 + 9.1 * h)


def plant_layer(u: np.ndarray, v: np.ndarray, p: Plants, angle: float, seed: int) -> dict[str, np.ndarray]:
    """For each pixel, the plant whose surface is highest there (a z-buffer over nearby plants).

    Returns ``z`` (m, 0 where no plant), the surface normal (``nu``, ``nv``, ``nz``), ``pid``
    (a per-plant random number), ``rel`` (distance from the plant's centre over its radius)
    and the centre (``cu``, ``cv``), all per pixel.
    """
    ca, sa = math.cos(angle), math.sin(angle)
    a, b = u * ca + v * sa, -u * sa + v * ca
    ia, ib = np.floor(a / p.along).astype(np.int64), np.floor(b / p.across).astype(np.int64)
    ra = max(p.reach, 1) if p.radius * (1 + p.radius_var) > 0.5 * p.along else 1
    rb = max(p.reach, 1) if p.radius * (1 + p.radius_var) > 0.5 * p.across else 1
    i0, j0 = int(ia.min()) - ra, int(ib.min()) - rb
    ni, nj = int(ia.max()) + ra - i0 + 1, int(ib.max()) + rb - j0 + 1
    gi, gj = np.meshgrid(np.arange(i0, i0 + ni), np.arange(j0, j0 + nj), indexing="ij")
    hs = [_hash(gi, gj, seed * 8 + k).ravel() for k in range(5)]
    pa = (gi.ravel() + 0.5 + p.jitter * (hs[0] - 0.5)) * p.along
    pb = (gj.ravel() + 0.5 + p.jitter * (hs[1] - 0.5)) * p.across
    rad = p.radius * (1 + p.radius_var * (2 * hs[2] - 1))
    tall = p.height * (0.75 + 0.25 * hs[2])
    present = hs[3] < p.density
    phase = hs[4] * 6.2832
    n = len(u)
    best = np.zeros(n, np.float32)
    out = {k: np.zeros(n, np.float32) for k in ("da", "db", "r", "pid", "q", "pa", "pb")}
    base = (ia - i0) * nj + (ib - j0)
    for oi in range(-ra, ra + 1):
        for oj in range(-rb, rb + 1):
            k = base + (oi * nj + oj)
            da, db = a - pa[k], b - pb[k]
            d2 = da * da + db * db
            r = rad[k]
            if p.shape != "dome":
                th = np.arctan2(db, da) - phase[k]
                r = r * _outline(p.shape, th, p.lobes, p.sharp, hs[4][k])
            q = 1.0 - d2 / (r * r)
            zz = tall[k] * np.sqrt(np.clip(q, 0, 1)) + 0.15 * tall[k] * (q > 0)
            upd = (q > 0) & present[k] & (zz > best)
            if not upd.any():
                continue
            best[upd] = zz[upd]
            for name, val in (("da", da), ("db", db), ("r", r), ("pid", hs[2][k]), ("q", q), ("pa", pa[k]), ("pb", pb[k])):
                out[name][upd] = val[upd]
    rel = np.sqrt(np.clip(1 - out["q"], 0, 1))
    nz = np.sqrt(np.clip(out["q"], 0.02, 1))
    na, nb = out["da"] / (out["r"] + 1e-6), out["db"] / (out["r"] + 1e-6)
    return {
        "z": best, "nu": na * ca - nb * sa, "nv": na * sa + nb * ca, "nz": nz, "pid": out["pid"], "rel": rel,
        "cu": out["pa"] * ca - out["pb"] * sa, "cv": out["pa"] * sa + out["pb"] * ca,
        "theta": np.arctan2(out["db"], out["da"]),
    }


@dataclass(frozen=True)
class Look:
    """How a stand of plants is coloured: leaf spectrum, variation between plants, texture inside them."""

    leaf: str
    leaf2: str | None = None  # a second leaf colour mixed in per plant
    mix2: float = 0.0
    var: float = 0.12  # brightness spread between plants
    dome: float = 0.6  # how much the plant's roundness shades it
    ao: float = 0.45  # darkening towards a plant's edge (self-occlusion)
    sub: Plants | None = None  # leaf clusters / fans inside a plant
    sub_gap: float = 0.55  # brightness of gaps between clusters
    grain: float = 0.06  # fine leaf-scale noise
    midrib: float = 0.0  # bright leaf midribs (leaves shape)


@dataclass(frozen=True)
class Flowers:
    spacing: float
    radius: float
    density: float
    palette: tuple[tuple[str, float], ...]


def paint_stand(
    cv: Canvas, reg: Region, p: Plants, look: Look, angle: float, seed: int, cover: int,
    ground: np.ndarray | None = None, flowers: Flowers | None = None, centre_in: np.ndarray | None = None,
    zbuffer: bool = False, tint: np.ndarray | None = None,
) -> np.ndarray:
    """Paint plants over ``reg`` (on ``ground`` colour (4, n) where none; keep the canvas there if None).

    ``centre_in``: a full-canvas mask; only plants centred in it are drawn (crowns may spill out of it).
    Returns the pixels of ``reg`` that got a plant.
    """
    if len(reg) == 0:
        return np.zeros(0, bool)
    tint = np.ones(4, np.float32) if tint is None else tint
    area = p.along * p.across
    if area < (1.6 * cv.g) ** 2:  # plants below the pixel: a mixture, no single plants
        cover_frac = p.density * min(1.0, math.pi * p.radius**2 / area)
        n1, n2 = cv.noise_at(p.along * 2, seed % 3, reg), cv.noise_at(cv.g, 1 + seed % 2, reg)
        frac = np.clip(cover_frac + 0.12 * n1 + 0.15 * n2, 0, 1)
        leaf = spec(look.leaf) * tint
        if look.leaf2:
            leaf = leaf * (1 - 0.5 * look.mix2) + spec(look.leaf2) * 0.5 * look.mix2
        col = leaf[:, None] * (1 + look.var * 0.7 * n2)[None] * (0.8 + 0.2 * frac)[None]
        if ground is not None:
            col = col * frac[None] + ground * (1 - frac)[None]
        if flowers is not None:
            col = _flower_mix(cv, reg, flowers, col, frac, seed)
        has = frac > 0.5 if ground is not None else np.ones(len(reg), bool)
        if ground is None:
            col = col * frac[None] + cv.refl[:, reg.r, reg.c] * (1 - frac)[None]
        cv.put(reg, col, cover, 1.0 + 0.15 * n2 * frac, p.height * frac, keep=(cv.z[reg.r, reg.c] <= p.height * frac) if zbuffer else None)
        return has
    L = plant_layer(reg.u, reg.v, p, angle, seed)
    has = L["z"] > 0
    if centre_in is not None:
        ci = np.clip((L["cv"] / cv.g).astype(np.int64), 0, cv.H - 1), np.clip((L["cu"] / cv.g).astype(np.int64), 0, cv.W - 1)
        has &= centre_in[ci]
    shade = lambert(cv.sun, L["nu"] * look.dome, L["nv"] * look.dome, L["nz"])
    pid = L["pid"]
    leaf = (spec(look.leaf) * tint)[:, None] * (1 + look.var * (2 * pid - 1))[None]
    if look.leaf2:
        other = (pid * 7.31) % 1 < look.mix2
        leaf = np.where(other[None], (spec(look.leaf2) * tint)[:, None] * (1 + look.var * (2 * pid - 1))[None], leaf)
    bright = 1 - look.ao * L["rel"] ** 2
    if look.grain:
        bright = bright * (1 + look.grain * cv.noise_at(0.02, 2, reg))
    if look.midrib:
        rib = np.abs(np.sin(0.5 * p.lobes * (L["theta"] - pid * 6.2832))) < 0.06 + 0.04 * (1 - L["rel"])
        bright = bright * (1 + look.midrib * rib)
    if look.sub is not None and look.sub.along * look.sub.across >= (1.4 * cv.g) ** 2:
        S = plant_layer(reg.u, reg.v, look.sub, angle + 0.7, seed + 101)
        sub_on = S["z"] > 0
        sub_shade = lambert(cv.sun, S["nu"], S["nv"], S["nz"])
        shade = np.where(sub_on, 0.45 * shade + 0.55 * sub_shade, shade * look.sub_gap)
        bright = bright * np.where(sub_on, 1 - 0.3 * S["rel"] ** 2, look.sub_gap)
    col = leaf * bright[None]
    z = L["z"]
    if flowers is not None and flowers.spacing < 1.6 * cv.g:  # flowers below the pixel: a share of petal colour
        col = _flower_mix(cv, reg, flowers, col, has.astype(np.float32), seed)
    elif flowers is not None:
        F = plant_layer(reg.u, reg.v, Plants(flowers.spacing, flowers.spacing, flowers.radius, 0.05, 0.3, 1.0, flowers.density), angle, seed + 202)
        fon = (F["z"] > 0) & has & (L["rel"] < 0.95)
        if fon.any():
            fcol = _palette(flowers.palette, F["pid"][fon])
            col[:, fon] = fcol * (0.85 + 0.15 * F["nz"][fon])[None]
            shade[fon] = 0.6 * shade[fon] + 0.4 * lambert(cv.sun, F["nu"][fon], F["nv"][fon], F["nz"][fon])
            z = z + 0.05 * fon
    if ground is not None:
        col = np.where(has[None], col, ground)
        shade = np.where(has, shade, 1.0)
        z = np.where(has, z, 0.0)
        keep = None
    else:
        keep = has
    if zbuffer:
        keep = (has if keep is None else keep) & (z > cv.z[reg.r, reg.c]) & ~cv.protect[reg.r, reg.c]
    cv.put(reg, col, cover, shade, z, keep=keep)
    return has


def _palette(palette: tuple[tuple[str, float], ...], x: np.ndarray) -> np.ndarray:
    w = np.cumsum([p for _, p in palette])
    idx = np.searchsorted(w / w[-1], (x * 13.7) % 1.0)
    cols = np.stack([spec(n) for n, _ in palette], 1)
    return cols[:, np.clip(idx, 0, len(palette) - 1)] * (0.9 + 0.2 * ((x * 31.1) % 1.0))[None]


def _flower_mix(cv: Canvas, reg: Region, fl: Flowers, col: np.ndarray, frac: np.ndarray, seed: int) -> np.ndarray:
    """Flowers smaller than a pixel: a share of each pixel takes petal colour."""
    share = fl.density * min(1.0, math.pi * fl.radius**2 / fl.spacing**2) * 1.6
    n = cv.noise_at(cv.g, 3 + seed % 2, reg)
    s = np.clip(share * (1 + 0.8 * n), 0, 0.9) * frac
    pet = _palette(fl.palette, (reg.u * 3.1 + reg.v * 7.7) % 1.0)
    return col * (1 - s)[None] + pet * s[None]


def ground_colour(cv: Canvas, reg: Region, name: str, var: float = 0.08, scale: float = 1.5, k: int = 0, tint: np.ndarray | None = None, patches: tuple[str, float, float] | None = None) -> np.ndarray:
    """A soil, grass or pavement colour (4, n) with brightness texture at two scales and optional patches."""
    base = spec(name) * (tint if tint is not None else 1.0)
    n_big = cv.noise_at(scale, k, reg)
    n_fine = cv.noise_at(max(cv.g, 0.05), k % 2, reg)
    n_field = cv.noise_at(12.0, 40 + k % 3, reg)  # patchy growth and moisture across a field
    col = base[:, None] * (1 + var * (0.8 * n_big + 0.5 * n_fine + 0.6 * n_field))[None]
    if patches is not None:
        other, share, pscale = patches
        pn = cv.noise_at(pscale, k + 5, reg) + 0.5 * n_fine
        w = np.clip((pn - _quantile_of(share)) * 1.2, 0, 1)
        col = col * (1 - w)[None] + (spec(other)[:, None] * (1 + var * n_fine)[None]) * w[None]
    return col.astype(np.float32)


def _quantile_of(share: float) -> float:
    """The standard-normal value above which ``share`` of a field lies."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - min(max(share, 1e-3), 1 - 1e-3))


def jitter_tint(rng: np.random.Generator, amount: float = 0.08) -> np.ndarray:
    """A per-field brightness and hue shift (4 bands)."""
    return (rng.uniform(1 - amount, 1 + amount) * rng.uniform(1 - amount / 2, 1 + amount / 2, 4)).astype(np.float32)


# ------------------------------------------------------------------------------ fields and crops

CANOPY_KINDS = ("forest", "orchard", "banana", "bamboo")
FIELD_COVER = {
    "tilled": "soil", "fallow": "grass", "grass": "grass", "lawn": "lawn", "maize": "maize", "maize_young": "maize",
    "maize_dry": "maize", "maize_stubble": "soil", "rice_flooded": "rice", "rice_green": "rice", "rice_ripe": "rice",
    "rice_stubble": "rice", "veg": "vegetables", "tea": "tea", "rapeseed": "rapeseed", "tobacco": "tobacco",
    "soybean": "soybean", "orchard": "orchard", "forest": "forest", "banana": "banana", "bamboo": "bamboo",
}
SOILS = ("soil_red", "soil_brown", "soil_dry", "soil_grey")


def _rows(reg: Region, angle: float, period: float) -> np.ndarray:
    """Position across rows in [0, 1) for rows running along ``angle``."""
    b = -reg.u * math.sin(angle) + reg.v * math.cos(angle)
    return (b / period) % 1.0


def tilled_soil(cv: Canvas, reg: Region, rng: np.random.Generator, angle: float, soil: str | None = None, weeds: float = 0.05) -> np.ndarray:
    """Bare soil with furrows (ridges lit on one side) and clods."""
    soil = soil or str(rng.choice(SOILS, p=[0.4, 0.3, 0.2, 0.1]))
    col = ground_colour(cv, reg, soil, 0.10, float(rng.uniform(1, 4)), int(rng.integers(4)), jitter_tint(rng, 0.1), ("weeds", weeds, 0.8) if weeds > 0.01 else None)
    period = float(rng.uniform(0.25, 0.7))
    ph = _rows(reg, angle, period)
    ridge = np.cos(2 * math.pi * ph).astype(np.float32)
    # the furrow's flank facing the sun is brighter
    su, sv, _ = cv.sun.vector
    facing = -math.sin(angle) * su + math.cos(angle) * sv
    light = 1 + float(rng.uniform(0.06, 0.16)) * ridge * 0.4 + 0.18 * facing * np.sin(2 * math.pi * ph)
    return col * light[None].astype(np.float32)


def paint_field(cv: Canvas, reg: Region, kind: str, rng: np.random.Generator, angle: float, dry: bool) -> None:
    """Paint one field (or the ground under a canopy kind, whose crowns come later)."""
    seed = int(rng.integers(1 << 30))
    tint = jitter_tint(rng)
    code = CV[FIELD_COVER[kind]]
    k = int(rng.integers(6))
    if kind == "tilled":
        cv.put(reg, tilled_soil(cv, reg, rng, angle, weeds=float(rng.uniform(0, 0.15))), code)
    elif kind in ("fallow", "grass"):
        g = "grass_dry" if dry and rng.random() < 0.7 else "grass"
        col = ground_colour(cv, reg, g, 0.12, float(rng.uniform(1, 5)), k, tint, (str(rng.choice(["soil_dry", "soil_red", "weeds"])), float(rng.uniform(0.05, 0.35)), float(rng.uniform(0.5, 3))))
        cv.put(reg, col, code)
        if kind == "fallow":
            paint_stand(cv, reg, Plants(0.6, 0.6, 0.22, 0.5, 0.4, 1.0, float(rng.uniform(0.1, 0.5)), "ragged", 5), Look("weeds", "grass_dry", 0.4, 0.15, 0.5), angle, seed, code)
    elif kind == "lawn":
        col = ground_colour(cv, reg, "lawn", 0.05, 3.0, k, tint)
        stripes = 1 + 0.05 * np.sign(np.sin(2 * math.pi * _rows(reg, angle, float(rng.uniform(1.0, 2.0)))))
        cv.put(reg, col * stripes[None].astype(np.float32), code)
    elif kind in ("maize", "maize_young", "maize_dry"):
        ground = tilled_soil(cv, reg, rng, angle, weeds=0.1)
        young = kind == "maize_young"
        p = Plants(float(rng.uniform(0.25, 0.35)), float(rng.uniform(0.6, 0.8)), 0.2 if young else float(rng.uniform(0.38, 0.5)), 0.6 if young else 2.2, 0.25, 0.3, float(rng.uniform(0.85, 1.0)),
                   "leaves", int(rng.integers(8, 13)), 6.0)
        leaf = "maize_dry" if kind == "maize_dry" else "maize"
        paint_stand(cv, reg, p, Look(leaf, "grass_dry" if kind == "maize_dry" else "maize_dry", 0.25 if kind == "maize_dry" else 0.03, 0.12, 0.5, 0.5, midrib=0.2, grain=0.1), angle, seed, code,
                    ground=ground, tint=tint)
    elif kind == "maize_stubble":
        ground = tilled_soil(cv, reg, rng, angle, weeds=0.15) * 0.5 + ground_colour(cv, reg, "stubble", 0.1, 2.0, k) * 0.5
        paint_stand(cv, reg, Plants(0.3, 0.7, 0.08, 0.3, 0.4, 0.3, 0.8), Look("stubble", "maize_dry", 0.5), angle, seed, code, ground=ground)
    elif kind.startswith("rice"):
        if kind == "rice_stubble":
            ground = ground_colour(cv, reg, str(rng.choice(["soil_grey", "soil_brown", "soil_wet"])), 0.12, 2.0, k, tint, ("water_muddy", float(rng.uniform(0, 0.2)), 1.5))
            paint_stand(cv, reg, Plants(0.2, 0.25, 0.05, 0.2, 0.3, 0.2, 0.9), Look("stubble", "grass_dry", 0.3), angle, seed, code, ground=ground)
        else:
            water = ground_colour(cv, reg, str(rng.choice(["water", "water_muddy"])), 0.05, 6.0, k)
            radius = {"rice_flooded": 0.05, "rice_green": 0.13, "rice_ripe": 0.14}[kind]
            leaf = "rice_ripe" if kind == "rice_ripe" else "rice_green"
            paint_stand(cv, reg, Plants(0.2, 0.25, radius, 0.8, 0.2, 0.2, 0.95, "leaves", 8, 2.5), Look(leaf, "grass", 0.1, 0.08, 0.3, 0.3), angle, seed, code, ground=water, tint=tint)
    elif kind == "veg":
        paint_beds(cv, reg, rng, angle, tint)
    elif kind == "tea":
        ground = tilled_soil(cv, reg, rng, angle, "soil_red", 0.2)
        p = Plants(0.45, float(rng.uniform(1.3, 1.8)), float(rng.uniform(0.5, 0.65)), 1.0, 0.15, 0.2, 1.0, "ragged", 5, reach=2)
        paint_stand(cv, reg, p, Look("tea", "broadleaf_yellow", 0.15, 0.08, 0.9, 0.55, Plants(0.12, 0.12, 0.08, 0.1, 0.3, 0.9), 0.7), angle, seed, code, ground=ground, tint=tint)
    elif kind == "rapeseed":
        ground = tilled_soil(cv, reg, rng, angle, weeds=0.05)
        fl = Flowers(0.05, 0.025, float(rng.uniform(0.4, 0.8)), (("flower_yellow", 1.0),)) if dry else None
        paint_stand(cv, reg, Plants(0.2, 0.25, 0.16, 0.9, 0.2, 0.8, 0.95, "ragged", 6), Look("rape_leaf", "flower_yellow" if dry else None, 0.7 if dry else 0.0, 0.1, 0.4, 0.3), angle, seed, code,
                    ground=ground, flowers=fl, tint=tint)
    elif kind == "tobacco":
        ground = tilled_soil(cv, reg, rng, angle, weeds=0.05)
        paint_stand(cv, reg, Plants(0.55, float(rng.uniform(1.0, 1.2)), float(rng.uniform(0.3, 0.42)), 1.3, 0.2, 0.2, 0.95, "rosette", 5),
                    Look("tobacco", "broadleaf_yellow", 0.2, 0.1, 0.8, 0.35, midrib=0.15), angle, seed, code, ground=ground, tint=tint)
    elif kind == "soybean":
        ground = tilled_soil(cv, reg, rng, angle, weeds=0.05)
        paint_stand(cv, reg, Plants(0.18, float(rng.uniform(0.4, 0.55)), 0.2, 0.6, 0.2, 0.3, 0.95, "ragged", 7),
                    Look("soybean", None, 0.0, 0.12, 0.6, 0.35, Plants(0.07, 0.07, 0.05, 0.05, 0.3, 0.9), 0.75), angle, seed, code, ground=ground, tint=tint)
    else:  # canopy kinds: the ground now, crowns in a later pass
        g = {"forest": "litter", "orchard": "grass_dry" if dry else "grass", "banana": "weeds", "bamboo": "litter"}[kind]
        cv.put(reg, ground_colour(cv, reg, g, 0.15, 2.0, k, tint, ("soil_brown", 0.3, 1.5)), code)


def paint_beds(cv: Canvas, reg: Region, rng: np.random.Generator, angle: float, tint: np.ndarray | None = None, crops: Sequence[str] | None = None) -> None:
    """Vegetable beds: raised beds of different crops between furrows, some bare or under plastic."""
    period = float(rng.uniform(1.1, 1.7))
    furrow = float(rng.uniform(0.25, 0.4)) / period
    b = -reg.u * math.sin(angle) + reg.v * math.cos(angle)
    bed = np.floor(b / period).astype(np.int64)
    in_furrow = (b / period) % 1.0 > 1 - furrow
    soil = str(rng.choice(SOILS[:3]))
    cv.put(reg, tilled_soil(cv, reg, rng, angle + math.pi / 2, soil, 0.05) * 0.85, CV["vegetables"])
    crops = crops or ("cabbage", "lettuce", "garlic", "veg_dark", "bare", "cabbage", "veg_dark", "lettuce", "garlic", "veg_dark", "bare", "cabbage", "plastic")
    salt = int(rng.integers(1 << 30))
    choice = (_hash(bed, bed * 0 + 3, salt) * len(crops)).astype(int)
    for i, crop in enumerate(dict.fromkeys(crops)):
        sel = ~in_furrow & np.isin(choice, [j for j, c in enumerate(crops) if c == crop])
        if not sel.any():
            continue
        sub = reg.sub(sel)
        ground = tilled_soil(cv, sub, rng, angle, soil, 0.03)
        seed = salt + i
        if crop == "bare":
            cv.put(sub, ground, CV["vegetables"])
        elif crop == "plastic":
            film = "plastic_white" if rng.random() < 0.6 else "plastic_black"
            col = ground_colour(cv, sub, film, 0.06, 0.5, i)
            cv.put(sub, col, CV["vegetables"], 1 + 0.3 * cv.noise_at(0.4, 1, sub))
            paint_stand(cv, sub, Plants(0.35, period / 2, 0.1, 0.3, 0.3, 0.1, 0.9, "rosette", 5), Look("lettuce", "veg_dark", 0.5), angle, seed, CV["vegetables"])
        elif crop == "cabbage":
            paint_stand(cv, sub, Plants(0.45, period / 2, float(rng.uniform(0.16, 0.24)), 0.35, 0.2, 0.25, 0.95, "rosette", 7), Look("cabbage", "lettuce", 0.1, 0.1, 0.9, 0.3, grain=0.05), angle,
                        seed, CV["vegetables"], ground=ground, tint=tint)
        elif crop == "lettuce":
            paint_stand(cv, sub, Plants(0.3, period / 3, 0.12, 0.25, 0.2, 0.3, 0.95, "rosette", 6), Look("lettuce", None, 0.0, 0.12, 0.7, 0.3), angle, seed, CV["vegetables"], ground=ground, tint=tint)
        elif crop == "garlic":
            paint_stand(cv, sub, Plants(0.1, 0.15, 0.07, 0.4, 0.3, 0.3, 0.95, "leaves", 5, 5.0), Look("garlic", None, 0.0, 0.1, 0.3, 0.3), angle, seed, CV["vegetables"], ground=ground, tint=tint)
        else:
            paint_stand(cv, sub, Plants(0.25, 0.3, 0.14, 0.4, 0.3, 0.7, 0.9, "ragged", 6), Look("veg_dark", "lettuce", 0.2, 0.15, 0.6, 0.35), angle, seed, CV["vegetables"], ground=ground, tint=tint)


TREE_LOOKS = {
    "broadleaf": Look("broadleaf", "broadleaf_light", 0.3, 0.12, 0.9, 0.55, Plants(0.55, 0.55, 0.4, 0.3, 0.3, 1.0), 0.5),
    "conifer": Look("conifer", "broadleaf", 0.2, 0.1, 1.0, 0.6, Plants(0.35, 0.35, 0.25, 0.2, 0.3, 1.0), 0.45),
    "fruit": Look("broadleaf_light", "broadleaf_yellow", 0.3, 0.1, 0.8, 0.5, Plants(0.45, 0.45, 0.33, 0.3, 0.3, 1.0), 0.55),
    "banana": Look("banana", "grass_dry", 0.15, 0.12, 0.8, 0.3, None, 1.0, 0.1, 0.35),
    "bamboo": Look("bamboo", "broadleaf_yellow", 0.2, 0.1, 0.9, 0.5, Plants(0.3, 0.3, 0.26, 0.2, 0.3, 1.0, 1.0, "leaves", 9, 3.0), 0.5),
    "shrub": Look("shrub", "broadleaf", 0.3, 0.15, 0.8, 0.5, Plants(0.3, 0.3, 0.22, 0.2, 0.3, 1.0), 0.6),
}


def canopy_plants(kind: str, rng: np.random.Generator) -> tuple[Plants, Look]:
    """Crowns of a canopy field: forest, orchard, banana grove, bamboo."""
    if kind == "forest":
        r = float(rng.uniform(2.0, 3.8))
        return Plants(r * 1.35, r * 1.35, r, float(rng.uniform(8, 15)), 0.35, 0.9, float(rng.uniform(0.9, 1.0)), "ragged", 5), TREE_LOOKS[str(rng.choice(["broadleaf", "broadleaf", "conifer"]))]
    if kind == "orchard":
        s = float(rng.uniform(3.5, 6.0))
        return Plants(s, s * float(rng.uniform(1.0, 1.3)), s * float(rng.uniform(0.28, 0.42)), float(rng.uniform(3, 5)), 0.2, 0.12, float(rng.uniform(0.8, 1.0)), "ragged", 5), TREE_LOOKS["fruit"]
    if kind == "banana":
        return Plants(2.4, 2.6, float(rng.uniform(1.6, 2.3)), 4.0, 0.25, 0.9, 0.9, "leaves", int(rng.integers(7, 11)), 1.4), TREE_LOOKS["banana"]
    return Plants(6.0, 6.0, float(rng.uniform(2.6, 3.6)), float(rng.uniform(8, 13)), 0.25, 0.9, 0.8, "ragged", 6), TREE_LOOKS["bamboo"]


def paint_tree(cv: Canvas, u: float, v: float, radius: float, height: float, look: Look, rng: np.random.Generator, shape: str = "ragged", lobes: int = 5, sharp: float = 2.0,
               override: bool = False) -> None:
    """One crown centred at (u, v) m, z-buffered over what is there (not over protected plots unless ``override``)."""
    reg = cv.region(Point(u, v).buffer(radius * 1.3, 16))
    if reg is None:
        return
    # a one-cell grid holding exactly this tree: cell size large, centre placed by the offset
    cell = radius * 8
    ou, ov = u - cell * 0.5, v - cell * 0.5
    sub = Region(reg.r, reg.c, reg.u - ou, reg.v - ov)
    p = Plants(cell, cell, radius, height, 0.0, 0.0, 1.0, shape, lobes, sharp)
    was = cv.protect.copy() if override else None
    if override:
        cv.protect[reg.r, reg.c] = False
    cover = CV["banana"] if look.leaf == "banana" else CV["bamboo"] if look.leaf == "bamboo" else CV["shrub_hedge"] if height < 2.5 else CV["tree"]
    paint_stand(cv, sub, p, look, 0.0, int(rng.integers(1 << 30)), cover, zbuffer=True)
    if was is not None:
        cv.protect = was


# ------------------------------------------------------------------------------- buildings


def _rect(cu: float, cv_: float, w: float, d: float, angle: float) -> Polygon:
    return affinity.rotate(box(cu - w / 2, cv_ - d / 2, cu + w / 2, cv_ + d / 2), angle, origin=(cu, cv_), use_radians=True)


def paint_roof(cv: Canvas, poly: Polygon, angle: float, rng: np.random.Generator) -> None:
    """A house roof: gable (tile or corrugated metal, two slopes lit differently) or flat concrete."""
    reg = cv.region(poly)
    if reg is None:
        return
    c = poly.centroid
    ca, sa = math.cos(angle), math.sin(angle)
    a = (reg.u - c.x) * ca + (reg.v - c.y) * sa  # along the ridge
    b = -(reg.u - c.x) * sa + (reg.v - c.y) * ca  # across it
    kind = str(rng.choice(["tile_grey", "tile_dark", "terracotta", "metal_blue", "metal_red", "metal_grey", "metal_rust", "flat"], p=[0.22, 0.12, 0.1, 0.14, 0.08, 0.1, 0.08, 0.16]))
    k = int(rng.integers(6))
    height = float(rng.uniform(3.2, 7.5))
    if kind == "flat":
        col = ground_colour(cv, reg, str(rng.choice(["concrete", "concrete_old"])), 0.12, 1.5, k, jitter_tint(rng), ("soil_grey", 0.15, 1.0))
        shade = np.ones(len(reg), np.float32)
        parapet = np.abs(shapely.distance(poly.exterior, shapely.points(reg.u, reg.v))) < 0.2
        shade[parapet] = 1.1
        cv.put(reg, col, CV["roof"], shade, height)
        for _ in range(int(rng.integers(0, 3))):  # solar water heaters and tanks
            w, d = float(rng.uniform(1.0, 2.2)), float(rng.uniform(0.8, 1.4))
            pu, pv = c.x + float(rng.uniform(-2, 2)), c.y + float(rng.uniform(-2, 2))
            item = _rect(pu, pv, w, d, angle)
            sub = cv.region(item)
            if sub is not None and poly.contains(item):
                name = "solar" if rng.random() < 0.6 else "metal_grey"
                lines = 1 + 0.3 * (np.sin(2 * math.pi * ((sub.u - pu) * ca + (sub.v - pv) * sa) / 0.1) > 0.6)
                cv.put(sub, spec(name)[:, None] * lines[None].astype(np.float32), CV["roof"], 1.0, height + 1.2)
        return
    half_w = float(np.abs(b).max()) + 1e-3
    pitch = math.radians(float(rng.uniform(18, 32)))
    side = np.sign(b)
    # slope normals: tilted across the ridge, away from it
    nu, nv, nz = -sa * side * math.sin(pitch), ca * side * math.sin(pitch), np.full(len(reg), math.cos(pitch), np.float32)
    shade = lambert(cv.sun, np.asarray(nu, np.float32), np.asarray(nv, np.float32), nz)
    col = ground_colour(cv, reg, kind, 0.08, 2.0, k, jitter_tint(rng, 0.1))
    if kind.startswith("metal"):
        period = float(rng.uniform(0.08, 0.2))
        corr = np.sin(2 * math.pi * a / period)
        shade = shade * (1 + 0.12 * corr)
        sheet = np.floor(a / float(rng.uniform(0.8, 1.2)))
        col = col * (1 + 0.05 * (_hash(sheet.astype(np.int64), sheet.astype(np.int64) * 0, k) - 0.5))[None]
    else:
        period = float(rng.uniform(0.18, 0.26))
        ch = np.sin(2 * math.pi * a / period)
        rows = np.sin(2 * math.pi * b / 0.22)
        col = col * (1 + 0.1 * ch + 0.05 * rows)[None]
        moss = cv.noise_at(1.2, k + 2, reg) > 1.2
        col[:, moss] *= 0.75
    ridge = np.abs(b) < 0.15
    col[:, ridge] *= 1.15
    z = height - np.abs(b) / half_w * half_w * math.tan(pitch)
    cv.put(reg, col, CV["roof"], shade, z)


def compound(cv: Canvas, centre: tuple[float, float], angle: float, rng: np.random.Generator) -> dict[str, Any]:
    """A courtyard house: wall, gate, one to three buildings along its sides, a yard floor.

    Returns the outline, the built footprint (occupied) and the open yard (where plots may go).
    """
    w, d = float(rng.uniform(11, 22)), float(rng.uniform(10, 20))
    outer = _rect(centre[0], centre[1], w, d, angle)
    reg = cv.region(outer)
    if reg is None:
        return {"outline": outer, "built": outer, "yard": Polygon()}
    floor = str(rng.choice(["concrete", "concrete_old", "soil_dry", "soil_grey"], p=[0.4, 0.25, 0.2, 0.15]))
    cv.put(reg, ground_colour(cv, reg, floor, 0.1, 2.0, int(rng.integers(6)), jitter_tint(rng), ("soil_brown", 0.1, 0.8)), CV["yard"])
    ca, sa = math.cos(angle), math.sin(angle)
    built = []
    depth = float(rng.uniform(5, 8))
    sides = rng.permutation(4)[: int(rng.integers(1, 4))]
    for s in sides:  # 0 north, 1 south, 2 west, 3 east (in the compound's frame)
        if s < 2:
            off = (-1 if s == 0 else 1) * (d / 2 - depth / 2 - 0.3)
            bw, bd = w - 0.6, depth
            ra = angle
        else:
            off = (-1 if s == 2 else 1) * (w / 2 - depth / 2 - 0.3)
            bw, bd = d - 0.6 - (2 * depth if len(sides) > 1 else 0), depth
            ra = angle + math.pi / 2
            if bw < 4:
                continue
        du, dv = (-sa * off, ca * off) if s < 2 else (ca * off, sa * off)
        house = _rect(centre[0] + du, centre[1] + dv, bw, bd, ra)
        house = house.difference(shapely.union_all(built)) if built else house
        if house.area > 10:
            paint_roof(cv, house, ra, rng)
            built.append(house)
    wall_w = float(rng.uniform(0.2, 0.3))
    if rng.random() < 0.8:
        ring = outer.exterior.buffer(wall_w / 2, cap_style="flat", join_style="mitre")
        gate = Point(centre[0] + sa * d / 2 * (1 if rng.random() < 0.5 else -1), centre[1] - ca * d / 2 * (1 if rng.random() < 0.5 else -1)).buffer(1.6)
        ring = ring.difference(gate).difference(shapely.union_all(built) if built else Polygon())
        wreg = cv.region(ring)
        if wreg is not None:
            wcol = ground_colour(cv, wreg, str(rng.choice(["wall_white", "wall_mud", "brick", "concrete"])), 0.08, 1.0, 2)
            cv.put(wreg, wcol, CV["wall"], 1.15, float(rng.uniform(1.8, 2.6)))
    built_u = shapely.union_all([*built, outer.exterior.buffer(0.5)])
    yard = outer.buffer(-0.6).difference(built_u.buffer(0.6))
    return {"outline": outer, "built": built_u, "yard": yard}


def paint_path(cv: Canvas, line: LineString, width: float, rng: np.random.Generator, paved: bool) -> Polygon:
    """A dirt track (lighter, two worn wheel ruts, grass down the middle) or a concrete road with joints."""
    poly = line.buffer(width / 2, cap_style="flat")
    reg = cv.region(poly)
    if reg is None:
        return poly
    pts = shapely.points(reg.u, reg.v)
    off = shapely.line_locate_point(line, pts)
    side = shapely.distance(line, pts) / (width / 2)
    k = int(rng.integers(6))
    if paved:
        col = ground_colour(cv, reg, str(rng.choice(["concrete", "concrete_old", "asphalt"])), 0.08, 3.0, k, jitter_tint(rng), ("soil_dry", 0.08, 1.0))
        joint = (off % float(rng.uniform(3.5, 5.0))) < 0.04
        col[:, joint] *= 0.6
        edge = side > 0.92
        col[:, edge] = col[:, edge] * 0.6 + spec("soil_dry")[:, None] * 0.4
    else:
        col = ground_colour(cv, reg, str(rng.choice(["soil_dry", "soil_red", "soil_brown"])), 0.12, 1.0, k, jitter_tint(rng) * 1.08, ("grass_dry", 0.15, 0.6))
        if width > 1.8:
            rut = np.abs(side - 0.55) < 0.15
            col[:, rut] *= 0.85
            mid = side < 0.2
            col[:, mid] = col[:, mid] * 0.5 + spec("grass_dry")[:, None] * 0.5
    cv.put(reg, col, CV["path_road"])
    return poly


def wander(rng: np.random.Generator, extent: tuple[float, float], heading: float, step: float, turn: float, start: tuple[float, float] | None = None, head: float | None = None) -> LineString:
    """A path across the scene: from an edge (or ``start``), gently turning, until it leaves."""
    W, H = extent
    side = int(rng.integers(4))
    t = float(rng.uniform(0.1, 0.9))
    x, y = [(t * W, -1.0), (t * W, H + 1.0), (-1.0, t * H), (W + 1.0, t * H)][side] if start is None else start
    if head is None:
        head = [math.pi / 2, -math.pi / 2, 0.0, math.pi][side] + 0.6 * math.sin(heading)
    pts = [(x, y)]
    for _ in range(400):
        head += float(rng.normal(0, turn))
        x, y = x + step * math.cos(head), y + step * math.sin(head)
        pts.append((x, y))
        if not (-2 <= x <= W + 2 and -2 <= y <= H + 2):
            break
    return LineString(pts).simplify(0.05)


# ------------------------------------------------------------------------- targets and look-alikes

PETALS = ("petal_white", "petal_red", "petal_pink", "petal_purple")


def poppy_palette(rng: np.random.Generator) -> tuple[tuple[str, float], ...]:
    """One petal colour for most plots; a mix in some (landraces are often mixed)."""
    if rng.random() < 0.55:
        return ((str(rng.choice(PETALS, p=[0.35, 0.3, 0.2, 0.15])), 1.0),)
    picks = rng.choice(PETALS, size=int(rng.integers(2, 5)), replace=False)
    return tuple((str(p), float(rng.uniform(0.2, 1.0))) for p in picks)


def paint_poppy(cv: Canvas, reg: Region, stage: str, rng: np.random.Generator, angle: float) -> None:
    rows = rng.random() < 0.4
    sp = float(rng.uniform(0.14, 0.24))
    across = sp * float(rng.uniform(1.3, 2.0)) if rows else sp
    jit = 0.35 if rows else 1.0
    ground = tilled_soil(cv, reg, rng, angle, weeds=float(rng.uniform(0, 0.08)))
    seed = int(rng.integers(1 << 30))
    tint = jitter_tint(rng, 0.06)
    if stage == "rosette":
        p = Plants(sp, across, float(rng.uniform(0.05, 0.1)), 0.12, 0.3, jit, float(rng.uniform(0.6, 0.95)), "rosette", 7)
        look = Look("poppy_young", "poppy_leaf", 0.3, 0.12, 0.6, 0.3, grain=0.08)
        fl = None
    elif stage in ("leafy", "flowering"):
        p = Plants(sp, across, sp * float(rng.uniform(0.75, 1.05)), float(rng.uniform(0.6, 1.1)), 0.25, jit, 0.93, "rosette", 5)
        look = Look("poppy_leaf", "poppy_young", 0.2, 0.1, 0.7, 0.35, Plants(0.06, 0.06, 0.045, 0.05, 0.3, 0.9, 1.0, "rosette", 5), 0.8, 0.06)
        fl = Flowers(sp * float(rng.uniform(0.9, 1.4)), float(rng.uniform(0.03, 0.055)), float(rng.uniform(0.15, 0.7)), poppy_palette(rng)) if stage == "flowering" else None
    else:  # capsule: petals gone, grey-green heads, leaves drying
        p = Plants(sp, across, sp * float(rng.uniform(0.6, 0.9)), float(rng.uniform(0.8, 1.2)), 0.25, jit, 0.85, "rosette", 5)
        look = Look("poppy_capsule", "poppy_dry", float(rng.uniform(0.15, 0.5)), 0.12, 0.6, 0.4, grain=0.08)
        fl = Flowers(sp, float(rng.uniform(0.018, 0.03)), float(rng.uniform(0.4, 0.8)), (("capsule", 1.0), ("petal_white", 0.05)))
    paint_stand(cv, reg, p, look, angle, seed, CV["poppy"], ground=ground, flowers=fl, tint=tint)


def paint_cannabis(cv: Canvas, reg: Region, stage: str, rng: np.random.Generator, angle: float) -> None:
    rows = rng.random() < 0.5
    ground = tilled_soil(cv, reg, rng, angle, weeds=float(rng.uniform(0.05, 0.4)))
    seed = int(rng.integers(1 << 30))
    tint = jitter_tint(rng, 0.06)
    if stage == "tall":
        r = float(rng.uniform(0.4, 0.85))
        sp = r * float(rng.uniform(1.6, 2.4))
        p = Plants(sp, sp * (float(rng.uniform(1.0, 1.4)) if rows else 1.0), r, float(rng.uniform(1.6, 3.5)), 0.3, 0.35 if rows else 1.0, float(rng.uniform(0.75, 1.0)), "ragged", 7)
        look = Look("cannabis", "cannabis_light", float(rng.uniform(0.1, 0.4)), 0.12, 0.8, 0.5, Plants(0.17, 0.17, 0.15, 0.1, 0.3, 0.9, 1.0, "star", 7, 1.2), 0.45)
    else:
        r = float(rng.uniform(0.15, 0.35))
        sp = r * float(rng.uniform(1.5, 2.6))
        p = Plants(sp, sp * (float(rng.uniform(1.0, 1.6)) if rows else 1.0), r, float(rng.uniform(0.4, 0.9)), 0.3, 0.35 if rows else 1.0, float(rng.uniform(0.8, 1.0)), "star", 7, 1.0)
        look = Look("cannabis", "cannabis_light", float(rng.uniform(0.1, 0.5)), 0.12, 0.7, 0.4, Plants(0.09, 0.09, 0.08, 0.05, 0.3, 0.9, 1.0, "star", 7, 1.2), 0.5)
    paint_stand(cv, reg, p, look, angle, seed, CV["cannabis"], ground=ground, tint=tint)


def paint_lookalike(cv: Canvas, reg: Region, kind: str, rng: np.random.Generator, angle: float, dry: bool) -> None:
    """Things a detector may take for a target: they are background."""
    seed = int(rng.integers(1 << 30))
    if kind in ("cabbage", "garlic", "mixed_veg"):
        paint_beds(cv, reg, rng, angle, jitter_tint(rng), crops=None if kind == "mixed_veg" else (kind,))
    elif kind == "flower_bed":
        ground = tilled_soil(cv, reg, rng, angle, "soil_brown", 0.05)
        pal = tuple((str(n), float(rng.uniform(0.2, 1))) for n in rng.choice(["petal_orange", "flower_yellow", "petal_pink", "petal_red", "petal_magenta", "petal_white", "petal_purple"],
                                                                             size=int(rng.integers(2, 6)), replace=False))
        paint_stand(cv, reg, Plants(0.2, 0.2, 0.13, 0.4, 0.3, 1.0, 0.95, "ragged", 6), Look(str(rng.choice(["lettuce", "veg_dark", "grass"])), None, 0.0, 0.15, 0.6, 0.35), angle, seed,
                    CV["flower_bed"], ground=ground, flowers=Flowers(0.11, float(rng.uniform(0.035, 0.06)), float(rng.uniform(0.5, 0.9)), pal))
    elif kind == "shrubs":
        cv.put(reg, ground_colour(cv, reg, "weeds", 0.15, 1.0, 3, None, ("soil_dry", 0.3, 0.8)), CV["shrub_hedge"])
        r = float(rng.uniform(0.5, 1.1))
        paint_stand(cv, reg, Plants(r * 2.2, r * 2.2, r, float(rng.uniform(1.0, 2.2)), 0.3, 1.0, 0.8, "ragged", 5), TREE_LOOKS["shrub"], angle, seed, CV["shrub_hedge"])
    elif kind == "chili_drying":
        col = ground_colour(cv, reg, "petal_red", 0.2, 0.3, 2, np.array([0.7, 0.8, 0.75, 0.9], np.float32), ("plastic_white", 0.1, 0.5))
        cv.put(reg, col, CV["yard"])
    elif kind == "rapeseed":
        paint_field(cv, reg, "rapeseed", rng, angle, True)
    else:  # lawn, tobacco, soybean, maize_young: as fields
        paint_field(cv, reg, kind, rng, angle, dry)


# (context, weight) for targets and for look-alikes; hosts are the field kinds a context sits in
HOSTS = {
    "field": ("tilled", "fallow", "grass", "maize_stubble", "rice_stubble", "veg", "maize_dry", "rapeseed", "maize", "maize_young", "tobacco", "soybean", "lawn"),
    "whole_field": ("tilled", "fallow", "grass", "maize_stubble", "rice_stubble", "veg", "maize_dry", "rapeseed", "maize", "maize_young", "tobacco", "soybean"),
    "maize_strip": ("maize", "maize_dry", "maize_young"),
    "clearing": ("forest", "bamboo"),
    "under_trees": ("tilled", "fallow", "grass", "veg", "orchard", "maize_stubble"),
}


@dataclass
class Layout:
    label: np.ndarray  # (H, W) field index
    kinds: list[str]  # per field
    angles: np.ndarray  # per field: row direction (radians)
    surface: np.ndarray  # terrain height (m)
    riser: np.ndarray | None = None  # terrace risers (steep banks between benches)
    yards: list[Polygon] = field(default_factory=list)
    paths: list[tuple[LineString, float]] = field(default_factory=list)
    occupied: list[Any] = field(default_factory=list)
    valid: Any = None


def plot_area(rng: np.random.Generator, extent: tuple[float, float], satellite: bool) -> float:
    """Plot sizes: most 10-400 m², a few below 10, a few fields up to ~2,000 where the scene allows."""
    room = 0.12 * extent[0] * extent[1]
    x = rng.random()
    if satellite:
        a = math.exp(rng.uniform(math.log(40), math.log(2000))) if x < 0.92 else float(rng.uniform(12, 40))
    elif x < 0.08:
        a = float(rng.uniform(1.5, 10))
    elif x < 0.9:
        a = math.exp(rng.uniform(math.log(10), math.log(400)))
    else:
        a = float(rng.uniform(400, 2000))
    return min(a, room)


def plot_polygon(rng: np.random.Generator, centre: tuple[float, float], area: float, angle: float, shape: str) -> Polygon:
    """A plot outline of about ``area`` m²: a wobbly quadrilateral, a strip, or a rounded blob."""
    cx, cy = centre
    if shape == "blob":
        n = 14
        th = np.linspace(0, 2 * math.pi, n, endpoint=False)
        rr = 1 + 0.18 * np.cos(2 * th + rng.uniform(0, 6)) + 0.1 * np.cos(3 * th + rng.uniform(0, 6)) + rng.uniform(-0.06, 0.06, n)
        rad = math.sqrt(area / math.pi) / math.sqrt(float(np.mean(rr**2)))
        poly = Polygon(np.c_[cx + rad * rr * np.cos(th), cy + rad * rr * np.sin(th)])
    else:
        aspect = float(rng.uniform(3, 10)) if shape == "strip" else float(rng.uniform(1, 2.5))
        w = math.sqrt(area / aspect)
        length = area / w
        pts = np.array([[-length / 2, -w / 2], [length / 2, -w / 2], [length / 2, w / 2], [-length / 2, w / 2]])
        if shape != "rect":
            pts += rng.uniform(-0.12, 0.12, (4, 2)) * min(w, length)
        poly = affinity.translate(affinity.rotate(Polygon(pts), angle, origin=(0, 0), use_radians=True), cx, cy)
    return poly if poly.is_valid else shapely.make_valid(poly).buffer(0)


def place(cv: Canvas, lay: Layout, rng: np.random.Generator, context: str, area: float, occupied: shapely.STRtree | None, occ: list[Any]) -> tuple[Polygon, float, int] | None:
    """Find a spot for a plot of ``area`` m² in ``context``; (outline, row angle, host field) or None."""
    hosts = HOSTS.get(context, tuple(k for k in FIELD_COVER if k not in CANOPY_KINDS) if context in ("any", "large_field") else None)
    host_ids = np.array([i for i, k in enumerate(lay.kinds) if hosts is None or k in hosts], np.int64)
    for attempt in range(60):
        if attempt and attempt % 10 == 0:  # no room: a smaller plot (its real area is what is recorded)
            area = max(2.0, area * 0.75)
        if context == "whole_field":  # the plot is a whole field: its outline is the field's pixels
            if not len(host_ids):
                return None
            fid = int(rng.choice(host_ids))
            rows, cols = np.nonzero(lay.label == fid)
            if not 8 <= len(rows) * cv.g**2 <= max(area * 1.5, 60.0):
                continue
            r0, c0 = rows.min(), cols.min()
            m = np.zeros((rows.max() - r0 + 1, cols.max() - c0 + 1), np.uint8)
            m[rows - r0, cols - c0] = 1
            parts = [shapely.geometry.shape(g) for g, v in features.shapes(m, m.astype(bool), transform=Affine(cv.g, 0, c0 * cv.g, 0, cv.g, r0 * cv.g)) if v]
            poly = max(parts, key=lambda g: g.area)
            ang, host = float(lay.angles[fid]), -1
        elif context == "courtyard":
            if not lay.yards:
                return None
            yard = lay.yards[int(rng.integers(len(lay.yards)))]
            if yard.area < 4:
                continue
            pt = _random_point_in(yard, rng)
            if pt is None:
                continue
            a = min(area, 0.6 * yard.area)
            ang = _long_axis_angle(yard)
            poly = plot_polygon(rng, pt, a, ang, "rect" if rng.random() < 0.7 else "quad").intersection(yard.buffer(-0.2))
            host = -1
        elif context == "path_side":
            if not lay.paths:
                return None
            line, width = lay.paths[int(rng.integers(len(lay.paths)))]
            s = float(rng.uniform(0.1, 0.9)) * line.length
            p0, p1 = line.interpolate(s), line.interpolate(min(line.length, s + 1.0))
            ang = math.atan2(p1.y - p0.y, p1.x - p0.x)
            wid = float(rng.uniform(1.2, 3.0))
            off = (width / 2 + float(rng.uniform(0.4, 1.5)) + wid / 2) * (1 if rng.random() < 0.5 else -1)
            c = (p0.x - math.sin(ang) * off, p0.y + math.cos(ang) * off)
            length = min(area / wid, 30.0)
            poly = plot_polygon(rng, c, wid * length, ang, "strip")
            host = -1
        else:
            if not len(host_ids):
                return None
            r, c = int(rng.integers(cv.H)), int(rng.integers(cv.W))
            host = int(lay.label[r, c])
            if host not in host_ids:
                continue
            if context in ("any", "large_field"):  # across field edges (a last resort, or a big plot)
                host = -1
            ang = float(lay.angles[host])
            shape = {"maize_strip": "strip", "clearing": "blob"}.get(context, str(rng.choice(["quad", "quad", "rect", "blob"] + ([] if context == "large_field" else ["strip"]))))
            poly = plot_polygon(rng, (float(cv.u[c]), float(cv.v[r])), area, ang if rng.random() < 0.8 else ang + float(rng.uniform(-0.5, 0.5)), shape)
        if poly.is_empty or poly.area < 1.0 or poly.geom_type != "Polygon":
            continue
        if lay.valid is not None and not lay.valid.contains(poly):
            continue
        grown = poly.buffer(0.8, 4)
        if occupied is not None and len(occupied.query(grown, predicate="intersects")):
            continue
        if any(o.intersects(grown) for o in occ):
            continue
        if host >= 0:
            reg = cv.region(poly)
            if reg is None or np.mean(lay.label[reg.r, reg.c] == host) < 0.85:
                continue
        return poly, ang, host
    return None


def _random_point_in(poly: Any, rng: np.random.Generator) -> tuple[float, float] | None:
    x0, y0, x1, y1 = poly.bounds
    for _ in range(30):
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if poly.contains(p):
            return p.x, p.y
    return None


def _long_axis_angle(poly: Any) -> float:
    rect = poly.minimum_rotated_rectangle
    xy = np.asarray(rect.exterior.coords)
    if len(xy) < 3:
        return 0.0
    e1, e2 = xy[1] - xy[0], xy[2] - xy[1]
    e = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
    return math.atan2(e[1], e[0])


# ------------------------------------------------------------------------------------ layout

DRY_CROPS = {"tilled": 16, "fallow": 14, "maize_dry": 8, "maize_stubble": 10, "rice_stubble": 12, "veg": 14, "rapeseed": 8, "tea": 5, "grass": 4, "orchard": 4, "banana": 2, "lawn": 1}
WET_CROPS = {"maize": 28, "maize_young": 5, "rice_green": 12, "rice_flooded": 5, "rice_ripe": 4, "veg": 12, "tobacco": 8, "soybean": 4, "tea": 5, "fallow": 6, "tilled": 3, "orchard": 4,
             "banana": 3, "grass": 3}


def _jittered_cells(u: np.ndarray, v: np.ndarray, along: float, across: float, angle: float, seed: int) -> np.ndarray:
    """Index of the nearest jittered-grid point (a Voronoi partition with cells ~along x across m)."""
    ca, sa = math.cos(angle), math.sin(angle)
    a, b = u * ca + v * sa, -u * sa + v * ca
    ia, ib = np.floor(a / along).astype(np.int64), np.floor(b / across).astype(np.int64)
    best = np.full(a.shape, np.inf, np.float32)
    ids = np.zeros(a.shape, np.int64)
    for oi in (-1, 0, 1):
        for oj in (-1, 0, 1):
            ci, cj = ia + oi, ib + oj
            pa = (ci + 0.5 + 0.85 * (_hash(ci, cj, seed) - 0.5)) * along
            pb = (cj + 0.5 + 0.85 * (_hash(ci, cj, seed + 1) - 0.5)) * across
            d = ((a - pa) / along) ** 2 + ((b - pb) / across) ** 2
            upd = d < best
            best[upd] = d[upd]
            ids[upd] = (ci * 200003 + cj)[upd]
    return ids


def build_fields(cv: Canvas, rng: np.random.Generator, hilly: bool, satellite: bool, dry: bool, village: tuple[float, float, float] | None) -> Layout:
    """Terrain, terraces and the field partition, each field given a crop or cover and a row direction."""
    W, H = cv.extent
    slope = float(rng.uniform(0.06, 0.22)) if hilly else float(rng.uniform(0.0, 0.04))
    down = float(rng.uniform(0, 2 * math.pi))
    uu, vv = cv.u[None, :], cv.v[:, None]
    raw = slope * (uu * math.cos(down) + vv * math.sin(down)) + 0.04 * max(W, H) * (1 if hilly else 0.3) * cv.noise(max(W, H) * 0.6, 21)
    gy, gx = np.gradient(raw, cv.g)
    contour = math.atan2(math.cos(down), -math.sin(down))  # across the fall line
    if hilly:  # contour terraces over part of the hill
        step = float(rng.uniform(0.9, 2.2))
        t = raw / step + 0.15 * cv.noise(6.0, 22)
        zone = cv.noise(max(W, H) * 0.4, 27) > _quantile_of(float(rng.uniform(0.4, 0.95)))
        band = np.where(zone, np.floor(t), -1).astype(np.int64)
        grad = np.hypot(gx, gy) + 1e-3
        wr = np.clip(float(rng.uniform(0.5, 1.4)) * grad / step, 0.05, 0.6)
        frac = t - band
        surface = np.where(zone, step * (band + np.clip((frac - (1 - wr)) / wr, 0, 1)), raw)
        riser = zone & (frac > 1 - wr)
    else:
        band = np.zeros((cv.H, cv.W), np.int64)
        surface, riser = raw, np.zeros((cv.H, cv.W), bool)
    # fields: a warped jittered-grid partition, cut along the terraces
    spacing = float(rng.uniform(18, 45)) if satellite else float(rng.uniform(9, 28))
    q = max(1, int(round(0.12 / cv.g)))
    su, sv = cv.u[::q][None, :], cv.v[::q][:, None]
    warp = 0.25 * spacing
    wu = su + warp * cv.noise(spacing * 1.6, 23)[::q, ::q]
    wv = sv + warp * cv.noise(spacing * 1.6, 24)[::q, ::q]
    field_angle = contour if hilly else float(rng.uniform(0, math.pi))
    cells = _jittered_cells(wu, wv, spacing * float(rng.uniform(1.0, 2.0)), spacing, field_angle, int(rng.integers(1 << 30)))
    cells = np.repeat(np.repeat(cells, q, 0), q, 1)[: cv.H, : cv.W]
    # forest and bamboo: patches with ragged edges of their own, over the field partition
    forest_share = float(rng.uniform(0.15, 0.45)) if hilly else float(rng.uniform(0.0, 0.15))
    fz = cv.noise(max(W, H) * 0.5, 25) + 0.4 * cv.noise(max(W, H) * 0.1, 28) + 0.15 * cv.noise(6.0, 29)
    forest = fz > 1.1 * _quantile_of(forest_share)
    if village is not None:
        forest &= np.hypot(uu - village[0], vv - village[1]) * (1 + 0.25 * cv.noise(village[2] * 0.5, 30)) > village[2] * 1.4
    patches, n_patches = ndimage.label(forest)
    big = np.bincount(patches.ravel(), minlength=n_patches + 1) * cv.g**2 >= 30
    big[0] = False
    forest = big[patches]
    _, label = np.unique(np.where(forest, -patches - 1, cells * 4099 + (band - band.min())), return_inverse=True)
    label = label.reshape(cv.H, cv.W).astype(np.int32)
    n = int(label.max()) + 1
    count = np.bincount(label.ravel(), minlength=n)
    is_forest = np.bincount(label.ravel(), weights=forest.ravel(), minlength=n) > 0.5 * count
    cu = np.bincount(label.ravel(), weights=np.broadcast_to(uu, label.shape).ravel(), minlength=n) / np.maximum(count, 1)
    cvv = np.bincount(label.ravel(), weights=np.broadcast_to(vv, label.shape).ravel(), minlength=n) / np.maximum(count, 1)
    crops = DRY_CROPS if dry else WET_CROPS
    kinds = []
    for i in range(n):
        near = village is not None and math.hypot(cu[i] - village[0], cvv[i] - village[1]) < village[2] * 1.4
        if is_forest[i]:
            kinds.append("bamboo" if count[i] * cv.g**2 < 2000 and rng.random() < 0.2 else "forest")
        elif count[i] * cv.g**2 < 3:
            kinds.append("grass")
        else:
            w = dict(crops)
            if near:
                for k, f in (("veg", 3), ("banana", 4), ("lawn", 2), ("grass", 2)):
                    w[k] = w.get(k, 1) * f
                w["bamboo"] = 3
            if not hilly:
                w.pop("tea", None)
            names = list(w)
            p = np.array([w[k] for k in names], float)
            kinds.append(str(rng.choice(names, p=p / p.sum())))
    angles = np.where(hilly, contour, field_angle) + rng.normal(0, 0.25, n)
    return Layout(label, kinds, angles.astype(np.float32), surface.astype(np.float32), riser)


def paint_fields(cv: Canvas, lay: Layout, rng: np.random.Generator, dry: bool, seed: int) -> None:
    flat = lay.label.ravel()
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], np.arange(len(lay.kinds) + 1))
    for i, kind in enumerate(lay.kinds):
        idx = order[starts[i] : starts[i + 1]]
        if not len(idx):
            continue
        r, c = (idx // cv.W).astype(np.int32), (idx % cv.W).astype(np.int32)
        paint_field(cv, Region(r, c, cv.u[c], cv.v[r]), kind, np.random.default_rng([seed, 31, i]), float(lay.angles[i]), dry)
    # margins between fields (narrow bunds around paddies), terrace risers
    lab = lay.label
    edge = np.zeros(lab.shape, bool)
    edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    edge[1:, :] |= lab[1:, :] != lab[:-1, :]
    dist = ndimage.distance_transform_edt(~edge).astype(np.float32) * cv.g
    kinds = np.array(lay.kinds)
    canopy = np.isin(kinds, CANOPY_KINDS)[lab]
    rice = np.char.startswith(kinds, "rice")[lab]
    width = float(rng.uniform(0.3, 0.9)) * (1 + 0.4 * cv.noise(4.0, 26))
    margin = (dist < np.where(rice, 0.18, width / 2)) & ~canopy
    riser = (lay.riser if lay.riser is not None else np.zeros(lab.shape, bool)) & ~canopy
    for m, names in ((margin, ("grass_dry", "weeds") if dry else ("grass", "weeds")), (riser, ("grass_dry", "soil_red") if dry else ("weeds", "grass"))):
        rr, cc = np.nonzero(m)
        if not len(rr):
            continue
        reg = Region(rr.astype(np.int32), cc.astype(np.int32), cv.u[cc], cv.v[rr])
        col = ground_colour(cv, reg, names[0], 0.15, 1.0, 4, None, (names[1], 0.35, 0.7))
        cv.put(reg, col, CV["grass"])
        paint_stand(cv, reg, Plants(0.5, 0.5, 0.2, 0.4, 0.4, 1.0, 0.35, "ragged", 5), Look("weeds", "grass_dry", 0.4, 0.15, 0.5), 0.0, seed + 7, CV["grass"])


def flight_footprint(rng: np.random.Generator, extent: tuple[float, float]) -> Polygon | None:
    """The mosaic's valid area: the union of frame footprints along parallel flight lines."""
    W, H = extent
    frame = box(0, 0, W, H)
    for _ in range(10):
        head = float(rng.uniform(0, math.pi))
        fw, fh = float(rng.uniform(0.3, 0.5)) * max(W, H), float(rng.uniform(0.22, 0.4)) * max(W, H)
        lines = int(rng.integers(2, 5))
        ca, sa = math.cos(head), math.sin(head)
        cx, cy = W / 2 + float(rng.uniform(-0.1, 0.1)) * W, H / 2 + float(rng.uniform(-0.1, 0.1)) * H
        shots = []
        for li in range(lines):
            off = (li - (lines - 1) / 2) * fh * 0.7
            start, stop = float(rng.uniform(-0.9, -0.5)) * max(W, H), float(rng.uniform(0.5, 0.9)) * max(W, H)
            for s in np.arange(start, stop, fw * 0.4):
                x, y = cx + ca * s - sa * off, cy + sa * s + ca * off
                shots.append(_rect(x, y, fw, fh, head + float(rng.normal(0, 0.03))))
        valid = shapely.union_all(shots).intersection(frame)
        if 0.65 * W * H < valid.area < 0.97 * W * H and valid.geom_type == "Polygon":
            return valid
    return None


def build_scene(cv: Canvas, rng: np.random.Generator, satellite: bool, seed: int, footprint: Polygon | None) -> tuple[list[dict], list[dict], dict]:
    """Draw the whole scene on ``cv``; returns (targets, look-alikes, drawn parameters)."""
    W, H = cv.extent
    dry = rng.random() < 0.6
    hilly = rng.random() < 0.55
    has_village = satellite or rng.random() < 0.6
    village = (float(rng.uniform(0.2, 0.8)) * W, float(rng.uniform(0.2, 0.8)) * H, float(rng.uniform(20, 60)) if not satellite else float(rng.uniform(60, 150))) if has_village else None
    t0 = time.perf_counter()
    lay = build_fields(cv, rng, hilly, satellite, dry, village)
    lay.valid = footprint.buffer(-1.0) if footprint is not None else box(0.5, 0.5, W - 0.5, H - 0.5)
    paint_fields(cv, lay, rng, dry, seed)
    t_fields = time.perf_counter() - t0
    built: list[Any] = []
    hard: list[Any] = []
    # paths and roads
    n_paths = int(rng.integers(1, 4)) if not satellite else int(rng.integers(4, 10))
    for i in range(n_paths):
        paved = village is not None and (i == 0 or rng.random() < 0.2)
        width = float(rng.uniform(3.0, 5.5)) if paved else float(rng.uniform(0.7, 2.4))
        if paved and village is not None:  # a winding road through the village
            ang = float(rng.uniform(0, 2 * math.pi))
            back = wander(rng, (W, H), 0.0, float(rng.uniform(6, 15)), 0.12, start=village[:2], head=ang)
            ahead = wander(rng, (W, H), 0.0, float(rng.uniform(6, 15)), 0.12, start=village[:2], head=ang + math.pi)
            line = LineString(list(back.coords)[::-1] + list(ahead.coords)[1:])
        else:
            line = wander(rng, (W, H), float(lay.angles[0]), float(rng.uniform(4, 12)), 0.25)
        poly = paint_path(cv, line, width, rng, paved)
        lay.paths.append((line, width))
        built.append(poly)
        if paved:
            hard.append(poly)
    # village compounds and sheds (hard: what even a big plot does not cover)
    n_comp = 0
    if village is not None:
        n_comp = int(np.clip(rng.poisson(W * H / 900), 1, 10)) if not satellite else int(rng.integers(12, 45))
        v_angle = float(rng.uniform(0, math.pi))
        tree = shapely.STRtree(built)
        placed: list[Any] = []
        for _ in range(n_comp * 6):
            if len(placed) >= n_comp:
                break
            c = (village[0] + float(rng.normal(0, village[2] * 0.5)), village[1] + float(rng.normal(0, village[2] * 0.5)))
            ang = v_angle + float(rng.normal(0, 0.12))
            outline = _rect(c[0], c[1], 22, 20, ang)
            if not box(0, 0, W, H).buffer(5).contains(outline.centroid) or len(tree.query(outline.buffer(1.0), predicate="intersects")) or any(p.intersects(outline.buffer(1.5)) for p in placed):
                continue
            comp = compound(cv, c, ang, rng)
            placed.append(comp["outline"])
            lay.yards.append(comp["yard"])
            built.append(comp["built"])
            hard.append(comp["built"])
        n_comp = len(placed)
    for _ in range(int(rng.integers(0, 3 if not satellite else 15))):
        c = (float(rng.uniform(0, W)), float(rng.uniform(0, H)))
        shed = _rect(c[0], c[1], float(rng.uniform(3, 7)), float(rng.uniform(3, 5)), float(rng.uniform(0, math.pi)))
        if not any(b.intersects(shed) for b in built):
            paint_roof(cv, shed, float(rng.uniform(0, math.pi)), rng)
            built.append(shed)
            hard.append(shed)
    t_built = time.perf_counter() - t0 - t_fields
    # targets and look-alikes, planted the same ways
    built_tree = shapely.STRtree(built) if built else None
    hard_tree = shapely.STRtree(hard) if hard else None
    placed_plots: list[Any] = []
    targets, lookalikes = [], []
    prng = np.random.default_rng([seed, int(satellite), 3])  # plots: their own draws, so that scenery changes leave them be
    scale = min(1.0, W * H / (250_000 if satellite else 4000))  # fewer plots in a small scene
    n_poppy = max(1, round(float(prng.integers(6, 14) if satellite else prng.integers(3, 9)) * scale))
    n_cannabis = max(1, round(float(prng.integers(5, 12) if satellite else prng.integers(3, 8)) * scale))
    n_look = max(2, round(float(prng.integers(10, 22) if satellite else prng.integers(5, 11)) * scale))
    plan = [("poppy", i) for i in range(n_poppy)] + [("cannabis", i) for i in range(n_cannabis)] + [("lookalike", i) for i in range(n_look)]
    contexts = {
        "poppy": (("field", 35), ("whole_field", 10), ("maize_strip", 10), ("courtyard", 12), ("clearing", 18), ("under_trees", 12), ("path_side", 8)),
        "cannabis": (("field", 22), ("whole_field", 8), ("maize_strip", 20), ("courtyard", 20), ("clearing", 10), ("under_trees", 10), ("path_side", 15)),
        "lookalike": (("field", 35), ("whole_field", 10), ("maize_strip", 10), ("courtyard", 20), ("clearing", 10), ("under_trees", 5), ("path_side", 15)),
    }
    if satellite:  # plots seen from orbit are mostly whole fields or clearings
        contexts = {k: tuple((c, w * (5 if c == "whole_field" else 2 if c == "clearing" else 1)) for c, w in v) for k, v in contexts.items()}
    look_kinds = {
        "field": ("cabbage", "garlic", "mixed_veg", "flower_bed", "lawn", "rapeseed", "tobacco", "shrubs", "maize_young"),
        "whole_field": ("cabbage", "garlic", "mixed_veg", "rapeseed", "tobacco", "maize_young", "lawn"),
        "maize_strip": ("soybean", "cabbage", "tobacco", "maize_young"),
        "courtyard": ("flower_bed", "mixed_veg", "lawn", "chili_drying", "shrubs", "cabbage"),
        "clearing": ("maize_young", "shrubs", "mixed_veg", "rapeseed"),
        "under_trees": ("cabbage", "mixed_veg", "lawn", "shrubs"),
        "path_side": ("shrubs", "flower_bed", "tobacco", "cabbage"),
        "any": ("cabbage", "flower_bed", "shrubs", "lawn"),
        "large_field": ("cabbage", "rapeseed", "tobacco", "maize_young", "mixed_veg"),
    }
    under_trees: list[tuple[Polygon, float]] = []
    drawn = []
    for what, _ in plan:
        names, weights = zip(*contexts[what])
        w = np.array(weights, float)
        ctx = str(prng.choice(names, p=w / w.sum()))
        area = plot_area(prng, (W, H), satellite)
        if area > 400 and ctx in ("field", "whole_field", "under_trees", "maize_strip"):
            ctx = "large_field"  # a big plot spreads over what were several fields and their footpaths
        if ctx == "courtyard":
            area = min(area, float(prng.uniform(2, 60)))
        if ctx == "path_side":
            area = min(area, float(prng.uniform(4, 90)))
        drawn.append((what, ctx, area))
    for what, ctx, area in sorted(drawn, key=lambda d: -d[2]):  # the biggest first, while there is room
        got = place(cv, lay, prng, ctx, area, hard_tree if ctx == "large_field" else built_tree, placed_plots)
        for fallback in ("field", "any", "courtyard"):  # a small scene may be all road and houses
            if got is None:
                ctx = fallback
                got = place(cv, lay, prng, ctx, area if fallback == "field" else min(area, 120.0), hard_tree if fallback == "any" else built_tree, placed_plots)
        if got is None:
            log.debug("no room for a %s plot of %.0f m2", what, area)
            continue
        poly, ang, host = got
        reg = cv.region(poly)
        if reg is None:
            continue
        if ctx == "clearing":  # a cleared, burnt ring around the plot in the forest
            ring = poly.buffer(float(prng.uniform(1.0, 4.0))).difference(poly)
            rreg = cv.region(ring)
            if rreg is not None:
                col = ground_colour(cv, rreg, str(prng.choice(["soil_red", "soil_dry", "grass_dry"])), 0.15, 0.8, 5, None, ("soil_wet", 0.25, 0.6))
                cv.put(rreg, col, CV["soil"])
            lay.label[cv.mask(poly.buffer(4.0))] = -1  # no forest crowns centred here
        if what == "poppy":
            stage = str(prng.choice(["rosette", "leafy", "flowering", "capsule"], p=[0.2, 0.3, 0.35, 0.15]))
            paint_poppy(cv, reg, stage, prng, ang)
        elif what == "cannabis":
            stage = str(prng.choice(["young", "tall"], p=[0.3, 0.7]))
            paint_cannabis(cv, reg, stage, prng, ang)
        else:
            stage = str(prng.choice(look_kinds[ctx]))
            paint_lookalike(cv, reg, stage, prng, ang, dry)
        cv.protect[reg.r, reg.c] = True
        placed_plots.append(poly)
        rec = {"geometry": poly, "stage": stage, "context": ctx, "area_m2": round(poly.area, 2)}
        (targets.append({"class": what, **rec}) if what != "lookalike" else lookalikes.append({"kind": stage, **rec}))
        if ctx == "under_trees":
            under_trees.append((poly, float(prng.uniform(1.8, 4.0))))
    if not targets:
        log.warning("no room for any target plot in a scene %.0f x %.0f m", W, H)
    t_plots = time.perf_counter() - t0 - t_fields - t_built
    # canopies: forest, orchards, banana groves and bamboo, crowns spilling over their edges
    kinds = np.array(lay.kinds)
    for kind in CANOPY_KINDS:
        ids = np.nonzero(kinds == kind)[0]
        if not len(ids):
            continue
        centre_in = np.isin(lay.label, ids)
        p, look = canopy_plants(kind, rng)
        near = ndimage.distance_transform_edt(~centre_in) * cv.g < p.radius * (1 + p.radius_var)
        rr, cc = np.nonzero(near)
        reg = Region(rr.astype(np.int32), cc.astype(np.int32), cv.u[cc], cv.v[rr])
        code = CV["forest"] if kind == "forest" else CV[kind]
        paint_stand(cv, reg, p, look, float(rng.uniform(0, math.pi)), int(rng.integers(1 << 30)), code, centre_in=centre_in, zbuffer=True)
    # single trees, banana clumps, bamboo and shrubs along margins, paths and houses; hedges
    plots_tree = shapely.STRtree(placed_plots) if placed_plots else None
    n_trees = int(W * H / (250 if not satellite else 1200))
    spots = [(float(rng.uniform(0, W)), float(rng.uniform(0, H))) for _ in range(n_trees)]
    for b in built[n_paths:]:
        for _ in range(int(rng.integers(0, 4))):
            pt = b.buffer(float(rng.uniform(1.5, 5))).exterior.interpolate(float(rng.uniform(0, 1)), normalized=True) if b.geom_type == "Polygon" else None
            if pt is not None:
                spots.append((pt.x, pt.y))
    for u, v in spots:
        trng = np.random.default_rng(int(rng.integers(1 << 30)))  # each tree its own draws: a skipped one shifts none
        kind = str(trng.choice(["broadleaf", "fruit", "banana", "bamboo", "shrub", "conifer"], p=[0.35, 0.2, 0.2, 0.05, 0.15, 0.05]))
        radius = {"broadleaf": (1.5, 4.5), "fruit": (1.2, 2.5), "banana": (1.3, 2.3), "bamboo": (2.0, 4.0), "shrub": (0.5, 1.3), "conifer": (1.2, 2.5)}[kind]
        height = {"broadleaf": (5, 14), "fruit": (3, 6), "banana": (3, 4.5), "bamboo": (7, 13), "shrub": (1.0, 2.2), "conifer": (6, 14)}[kind]
        radius, height = trng.uniform(*radius), trng.uniform(*height)
        crown = Point(u, v).buffer(float(radius) * 1.1)
        if plots_tree is not None and len(plots_tree.query(crown, predicate="intersects")):
            continue
        if built_tree is not None and len(built_tree.query(Point(u, v), predicate="intersects")):
            continue
        shape = "leaves" if kind == "banana" else "ragged"
        paint_tree(cv, u, v, float(radius), float(height), TREE_LOOKS[kind], trng, shape, 8 if kind == "banana" else 5, 1.4)
    for line, width in lay.paths[: int(rng.integers(0, 3))]:  # hedges along some paths
        off = width / 2 + 0.6
        side = LineString(line.offset_curve(off if rng.random() < 0.5 else -off).coords)
        r = float(rng.uniform(0.45, 0.7))
        for s in np.arange(0, side.length, r * 1.2):
            pt = side.interpolate(s)
            trng = np.random.default_rng(int(rng.integers(1 << 30)))
            if plots_tree is not None and len(plots_tree.query(pt.buffer(r), predicate="intersects")):
                continue
            paint_tree(cv, pt.x, pt.y, r, float(trng.uniform(1.2, 1.8)), TREE_LOOKS["shrub"], trng)
    for poly, radius in under_trees:  # a crown over part of the plot
        b = poly.exterior.interpolate(float(prng.uniform(0, 1)), normalized=True)
        c = poly.centroid
        d = math.hypot(b.x - c.x, b.y - c.y) + 1e-6
        out = radius * float(prng.uniform(0.3, 0.7))
        paint_tree(cv, b.x + (b.x - c.x) / d * out, b.y + (b.y - c.y) / d * out, radius, float(prng.uniform(5, 10)), TREE_LOOKS[str(prng.choice(["broadleaf", "fruit"]))], prng, override=True)
    t_trees = time.perf_counter() - t0 - t_fields - t_built - t_plots
    params = {
        "season": "dry" if dry else "wet", "terrain": "hilly" if hilly else "valley", "village": village is not None, "compounds": n_comp,
        "fields": len(lay.kinds), "timings_s": {"fields": round(t_fields, 2), "built": round(t_built, 2), "plots": round(t_plots, 2), "trees": round(t_trees, 2)},
    }
    cv.surface = lay.surface
    return targets, lookalikes, params


# ------------------------------------------------------------------------------ light and sensors


def _shifted(a: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """``a`` read at (row + dr, col + dc); -inf beyond the edge."""
    out = np.full_like(a, -np.inf)
    H, W = a.shape
    rs, re = max(0, -dr), min(H, H - dr)
    cs, ce = max(0, -dc), min(W, W - dc)
    if rs < re and cs < ce:
        out[rs:re, cs:ce] = a[rs + dr : re + dr, cs + dc : ce + dc]
    return out


def cast_shadows(height: np.ndarray, gsd: float, sun: Sun) -> np.ndarray:
    """Share of direct sun blocked at each pixel, by everything between it and the sun.

    The horizon towards the sun, max over j of (height at j steps sunwards - j * drop), is built
    by doubling: the max over 2n steps from two maxima over n steps (log2 of the longest shadow
    in passes over the raster instead of one pass per pixel of it).
    """
    su, sv, sz = sun.vector
    horiz = math.hypot(su, sv)
    if horiz < 1e-3:
        return np.zeros_like(height)
    du, dv = su / horiz, sv / horiz
    drop = gsd * sz / horiz
    best = _shifted(height, round(dv), round(du)) - drop
    span = float(height.max() - height.min()) / drop
    n = 1
    while n < min(span, 8192):
        best = np.maximum(best, _shifted(best, round(n * dv), round(n * du)) - n * drop)
        n *= 2
    blocked = np.clip((best - height - 0.03) / 0.12, 0, 1).astype(np.float32)
    return ndimage.gaussian_filter(blocked, max(0.6, 0.04 / gsd))


@dataclass(frozen=True)
class Light:
    sun: Sun
    direct: float  # share of light from the sun's disc on flat open ground (rest: sky)
    haze: float  # 0 clear .. ~0.4 burning-season smoke


def irradiance(cv: Canvas, light: Light) -> np.ndarray:
    """Light on each pixel per band, 1 on flat sunlit open ground: sun (terrain, object, shadow) plus sky."""
    surface = cv.surface
    gy, gx = np.gradient(surface, cv.g)
    terrain = lambert(light.sun, -gx.astype(np.float32), -gy.astype(np.float32), np.ones_like(surface))
    shadow = cast_shadows(surface + cv.z, cv.g, light.sun)
    around = ndimage.gaussian_filter(cv.z, max(1.0, 0.6 / cv.g))
    ao = np.clip(1 - 0.12 * (around - cv.z), 0.45, 1.0)
    sun_col = np.array([0.93, 1.0, 1.04, 1.06], np.float32)
    sky_col = np.array([1.35, 1.08, 0.9, 0.8], np.float32)
    direct = light.direct * terrain * cv.shade * (1 - shadow)
    return (direct[None] * sun_col[:, None, None] + ((1 - light.direct) * ao)[None] * sky_col[:, None, None]).astype(np.float32)


def drone_camera(cv: Canvas, light: Light, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Radiance -> an RGB uint8 orthomosaic as a consumer drone and a mosaicking program make it."""
    E = irradiance(cv, light)
    rad = cv.refl[[2, 1, 0]] * E[[2, 1, 0]]
    air = np.array([0.20, 0.21, 0.23], np.float32)[:, None, None]
    t = 1 - light.haze
    rad = rad * t + air * (1 - t) * (1 + 0.15 * cv.noise(max(cv.extent) / 2, 31))[None]
    wb = np.array([rng.uniform(0.85, 1.15), 1.0, rng.uniform(0.85, 1.15)], np.float32)
    exposure = float(rng.uniform(1.5, 2.4)) * (1.0 if light.direct > 0.5 else float(rng.uniform(1.2, 1.6)))
    drift = 1 + 0.05 * cv.noise(max(cv.extent) / 3, 32) + 0.02 * cv.noise(max(cv.extent) / 8, 33)
    x = rad * (wb * exposure)[:, None, None] * drift[None]
    y = np.clip(x, 0, None) ** (1 / 2.2)
    y = np.where(y > 0.8, 0.8 + 0.2 * np.tanh((y - 0.8) / 0.2), y)
    lum = y.mean(0, keepdims=True)
    sat = float(rng.uniform(0.8, 1.35))
    y = lum + sat * (y - lum)
    sigma = float(rng.uniform(0.3, 1.2))
    motion = rng.random() < 0.15
    for i in range(3):
        y[i] = ndimage.gaussian_filter(y[i], sigma)
        if motion:
            y[i] = ndimage.uniform_filter1d(y[i], int(rng.integers(2, 4)) if i == 0 else 3, axis=int(rng.integers(2)) if i == 0 else 0)
    noise = float(rng.uniform(0.003, 0.015))
    y = y + rng.standard_normal(y.shape, np.float32) * noise * np.sqrt(np.clip(y, 0.02, 1))
    img = np.clip(y * 255 + 0.5, 0, 255).astype(np.uint8)
    quality = int(rng.integers(50, 96)) if rng.random() < 0.8 else None
    if quality is not None:
        buf = io.BytesIO()
        Image.fromarray(np.moveaxis(img, 0, -1)).save(buf, "JPEG", quality=quality)
        img = np.moveaxis(np.asarray(Image.open(buf).convert("RGB")), -1, 0).copy()
    return img, {"white_balance": [round(float(v), 3) for v in wb], "exposure": round(exposure, 3), "saturation": round(sat, 3), "blur_px": round(sigma, 2), "motion_blur": motion,
                 "noise": round(noise, 4), "jpeg_quality": quality}


def satellite_sensor(cv: Canvas, light: Light, rng: np.random.Generator, factor: int) -> tuple[np.ndarray, dict]:
    """Radiance -> 4-band top-of-atmosphere-like reflectance x 10,000 (uint16), ``factor`` x coarser."""
    E = irradiance(cv, light)
    T = np.array([0.86, 0.9, 0.93, 0.96], np.float32) * (1 - 0.6 * light.haze)
    path = np.array([0.045, 0.03, 0.018, 0.01], np.float32) * (1 + 4 * light.haze)
    toa = cv.refl * E * T[:, None, None] + path[:, None, None]
    H, W = cv.H // factor, cv.W // factor
    toa = toa[:, : H * factor, : W * factor].reshape(4, H, factor, W, factor).mean((2, 4))
    gain = rng.uniform(0.96, 1.04, 4).astype(np.float32)
    mtf = float(rng.uniform(0.4, 0.8))
    noise = float(rng.uniform(0.002, 0.005))
    out = np.empty((4, H, W), np.uint16)
    for i in range(4):
        b = ndimage.gaussian_filter(toa[i], mtf) * gain[i] + rng.standard_normal((H, W), np.float32) * noise
        out[i] = np.clip(np.round(b * 10000), 1, 10000).astype(np.uint16)
    return out, {"band_gain": [round(float(v), 3) for v in gain], "mtf_px": round(mtf, 2), "noise": noise, "path_radiance": [round(float(v), 4) for v in path]}


# ------------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Scene:
    folder: Path
    image_path: Path
    truth_path: Path
    landcover_path: Path
    n_plots: dict[str, int]
    params: dict[str, Any]


REGIONS = (  # (name, EPSG, easting range, northing range): UTM 47N / 48N
    ("northern Myanmar (Kachin/Shan)", 32647, (250_000, 700_000), (2_350_000, 2_800_000)),
    ("western Yunnan (Lincang/Baoshan)", 32647, (600_000, 800_000), (2_500_000, 2_800_000)),
    ("southern Yunnan / northern Laos", 32648, (200_000, 450_000), (2_250_000, 2_500_000)),
    ("northern Laos (Phongsaly/Oudomxay)", 32648, (200_000, 400_000), (2_300_000, 2_450_000)),
)


def _crs_and_origin(rng: np.random.Generator) -> tuple[str, str, float, float]:
    name, epsg, (e0, e1), (n0, n1) = REGIONS[int(rng.integers(len(REGIONS)))]
    return name, f"EPSG:{epsg}", float(round(rng.uniform(e0, e1), 1)), float(round(rng.uniform(n0, n1), 1))


def _write_image(path: Path, data: np.ndarray, transform: Affine, crs: str, descriptions: Sequence[str], alpha: np.ndarray | None) -> None:
    count = data.shape[0] + (alpha is not None)
    extra = {"photometric": "RGB", "alpha": "YES"} if alpha is not None else {}
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=count, dtype=data.dtype, crs=crs, transform=transform, tiled=True, blockxsize=256,
                       blockysize=256, compress="deflate", predictor=2, **extra) as dst:
        dst.write(data, list(range(1, data.shape[0] + 1)))
        if alpha is not None:
            dst.write(alpha, count)
        dst.descriptions = tuple(descriptions) + (("alpha",) if alpha is not None else ())
        dst.update_tags(SCOUT_PURPOSE="evaluation only: an independent scene (scripts/independent_scenes.py); never train on it")
        if data.shape[0] == 3:
            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue] + ([ColorInterp.alpha] if alpha is not None else [])


def make_scene(out_dir: str | os.PathLike, seed: int, kind: str = "drone", size_px: int | None = None, gsd_m: float | None = None, boundary: bool | None = None, quicklook: bool = False) -> Scene:
    """Make scene ``seed`` of ``kind`` (drone | satellite) in ``out_dir/{kind}-{seed:04d}/``, written whole or not at all."""
    if kind not in ("drone", "satellite"):
        raise ValueError(f"kind must be drone or satellite, not {kind!r}")
    t0, cpu0 = time.perf_counter(), time.process_time()
    satellite = kind == "satellite"
    rng = np.random.default_rng([seed, 1 if satellite else 0, 20261207])
    region, crs, x0, y0 = _crs_and_origin(rng)
    # every draw is made whatever the options, so that an option changes only what it sets
    gsd = float(rng.uniform(0.5, 1.0) if satellite else rng.uniform(0.03, 0.10))
    W, H = (1024, 1024) if satellite else (int(rng.integers(1024, 2049)), int(rng.integers(1024, 2049)))
    gsd = gsd_m or gsd
    W, H = (size_px, size_px) if size_px else (W, H)
    factor = 2 if satellite else 1
    overcast = rng.random() < 0.25
    sun = Sun(float(rng.uniform(90, 270) if rng.random() < 0.9 else rng.uniform(0, 360)), float(rng.uniform(30, 72)))
    light = Light(sun, float(rng.uniform(0.1, 0.3)) if overcast else float(rng.uniform(0.65, 0.85)), float(rng.choice([0.0, rng.uniform(0.02, 0.15), rng.uniform(0.15, 0.4)], p=[0.4, 0.4, 0.2])))
    cv = Canvas(H * factor, W * factor, gsd / factor, sun, int(rng.integers(1 << 30)))
    edge = (rng.random() < 0.5) if boundary is None else boundary
    footprint = flight_footprint(rng, cv.extent) if edge and not satellite else None
    targets, lookalikes, params = build_scene(cv, np.random.default_rng([seed, int(satellite), 1]), satellite, seed, footprint)
    camera = np.random.default_rng([seed, int(satellite), 2])  # light, scenery, plots and camera draw apart
    t_draw = time.perf_counter() - t0
    if satellite:
        img, sensor = satellite_sensor(cv, light, camera, factor)
        alpha = None
    else:
        img, sensor = drone_camera(cv, light, camera)
        alpha = None
        if footprint is not None:
            alpha = (cv.mask(footprint) * 255).astype(np.uint8)
            img[:, alpha == 0] = 0
    transform = Affine(gsd, 0, x0, 0, -gsd, y0)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folder = out_dir / f"{kind}-{seed:04d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=out_dir))
    try:
        _write_image(tmp / "image.tif", img, transform, crs, ("red", "green", "blue") if not satellite else BANDS, alpha)
        cover = cv.cover[::factor, ::factor][:H, :W].copy()
        if alpha is not None:
            cover[alpha == 0] = 0
        with rasterio.open(tmp / "landcover.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8", crs=crs, transform=transform, compress="deflate", tiled=True, nodata=0) as dst:
            dst.write(cover, 1)
        to_crs = [1, 0, 0, -1, x0, y0]  # local metres (v south) -> map coordinates
        for layer, rows, cols in (("truth", targets, ["class", "stage", "context", "area_m2"]), ("lookalikes", lookalikes, ["kind", "context", "area_m2"])):
            gdf = gpd.GeoDataFrame({c: [r[c] for r in rows] for c in cols}, geometry=[affinity.affine_transform(r["geometry"], to_crs) for r in rows], crs=crs)
            gdf.to_file(tmp / "truth.gpkg", layer=layer, driver="GPKG", engine="pyogrio")
        n_plots = {c: sum(t["class"] == c for t in targets) for c in ("poppy", "cannabis")}
        meta = {
            "generator": "scripts/independent_scenes.py", "generator_version": GENERATOR_VERSION, "purpose": "evaluation only: never train on these scenes",
            "seed": seed, "kind": kind, "region": region, "crs": crs, "origin": [x0, y0], "gsd_m": gsd, "size_px": [W, H],
            "sun": {"azimuth_deg": round(sun.azimuth_deg, 1), "elevation_deg": round(sun.elevation_deg, 1)}, "overcast": overcast,
            "direct_light": round(light.direct, 3), "haze": round(light.haze, 3), "flight_edge": footprint is not None,
            "targets": n_plots, "lookalikes": len(lookalikes), **params, "sensor": sensor, "landcover_codes": dict(enumerate(COVER)),
            "seconds": round(time.perf_counter() - t0, 2), "cpu_seconds": round(time.process_time() - cpu0, 2), "draw_seconds": round(t_draw, 2),
        }
        (tmp / "scene.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if quicklook:
            rgb = img[:3] if not satellite else np.clip(img[[2, 1, 0]] / 2000 * 255, 0, 255).astype(np.uint8)
            Image.fromarray(np.moveaxis(rgb, 0, -1)).save(tmp / "quicklook.png")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("%s: %d poppy, %d cannabis, %d look-alikes, %.3f m, %dx%d px, %.1f s (%.1f s CPU)", folder, n_plots["poppy"], n_plots["cannabis"], len(lookalikes), gsd, W, H,
             time.perf_counter() - t0, time.process_time() - cpu0)
    return Scene(folder, folder / "image.tif", folder / "truth.gpkg", folder / "landcover.tif", n_plots, meta)


def cached_scene(out_dir: str | os.PathLike, seed: int, kind: str, **kw: Any) -> Scene:
    """The scene from ``out_dir`` when it was made by this generator version, else made now."""
    folder = Path(out_dir) / f"{kind}-{seed:04d}"
    try:
        meta = json.loads((folder / "scene.json").read_text(encoding="utf-8"))
        if meta.get("generator_version") == GENERATOR_VERSION and all((folder / f).exists() for f in ("image.tif", "truth.gpkg", "landcover.tif")) and not kw:
            return Scene(folder, folder / "image.tif", folder / "truth.gpkg", folder / "landcover.tif", meta["targets"], meta)
    except (OSError, ValueError, KeyError):
        pass
    return make_scene(out_dir, seed, kind, **kw)


def parse_seeds(text: str) -> list[int]:
    """``0-19`` or ``3,5,9`` or ``0-4,10``."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part[1:]:
            a, b = part.split("-", 1) if not part.startswith("-") else (part, "")
            seeds.extend(range(int(a), int(b) + 1))
        elif part:
            seeds.append(int(part))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}")
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Evaluation only: never train on these scenes.")
    ap.add_argument("out", type=Path, help="folder for the scene folders")
    ap.add_argument("--kind", choices=["drone", "satellite"], default="drone")
    ap.add_argument("--seeds", default="0-19", help="e.g. 0-19 or 3,5,9 (default 0-19)")
    ap.add_argument("--size", type=int, help="width and height in pixels (default: drone 1024-2048 drawn per scene, satellite 1024)")
    ap.add_argument("--gsd", type=float, help="metres per pixel (default: drone 0.03-0.10, satellite 0.5-1.0, drawn per scene)")
    ap.add_argument("--edge", choices=["random", "yes", "no"], default="random", help="drone: an alpha band outside the flight's footprint")
    ap.add_argument("--quicklook", action="store_true", help="also write quicklook.png")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        print(f"independent_scenes: {exc}", file=sys.stderr)
        return 2
    for s in seeds:
        make_scene(args.out, s, args.kind, args.size, args.gsd, {"random": None, "yes": True, "no": False}[args.edge], args.quicklook)
    return 0


if __name__ == "__main__":
    sys.exit(main())
