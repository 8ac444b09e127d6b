"""Pure tiling arithmetic: the working grid, tiles over AOI ∩ footprint, blocks of tiles.

Units: grid and tile positions are pixels of the working grid (model GSD); bounds are
working-CRS metres.  Tile ``k`` along an axis starts at ``k * stride`` where
``stride = tile_size - overlap``; ``overlap`` must be at least the network's receptive
field, so every pixel is seen, in some tile, at least half a receptive field away from
that tile's edge.  The grid is sized to a whole number of tiles, so there is no ragged
last tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from rasterio.windows import Window

from scout.imagery import Grid


@dataclass(frozen=True)
class TileSpec:
    """Tile size and overlap in pixels at model GSD; ``block_tiles`` tiles per block side."""

    size: int = 512
    overlap: int = 64
    block_tiles: int = 4

    def __post_init__(self) -> None:
        if not 0 <= self.overlap < self.size:
            raise ValueError(f"overlap {self.overlap} px must be smaller than the tile size {self.size} px")
        if self.block_tiles < 1:
            raise ValueError("block_tiles must be at least 1")

    @property
    def stride(self) -> int:
        return self.size - self.overlap


@dataclass(frozen=True)
class Tile:
    row: int  # tile index along y
    col: int  # tile index along x
    window: Window  # in working-grid pixels

    @property
    def tile_id(self) -> str:
        return f"r{self.row:04d}c{self.col:04d}"


@dataclass(frozen=True)
class Block:
    """Tiles read, inferred and blended together; ``window`` is the bounding box of its tiles."""

    block_id: int
    brow: int
    bcol: int
    window: Window
    tiles: tuple[Tile, ...]


def n_tiles(length_px: int, spec: TileSpec) -> int:
    """Tiles needed to cover ``length_px``: ``ceil((length - overlap) / stride)``, at least 1."""
    return max(1, math.ceil((length_px - spec.overlap) / spec.stride))


def make_grid(bounds: tuple[float, float, float, float], gsd_m: float, crs_wkt: str, spec: TileSpec) -> Grid:
    """A grid at ``gsd_m`` over ``bounds`` (metres), snapped to whole GSD multiples and
    extended to a whole number of tiles, so the same AOI always gives the same grid."""
    minx, miny, maxx, maxy = bounds
    x0 = math.floor(minx / gsd_m) * gsd_m
    y1 = math.ceil(maxy / gsd_m) * gsd_m
    width = max(1, math.ceil((maxx - x0) / gsd_m - 1e-9))
    height = max(1, math.ceil((y1 - miny) / gsd_m - 1e-9))
    nx, ny = n_tiles(width, spec), n_tiles(height, spec)
    width, height = (nx - 1) * spec.stride + spec.size, (ny - 1) * spec.stride + spec.size
    transform = Affine(gsd_m, 0.0, x0, 0.0, -gsd_m, y1)
    return Grid(crs_wkt=crs_wkt, transform=tuple(transform)[:6], width=width, height=height)


def tile_boxes(grid: Grid, spec: TileSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All tile slots of the grid: (rows, cols, boxes in working-CRS coordinates)."""
    ny, nx = n_tiles(grid.height, spec), n_tiles(grid.width, spec)
    grid_rows, grid_cols = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    rows, cols = grid_rows.ravel(), grid_cols.ravel()
    t = grid.affine
    x0 = t.c + cols * spec.stride * t.a
    y0 = t.f + rows * spec.stride * t.e
    boxes = shapely.box(x0, y0 + spec.size * t.e, x0 + spec.size * t.a, y0)
    return rows, cols, boxes


def plan_blocks(grid: Grid, spec: TileSpec, area: shapely.Geometry) -> list[Block]:
    """Tiles touching ``area`` (AOI ∩ valid footprint, working CRS), grouped into blocks.

    Tiles that do not touch ``area`` are never read.  Blocks are numbered row-major, so
    the plan is deterministic.
    """
    rows, cols, boxes = tile_boxes(grid, spec)
    shapely.prepare(area)
    keep = shapely.intersects(area, boxes)
    by_block: dict[tuple[int, int], list[Tile]] = {}
    for r, c in zip(rows[keep], cols[keep]):
        window = Window(int(c) * spec.stride, int(r) * spec.stride, spec.size, spec.size)
        by_block.setdefault((int(r) // spec.block_tiles, int(c) // spec.block_tiles), []).append(Tile(int(r), int(c), window))
    blocks = []
    for i, key in enumerate(sorted(by_block)):
        tiles = tuple(by_block[key])
        col_off = min(t.window.col_off for t in tiles)
        row_off = min(t.window.row_off for t in tiles)
        width = max(t.window.col_off for t in tiles) + spec.size - col_off
        height = max(t.window.row_off for t in tiles) + spec.size - row_off
        blocks.append(Block(i, key[0], key[1], Window(col_off, row_off, width, height), tiles))
    return blocks
