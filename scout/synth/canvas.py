"""Scenes made from real imagery: synthetic plots and look-alikes planted into a real flight.

A county's own clean flight (or any real raster with no poppy or cannabis in it) becomes a scene
with known plots whose surroundings are all real: for training a model to the county's landscape,
for checking recall where no real plot is known, and for demos on real ground.  Sprites are
rendered at the canvas's own GSD and harmonised with it (:mod:`scout.synth.plant`); the image keeps
the canvas's grid, CRS, bands and pixel type.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio import features
from shapely.geometry import shape

from scout.errors import InputError
from scout.imagery import GDAL_ERRORS, band_indexes, open_image
from scout.io import atomic_path, write_gpkg_layer
from scout.schema import CLASSES, LOOKALIKES_LAYER
from scout.synth.plant import IGNORE, SpriteBank, default_families, plant
from scout.synth.scene import LABEL_NODATA, Scene
from scout.synth.sprite import TARGETS

log = logging.getLogger(__name__)

MAX_CANVAS_PX = 150_000_000  # whole canvases are held in memory
SENSOR_BANDS = {"drone": ("red", "green", "blue"), "satellite": ("blue", "green", "red", "nir")}


def plant_scene(
    canvas: str | Path, out_dir: str | Path, seed: int, targets: int = 12, lookalikes: int = 12, sensor: str | None = None,
    known_plots: gpd.GeoDataFrame | None = None,
) -> Scene:
    """Write ``out_dir/<canvas>-planted-<seed>.tif`` (the canvas with ``targets`` poppy/cannabis plots
    and ``lookalikes`` trees, lawns, gardens ... planted), its label raster and truth GeoPackage.

    ``sensor``: which bands to plant into (default: satellite when the canvas has NIR).
    ``known_plots``: labels (:func:`scout.labels.read_labels` of ``scout review --labels``) whose poppy
    and cannabis polygons are real plots in the canvas: they join the truth, untouched by planting,
    so a detection there is not scored a false alarm."""
    canvas, out_dir = Path(canvas), Path(out_dir)
    info = open_image(canvas)
    if info.width * info.height > MAX_CANVAS_PX:
        raise InputError(f"{canvas}: {info.width} x {info.height} px is too large to plant into at once (limit {MAX_CANVAS_PX / 1e6:.0f} MP); crop it first")
    if info.dtype not in ("uint8", "uint16"):
        raise InputError(f"{canvas}: pixel type {info.dtype} is not supported for planting (uint8 camera or uint16 reflectance x 10,000)")
    sensor = sensor or ("satellite" if "nir" in info.band_names else "drone")
    bands = SENSOR_BANDS[sensor]
    idx = band_indexes(info, bands)
    camera = info.dtype == "uint8"
    scale = 255.0 if camera else 10000.0
    try:
        with rasterio.open(canvas) as src:
            data = src.read()
            valid = src.dataset_mask() > 0
            profile = src.profile
            tags = src.tags()
            descriptions = src.descriptions
            colorinterp = src.colorinterp
    except GDAL_ERRORS as exc:
        raise InputError(f"{canvas}: cannot read it ({exc})") from None
    rng = np.random.default_rng([seed, 7])
    x = data[[i - 1 for i in idx]].astype(np.float32) / scale
    labels = np.where(valid, 0, IGNORE).astype(np.uint8)
    known = _known_plots(known_plots, labels.shape, profile["transform"], profile["crs"])
    bank = SpriteBank(default_families(), info.gsd_m, 0, rng)
    chosen = [bank.render(rng, True) for _ in range(targets)] + [bank.render(rng, False) for _ in range(lookalikes)]
    rng.shuffle(chosen)
    on = valid & (known > 0)
    real = x[:, on]  # the real plots' pixels, kept on top of whatever is planted there
    planted = plant(x, labels, chosen, bands, camera, rng)
    x[:, on], labels[on] = real, known[on]
    for k, i in enumerate(idx):
        band = np.clip(np.round(x[k] * scale), 0, 255 if camera else 65535).astype(data.dtype)
        data[i - 1] = np.where(valid, band, data[i - 1])

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{canvas.stem}-planted-{seed:04d}"
    image_path, label_path, truth_path = out_dir / f"{stem}.tif", out_dir / f"{stem}-labels.tif", out_dir / f"{stem}-truth.gpkg"
    profile.update(driver="GTiff", compress="deflate")
    with atomic_path(image_path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.colorinterp = colorinterp  # before the pixels: GDAL cannot change a 4th band's ExtraSamples once written
            dst.write(data)
            dst.update_tags(**tags, SCOUT_PLANTED=f"seed {seed}: synthetic plots planted into {canvas.name}")
            dst.descriptions = descriptions
    labels[~valid] = LABEL_NODATA
    lab_profile = {"driver": "GTiff", "height": info.height, "width": info.width, "count": 1, "dtype": "uint8",
                   "crs": profile["crs"], "transform": profile["transform"], "compress": "deflate", "nodata": LABEL_NODATA}
    with atomic_path(label_path) as tmp:
        with rasterio.open(tmp, "w", **lab_profile) as dst:
            dst.write(labels[None])
    truth = _truth(labels, profile["transform"], profile["crs"])
    look = _lookalikes(planted, profile["transform"], profile["crs"])
    with atomic_path(truth_path) as tmp:
        write_gpkg_layer(truth, tmp, "truth")
        write_gpkg_layer(look, tmp, LOOKALIKES_LAYER)
    counts = {c: int((truth["class"] == c).sum()) for c in CLASSES}
    log.info("%s: planted %s plots (%s) and %d look-alikes", image_path.name, len(truth), ", ".join(f"{v} {k}" for k, v in counts.items()), len(look))
    left, bottom, right, top = rasterio.transform.array_bounds(info.height, info.width, profile["transform"])
    return Scene(image_path, truth_path, label_path, counts, sensor, seed, info.gsd_m, str(profile["crs"]), (left, bottom, right, top))


def _known_plots(labels: gpd.GeoDataFrame | None, shape: tuple[int, int], transform, crs) -> np.ndarray:
    """The poppy and cannabis polygons of ``labels`` burnt into a raster of class indexes (0 elsewhere)."""
    known = labels[labels["value"] > 0].to_crs(crs) if labels is not None else None
    if known is None or known.empty:
        return np.zeros(shape, np.uint8)
    return features.rasterize(zip(known.geometry, known["value"]), out_shape=shape, transform=transform, fill=0, dtype="uint8")


def _truth(labels: np.ndarray, transform, crs) -> gpd.GeoDataFrame:
    """One polygon per connected plot of each class in the label raster."""
    rows = []
    for k, cls in enumerate(CLASSES, start=1):
        mask = labels == k
        if mask.any():
            rows += [(cls, shape(g)) for g, _ in features.shapes(mask.astype(np.uint8), mask=mask, transform=transform)]
    gdf = gpd.GeoDataFrame({"class": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=crs)
    gdf["truth_id"] = [f"T{i + 1:03d}" for i in range(len(gdf))]
    return gdf


def _lookalikes(planted, transform, crs) -> gpd.GeoDataFrame:
    """Footprints of the planted look-alikes (class ``background``, ``kind`` says what)."""
    geoms, kinds = [], []
    for s, (rs, cs), foot in planted:
        if s.kind in TARGETS or not foot.any():
            continue
        t = transform * rasterio.Affine.translation(cs.start, rs.start)
        parts = [shape(g) for g, _ in features.shapes(foot.astype(np.uint8), mask=foot, transform=t)]
        geoms.append(shapely.union_all(parts))
        kinds.append(s.kind)
    return gpd.GeoDataFrame({"class": ["background"] * len(geoms), "kind": kinds}, geometry=geoms, crs=crs)
