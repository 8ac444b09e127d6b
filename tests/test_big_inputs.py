"""Big inputs cost what their size says (issue 17, cases 7 and 8): a 50,000 px tiled GeoTIFF's
footprint reads each tile once, with progress; an AOI of thousands of polygons is summed as
the area it covers."""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from conftest import UTM, X0, Y0, painted_scene, write_raster
from scout import progress
from scout.detection import detect
from scout.imagery import footprint, mask_strips, open_image


def sparse_tiled(path, side: int, tile: int, written: tuple[int, int, int, int]):
    """A ``side`` px square GeoTIFF in ``tile`` px internal tiles, nodata 0, where only the tiles of
    ``written`` (row0, col0, row1, col1) hold pixels: a flight on a county-wide canvas, small on disk."""
    r0, c0, r1, c1 = written
    profile = dict(driver="GTiff", width=side, height=side, count=3, dtype="uint8", crs=UTM, nodata=0, transform=Affine(0.05, 0, X0, 0, -0.05, Y0),
                   tiled=True, blockxsize=tile, blockysize=tile, compress="deflate", SPARSE_OK=True, BIGTIFF="YES")
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(r0, r1, tile):
            for col in range(c0, c1, tile):
                dst.write(np.full((3, tile, tile), 120, np.uint8), window=((row, row + tile), (col, col + tile)))
    return path


def test_mask_strips_cover_each_tile_once_and_fit_the_cache():
    tile_bytes = 4096 * 4096 * 4  # three bands and the mask
    strips = mask_strips(50_000, (4096, 4096), tile_bytes, cache_bytes=64 << 20)
    assert strips[0][0] == 0 and strips[-1][1] == 50_000
    assert all(a[1] == b[0] for a, b in zip(strips, strips[1:]))
    assert all(c0 % 4096 == 0 and (c1 - c0) // 4096 * tile_bytes <= 64 << 20 for c0, c1 in strips)  # tile-aligned, one tile row in cache
    assert len(mask_strips(50_000, (512, 512), 512 * 512 * 4, cache_bytes=64 << 20)) == 4  # 32 small tiles a strip
    assert mask_strips(30_000, (1, 30_000), 30_000 * 4, cache_bytes=64 << 20) == [(0, 30_000)]  # stripped: one read


@pytest.mark.timeout(120)  # a guard, not a measure: the footprint took 50 s on an idle machine (157 s on a busy one) before
def test_footprint_of_a_big_sparse_tiled_geotiff(tmp_path, caplog, monkeypatch):
    """Issue 17, case 7: under Scout's 64 MB GDAL cache a row of 4,096 px tiles (48 MB each) did not fit,
    so the decimated mask read decoded each tile ~80 times; now it reads strips of tiles that fit."""
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    caplog.set_level(logging.INFO, logger="scout")
    image = sparse_tiled(tmp_path / "canvas.tif", 50_000, 4096, (8192, 4096, 16384, 12288))
    info = open_image(image)
    fp = footprint(info, info.crs)
    flown = shapely.box(X0 + 4096 * 0.05, Y0 - 16384 * 0.05, X0 + 12288 * 0.05, Y0 - 8192 * 0.05)
    assert fp.contains(flown) and fp.area < flown.area * 1.1
    lines = [r.getMessage().split(" [")[0] for r in caplog.records if r.name == "scout.progress"]
    assert lines == [f"footprint of canvas.tif: {k}/13" for k in range(1, 14)]


def test_aoi_area_is_the_area_of_their_union_unrounded(tmp_path, rgb_model):
    """Issue 17, case 8: per-AOI areas were rounded to 0.1 m² and summed: 2,025 parcels of 0.04 m²
    made '0.00 ha', and an AOI drawn twice counted twice."""
    image = write_raster(tmp_path / "flight.tif", painted_scene(200, 200, [("poppy", 40, 40, 120, 120)]))
    parcels = [shapely.box(X0 + 0.22 * i, Y0 - 0.22 * j - 0.2, X0 + 0.22 * i + 0.2, Y0 - 0.22 * j) for i in range(45) for j in range(45)]
    twice = [shapely.box(X0 + 1, Y0 - 6, X0 + 6, Y0 - 1)] * 2
    for name, polygons, area in (("parcels", parcels, 2025 * 0.04), ("twice", twice, 25.0)):
        aoi = tmp_path / f"{name}.gpkg"
        gpd.GeoDataFrame({"name": [f"p{k}" for k in range(len(polygons))]}, geometry=polygons, crs=UTM).to_file(aoi)
        detect([image], tmp_path / name, aoi=aoi, model=rgb_model)
        assert json.loads((tmp_path / name / "run.json").read_text())["areas_m2"]["aoi"] == pytest.approx(area, abs=0.05)
