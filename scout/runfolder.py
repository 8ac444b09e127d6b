"""Open a run folder written by ``scout detect`` and check it still holds what review and survey need.

Run folders travel: copied to laptops and phones, edited in QGIS and QField, copied back.
Everything read here is checked, and a missing file, layer or column is a
:class:`~scout.errors.RunFolderError` naming the file and what is missing.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from scout import schema
from scout.errors import RunFolderError, first_line, raise_if_locked

PLOTS_LAYER = "plots"
MISSED_LAYER = "missed_plots"
MISSED_FIELDS: dict[str, str] = {"class": "str", "note": "str", "reviewed_by": "str", "reviewed_at": "str"}
"""Fields the model did not flag, drawn by reviewers in QGIS/QField (``scout qgis`` adds the empty layer)."""

TRACK_FIELDS: dict[str, str] = {
    "track_status": "str",  # one of schema.TRACK_STATUSES
    "prev_plot_id": "str",  # the matched plot of the previous run, "" when new
    "prev_status": "str",  # its latest known decision (review_status, or its own prev_status when unreviewed)
    "prev_reviewed_by": "str",
    "prev_reviewed_at": "str",
    "prev_note": "str",
    "track_overlap": "float64",  # intersection / smaller plot's area, 0 when new
}
"""Columns that ``scout track`` appends to a run's plots layer, after schema.PLOT_FIELDS."""


@dataclass(frozen=True)
class RunFolder:
    """A checked run folder: its path and its ``run.json``."""

    path: Path
    meta: dict[str, Any]

    @property
    def plots_gpkg(self) -> Path:
        return self.path / schema.PLOTS_GPKG

    @property
    def probability_tif(self) -> Path:
        return self.path / schema.PROBABILITY_TIF

    def layers(self) -> list[str]:
        """Layer names in ``plots.gpkg``."""
        return [str(name) for name, _ in pyogrio.list_layers(self.plots_gpkg)]


def image_path(run_dir: Path, entry: dict[str, Any]) -> Path | None:
    """The image of a run.json ``inputs.images`` entry: by ``relpath`` from the run folder first
    (a run folder copied along with its imagery), then by ``path``; None when neither is there."""
    for candidate in (run_dir / entry["relpath"] if entry.get("relpath") else None, Path(entry["path"]) if entry.get("path") else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def open_run(run: str | os.PathLike) -> RunFolder:
    """Check that ``run`` holds ``run.json`` and ``plots.gpkg`` with a ``plots`` layer."""
    path = Path(run)
    if not path.is_dir():
        raise RunFolderError(f"{path}: no such run folder")
    meta_path = path / schema.RUN_JSON
    if not meta_path.is_file():
        raise RunFolderError(f"{meta_path}: missing (not a scout run folder, or run.json was removed)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{meta_path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise RunFolderError(f"{meta_path}: expected a JSON object")
    if meta.get("complete") is not True:
        raise RunFolderError(f"{meta_path}: the run did not complete; finish it with scout detect --resume")
    folder = RunFolder(path, meta)
    if not folder.plots_gpkg.is_file():
        raise RunFolderError(f"{folder.plots_gpkg}: missing; re-run scout detect to write it")
    try:
        with warnings.catch_warnings():  # "unable to read srs_id": refused by read_plots as having no CRS
            warnings.simplefilter("ignore", RuntimeWarning)
            layers = folder.layers()
    except Exception as exc:  # pyogrio raises several types for a damaged GeoPackage (GeometryError for a bad type name)
        raise_if_locked(exc, folder.plots_gpkg, RunFolderError)
        raise RunFolderError(f"{folder.plots_gpkg}: not a readable GeoPackage ({first_line(exc)})") from None
    if PLOTS_LAYER not in layers:
        raise RunFolderError(f"{folder.plots_gpkg}: no '{PLOTS_LAYER}' layer (has: {', '.join(layers) or 'none'})")
    return folder


def read_plots(folder: RunFolder) -> gpd.GeoDataFrame:
    """Read the ``plots`` layer, every column of it (also ones added by ``scout track``).

    Text fields come back as ``str`` with NULL (QGIS's empty value) read as ``""``.
    """
    path = folder.plots_gpkg
    try:
        with warnings.catch_warnings():  # "unable to read srs_id": refused below as having no CRS
            warnings.simplefilter("ignore", RuntimeWarning)
            plots = gpd.read_file(path, layer=PLOTS_LAYER, engine="pyogrio")
    except Exception as exc:  # pyogrio, GDAL, shapely and codecs raise many types for a damaged GeoPackage
        raise_if_locked(exc, path, RunFolderError)
        raise RunFolderError(f"{path}: cannot read layer '{PLOTS_LAYER}' ({first_line(exc)}); "
                             "the GeoPackage may be damaged") from None
    if not isinstance(plots, gpd.GeoDataFrame):  # gpkg_contents says "attributes"
        raise RunFolderError(f"{path}: layer '{PLOTS_LAYER}' has no geometry; the GeoPackage may be damaged")
    missing = [name for name in schema.PLOT_FIELDS if name not in plots.columns]
    if missing:
        raise RunFolderError(f"{path}: layer '{PLOTS_LAYER}' lacks column(s) {', '.join(missing)}")
    if plots.crs is None:
        raise RunFolderError(f"{path}: layer '{PLOTS_LAYER}' has no CRS")
    for name in plots.columns:
        if name != plots.geometry.name and (schema.PLOT_FIELDS.get(name) == "str" or plots[name].dtype == object):
            plots[name] = plots[name].where(plots[name].notna(), "").astype(str)
    plots["review_status"] = plots["review_status"].map(schema.review_status)
    return plots


def read_missed(folder: RunFolder) -> gpd.GeoDataFrame:
    """Fields the model missed, as reviewers drew them: the ``missed_plots`` layer and any plot
    drawn by hand in ``plots`` (no ``plot_id``), with ``class`` (``""`` when not set), ``note``,
    ``reviewed_by``, ``reviewed_at`` and ``layer``; empty when there are none."""
    parts = []
    if MISSED_LAYER in folder.layers():
        try:
            drawn = gpd.read_file(folder.plots_gpkg, layer=MISSED_LAYER, engine="pyogrio")
        except Exception as exc:  # a damaged table: one line, as for plots
            raise RunFolderError(f"{folder.plots_gpkg}: cannot read layer '{MISSED_LAYER}' ({first_line(exc)})") from None
        parts.append(drawn.assign(layer=MISSED_LAYER))
    plots = read_plots(folder)
    parts.append(plots[plots["plot_id"].str.strip() == ""].assign(layer=PLOTS_LAYER))
    crs = plots.crs
    frames = []
    for part in parts:
        part = part[part.geometry.notna() & ~part.geometry.is_empty]
        if len(part):
            part = part.to_crs(crs) if part.crs is not None else part.set_crs(crs)
            for name in (*MISSED_FIELDS, "layer"):
                part[name] = part[name].where(part[name].notna(), "").astype(str).str.strip() if name in part.columns else ""
            part["class"] = part["class"].str.lower()
            frames.append(gpd.GeoDataFrame(part[[*MISSED_FIELDS, "layer"]].reset_index(drop=True), geometry=part.geometry.to_numpy(), crs=crs))
    if not frames:
        return gpd.GeoDataFrame({name: pd.Series([], dtype=object) for name in (*MISSED_FIELDS, "layer")}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)


def detected(plots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The plots the model flagged (with a ``plot_id``), without those drawn by hand."""
    return plots[plots["plot_id"].str.strip() != ""]


def check_plot_ids(plots: pd.DataFrame, path: Path) -> None:
    """Every plot has its own ``plot_id``: decisions, tasks and tracks are keyed by it."""
    ids = plots["plot_id"].where(plots["plot_id"].notna(), "").astype(str).str.strip()
    if (ids == "").any():
        raise RunFolderError(
            f"{path}: {int((ids == '').sum())} plot(s) without plot_id, drawn by hand? Decisions are read for detected plots; "
            "draw missed plots in a layer of their own (with a class field) for scout train --labels"
        )
    if ids.duplicated().any():
        raise RunFolderError(f"{path}: plot_id {ids[ids.duplicated()].iloc[0]!r} occurs more than once")


def check_plots(plots: pd.DataFrame, path: Path) -> None:
    """Refuse plots without their own id and review decisions that are not one of ``schema.REVIEW_STATUSES``."""
    check_plot_ids(plots, path)
    bad = plots.loc[~plots["review_status"].isin(schema.REVIEW_STATUSES), ["plot_id", "review_status"]]
    if len(bad):
        first = bad.iloc[0]
        more = f" (and {len(bad) - 1} more plot(s))" if len(bad) > 1 else ""
        raise RunFolderError(
            f"{path}: plot {first['plot_id']} has review_status {first['review_status']!r}{more}; "
            f"expected one of {', '.join(schema.REVIEW_STATUSES)}"
        )
