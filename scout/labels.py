"""Polygons with a class: training labels and truth plots, read from any vector format, beside
AOI reading (:mod:`scout.aoi`) and repaired the same way (:func:`scout.aoi.polygonal`).

Labels (``scout train --labels``) are ``poppy`` and ``cannabis`` plots and ``background``
hard negatives (false alarms marked in review: ``scout review RUN --labels FILE`` writes
them); truth plots (``scout evaluate --truth``, synthetic scenes) are the plots known to be there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from scout.aoi import polygonal
from scout.errors import InputError
from scout.io import read_vector
from scout.schema import CLASSES, LABELS_LAYER, TRUTH_LAYER

LABEL_CLASSES = ("background", *CLASSES)
"""Label values in model output order: 0 background, then the plot classes."""


def read_class_polygons(path: str | Path, what: str, prefer_layer: str | None = None) -> gpd.GeoDataFrame:
    """Polygons with a lower-cased ``class`` field from any vector file (``prefer_layer`` when it exists)."""
    gdf = read_vector(path, what, "Polygon", prefer_layer=prefer_layer)
    if "class" not in gdf.columns:
        raise InputError(f"{path}: {what} need a 'class' field; found {', '.join(map(str, gdf.columns))}")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    gdf["class"] = gdf["class"].astype(str).str.strip().str.lower()
    gdf["geometry"] = polygonal(gdf.geometry.values)
    return gdf[gdf.geometry.notna()][["class", "geometry"]]


def read_labels(path: str | Path, require_plots: bool = True) -> gpd.GeoDataFrame:
    """Label polygons (GeoPackage, GeoJSON, Shapefile) with ``class`` in background/poppy/cannabis,
    as an integer ``value`` (the index in LABEL_CLASSES).  ``require_plots`` False accepts
    background polygons only (a first flight's false alarms), for training that plants its positives."""
    gdf = read_class_polygons(path, "labels", prefer_layer=LABELS_LAYER)
    bad = sorted(set(gdf["class"]) - set(LABEL_CLASSES))
    if bad:
        raise InputError(f"{path}: unknown label classes {bad} (known: {', '.join(LABEL_CLASSES)})")
    gdf["value"] = gdf["class"].map(LABEL_CLASSES.index).astype(int)
    if require_plots and not (gdf["value"] > 0).any():
        raise InputError(f"{path}: no poppy or cannabis polygons to learn from (or plant synthetic plots: --plant-share > 0)")
    return gdf[["value", "geometry"]]


def read_truth(path: str | Path, crs: Any) -> gpd.GeoDataFrame:
    """Truth plots (``class`` poppy/cannabis) in ``crs``; a GeoPackage's ``truth`` layer if it has one."""
    gdf = read_class_polygons(path, "truth plots", prefer_layer=TRUTH_LAYER)
    return gdf[gdf["class"].isin(CLASSES)].to_crs(crs).reset_index(drop=True)
