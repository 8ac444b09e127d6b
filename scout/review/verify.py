"""Satellite to drone: did the drone flight confirm each plot the satellite run flagged?

``scout track SAT_RUN DRONE_RUN`` (a satellite run, then a drone run at a finer GSD) writes, per
satellite plot, into SAT_RUN's plots layer:

- ``drone_status``: ``confirmed`` when a drone plot lies within ``tolerance_m`` of it (any class;
  satellite plots are placed to a few metres; a drone plot reviewed as ``false_alarm`` confirms
  nothing), ``cleared`` when the drone imagery covered at least
  ``min_cover`` of it and found nothing, ``not_covered`` otherwise (not flown, or only in part);
- ``drone_plot_ids``: the drone plots that confirmed it; ``drone_coverage``: the share of it the
  drone imagery covered (0-1); ``drone_run``: the drone run folder's name.

What the drone covered is where its run has valid probability (``probability.tif``'s mask: the
AOI and the imagery's footprint, without nodata), read at about 1 m; without that raster, its
tiles within its AOIs.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import shapes
from rasterio.warp import transform_geom

from scout import schema
from scout.runfolder import RunFolder, read_aoi_layer

log = logging.getLogger(__name__)

DRONE_STATUSES = ("confirmed", "cleared", "not_covered")
VERIFY_FIELDS: dict[str, str] = {"drone_status": "str", "drone_plot_ids": "str", "drone_coverage": "float64", "drone_run": "str"}
"""Columns ``scout track SAT_RUN DRONE_RUN`` appends to the satellite run's plots layer."""
TOLERANCE_M = 10.0
MIN_COVER = 0.9


def model_gsd(meta: dict) -> float | None:
    """The GSD (metres) of the model that made a run, from its run.json."""
    value = (meta.get("model") or {}).get("gsd_m")
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def is_satellite_then_drone(old_meta: dict, new_meta: dict) -> bool:
    """True when the first run's model sees at least twice as coarse as the second's (satellite, then drone)."""
    old, new = model_gsd(old_meta), model_gsd(new_meta)
    return old is not None and new is not None and old >= 2 * new


def covered_area(folder: RunFolder, crs, cell_m: float = 1.0) -> shapely.Geometry:
    """Where a run looked (``crs``): the valid pixels of its probability raster, read at about ``cell_m``."""
    path = folder.probability_tif
    if path.is_file():
        with rasterio.open(path) as src:
            factor = max(1, int(round(cell_m / max(abs(src.transform.a), 1e-9))))
            height, width = max(1, src.height // factor), max(1, src.width // factor)
            mask = src.dataset_mask(out_shape=(height, width))
            transform = src.transform * src.transform.scale(src.width / width, src.height / height)
            parts = [shapely.geometry.shape(geom) for geom, value in shapes((mask > 0).astype(np.uint8), transform=transform) if value == 1]
            area = shapely.union_all(parts) if parts else shapely.Polygon()
            return shapely.geometry.shape(transform_geom(src.crs, crs, shapely.geometry.mapping(area))) if not area.is_empty else area
    layers = folder.layers()
    if schema.TILES_LAYER not in layers:
        return shapely.Polygon()
    tiles = folder.read_layer(schema.TILES_LAYER).to_crs(crs).union_all()
    if schema.AOI_LAYER in layers:
        aoi = read_aoi_layer(folder, crs)
        if len(aoi):
            tiles = tiles.intersection(aoi.union_all())
    return tiles


def verify_plots(sat: gpd.GeoSeries, drone: gpd.GeoDataFrame, covered: shapely.Geometry, tolerance_m: float = TOLERANCE_M,
                 min_cover: float = MIN_COVER) -> pd.DataFrame:
    """Per satellite plot (all in one metric CRS): ``drone_status``, ``drone_plot_ids``, ``drone_coverage``."""
    rows = []
    tree = shapely.STRtree(drone.geometry.to_numpy()) if len(drone) else None
    ids = drone["plot_id"].astype(str).to_numpy() if len(drone) else np.array([])
    for geom in sat:
        hits = sorted(ids[tree.query(geom, predicate="dwithin", distance=tolerance_m)]) if tree is not None else []
        cover = float(geom.intersection(covered).area / geom.area) if geom.area > 0 and not covered.is_empty else 0.0
        status = "confirmed" if hits else ("cleared" if cover >= min_cover else "not_covered")
        rows.append({"drone_status": status, "drone_plot_ids": ",".join(hits), "drone_coverage": round(min(cover, 1.0), 3)})
    return pd.DataFrame(rows, columns=["drone_status", "drone_plot_ids", "drone_coverage"])
