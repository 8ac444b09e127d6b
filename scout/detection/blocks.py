"""One block of work: read the mosaic at model GSD, infer its tiles, blend them.

Everything here is a top-level function over picklable values, so the same code runs
in-process or on a dask worker that reads the imagery itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from affine import Affine
from rasterio.features import geometry_mask
from rasterio.windows import Window
from rasterio.windows import transform as window_transform
from shapely.geometry import box

from scout import domain
from scout.areas import Clipper
from scout.blending import accumulate, pack, weight_window
from scout.imagery import Grid, ImageInfo, read_block
from scout.inference import cached_model, normalize, predict
from scout.model.card import ModelCard
from scout.tiling import Block, TileSpec


@dataclass(frozen=True)
class DetectPlan:
    """Everything a worker needs to compute any block of one run."""

    images: tuple[ImageInfo, ...]  # sharpest first: where images overlap, the sharper one wins
    indexes: tuple[tuple[int, ...], ...]  # per image: band numbers in model band order
    footprints_wkb: tuple[bytes, ...]  # per image, working CRS
    aoi_wkb: bytes  # union of AOIs, working CRS
    grid: Grid
    spec: TileSpec
    model_path: str
    batch_size: int
    device: str

    # decoded once per process, not per block: a county's AOI can hold hundreds of thousands of vertices
    @cached_property
    def footprints(self) -> tuple[shapely.Geometry, ...]:
        return tuple(shapely.from_wkb(f) for f in self.footprints_wkb)

    @cached_property
    def aoi(self) -> shapely.Geometry:
        return shapely.from_wkb(self.aoi_wkb)

    @cached_property
    def aoi_parts(self) -> Clipper:
        """The AOI's parts in a spatial index: a block's AOI mask looks at the parts near the block
        only (GEOS's clip_by_rect went through all 100,000 parcels of a cadastral AOI per block)."""
        return Clipper(self.aoi)


@dataclass(frozen=True)
class BlockInput:
    data: np.ndarray  # (B, h, w) normalized network input
    valid: np.ndarray  # (h, w) bool: imagery valid and inside an AOI
    read_s: float


@dataclass(frozen=True)
class BlockResult:
    """A blended block, :func:`~scout.blending.pack`-ed: the same values travel, are
    checkpointed and are assembled, so a resumed run equals an uninterrupted one."""

    block_id: int
    probs: np.ndarray  # (C_fg, h, w) uint16 blended probabilities in steps of 1 / P_STEPS
    wsum: np.ndarray  # (h, w) float32 weight sums; 0 = nodata / outside AOI
    tiles_run: int
    read_s: float
    infer_s: float
    descriptors: np.ndarray  # (n, d) float32: colour and texture of the block's windows (scout.domain), for the trust signal


def overlap_slices(bounds: tuple[float, float, float, float], transform: Affine, h: int, w: int) -> tuple[slice, slice]:
    """Rows and columns of an (h, w) window at ``transform`` that ``bounds`` (minx, miny, maxx, maxy)
    touches, one pixel generous: an image covering a corner of a block is read and normalized
    there only, not over the whole block (4x the reading time where small flights overlap)."""
    minx, miny, maxx, maxy = bounds
    col0, row0 = ~transform * (minx, maxy)
    col1, row1 = ~transform * (maxx, miny)
    rows = slice(max(0, math.floor(row0) - 1), min(h, math.ceil(row1) + 1))
    cols = slice(max(0, math.floor(col0) - 1), min(w, math.ceil(col1) + 1))
    return rows, cols


def window_box(plan: DetectPlan, window: Window) -> shapely.Geometry:
    """A window of the grid as a box in the working CRS: the images whose footprints touch it are the ones it reads."""
    wt = window_transform(window, plan.grid.affine)
    h, w = int(window.height), int(window.width)
    return box(wt.c, wt.f + h * wt.e, wt.c + w * wt.a, wt.f)


def block_box(plan: DetectPlan, block: Block) -> shapely.Geometry:
    return window_box(plan, block.window)


def covering_reads(plan: DetectPlan, window: Window, bands: Sequence[tuple[int, ...] | None], gsd_m: float | None = None,
                   ) -> Iterator[tuple[ImageInfo, slice, slice, np.ndarray, np.ndarray]]:
    """Each image whose footprint touches ``window`` of the grid, sharpest first, read over the part it
    covers: (image, rows, cols, bands in its dtype, valid).  ``bands``: per image, the band numbers
    to read, or None to pass it over.  The caller stops when the window is full."""
    h, w = int(window.height), int(window.width)
    wt = window_transform(window, plan.grid.affine)
    wbox = window_box(plan, window)
    for info, idx, footprint in zip(plan.images, bands, plan.footprints):
        if idx is None or not footprint.intersects(wbox):
            continue
        rows, cols = overlap_slices(footprint.bounds, wt, h, w)
        sub = Window(window.col_off + cols.start, window.row_off + rows.start, cols.stop - cols.start, rows.stop - rows.start)
        yield (info, rows, cols, *read_block(info, idx, plan.grid, sub, gsd_m=gsd_m))  # not kept here: the caller frees it


def read_input(plan: DetectPlan, block: Block) -> BlockInput:
    """Mosaic the block's window from every image that covers it, normalized per image."""
    t0 = time.perf_counter()
    card = cached_model(plan.model_path, plan.device).card
    win = block.window
    h, w = int(win.height), int(win.width)
    data: np.ndarray | None = None
    have = np.zeros((h, w), bool)
    wt = window_transform(win, plan.grid.affine)
    wbox = block_box(plan, block)
    for info, rows, cols, raw, valid in covering_reads(plan, win, plan.indexes, card.gsd_m):
        part = normalize(raw, card, info.dtype)
        del raw
        if data is None and valid.shape == (h, w):  # the sharpest image covering the block: used as is, no copy
            data, have = part, valid
        elif data is None:  # around it, what a read of the whole block would give: DN 0
            data = np.empty((len(card.bands), h, w), np.float32)
            data[:] = normalize(np.zeros((len(card.bands), 1, 1), info.dtype), card, info.dtype)
            data[:, rows, cols] = part
            have[rows, cols] = valid
        else:
            take = valid & ~have[rows, cols]
            np.copyto(data[:, rows, cols], part, where=take[None])
            have[rows, cols] |= take
        if have.all():
            break
    if data is None:
        data = np.zeros((len(card.bands), h, w), np.float32)
    # clipped to the block first (two pixels generous, so the cut edges fall outside it):
    # rasterio turns a geometry into Python coordinate lists, with the GIL held, and a county's
    # township boundaries run to hundreds of thousands of vertices
    margin = 2 * abs(wt.a)
    minx, miny, maxx, maxy = wbox.bounds
    aoi = plan.aoi_parts.bounded(minx - margin, miny - margin, maxx + margin, maxy + margin)
    inside = np.zeros((h, w), bool) if aoi.is_empty else geometry_mask([aoi], out_shape=(h, w), transform=wt, invert=True, all_touched=True)
    return BlockInput(data, have & inside, time.perf_counter() - t0)


def infer(plan: DetectPlan, block: Block, inp: BlockInput) -> BlockResult:
    """Run the block's tiles through the model in batches and blend them over the block."""
    t0 = time.perf_counter()
    model = cached_model(plan.model_path, plan.device)
    size = plan.spec.size
    win = block.window
    tiles, batch, out = [], [], []
    n_fg = len(model.card.classes) - 1
    for tile in block.tiles:
        r, c = int(tile.window.row_off - win.row_off), int(tile.window.col_off - win.col_off)
        if not inp.valid[r : r + size, c : c + size].any():
            continue  # all nodata or outside the AOI: never inferred
        tiles.append(tile.window)
        batch.append(inp.data[:, r : r + size, c : c + size])
        if len(batch) == plan.batch_size:
            out.append(predict(model, np.stack(batch), plan.device))
            batch = []
    if batch:
        out.append(predict(model, np.stack(batch), plan.device))
    probs = np.concatenate(out) if out else np.zeros((0, n_fg, size, size), np.float32)
    packed = pack(*accumulate(win, tiles, probs, weight_window(size, plan.spec.overlap), inp.valid))
    return BlockResult(block.block_id, *packed, len(tiles), inp.read_s, time.perf_counter() - t0, describe_block(model.card, inp))


def describe_block(card: ModelCard, inp: BlockInput) -> np.ndarray:
    """Colour and texture of the block's valid windows (:mod:`scout.domain`) in 0-1 units, for
    comparing the imagery with the model's training imagery; none when the card records none."""
    if not card.domain:
        return np.zeros((0, 0), np.float32)
    mean = np.asarray(card.normalization["mean"], np.float32)[:, None, None]
    std = np.asarray(card.normalization["std"], np.float32)[:, None, None]
    out = [domain.describe(w * std + mean, card.bands) for w in domain.windows(inp.data, inp.valid)]
    return np.stack(out) if out else np.zeros((0, 0), np.float32)


def compute_block(plan: DetectPlan, block: Block) -> BlockResult:
    """Read, infer and blend one block (what a worker runs)."""
    return infer(plan, block, read_input(plan, block))
