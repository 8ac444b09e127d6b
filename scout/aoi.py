"""Areas of interest: read any vector format and CRS, repair, name, reproject.

:func:`polygonal` is Scout's one repair of user polygons (AOIs here, labels and truth plots
in :mod:`scout.labels`)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from scout.errors import AOIError
from scout.io import read_vector

log = logging.getLogger(__name__)

NAME_FIELDS = ("name", "NAME", "Name", "aoi", "township", "id")


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Valid polygonal versions of ``geoms``: invalid ones repaired with ``shapely.make_valid``
    (valid ones are left as they are: a county's AOI can hold 400,000 vertices), the lines and
    points a repair leaves of slivers dropped; a geometry with no polygon left becomes None."""
    geoms = np.asarray(geoms, dtype=object)
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    out = geoms.copy()
    if invalid.any():
        out[invalid] = shapely.make_valid(geoms[invalid])
    for i, g in enumerate(out):
        if g is not None and g.geom_type not in ("Polygon", "MultiPolygon"):
            polys = [p for p in shapely.get_parts(shapely.get_parts(g)) if p.geom_type == "Polygon"]
            out[i] = shapely.multipolygons(polys) if polys else None
        if out[i] is not None and out[i].is_empty:
            out[i] = None
    return out


def read_aoi(
    path: str | os.PathLike,
    crs: CRS | str,
    name_field: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read AOI polygons from GeoJSON / GeoPackage / Shapefile / KML into ``crs``.

    Returns a frame with columns ``aoi`` (name) and ``geometry``; invalid polygons are
    repaired where ``make_valid`` can, and what cannot be used is refused.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # absurd coordinates overflow to inf: refused below, not printed
        return _read_aoi(Path(path), crs, name_field, layer)


def _read_aoi(p: Path, crs: CRS | str, name_field: str | None, layer: str | None) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gdf = read_vector(p, "AOI polygons", "Polygon", layer=layer, error=AOIError, on_invalid="fix")  # e.g. close unclosed rings
    if len(gdf) == 0:
        raise AOIError(f"{p}: AOI file holds no features")
    if gdf.crs.is_geographic:
        minx, miny, maxx, maxy = gdf.total_bounds
        if not (-180.5 <= minx <= 360 and -180.5 <= maxx <= 360 and -90.5 <= miny <= 90.5 and -90.5 <= maxy <= 90.5):
            raise AOIError(f"{p}: coordinates {gdf.total_bounds.round(1).tolist()} are not degrees; the file's declared CRS ({gdf.crs.to_string()}) looks wrong")
    field: str | None
    if name_field:
        if name_field not in gdf.columns:
            raise AOIError(f"{p}: no field '{name_field}' for AOI names (fields: {', '.join(c for c in gdf.columns if c != 'geometry')})")
        field = name_field
    else:
        field = next((f for f in NAME_FIELDS if f in gdf.columns), None)
    numbered = np.array([f"aoi-{i + 1}" for i in range(len(gdf))], dtype=object)
    if field:  # a feature with an empty name is numbered like a file without names
        given = gdf[field].map(lambda v: "" if pd.isna(v) else str(v).strip()).to_numpy(dtype=object)
        names = np.where(given == "", numbered, given)
    else:
        names = numbered
    geoms = gdf.geometry.to_numpy()
    n_repaired = int((~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)).sum())
    fixed = polygonal(geoms)
    if n_repaired:
        log.warning("%s: repaired %d invalid AOI polygon(s)", p.name, n_repaired)
    keep = ~shapely.is_missing(fixed) & (shapely.area(fixed) > 0)
    if not keep.any():
        raise AOIError(f"{p}: no usable polygon (all {len(gdf)} features are empty, not polygons, or beyond repair)")
    if (~keep).any():
        log.warning("%s: skipped %d empty or non-polygon feature(s)", p.name, int((~keep).sum()))
    out = gpd.GeoDataFrame({"aoi": names[keep]}, geometry=list(fixed[keep]), crs=gdf.crs)
    try:
        out = out.to_crs(crs)
    except Exception as exc:  # pyproj raises several types for impossible transforms
        raise AOIError(f"{p}: cannot reproject AOI to {CRS(crs).to_string()} ({exc})") from None
    coords, owner = shapely.get_coordinates(out.geometry.to_numpy(), return_index=True)
    out = out.drop(out.index[np.unique(owner[~np.isfinite(coords).all(axis=1)])])  # beyond the target CRS: inf/NaN
    out["geometry"] = polygonal(out.geometry.to_numpy())  # reprojection can fold thin slivers
    out = out[out.geometry.notna() & np.isfinite(out.geometry.area)]
    if len(out) == 0:
        raise AOIError(f"{p}: AOI polygons vanish when reprojected to the imagery's CRS")
    return out.reset_index(drop=True)
