"""Plant-by-plant rendering family: targets and look-alikes drawn one plant, leaf and petal at a time.

The other family (:mod:`scout.synth.render`) paints fields as noise-field textures; a model
trained on one family alone learns its fingerprint.  This one builds every object from
metric primitives (oriented ellipses: leaves, leaflets, petals, capsules, foliage clumps,
needle tufts, shadows) placed plant by plant (rows, broadcast stands, clumps, crowns), shaded
by one sun (sun-side tilt, dome self-shading, darker lower leaves, plant shadows on the plot's
soil), and rasterised by area coverage, so a sprite at 0.5 m is the area average of the same
object at 5 cm rather than an aliased bitmap.

Everything random is drawn in metres before any pixel exists, so one ``rng`` state gives the
same object at every GSD; textures are hashed from metric coordinates with seeds drawn from
that stream.
Objects are rasterised at ``gsd_m`` / k (k = ceil(gsd_m / 5 cm)) and box-averaged k x k.

Reflectance is surface reflectance in bands blue, green, red, NIR (0-1), from typical
spectra: green leaves (low blue and red, green peak, NIR 0.3-0.55), soils (rising from blue
to NIR, NDVI 0.1-0.2), petals by colour (white high everywhere, red low blue/green, all high
NIR).  Light and colour of the canvas are matched later by :mod:`scout.synth.plant`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from rasterio import features
from scipy import ndimage
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from scout.errors import InputError
from scout.synth.sprite import TARGETS, Sprite

FINE_M = 0.05  # coarsest pixel the primitives are rasterised at (metres); coarser GSDs box-average
_TWO_PI = 2 * math.pi


# --------------------------------------------------------------------------------------------
# Raster engine: a metric frame, a premultiplied canvas, anti-aliased ellipses by area
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Pixel grid of a sprite: ``gsd_m`` output pixels, rasterised at ``px_m`` = gsd_m / k."""

    gsd_m: float
    k: int
    out_shape: tuple[int, int]
    origin: tuple[float, float]  # object coordinates (metres) of the grid's top-left corner

    @classmethod
    def around(cls, bounds: tuple[float, float, float, float], gsd_m: float, margin_m: float) -> _Frame:
        minx, miny, maxx, maxy = bounds
        m = max(margin_m, 2 * gsd_m)
        k = max(1, math.ceil(gsd_m / FINE_M - 1e-9))
        # pixel edges on multiples of the GSD in object metres: grids of GSDs that divide
        # each other line up, so a coarse pixel is exactly a block of fine ones
        ox, oy = math.floor((minx - m) / gsd_m) * gsd_m, math.floor((miny - m) / gsd_m) * gsd_m
        shape = (max(1, math.ceil((maxy + m - oy) / gsd_m - 1e-9)), max(1, math.ceil((maxx + m - ox) / gsd_m - 1e-9)))
        return cls(gsd_m, k, shape, (ox, oy))

    @property
    def px_m(self) -> float:
        return self.gsd_m / self.k

    @property
    def shape(self) -> tuple[int, int]:
        return self.out_shape[0] * self.k, self.out_shape[1] * self.k

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Object coordinates (metres) of the work pixels' centres: x (1, W) and y (H, 1)."""
        h, w = self.shape
        x = self.origin[0] + (np.arange(w, dtype=np.float32) + 0.5) * self.px_m
        y = self.origin[1] + (np.arange(h, dtype=np.float32) + 0.5) * self.px_m
        return x[None, :], y[:, None]

    def rasterize(self, geom: BaseGeometry) -> np.ndarray:
        """Work-resolution mask of ``geom`` (pixel centres inside)."""
        t = Affine(self.px_m, 0, self.origin[0], 0, self.px_m, self.origin[1])
        if geom.is_empty:
            return np.zeros(self.shape, bool)
        return features.rasterize([(geom, 1)], out_shape=self.shape, transform=t, dtype="uint8").astype(bool)

    def down(self, a: np.ndarray) -> np.ndarray:
        """Box-average the last two axes by k (work pixels to output pixels)."""
        if self.k == 1:
            return a
        h, w = self.out_shape
        return a.reshape(*a.shape[:-2], h, self.k, w, self.k).mean(axis=(-3, -1))


_SPANS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 1024, 1280, 1536, 2048, 3072, 4096, 6144, 8192)
_CHUNK = 1 << 20  # samples per batch of ellipses (bounds memory at ~100 MB)
_FULL = 1 - 1e-4  # a mark covering a whole pixel, for log(1 - coverage)
_Z_WEIGHT = 6.0  # within a round, the top mark outweighs the bottom one e^6 = 400 times


class _Canvas:
    """Premultiplied reflectance (4, H, W) and coverage (H, W) at work resolution.

    Marks are composited in *rounds*: within a round, overlapping marks average by coverage;
    rounds go over each other in order (lower leaves, then upper leaves, then flowers).  Each
    mark's coverage is rescaled to its exact area, so totals (and so coarse-pixel averages) do
    not depend on the pixel size."""

    def __init__(self, frame: _Frame, sun: _Sun) -> None:
        self.frame, self.sun = frame, sun
        h, w = frame.shape
        self.p = np.zeros((4, h, w), np.float32)
        self.a = np.zeros((h, w), np.float32)

    def ground(self, refl: np.ndarray, alpha: np.ndarray) -> None:
        self.p = (refl * alpha).astype(np.float32)
        self.a = alpha.astype(np.float32)

    # -- marks ---------------------------------------------------------------------------
    def draw(
        self,
        x: np.ndarray,
        y: np.ndarray,
        a: np.ndarray | float,
        b: np.ndarray | float,
        ang: np.ndarray | float,
        col: np.ndarray,
        *,
        z: np.ndarray | None = None,
        rounds: int = 1,
        tilt: np.ndarray | float = 0.0,
        dome: np.ndarray | float = 0.0,
        soft_m: float = 0.0,
    ) -> None:
        """Ellipses centred (x, y) (object metres), semi-axes a along ``ang`` and b across
        (metres), reflectance ``col`` (N, 4) or (4,).  ``tilt``: brightening towards the sun
        across the mark (fraction at its rim); ``dome``: darkening from centre to rim
        (self-shadow of a rounded mark); ``soft_m``: width of the rim's ramp (metres; at
        least a pixel).  ``z`` orders the marks into ``rounds``."""
        x = np.asarray(x, np.float64).ravel()
        n = x.size
        if n == 0:
            return
        y = np.broadcast_to(np.asarray(y, np.float64).ravel(), (n,))
        a, b, ang = (np.broadcast_to(np.asarray(v, np.float64).ravel(), (n,)) for v in (a, b, ang))
        if z is not None:
            z = np.broadcast_to(np.asarray(z, np.float64).ravel(), (n,))
        col = np.broadcast_to(np.asarray(col, np.float32).reshape(-1, 4), (n, 4))
        tilt, dome = (np.broadcast_to(np.asarray(v, np.float32).ravel(), (n,)) for v in (tilt, dome))
        soft = max(1.0, soft_m / self.frame.px_m)
        order = np.argsort(z, kind="stable") if z is not None else np.arange(n)
        for part in np.array_split(order, min(rounds, n)):
            # within a round, higher marks weigh more where marks overlap (weighted blended
            # order-independent transparency): the top leaf shows, not a blur of all of them
            w = None
            if z is not None and part.size > 1 and np.ptp(z[part]) > 0:
                zp = z[part]
                w = np.exp(_Z_WEIGHT * (zp - zp.max()) / np.ptp(zp)).astype(np.float32)
            acc, sums, box = self._accumulate(x[part], y[part], a[part], b[part], ang[part], col[part], tilt[part], dome[part], soft, weight=w)
            if acc is None:
                continue
            (r0, r1), (c0, c1) = box
            # marks in a pixel cover their union: 1 - prod(1 - a), exact where a pixel is all
            # in or all out of each mark, and the expected union where they fall at random
            cover = 1 - np.exp(acc[2])
            colour = sums[:4] / np.maximum(acc[0], 1e-12)  # by area where they lie side by side
            if w is not None:  # and where they overlap (coverage adds past the union), the top one shows
                over = np.clip((acc[0] - cover) / np.maximum(cover, 1e-6), 0, 1)
                colour = colour * (1 - over) + sums[4:] / np.maximum(acc[1], 1e-12) * over
            self.p[:, r0:r1, c0:c1] = self.p[:, r0:r1, c0:c1] * (1 - cover) + colour * cover
            self.a[r0:r1, c0:c1] = self.a[r0:r1, c0:c1] * (1 - cover) + cover

    def shade(self, x: np.ndarray, y: np.ndarray, a: np.ndarray | float, b: np.ndarray | float, ang: np.ndarray | float, strength: float, soft_m: float) -> None:
        """Darken what is drawn so far under soft ellipses (shadows on the plot's own ground);
        blue darkens least (shade is lit by the blue sky)."""
        x = np.asarray(x, np.float64).ravel()
        n = x.size
        if n == 0:
            return
        y, a, b, ang = (np.broadcast_to(np.asarray(v, np.float64).ravel(), (n,)) for v in (y, a, b, ang))
        one = np.ones((n, 4), np.float32)
        zero = np.zeros(n, np.float32)
        acc, _, box = self._accumulate(x, y, a, b, ang, one, zero, zero, max(1.0, soft_m / self.frame.px_m), want_sums=False)
        if acc is None:
            return
        (r0, r1), (c0, c1) = box
        occl = (1 - np.exp(acc[2])) * strength
        tint = np.array([0.75, 1.0, 1.0, 0.9], np.float32)[:, None, None]
        self.p[:, r0:r1, c0:c1] *= 1 - occl[None] * tint

    def _accumulate(self, x, y, a, b, ang, col, tilt, dome, soft, want_sums=True, weight=None):
        """Coverage and shaded reflectance of marks, summed per pixel over the marks' bounding
        box: (acc, sums, ((r0, r1), (c0, c1))).  acc (3, h, w): coverage, coverage times
        ``weight``, log(1 - coverage); sums (4 or 8, h, w): coverage times reflectance, then
        (with ``weight``) times the weight too."""
        f = self.frame
        H, W = f.shape
        s = 1.0 / f.px_m
        ox, oy = f.origin
        px, py = (x - ox) * s, (y - oy) * s  # continuous pixel coordinates (centres at i + 0.5)
        pa, pb = np.maximum(a * s, 1e-3), np.maximum(b * s, 1e-3)
        cs, sn = np.abs(np.cos(ang)), np.abs(np.sin(ang))
        edge = soft / 2  # coverage is zero a half ramp outside the rim
        ex = np.sqrt((pa * cs) ** 2 + (pb * sn) ** 2) + edge  # half extents of the rotated ellipse
        ey = np.sqrt((pa * sn) ** 2 + (pb * cs) ** 2) + edge
        seen = (px + ex > 0) & (px - ex < W) & (py + ey > 0) & (py - ey < H)
        if not seen.any():
            return None, None, None
        if not seen.all():
            px, py, pa, pb, ang, ex, ey, col, tilt, dome = (v[seen] for v in (px, py, pa, pb, ang, ex, ey, col, tilt, dome))
            weight = None if weight is None else weight[seen]
        r0 = int(max(0, math.floor((py - ey).min())))
        r1 = int(min(H, math.ceil((py + ey).max()) + 1))
        c0 = int(max(0, math.floor((px - ex).min())))
        c1 = int(min(W, math.ceil((px + ex).max()) + 1))
        if r1 <= r0 or c1 <= c0:
            return None, None, None
        bh, bw = r1 - r0, c1 - c0
        tiny = np.maximum(pa, pb) < 0.5
        # each mark is sampled over the pixel centres within its extents (windows rounded up to
        # one of _SPANS per axis, batched by size)
        x0 = np.floor(px - ex + 0.5).astype(np.int64)  # first pixel whose centre is inside the extents
        y0 = np.floor(py - ey + 0.5).astype(np.int64)
        wx = np.searchsorted(_SPANS, np.floor(px + ex - 0.5) - x0 + 1)
        wy = np.searchsorted(_SPANS, np.floor(py + ey - 0.5) - y0 + 1)
        pad = _SPANS[int(max(wx.max(), wy.max()))] + 2  # a window reaches its span past the box at most
        fw = bw + 2 * pad
        buf = (bh + 2 * pad) * fw  # padded so that no mark's window needs clipping
        acc = np.zeros((3, buf), np.float64)
        sums = np.zeros((4 if weight is None else 8, buf), np.float64) if want_sums else None
        if tiny.any():  # sub-pixel marks: their area, split bilinearly over four pixels
            i = np.flatnonzero(tiny)
            fx, fy = px[i] - 0.5, py[i] - 0.5
            ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
            tx, ty = fx - ix, fy - iy
            area = math.pi * pa[i] * pb[i]
            for dx, dy, w in ((0, 0, (1 - tx) * (1 - ty)), (1, 0, tx * (1 - ty)), (0, 1, (1 - tx) * ty), (1, 1, tx * ty)):
                idx = (iy + dy - r0 + pad) * fw + (ix + dx - c0 + pad)
                cov = w * area
                _add(acc[0], idx, cov)
                _add(acc[2], idx, np.log1p(-np.minimum(cov, _FULL)))
                if want_sums:
                    cov = cov * (1 - dome[i] / 2)  # a mark's mean shading (see _ellipses)
                    for c in range(4):
                        _add(sums[c], idx, cov * col[i, c])
                    if weight is not None:
                        cov = cov * weight[i]
                        _add(acc[1], idx, cov)
                        for c in range(4):
                            _add(sums[4 + c], idx, cov * col[i, c])
        big = np.flatnonzero(~tiny)
        if big.size:
            key = wx[big] * len(_SPANS) + wy[big]
            keys, counts = np.unique(key, return_counts=True)
            few = np.isin(key, keys[counts < 256])  # small batches cost more in overhead than samples:
            side = np.maximum(wx[big], wy[big])  # they share square windows
            key[few] = (side * (len(_SPANS) + 1))[few]
            for kk in np.unique(key):
                sel = big[key == kk]
                lx, ly = _SPANS[int(kk // len(_SPANS))], _SPANS[int(kk % len(_SPANS))]
                per = max(1, _CHUNK // (lx * ly))
                for j in range(0, sel.size, per):
                    i = sel[j: j + per]
                    self._ellipses(i, x0[i], y0[i], lx, ly, (r0 - pad, c0 - pad, fw), px, py, pa, pb, ang, col, tilt, dome, soft, weight, acc, sums)
        acc = acc.reshape(3, -1, fw)[:, pad: pad + bh, pad: pad + bw].astype(np.float32)
        if want_sums:
            sums = sums.reshape(len(sums), -1, fw)[:, pad: pad + bh, pad: pad + bw].astype(np.float32)
        return acc, sums, ((r0, r1), (c0, c1))

    def _ellipses(self, i, x0, y0, lx, ly, buf, px, py, pa, pb, ang, col, tilt, dome, soft, weight, acc, sums):
        """Anti-aliased ellipses ``i`` over windows of ly x lx pixels from pixel (y0, x0), added
        to acc / sums (``buf``: the buffer's top row, left column and row width)."""
        top, left, fw = buf
        ox, oy = np.arange(lx), np.arange(ly)
        dx = ((x0 + 0.5 - px[i])[:, None] + ox).astype(np.float32)[:, None, :]  # (n, 1, lx): pixel centre - mark centre
        dy = ((y0 + 0.5 - py[i])[:, None] + oy).astype(np.float32)[:, :, None]  # (n, ly, 1)
        cs, sn = np.cos(ang[i]).astype(np.float32)[:, None, None], np.sin(ang[i]).astype(np.float32)[:, None, None]
        ia, ib = (1 / pa[i]).astype(np.float32)[:, None, None], (1 / pb[i]).astype(np.float32)[:, None, None]
        ua = (dx * cs + dy * sn) * ia
        vb = (dy * cs - dx * sn) * ib
        rho2 = ua * ua + vb * vb
        grad = 2 * np.sqrt((ua * ia) ** 2 + (vb * ib) ** 2)
        cov = np.clip((1 - rho2) / (np.maximum(grad, 1e-6) * soft) + 0.5, 0, 1)  # from the signed distance to the rim
        area = (math.pi * pa[i] * pb[i]).astype(np.float32)[:, None, None]
        cov *= area / np.maximum(cov.sum(axis=(1, 2), keepdims=True), 1e-6)  # exactly the mark's area
        np.minimum(cov, 1, out=cov)
        idx = (((y0 - top)[:, None] + oy)[:, :, None] * fw + ((x0 - left)[:, None] + ox)[:, None, :]).ravel()
        _add(acc[0], idx, cov.ravel())
        _add(acc[2], idx, np.log1p(-np.minimum(cov, _FULL)).ravel())
        if sums is None:
            return
        sx, sy = self.sun.vec
        m = np.minimum(ia, ib)  # 1 / long semi-axis
        shade = 1 + tilt[i][:, None, None] * (dx * sx + dy * sy) * m - dome[i][:, None, None] * np.minimum(rho2, 1)
        ws = cov * np.maximum(shade, 0.15)
        # the mark's mean shading is the analytic one (tilt averages out, the dome takes
        # dome / 2), however few pixel centres sample it
        got = ws.sum(axis=(1, 2), keepdims=True) / np.maximum(cov.sum(axis=(1, 2), keepdims=True), 1e-9)
        ws *= (1 - dome[i][:, None, None] / 2) / np.maximum(got, 1e-6)
        for c in range(4):
            _add(sums[c], idx, (ws * col[i, c][:, None, None]).ravel())
        if weight is not None:
            wi = weight[i][:, None, None]
            _add(acc[1], idx, (cov * wi).ravel())
            ws *= wi
            for c in range(4):
                _add(sums[4 + c], idx, (ws * col[i, c][:, None, None]).ravel())

    # -- result ---------------------------------------------------------------------------
    def sprite(self, kind: str, footprint: np.ndarray, height_m: float) -> Sprite:
        """Box-average to the output GSD; reflectance where nothing is drawn takes the nearest
        drawn pixel's (so resizing or feathering the alpha never pulls in black)."""
        f = self.frame
        p, a = f.down(self.p), f.down(self.a)
        foot = f.down(footprint.astype(np.float32)) >= 0.5
        refl = p / np.maximum(a, 1e-6)
        empty = a < 0.02
        if empty.all():
            refl[:] = 0.1
        elif empty.any():
            _, (ri, ci) = ndimage.distance_transform_edt(empty, return_indices=True)
            refl = refl[:, ri, ci]
        return Sprite(
            reflectance=np.clip(refl, 0, 1).astype(np.float32),
            alpha=np.clip(a, 0, 1).astype(np.float32),
            footprint=foot,
            kind=kind,
            height_m=float(height_m),
            gsd_m=f.gsd_m,
        )


def _add(out: np.ndarray, idx: np.ndarray, w: np.ndarray) -> None:
    """out[idx] += w for repeated indices, over the span idx covers only (a batch of marks
    touches a small part of a large buffer)."""
    lo, hi = int(idx.min()), int(idx.max()) + 1
    out[lo:hi] += np.bincount(idx - lo, w, hi - lo)


@dataclass(frozen=True)
class _Sun:
    """Sun azimuth (radians clockwise from the sprite's up) and elevation (radians)."""

    azimuth: float
    elevation: float

    @property
    def vec(self) -> tuple[float, float]:
        """Unit vector towards the sun in pixel axes (x right, y down)."""
        return math.sin(self.azimuth), -math.cos(self.azimuth)

    @property
    def shadow_m(self) -> float:
        """Shadow length per metre of height."""
        return 1 / math.tan(self.elevation)

    def lit(self, nx: np.ndarray, ny: np.ndarray, nz: np.ndarray) -> np.ndarray:
        """Lambert term of unit normals (x right, y down, z up)."""
        sx, sy = self.vec
        ce, se = math.cos(self.elevation), math.sin(self.elevation)
        return np.maximum(nx * sx * ce + ny * sy * ce + nz * se, 0)


class _Noise:
    """Smooth value noise on a metric lattice (cell ``cell_m``), mean 0, sd ~1.

    Evaluated on a pixel grid coarser than the lattice, the lattice is drawn at the pixel size
    with the amplitude an area average would leave (cell / pixel), so textures do not alias."""

    def __init__(self, rng: np.random.Generator, cell_m: float) -> None:
        self.seed = int(rng.integers(2**62))
        self.cell_m = cell_m

    def grid(self, frame: _Frame) -> np.ndarray:
        x, y = frame.centres()
        cell = max(self.cell_m, frame.px_m)
        amp = min(1.0, self.cell_m / frame.px_m) if cell > self.cell_m else 1.0
        return amp * self._eval(x, y, cell)

    def at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self._eval(np.asarray(x, np.float64), np.asarray(y, np.float64), self.cell_m)

    def _eval(self, x: np.ndarray, y: np.ndarray, cell: float) -> np.ndarray:
        gx, gy = x / cell, y / cell
        x0, y0 = math.floor(float(np.min(gx))), math.floor(float(np.min(gy)))
        nx, ny = math.floor(float(np.max(gx))) - x0 + 2, math.floor(float(np.max(gy))) - y0 + 2
        lat = _lattice(self.seed + round(cell * 1e4), np.arange(y0, y0 + ny)[:, None], np.arange(x0, x0 + nx)[None, :])
        fx, fy = gx - x0, gy - y0
        ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
        tx, ty = fx - ix, fy - iy
        tx, ty = (tx * tx * (3 - 2 * tx)).astype(np.float32), (ty * ty * (3 - 2 * ty)).astype(np.float32)
        top = lat[iy, ix] * (1 - tx) + lat[iy, ix + 1] * tx
        bot = lat[iy + 1, ix] * (1 - tx) + lat[iy + 1, ix + 1] * tx
        return (top * (1 - ty) + bot * ty) * 1.35  # interpolation lowers the sd; 1.35 brings it back to ~1


def _lattice(seed: int, iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
    """Uniform lattice values (sd 1, mean 0) hashed from integer coordinates: the same point
    gets the same value whatever grid asks for it."""
    with np.errstate(over="ignore"):
        h = (ix.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ (iy.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
        h = h ^ np.uint64(seed & 0xFFFFFFFFFFFFFFFF)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
    u = (h >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    return (u - 0.5) * np.float32(math.sqrt(12))


# --------------------------------------------------------------------------------------------
# Plans: an object drawn in metres (all random draws), realised later at any GSD
# --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What to draw, in object metres: the footprint, the ground, and marks in order."""

    kind: str
    geom: BaseGeometry  # footprint: the plot's extent (targets) or where the object lies
    height_m: float
    margin_m: float
    ground: Callable[[_Frame], tuple[np.ndarray, np.ndarray]] | None = None
    ops: list | None = None

    def draw(self, *args, **kwargs) -> None:
        self._op("draw", args, kwargs)

    def shade(self, *args, **kwargs) -> None:
        self._op("shade", args, kwargs)

    def _op(self, name: str, args: tuple, kwargs: dict) -> None:
        if self.ops is None:
            self.ops = []
        self.ops.append((name, args, kwargs))

    def realise(self, gsd_m: float, sun: _Sun) -> Sprite:
        frame = _Frame.around(self.geom.bounds, gsd_m, self.margin_m)
        canvas = _Canvas(frame, sun)
        if self.ground is not None:
            canvas.ground(*self.ground(frame))
        for name, args, kwargs in self.ops or ():
            getattr(canvas, name)(*args, **kwargs)
        return canvas.sprite(self.kind, frame.rasterize(self.geom), self.height_m)


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _col(*v: float) -> np.ndarray:
    return np.array(v, np.float32)


def _jitter(rng: np.random.Generator, col: np.ndarray, bright: float = 0.1, hue: float = 0.04, n: int | None = None) -> np.ndarray:
    """``col`` (4,) times a log-normal brightness and per-band tint; (n, 4) when ``n`` is given."""
    shape = (n, 1) if n is not None else (1,)
    g = np.exp(rng.normal(0, bright, shape)) * np.exp(rng.normal(0, hue, (*shape[:-1], 4)))
    return (col * g).astype(np.float32)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    t = np.asarray(t, np.float32)
    if t.ndim:
        t = t[..., None]
    return (a * (1 - t) + b * t).astype(np.float32)


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


# --------------------------------------------------------------------------------------------
# Outlines and planting patterns (metres, object centred on 0, 0)
# --------------------------------------------------------------------------------------------


def _to_area(geom: BaseGeometry, area_m2: float, angle: float) -> BaseGeometry:
    g = affinity.scale(geom, math.sqrt(area_m2 / geom.area), math.sqrt(area_m2 / geom.area), origin=(0, 0))
    g = affinity.rotate(g, angle, origin=(0, 0), use_radians=True)
    c = g.centroid
    return affinity.translate(g, -c.x, -c.y)


def _outline(rng: np.random.Generator, area_m2: float, style: str) -> tuple[BaseGeometry, float]:
    """A plot of ``area_m2`` square metres in ``style`` (blob, rect, strip, terrace, round), and
    the direction its rows run (radians from +x)."""
    turn = rng.uniform(0, math.pi)
    if style == "blob":
        t = np.linspace(0, _TWO_PI, 60, endpoint=False)
        r = np.ones_like(t)
        for k in range(2, 6):
            r += rng.uniform(0, 0.2 / k**0.6) * np.cos(k * t + rng.uniform(0, _TWO_PI))
        e = rng.uniform(1.0, 2.2)
        geom = Polygon(np.c_[e * r * np.cos(t), r * np.sin(t)]).buffer(0)
        along = turn + (0 if rng.random() < 0.6 else math.pi / 2) + rng.normal(0, 0.15)
    elif style in ("rect", "strip"):
        aspect = rng.uniform(1.0, 3.5) if style == "rect" else rng.uniform(5, 14)
        w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
        corners = np.array([(-w, -h), (w, -h), (w, h), (-w, h)]) / 2
        corners += rng.normal(0, 0.04 * h if style == "strip" else 0.05, corners.shape)
        geom = Polygon(corners)
        if style == "strip" and rng.random() < 0.5:  # a gently bent strip
            bend = rng.normal(0, 0.08)
            line = LineString([(s * w / 2, bend * w * (1 - s * s)) for s in np.linspace(-1, 1, 7)])
            geom = line.buffer(h / 2, cap_style="flat")
        along = turn + (0 if style == "strip" or rng.random() < 0.6 else math.pi / 2)
    elif style == "round":
        geom = Point(0, 0).buffer(1, 24)
        geom = affinity.scale(geom, rng.uniform(1, 1.6), 1)
        along = turn
    else:  # terrace: one to three curved strips along the contour with risers between
        n = int(rng.integers(1, 4))
        width, riser = 1.0, rng.uniform(0.15, 0.5)
        length = rng.uniform(4, 10) * width
        curve = rng.uniform(-0.25, 0.25)
        strips = []
        for i in range(n):
            xs = np.linspace(-length / 2, length / 2, 16)
            ys = curve * xs**2 / length + i * (width + riser)
            strips.append(LineString(np.c_[xs, ys]).buffer(width / 2, cap_style="flat"))
        geom = shapely.union_all(strips)
        along = turn
    return _to_area(geom, area_m2, turn), along


def _inside(geom: BaseGeometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    shapely.prepare(geom)
    return shapely.contains_xy(geom, x, y)


def _rows(rng: np.random.Generator, geom: BaseGeometry, row_m: float, step_m: float, along: float, jitter: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Plant positions in rows ``row_m`` apart running along ``along``, ``step_m`` apart in the row."""
    if geom.is_empty:
        return np.zeros(0), np.zeros(0)
    minx, miny, maxx, maxy = geom.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = math.hypot(maxx - minx, maxy - miny) / 2 + row_m
    u = np.arange(-half, half, row_m) + rng.uniform(0, row_m)  # across the rows
    v = np.arange(-half, half, step_m)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    vv = vv + rng.uniform(0, step_m, (u.size, 1))  # each row starts anew
    uu = uu + rng.normal(0, jitter * row_m * 0.25, uu.shape)
    vv = vv + rng.uniform(-0.5, 0.5, vv.shape) * jitter * 2 * step_m
    d, n = (math.cos(along), math.sin(along)), (-math.sin(along), math.cos(along))
    x, y = cx + uu * n[0] + vv * d[0], cy + uu * n[1] + vv * d[1]
    return _kept(geom, x.ravel(), y.ravel())


def _kept(geom: BaseGeometry, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions inside ``geom``; a plot too small for its spacing still gets one plant."""
    keep = _inside(geom, x, y)
    if not keep.any():
        p = geom.representative_point()
        return np.array([p.x]), np.array([p.y])
    return x[keep], y[keep]


def _scatter(rng: np.random.Generator, geom: BaseGeometry, spacing_m: float, jitter: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """Plant positions ``spacing_m`` apart on average, evenly spread (a jittered hexagonal grid)."""
    if geom.is_empty:
        return np.zeros(0), np.zeros(0)
    minx, miny, maxx, maxy = geom.bounds
    dy = spacing_m * 0.866
    ys = np.arange(miny - dy, maxy + dy, dy) + rng.uniform(0, dy)
    xs = np.arange(minx - spacing_m, maxx + spacing_m, spacing_m)
    xx, yy = np.meshgrid(xs, ys)
    xx = xx + (np.arange(ys.size)[:, None] % 2) * spacing_m / 2 + rng.uniform(0, spacing_m)
    xx = xx + rng.uniform(-jitter, jitter, xx.shape) * spacing_m
    yy = yy + rng.uniform(-jitter, jitter, yy.shape) * dy
    return _kept(geom, xx.ravel(), yy.ravel())


def _sown(
    rng: np.random.Generator, geom: BaseGeometry, along: float, p_rows: float, row: tuple[float, float], step: tuple[float, float], spacing: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """Drilled in rows (chance ``p_rows``; rows ``row`` m apart, plants ``step`` m apart) or
    broadcast (``spacing`` m apart): positions and (row direction, row spacing) or None."""
    if rng.random() < p_rows:
        r = rng.uniform(*row)
        x, y = _rows(rng, geom, r, rng.uniform(*step), along)
        return x, y, (along, r)
    x, y = _scatter(rng, geom, rng.uniform(*spacing))
    return x, y, None


def _thin(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, keep: float, patchy: float, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep about ``keep`` of the plants, in patches (``patchy`` 0: at random, 1: bare patches)."""
    if x.size == 0:
        return x, y
    noise = _Noise(rng, cell_m).at(x, y)
    score = patchy * noise + (1 - patchy) * rng.standard_normal(x.size) * 1.0
    cut = np.quantile(score, 1 - keep) if keep < 1 else -np.inf
    ok = score >= cut
    ok[np.argmax(score)] = True
    return x[ok], y[ok]


# --------------------------------------------------------------------------------------------
# Materials: typical surface reflectance (blue, green, red, NIR)
# --------------------------------------------------------------------------------------------

_SOILS = {
    "brown": _col(0.085, 0.115, 0.150, 0.215),
    "red": _col(0.055, 0.072, 0.140, 0.205),
    "loess": _col(0.115, 0.160, 0.205, 0.265),
    "grey": _col(0.100, 0.118, 0.132, 0.168),
    "dark": _col(0.048, 0.058, 0.068, 0.100),  # ash after burning, or humus
}
_STRAW = _col(0.13, 0.19, 0.23, 0.34)
_DRY_BROWN = _col(0.085, 0.11, 0.14, 0.24)
_WEED = _col(0.045, 0.11, 0.06, 0.42)


def _soil_colour(rng: np.random.Generator, palette: dict[str, float] | None = None) -> np.ndarray:
    name = _pick(rng, palette or {"brown": 3, "red": 2, "loess": 2, "grey": 1.5, "dark": 1})
    wet = rng.uniform(0.0, 0.35) if rng.random() < 0.35 else 0.0
    return _jitter(rng, _SOILS[name], 0.12, 0.03) * (1 - wet)


def _soil(rng: np.random.Generator, colour: np.ndarray, rows: tuple[float, float] | None = None, rough: float = 1.0, sun: _Sun | None = None) -> Callable[[_Frame], np.ndarray]:
    """Tilled soil: clods, moisture patches and, for row crops, ridges (``rows``: direction
    radians, spacing metres) lit on their sunward side.  Returns frame -> (4, H, W)."""
    coarse, mid, clods = _Noise(rng, 2.5), _Noise(rng, 0.5), _Noise(rng, 0.07)
    damp = _Noise(rng, 1.8)
    amp = rng.uniform(0.5, 1.2) * rough
    phase = rng.uniform(0, _TWO_PI)
    other = _jitter(rng, _SOILS["dark"] if rng.random() < 0.5 else colour * 0.75, 0.1, 0.03)

    def paint(frame: _Frame) -> np.ndarray:
        b = 1 + amp * (0.05 * coarse.grid(frame) + 0.06 * mid.grid(frame) + 0.09 * clods.grid(frame))
        if rows is not None:
            along, spacing = rows
            x, y = frame.centres()
            d = -x * math.sin(along) + y * math.cos(along)
            ridge = np.sin(_TWO_PI * d / spacing + phase)
            slope = np.cos(_TWO_PI * d / spacing + phase)
            facing = 0.0 if sun is None else -math.sin(along) * sun.vec[0] + math.cos(along) * sun.vec[1]
            b = b * (1 + 0.05 * ridge + 0.12 * slope * facing)
        t = np.clip(0.5 + 0.35 * damp.grid(frame), 0, 1) * 0.5
        base = colour[:, None, None] * (1 - t) + other[:, None, None] * t
        return (base * b[None]).astype(np.float32)

    return paint


# --------------------------------------------------------------------------------------------
# Plant parts (vectorised over plants)
# --------------------------------------------------------------------------------------------


@dataclass
class _Marks:
    """Ellipses in object metres (see :meth:`_Canvas.draw`)."""

    x: np.ndarray
    y: np.ndarray
    a: np.ndarray
    b: np.ndarray
    ang: np.ndarray
    col: np.ndarray
    z: np.ndarray

    @staticmethod
    def join(*parts: _Marks) -> _Marks:
        parts = tuple(p for p in parts if p.x.size)
        if not parts:
            e = np.zeros(0)
            return _Marks(e, e, e, e, e, np.zeros((0, 4), np.float32), e)
        return _Marks(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("x", "y", "a", "b", "ang", "col", "z")))

    def put(self, plan: _Plan, rounds: int = 1, **kwargs) -> None:
        plan.draw(self.x, self.y, self.a, self.b, self.ang, self.col, z=self.z, rounds=rounds, **kwargs)


def _rosette(
    rng: np.random.Generator,
    x: np.ndarray,
    y: np.ndarray,
    r: np.ndarray,
    n: tuple[int, int],
    width: float | np.ndarray,
    col: np.ndarray,
    rise: tuple[float, float] = (0.3, 1.1),
    shrink: float = 0.5,
    base_z: np.ndarray | float = 0.0,
) -> _Marks:
    """Leaves of plants at (x, y) spiralling out from the stem (golden angle), the oldest
    lowest, longest and flattest; ``r``: leaf length (metres), ``n``: leaves per plant (min,
    max), ``width``: leaf width / length, ``rise``: inclination of the oldest and youngest leaf
    (radians: steeper leaves look shorter from above), ``col``: (P, 4) per plant."""
    p = x.size
    if p == 0:
        return _Marks.join()
    nmax = n[1]
    count = rng.integers(n[0], nmax + 1, p)
    i = np.arange(nmax)[None, :]
    t = np.clip(i / np.maximum(count[:, None] - 1, 1), 0, 1)
    theta = rng.uniform(0, _TWO_PI, (p, 1)) + i * 2.39996 + rng.normal(0, 0.25, (p, nmax))
    length = r[:, None] * (1 - shrink * t) * rng.uniform(0.85, 1.15, (p, nmax))
    incl = rise[0] + (rise[1] - rise[0]) * t + rng.normal(0, 0.12, (p, nmax))
    lp = length * np.clip(np.cos(incl), 0.2, 1)
    cx = x[:, None] + np.cos(theta) * lp * 0.55
    cy = y[:, None] + np.sin(theta) * lp * 0.55
    w = np.broadcast_to(np.asarray(width, float).reshape(-1, 1) if np.ndim(width) else width, (p, 1))
    b = length * w / 2
    shade = (0.68 + 0.42 * t) * np.exp(rng.normal(0, 0.08, (p, nmax)))
    c = col[:, None, :] * shade[..., None]
    keep = i < count[:, None]
    z = np.broadcast_to(np.asarray(base_z, float).reshape(-1, 1) if np.ndim(base_z) else base_z, (p, 1)) + t
    return _Marks(cx[keep], cy[keep], (lp / 2)[keep], np.minimum(b, lp / 2)[keep], theta[keep], c[keep].astype(np.float32), z[keep])


def _flowers(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, radius: np.ndarray, petal: np.ndarray, centre: np.ndarray, petals: int = 4, cup: float = 0.5) -> _Marks:
    """Open flowers: ``petals`` petals round a centre, seen from above (metres; ``petal`` (F, 4)
    per flower, ``centre`` (F, 4) or (4,)); ``cup`` 0-1 from flat to cupped."""
    f = x.size
    if f == 0:
        return _Marks.join()
    k = np.arange(petals)[None, :]
    phi = rng.uniform(0, _TWO_PI, (f, 1)) + k * _TWO_PI / petals + rng.normal(0, 0.15, (f, petals))
    rr = radius[:, None] * rng.uniform(0.85, 1.1, (f, petals))
    # petals side by side round the centre, overlapping little (as seen from above), so a
    # flower covers about its disc at any GSD; a cupped flower shows its petals foreshortened
    off = rr * (0.5 - 0.12 * cup)
    px, py = x[:, None] + np.cos(phi) * off, y[:, None] + np.sin(phi) * off
    a = rr * (0.5 - 0.1 * cup)
    b = rr * 0.55 * math.tan(math.pi / max(petals, 3))
    pc = petal[:, None, :] * np.exp(rng.normal(0, 0.06, (f, petals, 1)))
    cc = np.broadcast_to(np.asarray(centre, np.float32).reshape(-1, 4), (f, 4))
    pm = _Marks(px.ravel(), py.ravel(), a.ravel(), b.ravel(), phi.ravel(), pc.reshape(-1, 4).astype(np.float32), np.zeros(f * petals))
    cm = _Marks(x, y, radius * 0.24, radius * 0.24, np.zeros(f), cc.astype(np.float32), np.ones(f))
    return _Marks.join(pm, cm)


def _ground_shadows(plan: _Plan, sun: _Sun, x: np.ndarray, y: np.ndarray, r: np.ndarray, h: np.ndarray, strength: float = 0.45) -> None:
    """Plants' shadows on the plot's own soil: a crown of radius ``r`` on a stem ``h`` tall
    casts a wedge away from the sun, as long as h / tan(sun elevation)."""
    sx, sy = sun.vec
    length = np.asarray(h, float) * sun.shadow_m
    r = np.asarray(r, float)
    parts = [(0.0, r * 0.9, r * 0.9), (0.4, 0.4 * length + 0.5 * r, 0.8 * r), (0.75, 0.3 * length + 0.2 * r, 0.45 * r)]
    xs = np.concatenate([x - sx * f * length for f, _, _ in parts])
    ys = np.concatenate([y - sy * f * length for f, _, _ in parts])
    a = np.concatenate([np.maximum(pa, pb) for _, pa, pb in parts])
    b = np.concatenate([pb for _, _, pb in parts])
    plan.shade(xs, ys, a, b, math.atan2(sy, sx), strength, soft_m=float(np.median(r)) * 0.25 if r.size else 0.0)


def _weed_marks(rng: np.random.Generator, geom: BaseGeometry, per_m2: float, size: tuple[float, float], dry: float = 0.2) -> _Marks:
    """Small weeds scattered over the ground (rosettes of grass and broadleaf weeds)."""
    if per_m2 <= 0:
        return _Marks.join()
    x, y = _scatter(rng, geom, 1 / math.sqrt(per_m2), 0.5)
    r = rng.uniform(*size, x.size)
    col = _mix(_jitter(rng, _WEED, 0.15, 0.06, x.size), _STRAW, (rng.random(x.size) < dry) * rng.uniform(0.3, 0.9, x.size))
    return _rosette(rng, x, y, r, (3, 7), rng.uniform(0.2, 0.5), col, rise=(0.2, 0.9))


def _plot_ground(rng: np.random.Generator, plan: _Plan, sun: _Sun, rows: tuple[float, float] | None, modes: dict[str, float] | None = None, soil: np.ndarray | None = None) -> str:
    """Ground of a plot: tilled soil over the footprint ("soil"), soil with weeds ("weedy"),
    or none ("open": only the plants, the canvas's own ground shows between them)."""
    mode = _pick(rng, modes or {"soil": 0.72, "weedy": 0.13, "open": 0.15})
    if mode == "open":
        return mode
    paint = _soil(rng, _soil_colour(rng) if soil is None else soil, rows, sun=sun)
    geom = plan.geom

    def ground(frame: _Frame) -> tuple[np.ndarray, np.ndarray]:
        return paint(frame), frame.rasterize(geom).astype(np.float32)

    plan.ground = ground
    if mode == "weedy":
        _weed_marks(rng, geom, rng.uniform(2, 12), (0.04, 0.15), dry=0.4).put(plan, rounds=2, tilt=0.3, dome=0.2)
    return mode


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------

POPPY_STAGES = ("seedling", "vegetative", "bud", "flowering", "capsule", "senescent")
_POPPY_LEAF = _col(0.078, 0.125, 0.088, 0.40)  # glaucous blue-green: waxy bloom lifts blue
_PETALS = {
    "white": _col(0.58, 0.62, 0.64, 0.72),
    "red": _col(0.045, 0.045, 0.40, 0.60),
    "pink": _col(0.40, 0.27, 0.58, 0.66),
    "purple": _col(0.30, 0.13, 0.26, 0.60),
    "magenta": _col(0.26, 0.07, 0.40, 0.62),
}
_CAPSULE = _col(0.105, 0.155, 0.125, 0.42)


def _poppy(rng: np.random.Generator, area_m2: float, sun: _Sun, stage: str | None) -> _Plan:
    stage = stage or _pick(rng, {"seedling": 0.1, "vegetative": 0.25, "bud": 0.12, "flowering": 0.33, "capsule": 0.12, "senescent": 0.08})
    if stage not in POPPY_STAGES:
        raise InputError(f"poppy stage {stage!r}: expected one of {', '.join(POPPY_STAGES)}")
    style = _pick(rng, {"blob": 3, "rect": 2, "strip": 1, "terrace": 1.5} if area_m2 > 15 else {"blob": 2, "rect": 1})
    geom, along = _outline(rng, area_m2, style)
    size = {"seedling": (0.04, 0.09), "vegetative": (0.1, 0.2), "bud": (0.12, 0.22), "flowering": (0.12, 0.22), "capsule": (0.1, 0.2), "senescent": (0.08, 0.16)}[stage]
    height = {"seedling": 0.05, "vegetative": 0.35, "bud": 0.8, "flowering": 1.0, "capsule": 1.05, "senescent": 0.95}[stage] * rng.uniform(0.7, 1.25)
    x, y, rows = _sown(rng, geom, along, 0.45, (0.2, 0.45), (0.08, 0.22), (0.12, 0.3))
    sparse = rng.random() < 0.5
    if sparse:  # sparse or patchy stands, soil showing
        x, y = _thin(rng, x, y, rng.uniform(0.35, 0.9), rng.uniform(0, 1), rng.uniform(1, 5))
    plan = _Plan("poppy", geom, height, margin_m=0.3)
    # seedlings and sparse stands are mostly tilled soil: that soil is the plot
    mode = _plot_ground(rng, plan, sun, rows, {"soil": 0.85, "weedy": 0.15} if stage == "seedling" or sparse else None)
    p = x.size
    vigour = np.exp(0.25 * _Noise(rng, rng.uniform(2, 6)).at(x, y)) if p else np.ones(0)
    r = rng.uniform(*size) * vigour * np.exp(rng.normal(0, 0.2, p))
    h = height * vigour * rng.uniform(0.8, 1.2, p)
    if mode != "open":  # most of a poppy's leaves are low on a thin stem: a light, short shadow
        _ground_shadows(plan, sun, x, y, r, h * 0.6, strength=0.25 if stage == "seedling" else 0.35)
    leaf = _jitter(rng, _POPPY_LEAF, 0.1, 0.05) * _col(rng.uniform(0.9, 1.15), 1, 1, 1)
    col = _jitter(rng, leaf, 0.07, 0.03, p)
    yellow = {"capsule": 0.35, "senescent": 0.85}.get(stage, 0.0)
    if yellow:  # lower leaves go first; in senescence the whole plant is straw
        col = _mix(col, _jitter(rng, _STRAW if stage == "capsule" else _mix(_STRAW, _DRY_BROWN, 0.5), 0.08, 0.04), np.clip(yellow + rng.normal(0, 0.12, p), 0, 1))
    n = {"seedling": (4, 7), "senescent": (3, 7)}.get(stage, (6, 11))
    rise = (0.15, 0.6) if stage in ("seedling", "vegetative") else (0.35, 1.25)
    leaves = _rosette(rng, x, y, r, n, rng.uniform(0.32, 0.48), col, rise=rise, shrink=0.45)
    tops, fallen = [], _Marks.join()
    if stage in ("bud", "flowering", "capsule", "senescent"):
        heads = {"bud": 1.8, "flowering": 1.6, "capsule": 2.2, "senescent": 2.0}[stage]
        k = np.minimum(rng.poisson(heads * rng.uniform(0.6, 1.2), p), 4)
        hx, hy = np.repeat(x, k), np.repeat(y, k)
        hr = np.repeat(r, k)
        ang = rng.uniform(0, _TWO_PI, hx.size)
        dist = hr * rng.uniform(0, 0.55, hx.size)
        hx, hy = hx + np.cos(ang) * dist, hy + np.sin(ang) * dist
        if stage == "flowering":
            opened = rng.random(hx.size) < rng.uniform(0.5, 0.95)
            flowers, fallen = _poppy_flowers(rng, hx[opened], hy[opened], mode)
            tops.append(flowers)
            hx, hy = hx[~opened], hy[~opened]
            kind_rest = "bud" if rng.random() < 0.6 else "capsule"
        else:
            kind_rest = stage
        m = hx.size
        if kind_rest == "bud":
            bc = _jitter(rng, _mix(_POPPY_LEAF, _CAPSULE, 0.5), 0.06, 0.03, m)
            tops.append(_Marks(hx, hy, rng.uniform(0.014, 0.022, m), rng.uniform(0.01, 0.015, m), rng.uniform(0, _TWO_PI, m), bc, np.zeros(m)))
        else:
            cr = rng.uniform(0.012, 0.026, m)
            cap = _CAPSULE if kind_rest == "capsule" else _mix(_STRAW, _DRY_BROWN, 0.3)
            cc = _jitter(rng, cap, 0.08, 0.04, m)
            lid = _Marks(hx, hy, cr * 0.45, cr * 0.45, np.zeros(m), (cc * 0.75).astype(np.float32), np.ones(m))
            tops.append(_Marks.join(_Marks(hx, hy, cr, cr * rng.uniform(0.85, 1, m), rng.uniform(0, _TWO_PI, m), cc, np.zeros(m)), lid))
    fallen.put(plan)
    leaves.put(plan, rounds=4, tilt=0.35, dome=0.3)
    _Marks.join(*tops).put(plan, tilt=0.3, dome=0.25)
    return plan


def _poppy_flowers(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, mode: str) -> tuple[_Marks, _Marks]:
    """Open poppy flowers (petals 5-10 cm, one colour or a mix per plot) and a few fallen
    petals on the soil."""
    f = x.size
    name = _pick(rng, {"white": 2.5, "red": 2, "pink": 2, "purple": 1.5, "mixed": 2.5})
    if name == "mixed":
        names = rng.choice(list(_PETALS), size=int(rng.integers(2, 5)), replace=False)
    else:
        names = np.array([name])
    base = np.stack([_jitter(rng, _PETALS[str(nm)], 0.08, 0.04) for nm in names])
    petal = base[rng.integers(len(names), size=f)] * np.exp(rng.normal(0, 0.05, (f, 1))).astype(np.float32)
    blotch = rng.random() < 0.5  # a dark basal blotch in many varieties, else the green capsule top
    centre = _col(0.035, 0.03, 0.045, 0.2) if blotch else _CAPSULE
    radius = rng.uniform(0.028, 0.05) * np.exp(rng.normal(0, 0.15, f))
    cup = rng.uniform(0.2, 0.9)
    fl = _flowers(rng, x, y, radius, petal.astype(np.float32), centre, 4, cup)
    fallen = rng.random(f) < (rng.uniform(0.0, 0.4) if mode != "open" else 0.0)
    k = int(fallen.sum())
    fx, fy = x[fallen] + rng.normal(0, 0.08, k), y[fallen] + rng.normal(0, 0.08, k)
    return fl, _Marks(fx, fy, np.full(k, 0.025), np.full(k, 0.018), rng.uniform(0, _TWO_PI, k), (petal[fallen] * 0.8).astype(np.float32), np.zeros(k))



CANNABIS_STAGES = ("young", "vegetative", "flowering")
_CANNABIS_LEAF = _col(0.034, 0.082, 0.040, 0.46)  # dark green fan leaves
_CANNABIS_TOP = _col(0.055, 0.13, 0.075, 0.46)  # young leaves at the tips, lighter
_CANNABIS_BUD = _col(0.085, 0.16, 0.12, 0.42)  # flowering colas: pale green with pistils


def _palmate(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, direction: np.ndarray, size: np.ndarray, col: np.ndarray, z: np.ndarray, leaflets: int, width: float = 0.16) -> _Marks:
    """Palmate leaves: ``leaflets`` narrow leaflets fanned from the petiole tip at (x, y),
    pointing along ``direction`` (radians); ``size``: longest leaflet (metres); ``width``:
    leaflet width / length."""
    n = x.size
    if n == 0:
        return _Marks.join()
    k = np.linspace(-1, 1, leaflets)[None, :]
    fan = rng.uniform(1.0, 1.35, (n, 1))
    ang = direction[:, None] + k * fan + rng.normal(0, 0.08, (n, leaflets))
    length = size[:, None] * (1 - 0.55 * np.abs(k) ** 1.5) * rng.uniform(0.9, 1.1, (n, leaflets))
    a = length / 2
    cx, cy = x[:, None] + np.cos(ang) * a, y[:, None] + np.sin(ang) * a
    c = col[:, None, :] * np.exp(rng.normal(0, 0.06, (n, leaflets, 1)))
    zz = np.broadcast_to(z[:, None], (n, leaflets))
    return _Marks(cx.ravel(), cy.ravel(), a.ravel(), (a * width * rng.uniform(0.8, 1.25)).ravel(), ang.ravel(), c.reshape(-1, 4).astype(np.float32), zz.ravel())


def _cannabis(rng: np.random.Generator, area_m2: float, sun: _Sun, stage: str | None) -> _Plan:
    stage = stage or _pick(rng, {"young": 0.2, "vegetative": 0.45, "flowering": 0.35})
    if stage not in CANNABIS_STAGES:
        raise InputError(f"cannabis stage {stage!r}: expected one of {', '.join(CANNABIS_STAGES)}")
    style = _pick(rng, {"blob": 3, "rect": 2, "strip": 1, "terrace": 1.5} if area_m2 > 15 else {"blob": 2, "rect": 1})
    geom, along = _outline(rng, area_m2, style)
    radius = {"young": (0.12, 0.28), "vegetative": (0.3, 0.7), "flowering": (0.35, 0.75)}[stage]
    R0 = rng.uniform(*radius)
    H0 = float(np.clip(R0 * (rng.uniform(1.5, 3.0) if stage == "young" else rng.uniform(2.2, 4.5)), 0.2, 4.0))  # a cone 1-2 times as tall as wide
    layout = _pick(rng, {"rows": 0.45, "dense": 0.35, "scattered": 0.2})
    # spaced for the grown plant: young plants stand as far apart as they will when grown
    Rs = rng.uniform(0.3, 0.6) if stage == "young" else R0
    rows = None
    if layout == "rows":
        row = max(0.4, 2 * Rs * rng.uniform(1.1, 2.0))
        x, y = _rows(rng, geom, row, max(0.25, 2 * Rs * rng.uniform(0.8, 1.4)), along, jitter=0.2)
        rows = (along, row)
    elif layout == "dense":
        x, y = _scatter(rng, geom, 2 * Rs * rng.uniform(0.65, 0.95))
    else:
        x, y = _scatter(rng, geom, 2 * Rs * rng.uniform(1.2, 2.0), 0.45)
        x, y = _thin(rng, x, y, rng.uniform(0.6, 0.9), rng.uniform(0.5, 1.0), rng.uniform(1.5, 5))
    plan = _Plan("cannabis", geom, H0, margin_m=R0 * 1.3)
    if stage == "young":  # small plants: the cleared, tilled patch is most of what shows
        modes = {"soil": 0.8, "weedy": 0.2}
    elif layout == "scattered":
        modes = {"soil": 0.55, "weedy": 0.25, "open": 0.2}
    else:
        modes = {"soil": 0.75, "weedy": 0.15, "open": 0.1}
    mode = _plot_ground(rng, plan, sun, rows, modes)
    p = x.size
    R = R0 * np.exp(rng.normal(0, 0.18, p))
    h = H0 * (R / R0) * rng.uniform(0.85, 1.15, p)
    if mode != "open":  # light passes between a young plant's few leaves
        _ground_shadows(plan, sun, x, y, R, h, strength=0.2 if stage == "young" else 0.5)
    leaf = _jitter(rng, _CANNABIS_LEAF, 0.12, 0.05)
    tip = _jitter(rng, _CANNABIS_TOP, 0.1, 0.04)
    plants = _jitter(rng, leaf, 0.08, 0.03, p)
    sx, sy = sun.vec
    marks = []
    if stage != "young":  # the shaded inside of the bush, seen between the leaves
        c = (plants * 0.6).astype(np.float32)
        marks.append(_Marks(x, y, R * 0.7, R * 0.64, rng.uniform(0, _TWO_PI, p), c, np.full(p, -1.0)))
    # fan leaves over the crown: big and dark low on the outside, small and light at the top
    size = np.clip(R * rng.uniform(0.3, 0.45), 0.035, 0.3)
    m = np.clip((4.0 * (R / size) ** 2).astype(int), 6, 24) if stage == "young" else np.clip((5.0 * (R / size) ** 2).astype(int), 8, 120)
    k = int(m.max())
    keep = np.arange(k)[None, :] < m[:, None]
    u = np.sqrt(rng.uniform(0, 1, (p, k)))  # radial position / R
    theta = rng.uniform(0, _TWO_PI, (p, k))
    lx = x[:, None] + np.cos(theta) * u * R[:, None] * 0.92
    ly = y[:, None] + np.sin(theta) * u * R[:, None] * 0.92
    top = 1 - u + rng.normal(0, 0.12, (p, k))  # height in the cone, 1 at the tip
    lsize = size[:, None] * (0.7 + 0.4 * u) * rng.uniform(0.8, 1.15, (p, k))
    side = 1 + 0.28 * (np.cos(theta) * sx + np.sin(theta) * sy) * u  # sunward side of the bush
    depth = 0.6 + 0.45 * np.clip(top, 0, 1)
    light = np.clip(0.6 * top + (0.3 if stage == "young" else 0.0), 0, 1)
    lc = _mix(np.broadcast_to(plants[:, None, :], (p, k, 4)), tip, light) * (side * depth)[..., None]
    direction = theta + rng.normal(0, 0.6, (p, k))
    leaflets = 5 if stage == "young" else 7
    marks.append(_palmate(rng, lx[keep], ly[keep], direction[keep], lsize[keep], lc[keep].astype(np.float32), top[keep], leaflets, 0.22 if stage == "young" else 0.16))
    if stage == "flowering":  # colas: at branch tips round the bush and a cluster on top
        bud = _jitter(rng, _CANNABIS_BUD, 0.1, 0.05)
        nb = 9
        tb = rng.uniform(0, _TWO_PI, (p, nb))
        ub = np.c_[rng.uniform(0.0, 0.3, (p, 3)), rng.uniform(0.55, 0.95, (p, nb - 3))]
        bx = x[:, None] + np.cos(tb) * ub * R[:, None]
        by = y[:, None] + np.sin(tb) * ub * R[:, None]
        length = R[:, None] * rng.uniform(0.08, 0.14) * np.where(ub < 0.2, 1.6, 1.0) * rng.uniform(0.7, 1.2, (p, nb))
        n = bx.size
        bc = _jitter(rng, bud, 0.08, 0.04, n) * (1 + 0.15 * (np.cos(tb) * sx + np.sin(tb) * sy)).reshape(-1, 1)
        marks.append(_Marks(bx.ravel(), by.ravel(), length.ravel(), (length * rng.uniform(0.45, 0.7, (p, nb))).ravel(), (tb + rng.normal(0, 0.5, (p, nb))).ravel(),
                            bc.astype(np.float32), np.full(n, 1.5)))
    _Marks.join(*marks).put(plan, rounds=5, tilt=0.25, dome=0.2)
    return plan


# --------------------------------------------------------------------------------------------
# Look-alikes: crowns (tree, shrub, hedge)
# --------------------------------------------------------------------------------------------

_BROADLEAF = _col(0.035, 0.085, 0.05, 0.42)
_CONIFER = _col(0.03, 0.068, 0.04, 0.30)
_SHRUB_FLOWERS = {
    "bougainvillea": _col(0.25, 0.06, 0.38, 0.58),
    "hibiscus": _col(0.04, 0.04, 0.35, 0.58),
    "oleander": _col(0.38, 0.25, 0.52, 0.64),
    "white": _col(0.55, 0.58, 0.58, 0.68),
    "yellow": _col(0.06, 0.34, 0.42, 0.58),
}


def _leaf_colour(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """A plant's foliage: ``base`` with species-scale variety (darker, yellower, greyer)."""
    c = _jitter(rng, base, 0.15, 0.06)
    look = _pick(rng, {"as is": 4, "yellow": 1, "grey": 1, "dark": 1})
    if look == "yellow":
        c = _mix(c, _col(0.05, 0.13, 0.09, 0.45), rng.uniform(0.3, 0.8))
    elif look == "grey":
        c = _mix(c, _col(0.07, 0.10, 0.085, 0.33), rng.uniform(0.3, 0.7))
    elif look == "dark":
        c = c * rng.uniform(0.65, 0.85)
    return c.astype(np.float32)


def _broadleaf(
    rng: np.random.Generator, sun: _Sun, cx: float, cy: float, R: float, colour: np.ndarray, leaf_m: float, z0: float = 0.0, flat: float = 0.0, leafiness: float = 1.5,
) -> tuple[_Marks, _Marks, _Marks]:
    """A broadleaf crown of radius ``R`` (metres): a dark interior, foliage clumps on a dome
    lit by the sun, and sunlit leaves on each clump.  Returns (interior, clumps, leaves)."""
    rc = R * rng.uniform(0.13, 0.24)
    nc = int(np.clip(2.4 * (R / rc) ** 2, 6, 2500))
    u = np.sqrt(rng.uniform(0, 1, nc)) * 0.9
    th = rng.uniform(0, _TWO_PI, nc)
    hx, hy = np.cos(th) * u, np.sin(th) * u
    hz = np.sqrt(np.clip(1 - u * u, 0, 1)) * (1 - flat) + flat
    norm = np.sqrt(hx**2 + hy**2 + hz**2)
    lit = 0.35 + 0.85 * sun.lit(hx / norm, hy / norm, hz / norm)
    size = rc * np.exp(rng.normal(0, 0.3, nc))
    cc = _jitter(rng, colour, 0.15, 0.03, nc) * lit[:, None]
    clumps = _Marks(cx + hx * R, cy + hy * R, size, size * rng.uniform(0.65, 1.0, nc), rng.uniform(0, _TWO_PI, nc), cc.astype(np.float32), z0 + hz)
    inner = _Marks(np.array([cx]), np.array([cy]), np.array([R * 0.85]), np.array([R * 0.8]), np.array([rng.uniform(0, _TWO_PI)]), (colour * 0.22)[None].astype(np.float32), np.array([z0 - 1.0]))
    per = int(np.clip(leafiness * (rc / leaf_m) ** 2, 3, 100 * leafiness))
    sx, sy = sun.vec
    lu = np.sqrt(rng.uniform(0, 1, (nc, per))) * size[:, None] * 0.9
    lt = rng.uniform(0, _TWO_PI, (nc, per))
    lx = (cx + hx * R)[:, None] + np.cos(lt) * lu + sx * size[:, None] * 0.15
    ly = (cy + hy * R)[:, None] + np.sin(lt) * lu + sy * size[:, None] * 0.15
    toward = (np.cos(lt) * sx + np.sin(lt) * sy) * lu / size[:, None]
    lc = cc[:, None, :] * np.clip(1.05 + 0.35 * toward + rng.normal(0, 0.2, (nc, per)), 0.4, 2)[..., None]
    ll = leaf_m * rng.uniform(0.45, 0.85, (nc, per))
    leaves = _Marks(lx.ravel(), ly.ravel(), ll.ravel(), (ll * rng.uniform(0.4, 0.7)).ravel(), rng.uniform(0, _TWO_PI, nc * per), lc.reshape(-1, 4).astype(np.float32), np.repeat(z0 + hz + 0.01, per))
    return inner, clumps, leaves


def _conifer(rng: np.random.Generator, sun: _Sun, cx: float, cy: float, R: float, colour: np.ndarray, z0: float = 0.0) -> tuple[_Marks, _Marks]:
    """A conifer crown from above: whorls of branches radiating from the leader, the lower
    whorls longer, needle tufts along each branch, lit as a cone.  Returns (interior, tufts)."""
    tiers = int(np.clip(R * rng.uniform(3, 5), 8, 30))  # a whorl every 30-50 cm of a crown ~3 R tall
    nb = int(rng.integers(5, 9))
    t = (np.arange(tiers) / (tiers - 1))[:, None]
    phi = rng.uniform(0, _TWO_PI, (tiers, 1)) + np.arange(nb)[None, :] * _TWO_PI / nb + rng.normal(0, 0.15, (tiers, nb))
    length = R * (1 - t) ** 0.6 * rng.uniform(0.8, 1.0, (tiers, nb)) + 0.05
    step = rng.uniform(0.1, 0.16)
    ns = math.ceil(R / step) + 1
    sfrac = (np.arange(ns) + 0.5)[None, None, :] * step
    on = sfrac <= length[..., None]
    pos = sfrac / np.maximum(length[..., None], 1e-6)  # 0 at the stem, 1 at the tip
    bx = cx + np.cos(phi)[..., None] * sfrac
    by = cy + np.sin(phi)[..., None] * sfrac
    steep = rng.uniform(1.5, 3.0)  # crown height / radius
    nx, ny, nz = np.cos(phi) * steep, np.sin(phi) * steep, np.ones_like(phi)
    norm = np.sqrt(nx**2 + ny**2 + nz**2)
    lit = 0.25 + 1.1 * sun.lit(nx / norm, ny / norm, nz / norm)
    shape = on.shape
    shade = (lit * (0.85 + 0.3 * t))[..., None] * (1.25 - 0.3 * pos) * np.exp(rng.normal(0, 0.15, shape))
    width = (0.06 + rng.uniform(0.1, 0.2) * np.sin(np.pi * np.clip(pos, 0, 0.8) ** 0.7)) * rng.uniform(0.7, 1.2, shape)  # branchlets fan out
    base = _jitter(rng, colour, 0.06, 0.03, tiers * nb).reshape(tiers, nb, 1, 4)
    col = base * shade[..., None]
    side = rng.normal(0, 0.05, shape)  # tufts not quite on a line
    marks = _Marks(
        (bx - np.sin(phi)[..., None] * side)[on], (by + np.cos(phi)[..., None] * side)[on],
        (step * rng.uniform(0.7, 1.1, shape))[on], np.broadcast_to(width, shape)[on],
        (phi[..., None] + rng.normal(0, 0.25, shape))[on], col[on].astype(np.float32),
        (z0 + 1 - sfrac / R + 0.2 * t[..., None] + rng.normal(0, 0.05, shape))[on],  # the cone: higher near the leader
    )
    inner = _Marks(np.array([cx]), np.array([cy]), np.array([R * 0.7]), np.array([R * 0.7]), np.zeros(1), (colour * 0.3)[None].astype(np.float32), np.array([z0 - 1.0]))
    return inner, marks


def _crowns(rng: np.random.Generator, area_m2: float, n: int, r_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, BaseGeometry]:
    """``n`` crowns clumped together, scaled so the union of their discs is ``area_m2``:
    centres x, y, radii (metres) and the union."""
    R = np.sqrt(area_m2 / (n * math.pi)) * np.exp(rng.normal(0, 0.25, n))
    x, y = np.zeros(n), np.zeros(n)
    for i in range(1, n):
        j = int(rng.integers(i))
        d = (R[i] + R[j]) * rng.uniform(0.55, 1.0)
        a = rng.uniform(0, _TWO_PI)
        x[i], y[i] = x[j] + d * math.cos(a), y[j] + d * math.sin(a)
    union = shapely.union_all([Point(a, b).buffer(r, 32) for a, b, r in zip(x, y, R)])
    f = math.sqrt(area_m2 / union.area)
    x, y, R = x * f, y * f, R * f
    c = affinity.scale(union, f, f, origin=(0, 0)).centroid
    x, y = x - c.x, y - c.y
    union = shapely.union_all([Point(a, b).buffer(r, 32) for a, b, r in zip(x, y, R)])
    return x, y, R, union


def _tree(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    n = 1 if rng.random() < 0.45 else int(rng.integers(2, 7))
    n = max(n, math.ceil(area_m2 / (math.pi * 6.0**2)))  # crowns up to about 12 m across
    x, y, R, union = _crowns(rng, area_m2, n, (1.0, 6.5))
    mix = _pick(rng, {"broadleaf": 0.6, "conifer": 0.25, "mixed": 0.15})
    conifer = np.full(n, mix == "conifer") if mix != "mixed" else rng.random(n) < 0.5
    h = np.where(conifer, R * rng.uniform(2.5, 4.0, n), R * rng.uniform(1.2, 2.2, n)) + rng.uniform(0.5, 2, n)
    plan = _Plan("tree", union, float(h.max()), margin_m=0.5)
    species = _leaf_colour(rng, _BROADLEAF)
    for i in np.argsort(h):  # the tallest crowns last, on top
        colour = _jitter(rng, _leaf_colour(rng, _CONIFER) if conifer[i] else species, 0.08, 0.03)
        if conifer[i]:
            inner, tufts = _conifer(rng, sun, x[i], y[i], R[i], colour)
            inner.put(plan, soft_m=0.1 * R[i])
            tufts.put(plan, rounds=6, tilt=0.4, dome=0.3)
        else:
            inner, clumps, leaves = _broadleaf(rng, sun, x[i], y[i], R[i], colour, rng.uniform(0.05, 0.12))
            inner.put(plan, soft_m=0.08 * R[i])
            clumps.put(plan, rounds=4, tilt=0.5, dome=0.2)
            leaves.put(plan, rounds=2, tilt=0.3, dome=0.2)
    return plan


def _shrub(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    n = 1 if rng.random() < 0.4 else int(rng.integers(2, 9))
    n = max(n, math.ceil(area_m2 / (math.pi * 1.5**2)))
    x, y, R, union = _crowns(rng, area_m2, n, (0.3, 1.5))
    h = R * rng.uniform(0.8, 1.6, n)
    plan = _Plan("shrub", union, float(h.max()), margin_m=0.3)
    colour = _leaf_colour(rng, _BROADLEAF)
    flowers = _pick(rng, {"none": 4, **{k: 0.25 for k in _SHRUB_FLOWERS}})
    for i in np.argsort(h):
        inner, clumps, leaves = _broadleaf(rng, sun, x[i], y[i], R[i], _jitter(rng, colour, 0.06, 0.02), rng.uniform(0.03, 0.06), flat=rng.uniform(0, 0.4), leafiness=0.6)
        inner.put(plan, soft_m=0.08 * R[i])
        clumps.put(plan, rounds=3, tilt=0.5, dome=0.2)
        leaves.put(plan, tilt=0.3, dome=0.2)
        if flowers != "none":  # flowers on the sunlit top of the shrub
            k = int(rng.uniform(8, 30) * R[i] ** 2)
            u = np.sqrt(rng.uniform(0, 1, k)) * R[i] * 0.9
            a = rng.uniform(0, _TWO_PI, k)
            fr = rng.uniform(0.02, 0.045, k)
            fc = _jitter(rng, _SHRUB_FLOWERS[flowers], 0.1, 0.04, k)
            plan.draw(x[i] + np.cos(a) * u, y[i] + np.sin(a) * u, fr, fr * 0.8, a, fc, tilt=0.3, dome=0.2)
    return plan


def _hedge(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    width = float(np.clip(area_m2 / rng.uniform(5, 40), 0.6, 2.5))  # hedges run 5-40 m, wider when larger
    length = max(area_m2 / width, width)
    pts = [(0.0, 0.0)]
    heading = rng.uniform(0, _TWO_PI)
    left = length
    while left > 0:  # straight runs, sometimes turning a corner
        run = min(left, length * rng.uniform(0.4, 1.0))
        pts.append((pts[-1][0] + run * math.cos(heading), pts[-1][1] + run * math.sin(heading)))
        left -= run
        heading += rng.choice([-1, 1]) * math.pi / 2 * rng.uniform(0.9, 1.1)
    geom = _to_area(LineString(pts).buffer(width / 2, cap_style="flat", join_style="mitre"), area_m2, 0.0)
    h = rng.uniform(0.8, 2.5)
    plan = _Plan("hedge", geom, h, margin_m=0.3)
    clipped = rng.random() < 0.6
    colour = _leaf_colour(rng, _BROADLEAF)
    step = rng.uniform(0.12, 0.25) if clipped else rng.uniform(0.2, 0.4)
    x, y = _scatter(rng, geom.buffer(-0.05 * width) if clipped else geom, step, 0.5)
    # a rounded top: the normal tips towards the nearer side, so one side of the hedge is lit
    pts, edge = shapely.points(x, y), geom.boundary
    d = np.clip(shapely.distance(pts, edge) / (width / 2), 0, 1)  # 0 at the side, 1 on the midline
    r = step * rng.uniform(0.7, 1.1, x.size) * (1.3 if clipped else 1.6)
    near = shapely.get_point(shapely.shortest_line(pts, edge), 1)
    vx, vy = shapely.get_x(near) - x, shapely.get_y(near) - y
    vn = np.maximum(np.hypot(vx, vy), 1e-6)
    tipping = (1 - d) * (0.6 if clipped else 1.0)
    nz = 1.0 - 0.5 * tipping
    lit = 0.4 + 0.8 * sun.lit(vx / vn * tipping, vy / vn * tipping, nz) / np.sqrt(tipping**2 + nz**2)
    col = _jitter(rng, colour, 0.07 if clipped else 0.12, 0.03, x.size) * lit[:, None]
    plan.draw(x, y, r, r * rng.uniform(0.7, 1, x.size), rng.uniform(0, _TWO_PI, x.size), col.astype(np.float32), tilt=0.35, dome=0.4 if clipped else 0.5)
    leaf = rng.uniform(0.025, 0.05)
    k = int(area_m2 / leaf**2 * 0.12)
    lx, ly = _scatter(rng, geom, math.sqrt(area_m2 / max(k, 1)), 0.5)
    lc = _jitter(rng, colour, 0.18, 0.04, lx.size) * 1.1
    plan.draw(lx, ly, leaf * 0.5, leaf * 0.3, rng.uniform(0, _TWO_PI, lx.size), lc.astype(np.float32), tilt=0.3)
    return plan


# --------------------------------------------------------------------------------------------
# Look-alikes: banana, lawn, gardens and fields
# --------------------------------------------------------------------------------------------

_BANANA = _col(0.05, 0.145, 0.075, 0.50)  # light yellowish green paddles
_BANANA_DEAD = _col(0.10, 0.13, 0.15, 0.27)


def _banana_plant(rng: np.random.Generator, sun: _Sun, cx: float, cy: float, L: float, colour: np.ndarray, z0: float) -> _Marks:
    """One banana plant from above: 6-12 paddle leaves (``L`` metres long, a third as wide)
    spiralling out of the pseudostem, each two half-blades folded along a light midrib (one
    half sunlit), torn into strips; the oldest leaves dry and hanging."""
    n = int(rng.integers(6, 13))
    t = np.arange(n) / (n - 1)
    theta = rng.uniform(0, _TWO_PI) + np.arange(n) * _TWO_PI * 0.38 + rng.normal(0, 0.3, n)
    length = L * rng.uniform(0.8, 1.1, n) * (1 - 0.3 * t)
    dead = np.arange(n) < rng.integers(0, 4)
    proj = np.where(dead, rng.uniform(0.3, 0.5, n), 0.95 - 0.5 * t ** 2) * rng.uniform(0.9, 1.05, n)
    M = 10
    j = (np.arange(M) + 0.5) / M
    start = 0.18 * length * proj
    along = start[:, None] + j[None, :] * (length * proj)[:, None]  # (n, M) distance from the stem
    half = (length * rng.uniform(0.15, 0.19, n))[:, None] * np.sin(np.pi * j) ** 0.45
    seg = (length * proj)[:, None] / M
    ux, uy = np.cos(theta)[:, None], np.sin(theta)[:, None]
    px, py = -uy, ux
    sx, sy = sun.vec
    fold = np.sign(px * sx + py * sy)[:, 0]  # which half faces the sun
    cols = np.where(dead[:, None], _jitter(rng, _BANANA_DEAD, 0.1, 0.04), _mix(colour, _col(0.07, 0.18, 0.11, 0.5), t * 0.5))
    cols = cols * np.exp(rng.normal(0, 0.07, (n, 1)))
    parts = []
    for side in (-1.0, 1.0):
        tear = rng.uniform(0.55, 1.0, (n, M)) * np.where(dead[:, None], 0.6, 1.0)
        off = side * half / 2
        x = cx + ux * along + px * off
        y = cy + uy * along + py * off
        lit = (1 + 0.2 * side * fold)[:, None] * np.ones((1, M))
        c = cols[:, None, :] * lit[..., None]
        ang = np.broadcast_to(theta[:, None] + side * (math.pi / 2 - 0.35), (n, M))
        parts.append(_Marks(x.ravel(), y.ravel(), (half / 2 + 0.01).ravel(), (seg / 2 * tear).ravel(), ang.ravel(), c.reshape(-1, 4).astype(np.float32), np.repeat(z0 + t, M)))
    rib = _Marks(
        (cx + ux * along).ravel(), (cy + uy * along).ravel(), np.broadcast_to(seg / 2, (n, M)).ravel(), np.full(n * M, 0.018),
        np.repeat(theta, M), np.repeat(np.where(dead[:, None], cols, cols * _col(1.3, 1.15, 1.35, 1.0)), M, axis=0).astype(np.float32), np.repeat(z0 + t + 0.01, M),
    )
    stalk = _Marks(cx + ux[:, 0] * start / 2, cy + uy[:, 0] * start / 2, start / 2 + 0.02, np.full(n, 0.035), theta, (cols * 0.9).astype(np.float32), z0 + t - 0.01)
    return _Marks.join(stalk, *parts, rib)


def _banana(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    colour = _jitter(rng, _BANANA, 0.1, 0.04)
    if area_m2 > 60 or rng.random() < 0.25:  # a plantation: mats in rows on grassy ground
        geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 2, "blob": 1, "strip": 1}))
        spacing = rng.uniform(2.2, 3.5)
        x, y = _rows(rng, geom, spacing, spacing * rng.uniform(0.8, 1.1), along, jitter=0.25)
        L = np.full(x.size, rng.uniform(1.6, 2.6))
        plan = _Plan("banana", geom, 4.0, margin_m=2.0)
        _plot_ground(rng, plan, sun, None, {"weedy": 0.4, "open": 0.6})
    else:  # a garden clump of one to a few mats
        n = int(rng.integers(1, 5))
        x, y, R, geom = _crowns(rng, area_m2, n, (1.0, 3.5))
        L = np.clip(R / 0.85, 0.8, 3.2)
        plan = _Plan("banana", geom, 4.0, margin_m=0.3)
    marks = []
    for i in range(x.size):
        k = int(rng.integers(1, 4))  # the mother plant and suckers
        for s_ in range(k):
            dx, dy = (0.0, 0.0) if s_ == 0 else tuple(rng.normal(0, 0.3, 2))
            size = L[i] * (1 if s_ == 0 else rng.uniform(0.4, 0.75))
            marks.append(_banana_plant(rng, sun, x[i] + dx, y[i] + dy, size, colour, z0=float(size)))
    _Marks.join(*marks).put(plan, rounds=6, tilt=0.15, dome=0.1)
    plan.height_m = float(L.max() * 1.6)
    return plan


_GRASS = _col(0.045, 0.10, 0.058, 0.40)


def _lawn(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 3, "blob": 2, "round": 1}))
    plan = _Plan("lawn", geom, 0.05, margin_m=0.1)
    grass = _jitter(rng, _GRASS, 0.12, 0.04)
    dry = _mix(grass, _STRAW, rng.uniform(0.4, 0.9))
    dryness = rng.uniform(0, 0.5) if rng.random() < 0.5 else 0.0
    blades, tufts, patches = _Noise(rng, 0.02), _Noise(rng, 0.15), _Noise(rng, rng.uniform(1, 4))
    stripes = rng.random() < 0.55
    width, sheen, phase = rng.uniform(0.5, 1.2), rng.uniform(0.06, 0.15), rng.uniform(0, 1)

    def ground(frame: _Frame) -> tuple[np.ndarray, np.ndarray]:
        b = 1 + 0.1 * blades.grid(frame) + 0.06 * tufts.grid(frame)
        if stripes:  # mowing bands: grass laid towards or away from the camera
            x, y = frame.centres()
            d = (-x * math.sin(along) + y * math.cos(along)) / width + phase
            b = b * (1 + sheen * np.tanh(4 * np.sin(math.pi * d)))
        t = np.clip(dryness + 0.25 * patches.grid(frame) * (dryness > 0), 0, 1)
        refl = (grass[:, None, None] * (1 - t) + dry[:, None, None] * t) * b
        return refl.astype(np.float32), frame.rasterize(geom).astype(np.float32)

    plan.ground = ground
    weeds = _weed_marks(rng, geom, rng.uniform(0, 3), (0.04, 0.09), dry=0.0)
    weeds.col *= 0.85
    weeds.put(plan, rounds=1, tilt=0.3, dome=0.2)
    if rng.random() < 0.4:  # daisies or dandelions
        fx, fy = _scatter(rng, geom, 1 / math.sqrt(rng.uniform(1, 20)), 0.5)
        fc = _col(0.55, 0.58, 0.55, 0.65) if rng.random() < 0.5 else _col(0.05, 0.32, 0.42, 0.55)
        r = rng.uniform(0.008, 0.016, fx.size)
        plan.draw(fx, fy, r, r, 0.0, _jitter(rng, fc, 0.08, 0.03, fx.size))
    return plan


_GARDEN_CROPS = {"cabbage": 2, "lettuce": 2, "red_lettuce": 0.7, "onion": 1.5, "greens": 2, "chili": 1, "bare": 0.4}


def _vegetable_garden(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 3, "blob": 1, "terrace": 1} if area_m2 > 20 else {"rect": 1}))
    plan = _Plan("vegetable_garden", geom, 0.4, margin_m=0.2)
    bed, path = rng.uniform(0.8, 1.5), rng.uniform(0.25, 0.5)
    soil = _soil_colour(rng, {"brown": 2, "dark": 2, "red": 1, "grey": 1}) * rng.uniform(0.7, 0.95)  # moist, manured beds
    path_col = _jitter(rng, _mix(soil, _SOILS["grey"], 0.5) * 1.25, 0.08, 0.03)
    paint = _soil(rng, soil, sun=sun)
    phase = rng.uniform(0, bed + path)
    ca, sa = math.cos(along), math.sin(along)

    def across(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.mod(-x * sa + y * ca + phase, bed + path)  # 0..bed: a bed, bed..: the path

    def ground(frame: _Frame) -> tuple[np.ndarray, np.ndarray]:
        x, y = frame.centres()
        on_path = np.clip((across(x, y) - bed) / 0.03 + 0.5, 0, 1) * np.clip((bed + path - across(x, y)) / 0.03 + 0.5, 0, 1)
        refl = paint(frame) * (1 - on_path) + path_col[:, None, None] * on_path
        return refl.astype(np.float32), frame.rasterize(geom).astype(np.float32)

    plan.ground = ground
    minx, miny, maxx, maxy = geom.bounds
    half = math.hypot(maxx - minx, maxy - miny) / 2 + bed + path
    marks = []
    period = bed + path
    for m in range(math.floor(-half / period) - 1, math.ceil(half / period) + 1):
        u0 = m * period - phase  # a bed spans u0..u0 + bed across (u), the path the rest
        corners = [(u0, -half), (u0 + bed, -half), (u0 + bed, half), (u0, half)]
        strip = Polygon([(-u * sa + v * ca, u * ca + v * sa) for u, v in corners])
        bed_geom = geom.intersection(strip)
        if bed_geom.is_empty or bed_geom.area < 0.05:
            continue
        marks.append(_garden_bed(rng, sun, bed_geom, _pick(rng, _GARDEN_CROPS), along, bed))
    _Marks.join(*marks).put(plan, rounds=3, tilt=0.35, dome=0.3)
    return plan


def _garden_bed(rng: np.random.Generator, sun: _Sun, geom: BaseGeometry, crop: str, along: float, bed: float) -> _Marks:
    """One bed of a vegetable garden, planted in rows along it."""
    if crop == "bare":
        return _weed_marks(rng, geom, rng.uniform(0, 4), (0.02, 0.06), dry=0.1)
    spacing = {"cabbage": (0.35, 0.5), "lettuce": (0.25, 0.35), "red_lettuce": (0.25, 0.35), "onion": (0.1, 0.15), "greens": (0.15, 0.25), "chili": (0.35, 0.5)}[crop]
    step = rng.uniform(*spacing)
    nrows = max(1, int(bed / step))
    x, y = _rows(rng, geom.buffer(-0.05), bed / nrows, step, along, jitter=0.1)
    p = x.size
    if p == 0:
        return _Marks.join()
    age = rng.uniform(0.65, 1.1)
    if crop == "cabbage":
        outer = _jitter(rng, _col(0.085, 0.135, 0.095, 0.44), 0.08, 0.04, p)
        leaves = _rosette(rng, x, y, np.full(p, step * 0.55 * age), (7, 11), 0.85, outer, rise=(0.1, 0.5), shrink=0.3)
        head = _jitter(rng, _col(0.11, 0.17, 0.12, 0.48), 0.06, 0.03, p)
        hr = step * 0.22 * age * rng.uniform(0.8, 1.1, p)
        return _Marks.join(leaves, _Marks(x, y, hr, hr, np.zeros(p), head, np.full(p, 2.0)))
    if crop in ("lettuce", "red_lettuce"):
        base = _col(0.055, 0.16, 0.09, 0.50) if crop == "lettuce" else _col(0.045, 0.05, 0.08, 0.38)
        return _rosette(rng, x, y, np.full(p, step * 0.5 * age), (10, 16), 0.75, _jitter(rng, base, 0.08, 0.04, p), rise=(0.2, 1.0), shrink=0.55)
    if crop == "onion":
        return _rosette(rng, x, y, np.full(p, rng.uniform(0.12, 0.25)), (4, 7), 0.09, _jitter(rng, _col(0.075, 0.125, 0.085, 0.40), 0.08, 0.04, p), rise=(0.6, 1.2), shrink=0.2)
    if crop == "greens":
        return _rosette(rng, x, y, np.full(p, step * 0.6 * age), (6, 10), 0.5, _jitter(rng, _col(0.04, 0.10, 0.05, 0.45), 0.1, 0.04, p), rise=(0.4, 1.1), shrink=0.35)
    # chili / eggplant: small bushes with a few red or purple fruits
    r = step * 0.45 * age
    bush = _rosette(rng, x, y, np.full(p, r), (8, 14), 0.5, _jitter(rng, _col(0.035, 0.085, 0.045, 0.44), 0.1, 0.04, p), rise=(0.2, 0.8), shrink=0.4)
    k = p * 3
    fx, fy = np.repeat(x, 3) + rng.normal(0, r / 2, k), np.repeat(y, 3) + rng.normal(0, r / 2, k)
    fruit = _col(0.04, 0.04, 0.3, 0.5) if rng.random() < 0.6 else _col(0.06, 0.03, 0.06, 0.35)
    keep = rng.random(k) < 0.5
    fm = _Marks(fx[keep], fy[keep], np.full(keep.sum(), 0.03), np.full(keep.sum(), 0.012), rng.uniform(0, _TWO_PI, keep.sum()),
                _jitter(rng, fruit, 0.08, 0.03, int(keep.sum())), np.full(keep.sum(), 2.0))
    return _Marks.join(bush, fm)


_RAPE_YELLOW = _col(0.045, 0.30, 0.37, 0.52)


def _rapeseed(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 3, "blob": 2, "strip": 1, "terrace": 1.5}))
    plan = _Plan("rapeseed", geom, rng.uniform(0.8, 1.5), margin_m=0.15)
    x, y, rows = _sown(rng, geom, along, 0.5, (0.15, 0.3), (0.08, 0.15), (0.12, 0.2))
    _plot_ground(rng, plan, sun, rows, {"soil": 1.0})
    p = x.size
    bloom = rng.uniform(0.25, 1.0)
    leaf = _jitter(rng, _col(0.05, 0.11, 0.065, 0.46), 0.1, 0.04, p)
    leaves = _rosette(rng, x, y, rng.uniform(0.09, 0.15, p), (3, 6), 0.45, leaf, rise=(0.3, 1.0))
    k = rng.poisson(2.5, p)
    hx, hy = np.repeat(x, k) + rng.normal(0, 0.05, k.sum()), np.repeat(y, k) + rng.normal(0, 0.05, k.sum())
    m = hx.size
    opened = rng.random(m) < bloom
    col = np.where(opened[:, None], _jitter(rng, _RAPE_YELLOW, 0.08, 0.03, m), _jitter(rng, _col(0.06, 0.16, 0.12, 0.45), 0.08, 0.03, m))
    r = np.where(opened, rng.uniform(0.025, 0.05, m), rng.uniform(0.012, 0.02, m))
    heads = _Marks(hx, hy, r, r * rng.uniform(0.7, 1, m), rng.uniform(0, _TWO_PI, m), col.astype(np.float32), np.full(m, 2.0))
    _Marks.join(leaves, heads).put(plan, rounds=3, tilt=0.3, dome=0.3)
    return plan


_ORNAMENTALS = {
    "marigold": ((0.25, 0.35), {"orange": _col(0.04, 0.17, 0.45, 0.55), "yellow": _col(0.05, 0.33, 0.40, 0.56)}),
    "rose": ((0.6, 0.9), {"red": _col(0.04, 0.03, 0.24, 0.55), "pink": _col(0.36, 0.24, 0.52, 0.64), "white": _col(0.55, 0.58, 0.57, 0.68), "yellow": _col(0.06, 0.32, 0.42, 0.58)}),
    "cosmos": ((0.3, 0.45), {"pink": _col(0.38, 0.22, 0.50, 0.64), "magenta": _col(0.28, 0.07, 0.40, 0.6), "white": _col(0.56, 0.6, 0.6, 0.7)}),
    "petunia": ((0.2, 0.3), {"purple": _col(0.22, 0.07, 0.2, 0.58), "pink": _col(0.42, 0.25, 0.55, 0.64), "white": _col(0.56, 0.6, 0.6, 0.7), "red": _col(0.04, 0.03, 0.3, 0.56)}),
    "salvia": ((0.25, 0.35), {"red": _col(0.035, 0.03, 0.32, 0.55), "blue": _col(0.2, 0.09, 0.1, 0.5)}),
}


def _flower_bed(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 3, "round": 2, "strip": 2, "blob": 1}))
    plan = _Plan("flower_bed", geom, 0.5, margin_m=0.2)
    mulch = _soil_colour(rng, {"dark": 3, "brown": 2}) * rng.uniform(0.7, 1.0)
    _plot_ground(rng, plan, sun, None, {"soil": 1.0}, soil=mulch)
    sections = int(rng.integers(1, 5))
    minx, miny, maxx, maxy = geom.bounds
    half = math.hypot(maxx - minx, maxy - miny) / 2
    cuts = np.sort(rng.uniform(-half, half, sections - 1))
    edges = np.r_[-half - 1, cuts, half + 1]
    ca, sa = math.cos(along), math.sin(along)
    marks = []
    for lo, hi in itertools.pairwise(edges):
        band = Polygon([(lo * ca - v * sa, lo * sa + v * ca) for v in (-half - 1, half + 1)] + [(hi * ca - v * sa, hi * sa + v * ca) for v in (half + 1, -half - 1)])
        part = geom.intersection(band)
        if part.is_empty or part.area < 0.05:
            continue
        species = _pick(rng, {"marigold": 2, "rose": 1.2, "cosmos": 1, "petunia": 1.5, "salvia": 0.8})
        marks.append(_ornamental(rng, sun, part, species))
    _Marks.join(*(m[0] for m in marks)).put(plan, rounds=3, tilt=0.3, dome=0.3)
    _Marks.join(*(m[1] for m in marks)).put(plan, tilt=0.3, dome=0.3)  # one round: clustered flowers cover their union
    return plan


def _ornamental(rng: np.random.Generator, sun: _Sun, geom: BaseGeometry, species: str) -> tuple[_Marks, _Marks]:
    """Foliage and flowers of one ornamental species filling ``geom``."""
    spacing, colours = _ORNAMENTALS[species]
    step = rng.uniform(*spacing)
    x, y = _scatter(rng, geom, step, 0.3)
    p = x.size
    if p == 0:
        return _Marks.join(), _Marks.join()
    names = list(colours)
    pick = rng.choice(len(names), size=int(rng.integers(1, 3)), replace=False)
    fcol = np.stack([_jitter(rng, colours[names[i]], 0.08, 0.03) for i in pick])
    leaf = _jitter(rng, _col(0.035, 0.09, 0.048, 0.44), 0.12, 0.05)
    r = step * 0.55
    if species == "rose":
        foliage = _rosette(rng, x, y, np.full(p, r), (14, 22), 0.55, _jitter(rng, leaf * 0.8, 0.08, 0.03, p), rise=(0.1, 0.9), shrink=0.5)
        per, fr, petals = 6, (0.03, 0.05), 6
    elif species == "cosmos":
        foliage = _rosette(rng, x, y, np.full(p, r), (10, 16), 0.12, _jitter(rng, leaf * _col(1.2, 1.3, 1.3, 1.0), 0.08, 0.03, p), rise=(0.3, 1.0), shrink=0.3)
        per, fr, petals = 3, (0.025, 0.04), 8
    elif species == "salvia":
        foliage = _rosette(rng, x, y, np.full(p, r * 0.8), (6, 10), 0.5, _jitter(rng, leaf, 0.08, 0.03, p), rise=(0.2, 0.8))
        per, fr, petals = 5, (0.012, 0.018), 0
    else:  # marigold, petunia: low mounds covered in flowers
        foliage = _rosette(rng, x, y, np.full(p, r), (8, 14), 0.35, _jitter(rng, leaf, 0.08, 0.03, p), rise=(0.2, 0.9))
        per, fr, petals = (12, (0.02, 0.035), 0) if species == "marigold" else (10, (0.02, 0.03), 5)
    k = rng.poisson(per, p)
    fx = np.repeat(x, k) + rng.normal(0, r * 0.45, k.sum())
    fy = np.repeat(y, k) + rng.normal(0, r * 0.45, k.sum())
    m = fx.size
    col = (fcol[rng.integers(len(fcol), size=m)] * np.exp(rng.normal(0, 0.06, (m, 1)))).astype(np.float32)
    radius = rng.uniform(*fr, m)
    if species == "salvia":  # spikes
        flowers = _Marks(fx, fy, radius * 4, radius, rng.uniform(0, _TWO_PI, m), col, np.full(m, 2.0))
    elif petals:
        centre = _col(0.05, 0.25, 0.33, 0.5) if species == "cosmos" else col * 0.7
        flowers = _flowers(rng, fx, fy, radius, col, centre, petals, cup=rng.uniform(0.3, 0.9))
        flowers.z += 2
    else:  # pompom heads
        flowers = _Marks(fx, fy, radius, radius * rng.uniform(0.8, 1, m), rng.uniform(0, _TWO_PI, m), col, np.full(m, 2.0))
    return foliage, flowers


def _strap_leaves(
    rng: np.random.Generator, x: np.ndarray, y: np.ndarray, theta: np.ndarray, length: np.ndarray, width: np.ndarray, col: np.ndarray, z: np.ndarray,
    segments: int = 3, arch: float = 0.6,
) -> _Marks:
    """Long arching leaves (maize, grasses): ``segments`` ellipses along each leaf from (x, y)
    in direction ``theta``, narrowing to the tip; the rising part near the stem looks short
    from above, the bend catches the light."""
    n = x.size
    if n == 0:
        return _Marks.join()
    k = (np.arange(segments) + 0.5) / segments
    proj = length[:, None] * (1 - arch * 0.4) / segments
    dist = np.cumsum(np.broadcast_to(proj, (n, segments)), axis=1) - proj / 2
    bend = theta[:, None] + rng.normal(0, 0.12, (n, 1)) * k  # a slight curve
    cx = x[:, None] + np.cos(bend) * dist
    cy = y[:, None] + np.sin(bend) * dist
    w = width[:, None] * (1 - 0.55 * k**1.5)
    light = 0.85 + 0.35 * np.sin(np.pi * k) * arch
    c = col[:, None, :] * light[..., None]
    zz = z[:, None] - 0.2 * k
    return _Marks(cx.ravel(), cy.ravel(), np.broadcast_to(proj / 2 * 1.15, (n, segments)).ravel(), w.ravel() / 2, bend.ravel(), c.reshape(-1, 4).astype(np.float32), zz.ravel())


def _maize(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 3, "blob": 1.5, "strip": 1, "terrace": 1.5}))
    stage = _pick(rng, {"young": 1, "grown": 2, "tassel": 2, "dry": 0.7})
    row = rng.uniform(0.55, 0.8)
    x, y = _rows(rng, geom, row, rng.uniform(0.18, 0.3), along, jitter=0.1)
    x, y = _thin(rng, x, y, rng.uniform(0.85, 1.0), 0.5, 3)
    size = {"young": 0.25, "grown": 0.65, "tassel": 0.75, "dry": 0.7}[stage] * rng.uniform(0.8, 1.2)
    height = {"young": 0.4, "grown": 1.8, "tassel": 2.3, "dry": 2.2}[stage]
    plan = _Plan("maize", geom, height, margin_m=size)
    mode = _plot_ground(rng, plan, sun, (along, row), {"soil": 0.8, "weedy": 0.2})
    p = x.size
    vigour = np.exp(rng.normal(0, 0.15, p))
    if mode != "open":
        _ground_shadows(plan, sun, x, y, size * 0.5 * vigour, height * vigour, 0.45)
    base = _col(0.04, 0.11, 0.055, 0.48) if stage != "dry" else _mix(_STRAW, _DRY_BROWN, rng.uniform(0, 0.5))
    col = _jitter(rng, _jitter(rng, base, 0.1, 0.04), 0.07, 0.03, p)
    n = 6 if stage == "young" else 12
    i = np.arange(n)[None, :]
    t = i / (n - 1)
    # two ranks of leaves on opposite sides of the stem, roughly across the row
    theta = rng.uniform(0, _TWO_PI, (p, 1)) * 0.3 + along + math.pi / 2 + (i % 2) * math.pi + rng.normal(0, 0.35, (p, n))
    length = size * vigour[:, None] * (0.6 + 0.7 * np.sin(np.pi * (0.2 + 0.7 * t))) * rng.uniform(0.85, 1.1, (p, n))
    length = length * (1 - 0.4 * t)  # upper leaves stand more upright
    width = np.full((p, n), rng.uniform(0.06, 0.1)) * np.sqrt(size / 0.7)
    cc = np.broadcast_to(col[:, None, :], (p, n, 4)) * (0.75 + 0.35 * t)[..., None]
    leaves = _strap_leaves(rng, np.repeat(x, n), np.repeat(y, n), theta.ravel(), length.ravel(), width.ravel(), cc.reshape(-1, 4), np.broadcast_to(t, (p, n)).ravel())
    parts = [leaves]
    if stage in ("tassel", "dry"):  # tassels: a star of thin pale branches on top
        k = 6
        ang = rng.uniform(0, _TWO_PI, (p, 1)) + np.arange(k) * _TWO_PI / k + rng.normal(0, 0.2, (p, k))
        tl = rng.uniform(0.06, 0.12, (p, k))
        tx, ty = x[:, None] + np.cos(ang) * tl, y[:, None] + np.sin(ang) * tl
        tc = _jitter(rng, _col(0.10, 0.15, 0.17, 0.36), 0.1, 0.04, p * k)
        parts.append(_Marks(tx.ravel(), ty.ravel(), tl.ravel(), np.full(p * k, 0.01), ang.ravel(), tc, np.full(p * k, 2.0)))
    _Marks.join(*parts).put(plan, rounds=4, tilt=0.25, dome=0.15)
    return plan


def _weeds(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, _ = _outline(rng, area_m2, _pick(rng, {"blob": 3, "rect": 1, "strip": 1}))
    plan = _Plan("weeds", geom, rng.uniform(0.3, 1.2), margin_m=0.3)
    litter = _mix(_soil_colour(rng), _STRAW, rng.uniform(0.2, 0.6))
    _plot_ground(rng, plan, sun, None, {"soil": 0.7, "open": 0.3}, soil=litter)
    x, y = _scatter(rng, geom, rng.uniform(0.12, 0.3), 0.5)
    x, y = _thin(rng, x, y, rng.uniform(0.4, 1.0), rng.uniform(0.3, 1.0), rng.uniform(1, 4))
    p = x.size
    kind = rng.choice(4, size=p, p=np.array([0.45, 0.3, 0.15, 0.1]))  # grass, broadleaf, wormwood, thistle
    dry = rng.uniform(0, 0.7)
    green = _jitter(rng, _WEED, 0.12, 0.05)
    parts = []
    g = kind == 0
    gc = _mix(_jitter(rng, green, 0.12, 0.05, int(g.sum())), _STRAW, np.clip(dry + rng.normal(0, 0.2, int(g.sum())), 0, 1))
    parts.append(_rosette(rng, x[g], y[g], rng.uniform(0.1, 0.3, int(g.sum())), (6, 12), 0.08, gc, rise=(0.4, 1.2), shrink=0.2))
    b = kind == 1
    bc = _jitter(rng, green * _col(0.9, 1.05, 1.0, 1.05), 0.12, 0.05, int(b.sum()))
    parts.append(_rosette(rng, x[b], y[b], rng.uniform(0.06, 0.2, int(b.sum())), (5, 10), 0.5, bc, rise=(0.1, 0.8)))
    w = kind == 2  # wormwood (Artemisia): grey-green, feathery: a glaucous look-alike
    wc = _jitter(rng, _col(0.08, 0.12, 0.10, 0.36), 0.1, 0.04, int(w.sum()))
    parts.append(_rosette(rng, x[w], y[w], rng.uniform(0.12, 0.3, int(w.sum())), (10, 16), 0.2, wc, rise=(0.3, 1.1), shrink=0.3))
    t = kind == 3
    tc = _jitter(rng, _col(0.06, 0.10, 0.075, 0.38), 0.1, 0.04, int(t.sum()))
    parts.append(_rosette(rng, x[t], y[t], rng.uniform(0.1, 0.2, int(t.sum())), (6, 10), 0.35, tc, rise=(0.1, 0.7)))
    flowers = rng.random(p) < rng.uniform(0, 0.3)
    if flowers.any():  # daisies, dandelions, thistles
        fk = _pick(rng, {"white": 1, "yellow": 1, "purple": 0.7})
        fcol = {"white": _col(0.55, 0.58, 0.56, 0.66), "yellow": _col(0.05, 0.32, 0.42, 0.55), "purple": _col(0.25, 0.12, 0.25, 0.55)}[fk]
        m = int(flowers.sum())
        fr = rng.uniform(0.008, 0.02, m)
        parts.append(_Marks(x[flowers] + rng.normal(0, 0.05, m), y[flowers] + rng.normal(0, 0.05, m), fr, fr, np.zeros(m), _jitter(rng, fcol, 0.08, 0.03, m), np.full(m, 2.0)))
    _Marks.join(*parts).put(plan, rounds=3, tilt=0.3, dome=0.25)
    return plan


def _tea(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 2, "blob": 2, "strip": 1}))
    pitch, width = rng.uniform(1.3, 1.9), rng.uniform(0.85, 1.3)
    width = min(width, pitch - 0.2)
    plan = _Plan("tea", geom, rng.uniform(0.7, 1.2), margin_m=0.2)
    _plot_ground(rng, plan, sun, None, {"soil": 0.8, "weedy": 0.2}, soil=_soil_colour(rng, {"red": 2, "brown": 2, "dark": 1}) * 0.8)
    # bushes close together along rows that follow the contour (a gentle wave)
    wave, wl = rng.uniform(0, 0.6), rng.uniform(8, 25)
    minx, miny, maxx, maxy = geom.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = math.hypot(maxx - minx, maxy - miny) / 2 + pitch
    step = rng.uniform(0.18, 0.3)
    u, v = np.meshgrid(np.arange(-half, half, pitch), np.arange(-half, half, step), indexing="ij")
    off = rng.normal(0, width * 0.1, u.shape)
    u = u + wave * np.sin(_TWO_PI * v / wl) + off
    d, nvec = (math.cos(along), math.sin(along)), (-math.sin(along), math.cos(along))
    x, y = cx + u * nvec[0] + v * d[0], cy + u * nvec[1] + v * d[1]
    keep = _inside(geom, x.ravel(), y.ravel())
    x, y, off = x.ravel()[keep], y.ravel()[keep], off.ravel()[keep]
    p = x.size
    # each hedgerow is a rounded ridge: the normal tips across the row
    across = np.clip(off / (width / 2), -1, 1)
    nx, ny = across * nvec[0] * 0.8, across * nvec[1] * 0.8
    lit = 0.45 + 0.75 * sun.lit(nx, ny, np.ones(p)) / np.sqrt(1 + (0.8 * across) ** 2)
    colour = _jitter(rng, _col(0.033, 0.085, 0.045, 0.42), 0.1, 0.04)
    r = width * rng.uniform(0.3, 0.42, p)
    bushes = _Marks(x, y, r, r * rng.uniform(0.75, 1, p), rng.uniform(0, _TWO_PI, p), (_jitter(rng, colour, 0.08, 0.03, p) * lit[:, None]).astype(np.float32), 1 - np.abs(across))
    flush = rng.uniform(0, 0.6)  # light green new shoots on the plucking table
    per = 50
    k = p * per
    lu = rng.uniform(-1, 1, k) * width * 0.45  # across the row
    lv = rng.normal(0, step * 0.6, k)
    fx = np.repeat(x, per) + lu * nvec[0] + lv * d[0]
    fy = np.repeat(y, per) + lu * nvec[1] + lv * d[1]
    la = np.clip(np.repeat(off, per) + lu, -width / 2, width / 2) / (width / 2)
    llit = 0.45 + 0.75 * sun.lit(la * nvec[0] * 0.8, la * nvec[1] * 0.8, np.ones(k)) / np.sqrt(1 + (0.8 * la) ** 2)
    fc = np.where((rng.random(k) < flush)[:, None], _col(0.06, 0.16, 0.09, 0.48), colour * 1.05) * (llit * rng.uniform(0.85, 1.2, k))[:, None]
    fl = rng.uniform(0.02, 0.04, k)
    leaves = _Marks(fx, fy, fl, fl * 0.6, rng.uniform(0, _TWO_PI, k), fc.astype(np.float32), np.full(k, 2.0))
    bushes.put(plan, rounds=2, tilt=0.2, dome=0.1)
    leaves.put(plan, tilt=0.2)
    return plan


def _pumpkin(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, _ = _outline(rng, area_m2, _pick(rng, {"blob": 3, "rect": 1}))
    plan = _Plan("pumpkin", geom, 0.4, margin_m=0.4)
    _plot_ground(rng, plan, sun, None, {"soil": 0.7, "weedy": 0.3}, soil=_mix(_soil_colour(rng), _STRAW, rng.uniform(0, 0.5)))
    hills_x, hills_y = _scatter(rng, geom, rng.uniform(1.2, 2.2), 0.4)
    leaf = _jitter(rng, _col(0.045, 0.115, 0.06, 0.46), 0.1, 0.04)
    parts = []
    for hx, hy in zip(hills_x, hills_y):  # vines run out from each hill, leaves along them
        for _ in range(int(rng.integers(2, 6))):
            heading = rng.uniform(0, _TWO_PI)
            n = int(rng.integers(5, 14))
            steps = rng.uniform(0.12, 0.22, n)
            turn = np.cumsum(rng.normal(0, 0.3, n)) + heading
            vx = hx + np.cumsum(steps * np.cos(turn))
            vy = hy + np.cumsum(steps * np.sin(turn))
            r = rng.uniform(0.1, 0.2, n) * np.linspace(1, 0.6, n)
            side = rng.choice([-1, 1], n) * rng.uniform(0.05, 0.12, n)
            lx, ly = vx - np.sin(turn) * side, vy + np.cos(turn) * side
            mottled = rng.uniform(0.85, 1.2, n)
            parts.append(_Marks(lx, ly, r, r * rng.uniform(0.85, 1, n), rng.uniform(0, _TWO_PI, n), (np.broadcast_to(leaf, (n, 4)) * mottled[:, None]).astype(np.float32), rng.uniform(0, 1, n)))
            if rng.random() < 0.4:  # a flower or a fruit on this vine
                j = int(rng.integers(n))
                if rng.random() < 0.5:
                    fc = _jitter(rng, _col(0.04, 0.26, 0.45, 0.52), 0.08, 0.03, 1)
                    parts.append(_flowers(rng, vx[j:j + 1], vy[j:j + 1], np.array([rng.uniform(0.04, 0.06)]), fc, fc * 0.8, 5, 0.4))
                else:
                    fr = rng.uniform(0.1, 0.2)
                    fc = _jitter(rng, _col(0.04, 0.12, 0.34, 0.45) if rng.random() < 0.6 else _col(0.05, 0.10, 0.07, 0.35), 0.1, 0.04, 1)
                    parts.append(_Marks(vx[j:j + 1], vy[j:j + 1], np.array([fr]), np.array([fr * rng.uniform(0.7, 1)]), np.array([rng.uniform(0, _TWO_PI)]), fc, np.array([rng.uniform(0, 1)])))
    vines = _Marks.join(*parts)
    inside = _inside(geom.buffer(0.2), vines.x, vines.y)  # vines that stray out of the patch are cut back
    _Marks(*(getattr(vines, f)[inside] for f in ("x", "y", "a", "b", "ang", "col", "z"))).put(plan, rounds=4, tilt=0.5, dome=0.35)
    return plan


def _tobacco(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 3, "blob": 1.5, "terrace": 1.5}))
    row = rng.uniform(1.0, 1.25)
    x, y = _rows(rng, geom, row, rng.uniform(0.45, 0.6), along, jitter=0.12)
    size = rng.uniform(0.3, 0.6)
    plan = _Plan("tobacco", geom, size * 3, margin_m=size)
    mode = _plot_ground(rng, plan, sun, (along, row), {"soil": 0.85, "weedy": 0.15})
    p = x.size
    r = size * np.exp(rng.normal(0, 0.12, p))
    if mode != "open":
        _ground_shadows(plan, sun, x, y, r * 0.6, r * 3, 0.5)
    col = _jitter(rng, _jitter(rng, _col(0.06, 0.15, 0.085, 0.50), 0.1, 0.04), 0.06, 0.03, p)
    leaves = _rosette(rng, x, y, r, (12, 20), 0.5, col, rise=(0.2, 1.1), shrink=0.55)
    parts = [leaves]
    if rng.random() < 0.35:  # flowering: clusters of pink or cream trumpets on top
        fc = _col(0.35, 0.25, 0.5, 0.62) if rng.random() < 0.7 else _col(0.45, 0.5, 0.45, 0.62)
        k = rng.poisson(10, p)
        fx = np.repeat(x, k) + rng.normal(0, 0.06, k.sum())
        fy = np.repeat(y, k) + rng.normal(0, 0.06, k.sum())
        fr = rng.uniform(0.012, 0.02, fx.size)
        parts.append(_Marks(fx, fy, fr, fr, np.zeros(fx.size), _jitter(rng, fc, 0.08, 0.03, fx.size), np.full(fx.size, 2.0)))
    _Marks.join(*parts).put(plan, rounds=4, tilt=0.35, dome=0.3)
    return plan


def _wheat(rng: np.random.Generator, area_m2: float, sun: _Sun) -> _Plan:
    geom, along = _outline(rng, area_m2, _pick(rng, {"rect": 3, "blob": 1, "strip": 1, "terrace": 2}))
    stage = _pick(rng, {"tillering": 1, "green": 2, "heading": 1, "ripe": 1})
    row = rng.uniform(0.15, 0.25)
    x, y = _rows(rng, geom, row, rng.uniform(0.045, 0.07), along, jitter=0.1)
    plan = _Plan("wheat", geom, {"tillering": 0.2, "green": 0.6, "heading": 0.85, "ripe": 0.85}[stage], margin_m=0.2)
    _plot_ground(rng, plan, sun, (along, row), {"soil": 1.0})
    p = x.size
    base = {"ripe": _mix(_STRAW, _col(0.14, 0.2, 0.24, 0.36), 0.5)}.get(stage, _col(0.045, 0.105, 0.055, 0.45))
    col = _jitter(rng, _jitter(rng, base, 0.1, 0.04), 0.08, 0.03, p)
    length = {"tillering": 0.1, "green": 0.22, "heading": 0.25, "ripe": 0.22}[stage] * rng.uniform(0.8, 1.2)
    tufts = _rosette(rng, x, y, np.full(p, length), (4, 6), 0.16, col, rise=(0.5, 1.2), shrink=0.2)
    parts = [tufts]
    if stage in ("heading", "ripe"):  # ears
        ec = _jitter(rng, _col(0.08, 0.14, 0.11, 0.42) if stage == "heading" else _col(0.15, 0.21, 0.25, 0.36), 0.08, 0.03, p)
        parts.append(_Marks(x + rng.normal(0, 0.02, p), y + rng.normal(0, 0.02, p), np.full(p, 0.035), np.full(p, 0.008), rng.uniform(0, _TWO_PI, p), ec, np.full(p, 2.0)))
    _Marks.join(*parts).put(plan, rounds=2, tilt=0.25, dome=0.2)
    return plan

# --------------------------------------------------------------------------------------------
# Public entry
# --------------------------------------------------------------------------------------------

_KIND_FNS: dict[str, tuple[Callable, tuple[float, float]]] = {
    "poppy": (_poppy, (2.0, 1500.0)),
    "cannabis": (_cannabis, (2.0, 1500.0)),
    "tree": (_tree, (3.0, 300.0)),
    "shrub": (_shrub, (0.5, 40.0)),
    "hedge": (_hedge, (3.0, 150.0)),
    "banana": (_banana, (3.0, 400.0)),
    "lawn": (_lawn, (10.0, 1500.0)),
    "vegetable_garden": (_vegetable_garden, (5.0, 600.0)),
    "rapeseed": (_rapeseed, (50.0, 1500.0)),
    "flower_bed": (_flower_bed, (1.0, 150.0)),
    "maize": (_maize, (20.0, 1500.0)),
    "weeds": (_weeds, (5.0, 800.0)),
    "tea": (_tea, (30.0, 1500.0)),
    "pumpkin": (_pumpkin, (3.0, 300.0)),
    "tobacco": (_tobacco, (30.0, 1500.0)),
    "wheat": (_wheat, (50.0, 1500.0)),
}
KINDS: tuple[str, ...] = tuple(_KIND_FNS)
AREA_M2: dict[str, tuple[float, float]] = {k: r for k, (_, r) in _KIND_FNS.items()}
"""Each kind's usual area range in square metres (render draws log-uniformly within it)."""
LOOKALIKES: tuple[str, ...] = tuple(k for k in KINDS if k not in TARGETS)


def render(rng: np.random.Generator, kind: str, gsd_m: float, area_m2: float | None = None, *, stage: str | None = None, sun_azimuth_deg: float | None = None) -> Sprite:
    """One ``kind`` object (a target plot or a look-alike) of about ``area_m2`` square metres
    (drawn log-uniformly over the kind's usual range when None), drawn plant by plant as
    surface reflectance at ``gsd_m`` metres per pixel.

    ``stage``: a poppy growth stage (:data:`POPPY_STAGES`) or a cannabis one
    (:data:`CANNABIS_STAGES`); drawn at random when None.  ``sun_azimuth_deg``: the sun's
    direction (degrees clockwise from the sprite's up) for shading and the plants' shadows on
    the plot's own soil, so a planter can match its cast shadow; drawn when None.
    Deterministic for a given ``rng`` state, and the same object at every GSD."""
    if not (isinstance(gsd_m, (int, float)) and math.isfinite(gsd_m) and gsd_m > 0):
        raise InputError(f"sprite GSD must be a positive number of metres, got {gsd_m!r}")
    plan, sun = _plan(rng, kind, area_m2, stage, sun_azimuth_deg)
    return plan.realise(float(gsd_m), sun)


def _plan(rng: np.random.Generator, kind: str, area_m2: float | None, stage: str | None, sun_azimuth_deg: float | None) -> tuple[_Plan, _Sun]:
    """The object in metres (every random draw) and its sun, before any pixel."""
    if kind not in _KIND_FNS:
        raise InputError(f"unknown sprite kind {kind!r}: expected one of {', '.join(KINDS)}")
    if stage is not None and kind not in ("poppy", "cannabis"):
        raise InputError(f"sprite kind {kind!r} has no growth stages (only poppy and cannabis do)")
    if area_m2 is not None and not (math.isfinite(area_m2) and area_m2 > 0):
        raise InputError(f"sprite area must be a positive number of square metres, got {area_m2!r}")
    fn, (lo, hi) = _KIND_FNS[kind]
    az = rng.uniform(0, _TWO_PI)
    sun = _Sun(math.radians(sun_azimuth_deg) if sun_azimuth_deg is not None else az, math.radians(rng.uniform(30, 70)))
    area = _loguniform(rng, lo, hi) if area_m2 is None else float(area_m2)
    plan = fn(rng, area, sun, stage) if kind in ("poppy", "cannabis") else fn(rng, area, sun)
    return plan, sun
