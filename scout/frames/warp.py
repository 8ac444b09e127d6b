"""Read a photo onto the run's ground grid at the model's GSD (an in-memory warp).

The photo is first read shrunk so its pixels are about the model's size (averaged: GDAL
decodes a JPEG at 1/2, 1/4 or 1/8 scale from its DCT and averages the rest, so a 20 MP photo
read for a 10 cm model is a fraction of a megapixel), then each grid pixel is looked up through
the photo's homography, bilinearly.  :func:`warp_to_grid` is the pure half (arrays in, arrays out).
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import geometry_mask
from rasterio.windows import Window
from rasterio.windows import transform as window_transform
from scipy.ndimage import map_coordinates

from scout.errors import ImageryError, first_line
from scout.frames import geometry as g
from scout.frames.georef import Frame
from scout.imagery import GDAL_ERRORS, Grid

if TYPE_CHECKING:
    from scout.frames.overlap import Thumbnail  # it imports this module


def grid_pixel_centres(transform: Affine, window: Window) -> np.ndarray:
    """(h*w, 2) CRS coordinates of the centres of ``window``'s pixels, row by row."""
    cols, rows = np.meshgrid(np.arange(int(window.width)) + window.col_off + 0.5, np.arange(int(window.height)) + window.row_off + 0.5)
    x, y = transform * (cols.ravel(), rows.ravel())
    return np.column_stack([x, y])


def warp_to_grid(pixels: np.ndarray, to_pixels: np.ndarray, xy: np.ndarray, shape: tuple[int, int], mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``pixels`` (bands, h, w) at ground points ``xy`` (n, 2) that ``to_pixels`` (3x3)
    maps to pixel (column, row) coordinates of ``pixels`` (corner origin); bilinear.

    Returns (bands, *shape) in ``pixels``' dtype (0 where invalid) and a valid mask (points that
    fall inside the photo, in front of the camera, and within ``mask`` (``shape``) when given:
    only those are sampled)."""
    u, v, w_ = g.project(to_pixels, xy[:, 0], xy[:, 1])
    ahead = w_ > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        col, row = u / w_, v / w_
    h, w = pixels.shape[1:]
    valid = ahead & (col >= 0) & (col <= w) & (row >= 0) & (row <= h)
    if mask is not None:
        valid &= mask.ravel()
    inside = np.flatnonzero(valid)  # only these are sampled: a block is often far larger than a photo
    out = np.zeros((pixels.shape[0], len(xy)), dtype=pixels.dtype)
    for b in range(pixels.shape[0]):
        v = map_coordinates(pixels[b], [row[inside] - 0.5, col[inside] - 0.5], order=1, mode="nearest", prefilter=False, output=np.float32)
        out[b, inside] = np.round(v).astype(pixels.dtype) if np.issubdtype(pixels.dtype, np.integer) else v
    return out.reshape(pixels.shape[0], *shape), valid.reshape(shape)


def shrink_factor(frame: Frame, gsd_m: float) -> float:
    """How much the photo is shrunk before warping: to about ``gsd_m`` at its centre, never enlarged."""
    return max(1.0, gsd_m / frame.gsd_m)


class ShrunkPhotos:
    """Photos read whole at a shrink factor, the last few kept (up to ``budget_bytes``).

    A JPEG cannot be decoded in part: every block that a photo reaches into would decode it
    again (six 20 MP photos over four blocks: 9.4 s of reading for 3.4 s of model).  Blocks go
    row by row, so the photos of one row of blocks are what a small cache needs to hold."""

    def __init__(self, budget_bytes: int = 256 * 2**20) -> None:
        self.budget = budget_bytes
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str, f: float, indexes: tuple[int, ...]) -> np.ndarray:
        """(bands, H // f, W // f): shrunk pixel i covers stored pixels [i * f, (i + 1) * f), averaged."""
        stat = os.stat(path)
        key = (path, stat.st_size, stat.st_mtime_ns, f, tuple(indexes))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as src:
                    w, h = int(src.width // f), int(src.height // f)
                    pixels = src.read(list(indexes), window=Window(0, 0, w * f, h * f), out_shape=(len(indexes), h, w), resampling=Resampling.average)
        except GDAL_ERRORS as exc:
            raise ImageryError(f"{path}: read failed ({first_line(exc)}); the file may be truncated or corrupt") from None
        with self._lock:
            self._items[key] = pixels
            while sum(a.nbytes for a in self._items.values()) > self.budget and len(self._items) > 1:
                self._items.popitem(last=False)
        return pixels


SHRUNK = ShrunkPhotos()


def read_frame(frame: Frame, indexes: tuple[int, ...], grid: Grid, window: Window, gsd_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Read ``window`` of the run's grid from one placed photo: (bands (B, h, w), valid (h, w)).

    Valid: inside the photo, and where no overlapping photo sees the ground more nearly straight
    down (its cell, :func:`~scout.frames.georef.owned_cell`).  Only the part of the window under the photo's
    footprint is computed; the photo is decoded whole, shrunk by :func:`shrink_factor`, once
    for the blocks it reaches into (:class:`ShrunkPhotos`)."""
    shape = (int(window.height), int(window.width))
    data, valid = np.zeros((len(indexes), *shape), np.uint8), np.zeros(shape, bool)
    # the window's rows and columns the ground read from this photo touches (a block is often
    # far larger than a photo, and overlapping photos leave each a small part of its footprint)
    x0, y0, x1, y1 = frame.cell.bounds
    (ca, ra), (cb, rb) = (~grid.affine * (x0, y1)), (~grid.affine * (x1, y0))
    cols = slice(max(0, math.floor(min(ca, cb) - window.col_off) - 1), min(shape[1], math.ceil(max(ca, cb) - window.col_off) + 1))
    rows = slice(max(0, math.floor(min(ra, rb) - window.row_off) - 1), min(shape[0], math.ceil(max(ra, rb) - window.row_off) + 1))
    if cols.stop <= cols.start or rows.stop <= rows.start:
        return data, valid
    sub = Window(window.col_off + cols.start, window.row_off + rows.start, cols.stop - cols.start, rows.stop - rows.start)
    sub_shape = (int(sub.height), int(sub.width))
    to_stored = np.linalg.inv(frame.homography)
    xy = grid_pixel_centres(grid.affine, sub)
    corners = g.apply(to_stored, xy[[0, sub_shape[1] - 1, -sub_shape[1], -1]])
    # the photo is shrunk on one lattice (shrunk pixel i covers stored [i * f, (i + 1) * f)), so
    # any window of the grid reads the same shrunk pixels: blocks agree where they meet
    f = shrink_factor(frame, gsd_m)
    w, h = int(frame.meta.width // f), int(frame.meta.height // f)
    i0, j0 = np.clip(np.floor(corners.min(axis=0) / f) - 1, 0, [w, h]).astype(int)
    i1, j1 = np.clip(np.ceil(corners.max(axis=0) / f) + 1, 0, [w, h]).astype(int)
    if i1 <= i0 or j1 <= j0:
        return data, valid
    pixels = SHRUNK.get(frame.meta.path, f, indexes)[:, j0:j1, i0:i1]
    to_read = np.array([[1 / f, 0, -i0], [0, 1 / f, -j0], [0, 0, 1]])  # stored pixel -> pixel of the shrunk window
    # the ground read from this photo: its cell's pixels (by their centres)
    cell = geometry_mask([frame.cell], out_shape=sub_shape, transform=window_transform(sub, grid.affine), invert=True) if frame.cell_wkb else None
    part, part_valid = warp_to_grid(pixels, to_read @ to_stored, xy, sub_shape, cell)
    data = data.astype(part.dtype, copy=False)
    data[:, rows, cols], valid[rows, cols] = part, part_valid
    return data, valid


def read_thumbnail(frame: Frame, gsd_m: float) -> Thumbnail:
    """The whole photo in grey, shrunk by the power of two that comes nearest ``gsd_m`` from below
    (a JPEG decodes straight at 1/2, 1/4, 1/8 scale); for comparing overlapping photos."""
    from scout.frames.overlap import Thumbnail

    w, h = frame.meta.width, frame.meta.height
    factor = 2 ** min(3, int(math.log2(shrink_factor(frame, gsd_m))))
    shape = (max(1, round(h / factor)), max(1, round(w / factor)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(frame.meta.path) as src:
                pixels = src.read(out_shape=(src.count, *shape), resampling=Resampling.average)[:3].astype(np.float32).mean(axis=0)
    except GDAL_ERRORS as exc:
        raise ImageryError(f"{frame.meta.path}: read failed ({first_line(exc)}); the file may be truncated or corrupt") from None
    return Thumbnail(pixels, np.diag([shape[1] / w, shape[0] / h, 1.0]))
