"""Plots from traced probability: polygons in the working CRS with the full attribute
contract (schema.PLOT_FIELDS): class, confidence, area, AOI name, source image, stable id.

Pure of the run's machinery (no blocks, model or run folder), so calibration re-traces a
finished run's probability raster through the same :func:`plot_shapes`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from scout import areas, schema
from scout.detection.settings import DetectSettings
from scout.io import typed_frame
from scout.vectorize import Fragments, PlotPixels, merge_fragments, to_crs_coords

if TYPE_CHECKING:
    from scout.detection.blocks import DetectPlan
    from scout.frames.georef import Frame


def plot_id(cls: str, lon: float, lat: float) -> str:
    """Stable id from class and centroid (1e-6 degrees, ~0.1 m): same inputs, same ids."""
    digest = hashlib.sha1(f"{cls}|{lon:.6f}|{lat:.6f}".encode()).hexdigest()[:10]
    return f"{cls[0].upper()}{digest}"


def plot_shapes(
    merged: PlotPixels, affine: Any, crs: Any, aoi: shapely.Geometry, classes: Sequence[str], settings: DetectSettings
) -> gpd.GeoDataFrame:
    """Merged plots -> polygons in the working CRS, clipped to the AOI and simplified, with
    class, confidence and area; those under the size or plot-confidence floors dropped.
    ``settings`` must be filled in (:meth:`DetectSettings.for_model`)."""
    # only plots crossing the AOI's edge are cut, and only by the AOI's parts they touch:
    # intersecting every plot with a county's township boundaries took 9 s (2,243 plots, 27,000
    # vertices), the prepared test 0.1 s; 36 plots over 100,000 parcels took 1,600 s, now 0.4 s
    geoms = areas.Clipper(aoi).clip(to_crs_coords(merged.geoms, affine))
    geoms = shapely.make_valid(shapely.simplify(geoms, affine.a * settings.simplify_px, preserve_topology=True))
    area = shapely.area(geoms)
    cls = np.asarray(classes, dtype=object)[merged.class_idx] if len(merged.geoms) else np.array([], dtype=object)
    floor = np.array([settings.plot_confidence(c) for c in cls], dtype=float)
    keep = (area >= settings.min_area_m2) & ~shapely.is_empty(geoms) & (merged.confidence >= floor)
    return gpd.GeoDataFrame(
        {
            "class": cls[keep].astype(str),
            "confidence": np.round(merged.confidence[keep], 4),
            "max_confidence": np.round(merged.max_confidence[keep], 4),
            "area_m2": np.round(area[keep], 2),
        },
        geometry=geoms[keep],
        crs=crs,
    )


def aoi_names(plots: gpd.GeoSeries, aois: gpd.GeoDataFrame) -> np.ndarray:
    """The AOI holding the largest share of each plot ("" for none).  A plot inside one AOI
    (the first in file order where AOIs overlap) is found with the AOIs prepared; only
    plots on an AOI border are overlaid, which on a county's townships costs seconds."""
    names = np.full(len(plots), "", dtype=object)
    aoi_idx, plot_idx = STRtree(plots.values).query(aois.geometry.values, predicate="contains_properly")
    first = pd.Series(aoi_idx).groupby(plot_idx).min()
    names[first.index.to_numpy()] = aois["aoi"].to_numpy()[first.to_numpy()]
    rest = np.setdiff1d(np.arange(len(plots)), first.index.to_numpy())
    if len(rest):
        border = gpd.GeoDataFrame({"index": rest}, geometry=plots.values[rest], crs=plots.crs)
        inter = gpd.overlay(border, aois[["aoi", "geometry"]], how="intersection", keep_geom_type=True)
        inter["a"] = inter.geometry.area
        best = inter.sort_values(["index", "a"], ascending=[True, False], kind="stable").drop_duplicates("index")
        names[best["index"].to_numpy()] = best["aoi"].to_numpy()
    return names


def build_plots(
    fragments: Fragments,
    plan: DetectPlan,
    aois: gpd.GeoDataFrame,
    classes: tuple[str, ...],
    settings: DetectSettings,
    model_name: str,
) -> gpd.GeoDataFrame:
    """Merge fragments into plots with the full attribute contract (schema.PLOT_FIELDS)."""
    crs = plan.grid.crs
    gdf = plot_shapes(merge_fragments(fragments), plan.grid.affine, crs, plan.aoi, classes, settings)
    if len(gdf) == 0:
        return typed_frame(None, plot_fields(plan), crs)
    centroids = gdf.geometry.centroid.to_crs("EPSG:4326")
    gdf["centroid_lon"] = np.round(centroids.x.values, 7)
    gdf["centroid_lat"] = np.round(centroids.y.values, 7)
    gdf["aoi"] = aoi_names(gdf.geometry, aois)
    # sources: every image covering the plot, sharpest first; photos first, the one that sees
    # the plot most nearly straight down (the one it was read from) leading
    fps = plan.footprints
    names = [Path(i.path).name for i in plan.images]
    acquired = [i.acquired for i in plan.images]
    frames = [i.frame for i in plan.images]
    src, acq, error = [], [], []
    for geom in gdf.geometry.values:
        centre = np.array(geom.centroid.coords)
        hits = [k for k, fp in enumerate(fps) if fp.intersects(geom)] or [0]
        hits.sort(key=lambda k: _view_order(frames[k], centre, k))
        src.append(";".join(names[k] for k in hits))
        acq.append(acquired[hits[0]])
        winner = frames[hits[0]]
        error.append(round(float(winner.position_error_m(centre)[0]), 2) if winner is not None else np.nan)
    gdf["source"] = src
    gdf["acquired"] = acq
    gdf["model"] = model_name
    gdf["review_status"] = "unreviewed"
    gdf["reviewed_by"] = ""
    gdf["reviewed_at"] = ""
    gdf["note"] = ""
    gdf["plot_id"] = [plot_id(c, x, y) for c, x, y in zip(gdf["class"], gdf["centroid_lon"], gdf["centroid_lat"])]
    fields = plot_fields(plan)
    if "position_error_m" in fields:
        gdf["position_error_m"] = error
    gdf = gdf.sort_values(["confidence", "plot_id"], ascending=[False, True]).reset_index(drop=True)
    return typed_frame(gdf, fields, crs)


def _view_order(frame: Frame | None, centre: np.ndarray, k: int) -> tuple[int, float, int]:
    """Sort key of image ``k`` for a plot at ``centre``: photos first, the one that sees it most
    nearly straight down leading; then the other images in their order."""
    return (0, float(frame.view_tan(centre)[0]), k) if frame is not None else (1, 0.0, k)


def plot_fields(plan: DetectPlan) -> dict[str, str]:
    """The plots layer's fields: schema.PLOT_FIELDS, and position_error_m when photos were read."""
    return {**schema.PLOT_FIELDS, **schema.FRAME_PLOT_FIELDS} if any(i.frame is not None for i in plan.images) else dict(schema.PLOT_FIELDS)
