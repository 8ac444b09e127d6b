"""The photos of a raw-photo run, warped onto the run's grid as one picture (``photo_mosaic.tif``).

A reviewer in QGIS judges a plot by the imagery under it; an orthomosaic is there already, but a
folder of raw photos has no map georeference of its own, so the run writes what it detected on:
each photo through its camera model, in its own cell of the flight (the seams of detection), at
the model's GSD.  One more read of the photos, after the blocks (resumed runs write it whole)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.shutil import copy as rio_copy
from rasterio.windows import Window

from scout.detection.blocks import DetectPlan, covering_reads
from scout.imagery import ImageInfo
from scout.progress import track

CHUNK_PX = 1024
"""Side of the windows the mosaic is composed and written in: memory stays a few MB."""

RGB = ("red", "green", "blue")


def rgb_indexes(info: ImageInfo) -> tuple[int, ...] | None:
    """Band numbers of red, green and blue in a raw photo; None for a photo without all three
    (one band of a multispectral camera), which the mosaic leaves out."""
    if info.frame is None or not set(RGB) <= set(info.band_names):
        return None
    return tuple(info.band_names.index(b) + 1 for b in RGB)


def has_photos(plan: DetectPlan) -> bool:
    """Whether the run reads any colour photo (orthomosaics show as themselves in QGIS)."""
    return any(rgb_indexes(info) for info in plan.images)


def compose_window(plan: DetectPlan, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 (3, h, w), valid (h, w)) of one window of the grid: the photos that cover it,
    sharpest first where their cells overlap (as detection read them)."""
    h, w = int(window.height), int(window.width)
    rgb, have = np.zeros((3, h, w), np.uint8), np.zeros((h, w), bool)
    for _, rows, cols, raw, valid in covering_reads(plan, window, [rgb_indexes(info) for info in plan.images]):
        if raw.dtype.kind in "ui" and raw.dtype.itemsize > 1:  # a 16-bit camera TIFF: shown in 8 bits
            raw = raw / (np.iinfo(raw.dtype).max / 255)
        take = valid & ~have[rows, cols]
        np.copyto(rgb[:, rows, cols], np.clip(raw, 0, 255).astype(np.uint8), where=take[None])
        have[rows, cols] |= take
        if have.all():
            break
    return rgb, have


def write_photo_mosaic(plan: DetectPlan, path: Path) -> None:
    """The run's photos as a JPEG-compressed COG on the run's grid, masked where no photo is."""
    grid = plan.grid
    raw = path.with_suffix(".raw.tif")
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": 3, "dtype": "uint8", "crs": grid.crs,
               "transform": grid.affine, "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate", "predictor": 2,
               "photometric": "RGB", "BIGTIFF": "IF_SAFER"}
    windows = [Window(c, r, min(CHUNK_PX, grid.width - c), min(CHUNK_PX, grid.height - r))
               for r in range(0, grid.height, CHUNK_PX) for c in range(0, grid.width, CHUNK_PX)]
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(raw, "w", **profile) as dst:
        dst.descriptions = ("red", "green", "blue")
        for window in track(windows, total=len(windows), desc="photo mosaic", unit="window"):
            rgb, valid = compose_window(plan, window)
            dst.write(rgb, window=window)
            dst.write_mask(np.where(valid, 255, 0).astype(np.uint8), window=window)
    rio_copy(raw, path, driver="COG", COMPRESS="JPEG", QUALITY=85, BLOCKSIZE=512, OVERVIEW_RESAMPLING="AVERAGE", BIGTIFF="IF_SAFER",
             NUM_THREADS="ALL_CPUS")
    raw.unlink()
