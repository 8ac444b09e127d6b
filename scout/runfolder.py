"""The one door to a run folder: the only code that knows its file and layer names
(:mod:`scout.schema`), reads them, writes them, and says in which CRS the run is measured.

Run folders travel: copied to laptops and phones, edited in QGIS and QField, copied back.
Everything read here is checked, and a missing file, layer or column is a
:class:`~scout.errors.RunFolderError` naming the file and what is missing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from scout import schema
from scout.errors import RunFolderError, first_line, raise_if_locked
from scout.folders import Inventory, check_replaceable
from scout.io import GPKG_OPTIONS, atomic_path, typed_frame, write_gpkg_layer, write_json
from scout.lang import resolve_lang
from scout.styles import add_styles

if TYPE_CHECKING:
    from scout.frames.georef import Frame

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class RunFolder:
    """A run folder's files, and its ``run.json`` once read (:func:`open_run` checks it)."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def plots_gpkg(self) -> Path:
        return self.path / schema.PLOTS_GPKG

    @property
    def plots_geojson(self) -> Path:
        return self.path / schema.PLOTS_GEOJSON

    @property
    def probability_tif(self) -> Path:
        return self.path / schema.PROBABILITY_TIF

    @property
    def photo_mosaic_tif(self) -> Path:
        return self.path / schema.PHOTO_MOSAIC_TIF

    @property
    def run_json(self) -> Path:
        return self.path / schema.RUN_JSON

    @property
    def review_json(self) -> Path:
        return self.path / schema.REVIEW_JSON

    @property
    def project_qgz(self) -> Path:
        return self.path / schema.PROJECT_QGZ

    @property
    def tasks_dir(self) -> Path:
        """Where ``scout tasks`` writes unless told otherwise."""
        return self.path / schema.TASKS_DIR

    @property
    def flights_dir(self) -> Path:
        """Where ``scout flights`` writes unless told otherwise."""
        return self.path / schema.FLIGHTS_DIR

    def packaged_imagery_dir(self) -> Path:
        """``imagery/``, where ``scout qgis --package`` copies the imagery: made and marked as
        Scout's, so ``scout detect --overwrite`` may replace the run (a folder of that name made by
        someone else, holding files, is left unmarked: :data:`IMAGERY_FOLDER`)."""
        folder = self.path / schema.IMAGERY_DIR
        folder.mkdir(exist_ok=True)
        if not IMAGERY_FOLDER.marked(folder) and not any(folder.iterdir()):
            write_json(folder / schema.IMAGERY_JSON, IMAGERY_FOLDER.stamp({"written_by": "scout qgis --package"}))
        return folder

    def layers(self) -> list[str]:
        """Layer names in ``plots.gpkg``."""
        return [str(name) for name, _ in pyogrio.list_layers(self.plots_gpkg)]

    def read_layer(self, layer: str, columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        """One layer of ``plots.gpkg`` as it is (``columns``: only those, [] for geometry only)."""
        return gpd.read_file(self.plots_gpkg, layer=layer, engine="pyogrio", columns=columns)

    def image_paths(self) -> list[Path]:
        """The run's source images that exist here (see :func:`image_path`), resolved."""
        found = []
        for entry in self.meta.get("inputs", {}).get("images", []) or []:
            path = image_path(self.path, entry)
            if path is None:
                log.warning("image %s not found (nor %s from the run folder)", entry.get("path"), entry.get("relpath"))
            else:
                found.append(path.resolve())
        return found

    def frames(self) -> list[Frame]:
        """A run from raw drone photos: every photo as placed (run.json ``frames``), to cut chips
        from; [] for a run from GeoTIFFs."""
        from scout.frames.chips import frames_from_records

        records = (self.meta.get("frames") or {}).get("records") or []
        if not records:
            return []
        try:
            return frames_from_records(records, CRS.from_user_input(self.meta["work_crs"]).to_wkt(), self.path)
        except (KeyError, TypeError, ValueError) as exc:
            raise RunFolderError(f"{self.run_json}: its frames records are damaged ({first_line(exc)})") from None

    def metric_crs(self, plots: gpd.GeoDataFrame | None = None) -> CRS:
        """The CRS to measure the run in, in metres: run.json's ``work_crs`` (the grid it was
        detected on), else the plots layer's CRS (``plots`` when given), else the UTM zone of
        the plots; an empty layer in degrees keeps its CRS."""
        if self.meta.get("work_crs") and _in_metres(crs := CRS.from_user_input(self.meta["work_crs"])):
            return crs
        if plots is None:
            found = pyogrio.read_info(self.plots_gpkg, layer=schema.PLOTS_LAYER)["crs"]
            if not found:
                raise RunFolderError(f"{self.plots_gpkg}: layer '{schema.PLOTS_LAYER}' has no CRS")
            crs = CRS.from_user_input(found)
        else:
            crs = CRS.from_user_input(plots.crs)
        if _in_metres(crs) or plots is None or not len(plots):
            return crs
        utm = plots.estimate_utm_crs()
        log.warning("%s: plots are in %s (not metric); measuring in %s", self.plots_gpkg, crs.name, utm.name)
        return utm


def _in_metres(crs: CRS) -> bool:
    return crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter")


def image_path(run_dir: Path, entry: dict[str, Any]) -> Path | None:
    """The image of a run.json ``inputs.images`` entry: by ``relpath`` from the run folder first
    (a run folder copied along with its imagery), then by ``path``; None when neither is there."""
    for candidate in (run_dir / entry["relpath"] if entry.get("relpath") else None, Path(entry["path"]) if entry.get("path") else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def open_run(run: str | os.PathLike, complete: bool = True) -> RunFolder:
    """Check that ``run`` holds ``run.json`` (of a finished run) and ``plots.gpkg`` with a
    ``plots`` layer.  ``complete=False`` (scoring calibration and test runs) lets run.json
    be absent or unfinished."""
    path = Path(run)
    if not path.is_dir():
        raise RunFolderError(f"{path}: not a run folder (no such folder)")
    folder = RunFolder(path, _read_meta(path, complete))
    if not folder.plots_gpkg.is_file():
        raise RunFolderError(f"{folder.plots_gpkg}: missing; re-run scout detect to write it")
    try:
        with warnings.catch_warnings():  # "unable to read srs_id": refused by read_plots as having no CRS
            warnings.simplefilter("ignore", RuntimeWarning)
            layers = folder.layers()
    except Exception as exc:  # pyogrio raises several types for a damaged GeoPackage (GeometryError for a bad type name)
        raise_if_locked(exc, folder.plots_gpkg, RunFolderError)
        raise RunFolderError(f"{folder.plots_gpkg}: not a readable GeoPackage ({first_line(exc)})") from None
    if schema.PLOTS_LAYER not in layers:
        raise RunFolderError(f"{folder.plots_gpkg}: no '{schema.PLOTS_LAYER}' layer (has: {', '.join(layers) or 'none'})")
    return folder


def _read_meta(path: Path, complete: bool) -> dict[str, Any]:
    meta_path = path / schema.RUN_JSON
    if not meta_path.is_file():
        if not complete:
            return {}
        raise RunFolderError(f"{meta_path}: missing (not a scout run folder, or run.json was removed)")
    try:
        meta = read_record(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{meta_path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise RunFolderError(f"{meta_path}: expected a JSON object")
    if complete and meta.get("complete") is not True:
        raise RunFolderError(f"{meta_path}: the run did not complete; finish it with scout detect --resume")
    return meta


def read_record(run: str | os.PathLike) -> Any:
    """``run.json`` as written (errors are the caller's to word: OSError, ValueError)."""
    return json.loads((Path(run) / schema.RUN_JSON).read_text(encoding="utf-8"))


def read_plots(folder: RunFolder, required: Collection[str] = tuple(schema.PLOT_FIELDS)) -> gpd.GeoDataFrame:
    """Read the ``plots`` layer, every column of it (also ones added by ``scout track``), with
    the ``required`` columns (all of schema.PLOT_FIELDS unless scoring) and a CRS.

    Text fields come back as ``str`` with NULL (QGIS's empty value) read as ``""``.
    """
    path, layer = folder.plots_gpkg, schema.PLOTS_LAYER
    try:
        with warnings.catch_warnings():  # "unable to read srs_id": refused below as having no CRS
            warnings.simplefilter("ignore", RuntimeWarning)
            plots = folder.read_layer(layer)
    except Exception as exc:  # pyogrio, GDAL, shapely and codecs raise many types for a damaged GeoPackage
        raise_if_locked(exc, path, RunFolderError)
        raise RunFolderError(f"{path}: cannot read layer '{layer}' ({first_line(exc)}); the GeoPackage may be damaged") from None
    if not isinstance(plots, gpd.GeoDataFrame):  # gpkg_contents says "attributes"
        raise RunFolderError(f"{path}: layer '{layer}' has no geometry; the GeoPackage may be damaged")
    missing = [name for name in required if name not in plots.columns]
    if missing:
        raise RunFolderError(f"{path}: layer '{layer}' lacks column(s) {', '.join(missing)}")
    if plots.crs is None:
        raise RunFolderError(f"{path}: layer '{layer}' has no CRS")
    for name in plots.columns:
        if name != plots.geometry.name and (schema.PLOT_FIELDS.get(name) == "str" or plots[name].dtype == object):
            plots[name] = plots[name].where(plots[name].notna(), "").astype(str)
    if "review_status" in plots.columns:
        plots["review_status"] = plots["review_status"].map(schema.review_status)
    return plots


def _plot_ids(plots: pd.DataFrame) -> pd.Series:
    """``plot_id`` as stripped text, ``""`` where missing."""
    return plots["plot_id"].where(plots["plot_id"].notna(), "").astype(str).str.strip()


def drawn_by_hand(plots: pd.DataFrame) -> pd.Series:
    """Which rows of ``plots`` a reviewer drew there by hand: they have no ``plot_id``."""
    return _plot_ids(plots) == ""


def read_missed(folder: RunFolder, plots: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Fields the model missed, as reviewers drew them: the ``missed_plots`` layer and any plot
    drawn by hand in ``plots`` (no ``plot_id``), with ``class`` (``""`` when not set), ``note``,
    ``reviewed_by``, ``reviewed_at`` and ``layer``; empty when there are none.  ``plots``: the
    plots layer when the caller has read it already."""
    parts = []
    if schema.MISSED_LAYER in folder.layers():
        try:
            drawn = folder.read_layer(schema.MISSED_LAYER)
        except Exception as exc:  # a damaged table: one line, as for plots
            raise RunFolderError(f"{folder.plots_gpkg}: cannot read layer '{schema.MISSED_LAYER}' ({first_line(exc)})") from None
        parts.append(drawn.assign(layer=schema.MISSED_LAYER))
    plots = read_plots(folder) if plots is None else plots
    parts.append(plots[drawn_by_hand(plots)].assign(layer=schema.PLOTS_LAYER))
    crs = plots.crs
    fields = (*schema.MISSED_FIELDS, "layer")
    frames = []
    for part in parts:
        part = part[part.geometry.notna() & ~part.geometry.is_empty]
        if len(part):
            part = part.to_crs(crs) if part.crs is not None else part.set_crs(crs)
            for name in fields:
                part[name] = part[name].where(part[name].notna(), "").astype(str).str.strip() if name in part.columns else ""
            part["class"] = part["class"].str.lower()
            frames.append(gpd.GeoDataFrame(part[list(fields)].reset_index(drop=True), geometry=part.geometry.to_numpy(), crs=crs))
    if not frames:
        return gpd.GeoDataFrame({name: pd.Series([], dtype=object) for name in fields}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)


def detected(plots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The plots the model flagged (with a ``plot_id``), without those drawn by hand."""
    return plots[~drawn_by_hand(plots)]


def read_aoi_layer(folder: RunFolder, crs: Any = None) -> gpd.GeoDataFrame:
    """The run's ``aoi`` layer (in ``crs`` when given; a layer without a CRS is taken to be in it)."""
    if schema.AOI_LAYER not in (layers := folder.layers()):
        raise RunFolderError(f"{folder.plots_gpkg}: layer '{schema.AOI_LAYER}' is missing (has {', '.join(sorted(layers))})")
    aoi = folder.read_layer(schema.AOI_LAYER)
    if crs is None:
        return aoi
    return aoi.to_crs(crs) if aoi.crs is not None else aoi.set_crs(crs)


def check_plot_ids(plots: pd.DataFrame, path: Path) -> None:
    """Every plot has its own ``plot_id``: decisions, tasks and tracks are keyed by it."""
    ids = _plot_ids(plots)
    by_hand = ids == ""
    if by_hand.any():
        raise RunFolderError(
            f"{path}: {int(by_hand.sum())} plot(s) without plot_id, drawn by hand? scout review reads them as missed plots; "
            "for this command draw them in the missed_plots layer (scout qgis adds it)"
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


# Writing: detection fills a (staging) run folder; scout track rewrites its plots.


IMAGERY_FOLDER = Inventory("folder of packaged imagery", schema.IMAGERY_JSON, "scout-imagery/1", files=(schema.IMAGERY_JSON, "*.tif"))
"""``RUN/imagery/``: the imagery ``scout qgis --package`` copies, clipped to the AOIs."""
RUN_FOLDER = Inventory(
    "Scout run folder", schema.RUN_JSON, "scout-run/1",
    files=(schema.RUN_JSON, schema.PLOTS_GPKG, schema.PLOTS_GEOJSON, schema.PROBABILITY_TIF, schema.PHOTO_MOSAIC_TIF, schema.REVIEW_JSON, schema.PROJECT_QGZ),
    folders=((schema.TASKS_DIR, "scout-tasks/1"), (schema.FLIGHTS_DIR, "scout-flights/1"), (schema.IMAGERY_DIR, IMAGERY_FOLDER.format)),
    legacy=(("scout_version", "fingerprint"), ("complete", "core", "out_dir")),  # a run, a staging folder, before the marker
)
"""What a run folder holds: ``run.json`` marked as Scout's, the files detection, ``scout review``
and ``scout qgis`` write, the folders ``scout tasks`` and ``scout flights`` write by default and ``scout qgis --package``'s imagery.
Only such a folder is replaced by ``scout detect --overwrite`` (:mod:`scout.folders`)."""


def check_replaceable_run(path: Path) -> None:
    """``--overwrite`` may replace ``path`` only when it is absent, empty, or a run folder holding
    nothing but Scout's files (see :func:`scout.folders.check_replaceable`)."""
    from scout import flights  # noqa: F401  (the kinds of folder a run folder holds register themselves)
    from scout.survey import export  # noqa: F401  (registers the tasks folder kind, as flights above)

    check_replaceable(path, RUN_FOLDER)


def is_run(path: Path) -> bool:
    """Whether ``path`` holds a run's record of Scout's (finished or not)."""
    return RUN_FOLDER.marked(path)


def write_record(path: Path, record: dict[str, Any]) -> None:
    """``run.json`` into the folder ``path``, atomically, with Scout's marker."""
    write_json(path / schema.RUN_JSON, RUN_FOLDER.stamp(record))


def write_layers(path: Path, plots: gpd.GeoDataFrame, tiles: gpd.GeoDataFrame, aois: gpd.GeoDataFrame, frames: gpd.GeoDataFrame | None = None) -> None:
    """``plots.gpkg`` (layers plots, tiles, aoi, and for raw drone photos frames, with Scout's
    QGIS styles) and ``plots.geojson`` (the plots in WGS84, RFC 7946) into the folder ``path``."""
    folder = RunFolder(path)
    write_gpkg_layer(plots, folder.plots_gpkg, schema.PLOTS_LAYER)
    write_gpkg_layer(tiles, folder.plots_gpkg, schema.TILES_LAYER)
    write_gpkg_layer(aois, folder.plots_gpkg, schema.AOI_LAYER)
    if frames is not None:
        frames.to_file(folder.plots_gpkg, layer=schema.FRAMES_LAYER, driver="GPKG", engine="pyogrio", geometry_type="Polygon", dataset_options=GPKG_OPTIONS)
    add_styles(folder.plots_gpkg)
    write_plots_geojson(path, plots)


def add_missed_layer(folder: RunFolder) -> None:
    """An empty ``missed_plots`` polygon layer in the run's GeoPackage (the plots' CRS), where
    reviewers draw fields the model did not flag; kept as it is when present."""
    if schema.MISSED_LAYER in folder.layers():
        return
    crs = pyogrio.read_info(folder.plots_gpkg, layer=schema.PLOTS_LAYER)["crs"]
    empty = typed_frame(None, schema.MISSED_FIELDS, crs)
    empty.to_file(folder.plots_gpkg, layer=schema.MISSED_LAYER, driver="GPKG", engine="pyogrio", geometry_type="Polygon", dataset_options=GPKG_OPTIONS)


def write_plots_geojson(path: Path, plots: gpd.GeoDataFrame) -> None:
    """``plots.geojson`` into the folder ``path`` (atomically): the plots in WGS84, RFC 7946."""
    with atomic_path(RunFolder(path).plots_geojson) as tmp:
        plots.to_crs(WGS84).to_file(tmp, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})


def rewrite_plots(folder: RunFolder, plots: gpd.GeoDataFrame) -> None:
    """Replace the ``plots`` layer (atomically, keeping the GeoPackage's other layers and any
    edits still in a -wal file) and refresh its style: the form gains ``scout track``'s History tab."""
    gpkg, layer = folder.plots_gpkg, schema.PLOTS_LAYER
    geometry_type = pyogrio.read_info(gpkg, layer=layer)["geometry_type"]
    with atomic_path(gpkg) as tmp:
        _snapshot(gpkg, tmp)
        try:
            plots.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio", geometry_type=geometry_type or "Unknown", dataset_options=GPKG_OPTIONS)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:  # damaged GeoPackage tables; gpkg is untouched
            raise RunFolderError(f"{gpkg}: cannot rewrite layer '{layer}' ({first_line(exc)}); the GeoPackage may be damaged") from None
        add_styles(tmp, resolve_lang(None, folder.meta))  # in the run's language


def _snapshot(gpkg: Path, dest: Path) -> None:
    """Copy ``gpkg`` through SQLite (edits still in a -wal file come along)."""
    try:
        with contextlib.closing(sqlite3.connect(gpkg)) as src, contextlib.closing(sqlite3.connect(dest)) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise_if_locked(exc, gpkg, RunFolderError)
        raise RunFolderError(f"{gpkg}: cannot copy it through SQLite ({first_line(exc)}); the GeoPackage may be damaged") from None
    if Path(f"{gpkg}-wal").exists():
        raise RunFolderError(f"{gpkg}: open in QGIS or QField (a -wal file is beside it); close it there and run again")
