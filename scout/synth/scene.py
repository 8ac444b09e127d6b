"""Synthetic drone and satellite scenes with known poppy and cannabis plots.

No labelled poppy or cannabis imagery can be downloaded, so Scout's shipped models, its
demo and its tests learn from and check against scenes made here: fields of several
crops in rows, farmsteads with courtyards, tracks, trees with shadows, hill shading,
and plots with the cues field reports describe (glaucous poppy foliage with flowers or
capsules; dark, coarse, high-NIR cannabis, often inside maize or courtyards), plus
look-alikes (rapeseed in bloom, flower beds, red roofs, cabbage and vegetable
gardens).  A scene is deterministic by seed.

Layout lives in :mod:`scout.synth.layout` (geometry), painting in
:mod:`scout.synth.render` (reflectance and sensors); this module writes the files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio import features
from shapely import affinity
from shapely.geometry import Point

from scout.errors import InputError
from scout.io import atomic_path, write_gpkg_layer
from scout.schema import CLASSES, LOOKALIKES_LAYER, TRUTH_LAYER
from scout.synth.layout import Layout, make_layout
from scout.synth.render import drone_sensor, render_reflectance, satellite_sensor

log = logging.getLogger(__name__)

KINDS = ("drone", "satellite")
DEFAULT_GSD_M = {"drone": 0.05, "satellite": 0.5}
# rapeseed/cabbage resemble poppy in bloom/foliage; weedy fallow, grass and pasture with
# soil showing through were the largest poppy false alarms of scout-drone-v1 (held-out scenes)
LOOKALIKE_COVERS = ("rapeseed", "cabbage", "fallow", "grass", "pasture")
LABEL_NODATA = 255  # label raster value outside the valid footprint (drone flight boundary)


@dataclass(frozen=True)
class Scene:
    """Files of one synthetic scene, and how many plots of each class it holds."""

    image_path: Path
    truth_path: Path  # GeoPackage: layer "truth" (class, area_m2, stage, setting), layer "lookalikes"
    label_path: Path  # uint8: 0 background, 1 poppy, 2 cannabis; 255 outside the footprint
    n_plots: Mapping[str, int]
    kind: str
    seed: int
    gsd_m: float
    crs: str
    bounds: tuple[float, float, float, float]  # left, bottom, right, top in CRS units (metres)


def default_origin(seed: int) -> tuple[float, float]:
    """Top-left corner (x, y) in metres for a seed: scenes of different seeds sit apart,
    all well inside one UTM zone (easting 300-700 km)."""
    return 300000.0 + (seed % 80) * 5000.0, 2300000.0 + (seed // 80 % 97) * 5000.0


def make_scene(
    out_dir: Path,
    seed: int,
    kind: str = "drone",
    size_px: int = 1024,
    gsd_m: float | None = None,
    crs: str = "EPSG:32647",
    origin: tuple[float, float] | None = None,
    boundary: bool = False,
) -> Scene:
    """Write one synthetic scene (image, truth polygons, label raster) into ``out_dir``.

    ``kind`` "drone": 3-band uint8 RGB (red, green, blue; with ``boundary`` a 4th alpha
    band, 0 outside an irregular flight boundary); "satellite": 4-band uint16
    blue, green, red, NIR reflectance*10000.  ``size_px`` is the width and height in
    pixels, ``gsd_m`` metres per pixel (default 0.05 drone, 0.5 satellite), ``crs`` a
    projected (metric) CRS and ``origin`` the top-left corner in its units.
    """
    if kind not in KINDS:
        raise InputError(f"unknown scene kind {kind!r} (known: {', '.join(KINDS)})")
    gsd = float(gsd_m if gsd_m is not None else DEFAULT_GSD_M[kind])
    if not 0.005 <= gsd <= 10:
        raise InputError(f"GSD {gsd} m is outside 0.005-10 m per pixel")
    if not 16 <= size_px <= 20000:
        raise InputError(f"scene size {size_px} px is outside 16-20000 px")
    try:
        crs_obj = CRS.from_user_input(crs)
    except CRSError as exc:
        raise InputError(f"CRS {crs!r} is not understood ({exc})") from None
    if not crs_obj.is_projected:
        raise InputError(f"CRS {crs} is not projected; synthetic scenes are laid out in metres")
    ox, oy = origin if origin is not None else default_origin(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng([seed, KINDS.index(kind)])
    size_m = size_px * gsd
    layout = make_layout(rng, size_m, size_m, kind=kind, boundary=boundary and kind == "drone")
    refl = render_reflectance(layout, rng, gsd, size_px, size_px)
    image = drone_sensor(refl, rng) if kind == "drone" else satellite_sensor(refl, rng)

    local = Affine(gsd, 0, 0, 0, gsd, 0)
    valid = features.rasterize([(layout.boundary, 1)], out_shape=(size_px, size_px), transform=local, dtype="uint8").astype(bool)
    labels = rasterize_labels(layout, local, size_px)
    labels[~valid] = LABEL_NODATA
    transform = Affine(gsd, 0, ox, 0, -gsd, oy)
    stem = f"{kind}-{seed:04d}"
    image_path, label_path, truth_path = out_dir / f"{stem}.tif", out_dir / f"{stem}-labels.tif", out_dir / f"{stem}-truth.gpkg"

    if kind == "drone":
        names = ["red", "green", "blue"]
        if boundary:
            image[:, ~valid] = 0
            image = np.concatenate([image, (valid * 255).astype(np.uint8)[None]])
            names.append("alpha")
    else:
        names = ["blue", "green", "red", "nir"]
    _write_raster(image_path, image, transform, crs_obj, names, alpha=boundary and kind == "drone")
    _write_raster(label_path, labels[None], transform, crs_obj, ["label"], nodata=LABEL_NODATA)
    truth = truth_frame(layout, ox, oy, crs_obj)
    with atomic_path(truth_path) as tmp:
        write_gpkg_layer(truth, tmp, TRUTH_LAYER)
        write_gpkg_layer(lookalike_frame(layout, ox, oy, crs_obj), tmp, LOOKALIKES_LAYER)
    counts = {c: int((truth["class"] == c).sum()) for c in CLASSES}
    log.info("scene %s: %s plots (%s)", stem, len(truth), ", ".join(f"{v} {k}" for k, v in counts.items()))
    return Scene(image_path, truth_path, label_path, counts, kind, seed, gsd, crs_obj.to_string(), (ox, oy - size_m, ox + size_m, oy))


def rasterize_labels(layout: Layout, transform: Affine, size_px: int) -> np.ndarray:
    """Class index per pixel (0 background, then schema.CLASSES order) in scene metres."""
    shapes = [(p.geom, CLASSES.index(p.cls) + 1) for p in layout.plots]
    if not shapes:
        return np.zeros((size_px, size_px), np.uint8)
    return features.rasterize(shapes, out_shape=(size_px, size_px), transform=transform, dtype="uint8")


def truth_frame(layout: Layout, ox: float, oy: float, crs: CRS) -> gpd.GeoDataFrame:
    """Truth plots in the output CRS: class, area_m2, stage and setting."""
    geoms = [affinity.affine_transform(p.geom, [1, 0, 0, -1, ox, oy]) for p in layout.plots]
    return gpd.GeoDataFrame(
        {
            "truth_id": [f"T{i + 1:03d}" for i in range(len(geoms))],
            "class": [p.cls for p in layout.plots],
            "area_m2": [round(float(g.area), 3) for g in geoms],
            "stage": [p.stage for p in layout.plots],
            "setting": [p.setting for p in layout.plots],
        },
        geometry=gpd.GeoSeries(geoms, crs=crs),
        crs=crs,
    )


def lookalike_frame(layout: Layout, ox: float, oy: float, crs: CRS) -> gpd.GeoDataFrame:
    """Things that resemble plots (class ``background``): hard negatives for training."""
    items = [(f.geom, f.cover) for f in layout.fields if f.cover in LOOKALIKE_COVERS]
    items += [(g, "flower_bed") for g in layout.flower_beds] + [(g, "garden") for g in layout.gardens]
    items += [(b.roof, "red_roof") for b in layout.buildings if b.roof_kind == "red"]
    items += [(Point(t.x, t.y).buffer(t.radius_m), "tree") for t in layout.trees]  # dark round crowns: cannabis look-alikes
    plots = shapely.union_all([p.geom for p in layout.plots]) if layout.plots else shapely.Polygon()
    items = [(g.difference(plots), k) for g, k in items]
    items = [(g, k) for g, k in items if not g.is_empty and g.area > 0.5]
    geoms = [affinity.affine_transform(g, [1, 0, 0, -1, ox, oy]) for g, _ in items]
    return gpd.GeoDataFrame(
        {"class": ["background"] * len(items), "kind": [k for _, k in items]},
        geometry=gpd.GeoSeries(geoms, crs=crs),
        crs=crs,
    )


def _write_raster(path: Path, data: np.ndarray, transform: Affine, crs: CRS, names: list[str], nodata: float | None = None, alpha: bool = False) -> None:
    count, height, width = data.shape
    tiled = height >= 256 and width >= 256
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": count,
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform,
        "compress": "deflate",
        "predictor": 2,
        "tiled": tiled,
        "nodata": nodata,
    }
    if tiled:
        profile.update(blockxsize=256, blockysize=256)
    if alpha:
        profile["photometric"] = "RGB"
        profile["alpha"] = "YES"  # band 4 is an alpha band (GDAL sets its colour interpretation)
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data)
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
