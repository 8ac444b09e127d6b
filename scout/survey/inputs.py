"""Read what the survey needs: the run folder (checked against its contract), depots and roads.

Everything comes back in the run's metric working CRS, so later steps measure in metres.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from scout.errors import InputError, RunFolderError
from scout.io import read_vector
from scout.runfolder import RunFolder, check_plots, detected, open_run, read_aoi_layer, read_missed, read_plots
from scout.schema import TRACK_STATUSES

if TYPE_CHECKING:
    from scout.frames.georef import Frame

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class SurveyRun:
    """A run folder's plots and AOIs in the metric working CRS, and its ``run.json``."""

    path: Path
    plots: gpd.GeoDataFrame
    aoi: gpd.GeoDataFrame
    meta: dict[str, Any]

    @property
    def crs(self) -> CRS:
        return CRS.from_user_input(self.plots.crs)

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.path, self.meta)

    def image_paths(self) -> list[Path]:
        """The run's source images that exist here (see :func:`scout.runfolder.image_path`)."""
        return self.folder.image_paths()

    def frames(self) -> list[Frame]:
        """A run from raw drone photos: the photos as placed (see :meth:`scout.runfolder.RunFolder.frames`)."""
        return self.folder.frames()


def read_run(run_dir: str | os.PathLike) -> SurveyRun:
    """Read and check ``run.json`` and the ``plots`` and ``aoi`` layers of ``plots.gpkg``.

    Raises RunFolderError naming the file and the problem when anything of the contract is missing.
    """
    folder = open_run(run_dir)
    gpkg = folder.plots_gpkg
    plots = read_plots(folder)
    drawn = drawn_plots(read_missed(folder, plots), folder.metric_crs(plots))  # read_missed takes plots drawn by hand in plots too
    if len(drawn):
        log.info("%d plot(s) reviewers drew where the model found none: visited as confirmed plots (ids M...)", len(drawn))
        plots = gpd.GeoDataFrame(pd.concat([detected(plots), drawn.to_crs(plots.crs)], ignore_index=True), geometry="geometry", crs=plots.crs)
        if "track_status" in plots.columns:  # scout track never saw them
            plots["track_status"] = plots["track_status"].fillna("")
    check_plots(plots, gpkg)
    bad = plots[~plots["track_status"].isin(("", *TRACK_STATUSES))] if "track_status" in plots.columns else plots.iloc[:0]
    if len(bad):
        raise RunFolderError(
            f"{gpkg}: plot {bad['plot_id'].iloc[0]} has track_status {bad['track_status'].iloc[0]!r}; expected one of {', '.join(TRACK_STATUSES)}"
        )
    crs = folder.metric_crs(plots)
    return SurveyRun(folder.path, plots.to_crs(crs), read_aoi_layer(folder, crs), folder.meta)


def drawn_plots(missed: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Fields reviewers drew where the model flagged nothing (:func:`scout.runfolder.read_missed`) as
    plots a team visits: a reviewer saw them, so ``confirmed`` at confidence 1; ``class`` ``unknown``
    where they set none.  Ids are ``M`` and a hash of the outline, so tasks made again keep them."""
    missed = missed.to_crs(crs)
    ll = missed.geometry.centroid.to_crs(WGS84)
    ids = [f"M{hashlib.sha1(shapely.to_wkb(g, output_dimension=2)).hexdigest()[:10]}" for g in shapely.set_precision(missed.geometry.to_numpy(), 0.01)]
    plots = pd.DataFrame({
        "plot_id": ids, "class": missed["class"].replace("", "unknown").to_numpy(), "confidence": 1.0, "max_confidence": 1.0,
        "area_m2": missed.geometry.area.round(1).to_numpy(), "centroid_lon": ll.x.round(7).to_numpy(), "centroid_lat": ll.y.round(7).to_numpy(),
        "aoi": "", "source": ("drawn in " + missed["layer"]).to_numpy(), "acquired": "", "model": "", "review_status": "confirmed",
        "reviewed_by": missed["reviewed_by"].to_numpy(), "reviewed_at": missed["reviewed_at"].to_numpy(), "note": missed["note"].to_numpy(),
    })
    drawn = gpd.GeoDataFrame(plots, geometry=missed.geometry.to_numpy(), crs=crs)
    return drawn.drop_duplicates("plot_id")  # the same outline drawn twice (in both layers, say) is one field


def read_depots(path: str | os.PathLike) -> tuple[tuple[float, float], ...]:
    """Start points (lon, lat in WGS84 degrees), one per team, from any vector file of points.

    Ordered by a ``team`` field when there is one, else in file order.
    """
    layer = _read_vector(path, "depots", "Point")
    if not layer.geom_type.isin(["Point"]).all():
        raise InputError(f"{path}: depots must be points (found {', '.join(sorted(set(layer.geom_type)))})")
    if "team" in layer.columns:
        layer = layer.sort_values("team", kind="stable")
    ll = layer.to_crs(WGS84).geometry
    return tuple((float(p.x), float(p.y)) for p in ll)


def read_roads(path: str | os.PathLike, crs: CRS) -> gpd.GeoSeries:
    """Road and track lines from any vector file, reprojected to ``crs`` (metric)."""
    layer = _read_vector(path, "roads", "LineString")
    lines = layer.geometry[layer.geom_type.isin(["LineString", "MultiLineString"])]
    if lines.empty:
        raise InputError(f"{path}: no line features (found {', '.join(sorted(set(layer.geom_type)))})")
    return lines.to_crs(crs).explode(index_parts=False).reset_index(drop=True)


def _read_vector(path: str | os.PathLike, what: str, geometry: str) -> gpd.GeoDataFrame:
    layer = read_vector(path, what, geometry)
    layer = layer[layer.geometry.notna() & ~layer.geometry.is_empty]
    if layer.empty:
        raise InputError(f"{path}: holds no {what}")
    return layer
