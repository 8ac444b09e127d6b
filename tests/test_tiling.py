import numpy as np
import pytest
import shapely

from scout.tiling import TileSpec, make_grid, n_tiles, plan_blocks

WKT = "EPSG:32647"


def test_n_tiles_covers_length_with_whole_tiles():
    spec = TileSpec(size=128, overlap=32)
    for length in (1, 127, 128, 129, 224, 225, 1000):
        n = n_tiles(length, spec)
        assert (n - 1) * spec.stride + spec.size >= length
        assert n == 1 or (n - 2) * spec.stride + spec.size < length  # no spare tile


def test_overlap_must_be_smaller_than_tile():
    with pytest.raises(ValueError):
        TileSpec(size=64, overlap=64)


def test_grid_snaps_to_gsd_and_whole_tiles():
    spec = TileSpec(size=100, overlap=20)
    grid = make_grid((1000.03, 2000.07, 1050.0, 2031.0), 0.1, WKT, spec)
    t = grid.affine
    assert t.a == 0.1 and t.e == -0.1
    assert t.c == pytest.approx(1000.0) and t.f == pytest.approx(2031.0)
    assert (grid.width - spec.size) % spec.stride == 0 and (grid.height - spec.size) % spec.stride == 0
    assert t.c + grid.width * 0.1 >= 1050.0 and t.f - grid.height * 0.1 <= 2000.07


def test_only_tiles_touching_the_area_are_planned_and_blocked():
    spec = TileSpec(size=100, overlap=20, block_tiles=2)
    grid = make_grid((0, 0, 100, 100), 0.1, WKT, spec)  # 1000 px: 13 x 13 tile slots
    area = shapely.Point(5, 95).buffer(3)  # a small AOI near the top-left corner
    blocks = plan_blocks(grid, spec, area)
    tiles = [t for b in blocks for t in b.tiles]
    assert 1 <= len(tiles) <= 4
    assert all(t.row <= 1 and t.col <= 1 for t in tiles)
    for b in blocks:
        for t in b.tiles:  # block window holds its tiles
            assert b.window.col_off <= t.window.col_off and t.window.col_off + 100 <= b.window.col_off + b.window.width


def test_blocks_partition_tiles_deterministically():
    spec = TileSpec(size=64, overlap=16, block_tiles=3)
    grid = make_grid((0, 0, 60, 40), 0.1, WKT, spec)
    area = shapely.box(0, 0, 60, 40)
    a, b = plan_blocks(grid, spec, area), plan_blocks(grid, spec, area)
    ids = [t.tile_id for blk in a for t in blk.tiles]
    assert len(ids) == len(set(ids)) == n_tiles(grid.width, spec) * n_tiles(grid.height, spec)
    assert [blk.window for blk in a] == [blk.window for blk in b]
    assert np.all(np.diff([blk.block_id for blk in a]) == 1)
