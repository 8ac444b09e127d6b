"""One detection run: plan -> read/infer/blend blocks -> probability COG -> plots -> run folder.

The run folder is built under a hidden staging name beside the target and renamed into
place at the end, so an interrupted or failed run never leaves a folder that looks
complete, and ``--overwrite`` replaces the old run only once the new one is whole.

Every finished block is checkpointed in the staging folder (``blocks/``, written
atomically), so ``--resume`` after a crash or ``kill -9`` recomputes only the missing
blocks.  A checkpoint is named by a key of what its block read (AOI, grid, model and the
images under it, with their size and time), so a block is never reused after its inputs
changed, and a campaign with one flight copied again redoes only that flight's blocks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import os
import platform
import shutil
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from shapely import STRtree
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window
from rasterio.shutil import copy as rio_copy

import scout
from scout import schema
from scout.aoi import read_aoi
from scout.blending import Assembler
from scout.blocks import DetectPlan, block_box
from scout.errors import AOIError, ImageryError, InputError, ModelError, OutputError, ScoutError
from scout.executor import run_blocks
from scout.imagery import ImageInfo, band_indexes, footprint, open_image, sample_pixels, working_crs
from scout.inference import backend, cached_model, configure_threads, pick_device
from scout.io import atomic_path, check_replaceable, disk_full, sha256_file, typed_frame, write_gpkg_layer, write_json
from scout.model.card import ModelCard
from scout.model.files import find_model_files
from scout.progress import bar, track, working
from scout.tiling import Block, TileSpec, make_grid, plan_blocks
from scout.vectorize import Fragments, PlotPixels, merge_fragments, to_crs_coords, trace_window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectSettings:
    """Detection parameters.  ``thresholds``: probability (0-1) a pixel must reach, per class
    or ``"*"`` for all; ``min_confidence``: mean probability a plot must reach, likewise;
    ``min_area_m2``: smaller plots are dropped.  What is left unset comes from the model
    card's calibrated ``detection`` defaults (:meth:`for_model`), else 0.5 / 0 / 1 m².
    ``tile_size`` in pixels at model GSD (default: the card's); ``block_tiles``: tiles per
    block side (memory ~ block area)."""

    thresholds: dict[str, float] = field(default_factory=dict)
    min_confidence: dict[str, float] = field(default_factory=dict)
    min_area_m2: float | None = None
    simplify_px: float = 0.5
    tile_size: int | None = None
    block_tiles: int = 3
    batch_size: int | None = None  # tiles per forward pass; default from BATCH_PIXELS
    device: str | None = None
    threads: int | None = None
    bands: tuple[int, ...] | None = None
    aoi_name_field: str | None = None
    aoi_layer: str | None = None
    workers: int = 1
    scheduler: str | None = None

    def threshold(self, cls: str) -> float:
        return float(self.thresholds.get(cls, self.thresholds.get("*", 0.5)))

    def plot_confidence(self, cls: str) -> float:
        return float(self.min_confidence.get(cls, self.min_confidence.get("*", 0.0)))

    def for_model(self, card: ModelCard) -> DetectSettings:
        """These settings with every class's values filled in: the user's first, then the
        model card's calibrated defaults, then 0.5 / 0 / 1 m²."""
        cal = card.detection or {}
        for given in (self.thresholds, self.min_confidence):
            unknown = sorted(set(given) - {"*", *card.foreground})
            if unknown:
                raise InputError(f"model {card.name} has no class {', '.join(unknown)}; its classes are {', '.join(card.foreground)}")

        def per_class(user: dict[str, float], calibrated: dict[str, float], fallback: float) -> dict[str, float]:
            return {c: float(user.get(c, user.get("*", calibrated.get(c, fallback)))) for c in card.foreground}

        return replace(
            self,
            thresholds=per_class(self.thresholds, cal.get("thresholds", {}), 0.5),
            min_confidence=per_class(self.min_confidence, cal.get("min_confidence", {}), 0.0),
            min_area_m2=float(self.min_area_m2 if self.min_area_m2 is not None else cal.get("min_area_m2", 1.0)),
        )


@dataclass(frozen=True)
class RunSummary:
    out_dir: Path
    model: str
    plots_by_class: dict[str, int]
    flagged_area_m2: float
    aoi_area_m2: float
    tiles: int
    megapixels: float
    seconds: float

    @property
    def n_plots(self) -> int:
        return sum(self.plots_by_class.values())

    @classmethod
    def from_run_folder(cls, out_dir: Path) -> RunSummary:
        """The summary of a finished run, from its run.json."""
        return cls.from_run(json.loads((out_dir / schema.RUN_JSON).read_text(encoding="utf-8")), out_dir)

    @classmethod
    def from_run(cls, run: dict, out_dir: Path) -> RunSummary:
        """From the run.json record, so a fresh run and a re-read one report the same rounded numbers."""
        return cls(
            out_dir=out_dir,
            model=run["model"]["name"],
            plots_by_class=run["counts"]["plots_by_class"],
            flagged_area_m2=run["areas_m2"]["flagged"],
            aoi_area_m2=run["areas_m2"]["aoi"],
            tiles=run["counts"]["tiles"],
            megapixels=run["counts"]["megapixels"],
            seconds=run["timings"]["total_s"],
        )

    def line(self) -> str:
        per = ", ".join(f"{n} {c}" for c, n in self.plots_by_class.items())
        return (
            f"{self.n_plots} plots ({per}); flagged {self.flagged_area_m2:,.1f} m² of {self.aoi_area_m2 / 1e4:,.2f} ha AOI; "
            f"{self.tiles} tiles, {self.megapixels:,.1f} MP in {self.seconds:,.1f} s -> {self.out_dir}"
        )


BATCH_PIXELS = 16 * 512 * 512
"""Pixels per ``predict`` call: a whole block of tiles.  On a CPU its tiles run one per core
(one tile holds ~100 MB of activations of a small U-Net, so memory follows the core count,
not the batch)."""


def auto_batch_size(tile_size: int) -> int:
    return max(1, BATCH_PIXELS // (tile_size * tile_size))


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    check_replaceable(out_dir, schema.RUN_JSON, "Scout run folder")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:  # an empty folder made beforehand is fine
        raise OutputError(f"{out_dir}: run folder exists; use --overwrite to replace it (or --resume to finish an interrupted run)")
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{out_dir}: cannot write in {parent}")


def resolve_model(model: str | os.PathLike | None, infos: Sequence[ImageInfo]) -> Path:
    """The model asked for, or the shipped model fitting the imagery's bands and GSD."""
    if model is not None:
        return Path(model)
    from scout.model.registry import pick_model

    try:
        path = pick_model(list(infos[0].band_names), min(i.gsd_m for i in infos))
    except ModelError as exc:  # name the image: in a folder it may be a stray raster (labels, a DEM)
        raise ModelError(f"{infos[0].path}: {exc}") from None
    log.info("model: %s (picked for %s imagery at %.2f m)", Path(path).name, "/".join(b for b in infos[0].band_names if b), infos[0].gsd_m)
    return Path(path)


def _check_gsd(info: ImageInfo, card: ModelCard) -> None:
    if info.gsd_m > card.gsd_m * card.max_gsd_ratio:
        raise ImageryError(
            f"{info.path}: imagery at {info.gsd_m:.2f} m/px is too coarse for model {card.name} "
            f"(trained at {card.gsd_m:.2f} m/px; plots it finds are only a few pixels wide there); "
            "upsampling cannot add that detail — use imagery finer than "
            f"{card.gsd_m * card.max_gsd_ratio:.2f} m/px or a model made for this resolution"
        )


def _check_radiometry(info: ImageInfo, indexes: tuple[int, ...], card: ModelCard) -> None:
    """16-bit imagery must be on the card's scale (reflectance × 10,000 for the shipped models):
    a 16-bit RGB export (0-65,535) would be read as reflectance up to 6.5 and give silent nonsense."""
    if info.dtype not in ("uint16", "int16"):
        return
    values = sample_pixels(info, indexes)
    scale = card.scale_for(info.dtype)
    if values.size and (p99 := float(np.percentile(values, 99))) > 2 * scale:
        raise ImageryError(
            f"{info.path}: {info.dtype} values reach {p99:,.0f} (99th percentile), over twice the {scale:,g} that model {card.name} "
            f"takes as full scale; a 16-bit RGB export? Convert it to 8 bit (gdal_translate -ot Byte -scale) or give a model for this data"
        )


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
    geoms = to_crs_coords(merged.geoms, affine)
    # only plots crossing the AOI's edge are cut: intersecting every plot with a county's
    # township boundaries took 9 s (2,243 plots, 27,000 vertices); the prepared test, 0.1 s
    shapely.prepare(aoi)
    crossing = ~shapely.contains_properly(aoi, geoms)
    geoms[crossing] = shapely.intersection(geoms[crossing], aoi)
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
    gdf = plot_shapes(merge_fragments(fragments), plan.grid.affine, crs, shapely.union_all(aois.geometry.values), classes, settings)
    if len(gdf) == 0:
        return typed_frame(None, schema.PLOT_FIELDS, crs)
    centroids = gdf.geometry.centroid.to_crs("EPSG:4326")
    gdf["centroid_lon"] = np.round(centroids.x.values, 7)
    gdf["centroid_lat"] = np.round(centroids.y.values, 7)
    gdf["aoi"] = aoi_names(gdf.geometry, aois)
    # sources: every image covering the plot, sharpest first
    fps = plan.footprints
    names = [Path(i.path).name for i in plan.images]
    acquired = [i.acquired for i in plan.images]
    src, acq = [], []
    for g in gdf.geometry.values:
        hits = [k for k, fp in enumerate(fps) if fp.intersects(g)] or [0]
        src.append(";".join(names[k] for k in hits))
        acq.append(acquired[hits[0]])
    gdf["source"] = src
    gdf["acquired"] = acq
    gdf["model"] = model_name
    gdf["review_status"] = "unreviewed"
    gdf["reviewed_by"] = ""
    gdf["reviewed_at"] = ""
    gdf["note"] = ""
    gdf["plot_id"] = [plot_id(c, x, y) for c, x, y in zip(gdf["class"], gdf["centroid_lon"], gdf["centroid_lat"])]
    gdf = gdf.sort_values(["confidence", "plot_id"], ascending=[False, True]).reset_index(drop=True)
    return typed_frame(gdf, schema.PLOT_FIELDS, crs)


def _tiles_frame(plan: DetectPlan, blocks) -> gpd.GeoDataFrame:  # noqa: ANN001
    t = plan.grid.affine
    rows = []
    for b in blocks:
        for tile in b.tiles:
            w = tile.window
            x0, y0 = t @ (w.col_off, w.row_off)
            x1, y1 = t @ (w.col_off + w.width, w.row_off + w.height)
            rows.append({"tile_id": tile.tile_id, "block": b.block_id, "row_off": int(w.row_off), "col_off": int(w.col_off), "size_px": int(w.width), "geometry": shapely.box(x0, y1, x1, y0)})
    return typed_frame(gpd.GeoDataFrame(rows, crs=plan.grid.crs) if rows else None, schema.TILE_FIELDS, plan.grid.crs)


def _add_styles(gpkg: Path) -> None:
    try:
        from scout.review.styles import add_styles
    except ImportError:
        return
    add_styles(gpkg)


@dataclass(frozen=True)
class PlannedRun:
    """What a run will compute, before any block is read: see :func:`plan_run`."""

    plan: DetectPlan
    blocks: list[Block]
    aois: gpd.GeoDataFrame  # working CRS
    card: ModelCard
    settings: DetectSettings  # with the model card's calibration filled in


def plan_run(
    images: Sequence[str | os.PathLike],
    aoi: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    settings: DetectSettings | None = None,
) -> PlannedRun:
    """Check the inputs and plan the tiles and blocks of a run (also what the benchmark reads).

    Nothing is written; bad imagery, AOIs or models raise a :class:`ScoutError`.
    """
    settings = settings or DetectSettings()
    if not images:
        raise ImageryError("no imagery given")
    infos = sorted((open_image(p) for p in images), key=lambda i: i.gsd_m)
    model_path = resolve_model(model, infos)
    device = pick_device(settings.device)
    configure_threads(settings.threads)
    card = cached_model(str(model_path), device).card
    settings = settings.for_model(card)
    log.info(
        "pixel thresholds %s, plot confidence floors %s, plots from %g m²%s",
        _fmt(settings.thresholds), _fmt(settings.min_confidence), settings.min_area_m2,
        " (model card's calibration where not set)" if card.detection else "",
    )
    crs = working_crs(infos[0])
    indexes, fps = [], []
    for info in track(infos, total=len(infos), desc="images", unit="image"):  # a footprint reads a mask: ~0.4 s for a 20,000 px flight
        _check_gsd(info, card)
        indexes.append(band_indexes(info, card.bands, settings.bands))
        _check_radiometry(info, indexes[-1], card)
        fps.append(footprint(info, crs))
    imagery_area = shapely.union_all(fps)
    if aoi is not None:
        aois = read_aoi(aoi, crs, settings.aoi_name_field, settings.aoi_layer)
        if not aois.geometry.intersects(imagery_area).any():
            raise AOIError(f"{aoi}: AOI does not overlap the imagery ({', '.join(Path(i.path).name for i in infos)})")
    else:
        aois = gpd.GeoDataFrame({"aoi": ["footprint"]}, geometry=[imagery_area], crs=crs)
    aoi_union = shapely.union_all(aois.geometry.values)
    area = shapely.intersection(aoi_union, imagery_area)
    if area.is_empty:
        raise AOIError(f"{aoi or infos[0].path}: no valid imagery inside the AOI")

    overlap = int(math.ceil(max(card.receptive_field_px, 1) / 16) * 16)
    spec = TileSpec(size=settings.tile_size or card.tile_size, overlap=overlap, block_tiles=settings.block_tiles)
    grid = make_grid(area.bounds, card.gsd_m, crs.to_wkt(), spec)
    blocks = plan_blocks(grid, spec, area)
    plan = DetectPlan(
        images=tuple(infos),
        indexes=tuple(indexes),
        footprints_wkb=tuple(shapely.to_wkb(f) for f in fps),
        aoi_wkb=shapely.to_wkb(aoi_union),
        grid=grid,
        spec=spec,
        model_path=str(model_path),
        batch_size=settings.batch_size or auto_batch_size(spec.size),
        device=device,
    )
    log.info(
        "%d image(s) -> grid %d x %d px at %.3f m (%s); %d tiles of %d px (overlap %d) in %d blocks; model %s on %s",
        len(infos), grid.width, grid.height, card.gsd_m, crs.to_string(), sum(len(b.tiles) for b in blocks), spec.size, spec.overlap, len(blocks), card.name, device,
    )
    return PlannedRun(plan, blocks, aois, card, settings)


def detect(
    images: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    aoi: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    settings: DetectSettings | None = None,
    overwrite: bool = False,
    resume: bool = False,
) -> RunSummary:
    """Detect suspected plots in ``images`` (clipped to ``aoi``) and write a run folder.

    ``resume``: finish an interrupted run into the same ``out_dir``, reusing its finished
    blocks; a run that is already complete is reported, not redone (refused if made another way).
    """
    started = dt.datetime.now(dt.timezone.utc)
    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    if not images:
        raise ImageryError("no imagery given")
    finished = resume and not overwrite and (out_dir / schema.RUN_JSON).exists()
    if not finished:
        _check_out_dir(out_dir, overwrite)

    planned = plan_run(images, aoi, model, settings)
    if finished:
        return _already_complete(out_dir, planned)
    with _run_lock(out_dir):
        return _write_run(planned, out_dir, aoi, resume, started, t_start)


@contextlib.contextmanager
def _run_lock(out_dir: Path) -> Iterator[None]:
    """One ``scout detect`` at a time per run folder: a second one on the same ``--out`` (a
    script started twice, a ``--resume`` while the first still runs) would write into the same
    staging folder.  An advisory lock beside it, released by the system when a process dies."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    path = out_dir.parent / f".{out_dir.name}.lock"
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
        except BlockingIOError:
            f.seek(0)
            raise OutputError(f"{out_dir}: another scout detect (process {f.read().strip() or '?'}) is writing this run; wait for it or stop it") from None
        except OSError as exc:  # a file system without locks (some network shares)
            log.debug("%s: not locked (%s)", path, exc.strerror)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def _write_run(planned: PlannedRun, out_dir: Path, aoi: str | os.PathLike | None, resume: bool, started: dt.datetime, t_start: float) -> RunSummary:
    plan, blocks, aois, card, settings = planned.plan, planned.blocks, planned.aois, planned.card, planned.settings
    n_tiles = sum(len(b.tiles) for b in blocks)

    keys = block_keys(plan, blocks)
    _check_free_space(out_dir, blocks, keys, len(card.foreground), resume)
    staging = _prepare_staging(out_dir, plan, resume)
    try:
        with warnings.catch_warnings():
            # rasterio's in-memory datasets (features.shapes, geometry_mask) hide their own
            # NotGeoreferencedWarning with catch_warnings, which is not thread-safe: with the
            # reader and finishing threads both tracing, the warning leaked now and then
            warnings.filterwarnings("ignore", category=NotGeoreferencedWarning, module=r"rasterio\.features")
            summary = _run(plan, blocks, keys, aois, card, settings, staging, started, t_start, n_tiles, aoi, out_dir)
    except BaseException as exc:
        if disk_full(exc, staging.parent):
            raise OutputError(f"{staging.parent}: disk full; finished blocks are kept in {staging}: free some space and run again with --resume") from None
        if isinstance(exc, ScoutError):  # bad data, e.g. a corrupt tile in one flight of a campaign
            kept = len(list((staging / CHECKPOINTS).glob("block-*.npz")))
            if not kept:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            raise type(exc)(f"{exc}; {kept} finished block(s) are kept in {staging}: once it is fixed, --resume redoes only the blocks it touches") from None
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"failed ({type(exc).__name__})"
        log.error("%s; finished blocks are kept in %s: run again with --resume to finish", what, staging)
        raise
    shutil.rmtree(staging / CHECKPOINTS, ignore_errors=True)
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
        os.replace(staging, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out_dir)
    return summary




PLOT_PARAMETERS = ("min_confidence", "min_area_m2", "simplify_px", "aoi_name_field")
"""Settings that shape the plots but not the block results (with the thresholds)."""


def _already_complete(out_dir: Path, planned: PlannedRun) -> RunSummary:
    """``--resume`` on a finished run: reported, not redone, if it was made the same way."""
    try:
        run = json.loads((out_dir / schema.RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(f"{out_dir}: unreadable run.json ({exc}); start the run again with --overwrite") from None
    if run.get("fingerprint") != plan_fingerprint(planned.plan):
        raise OutputError(f"{out_dir}: this finished run used other imagery, AOI, model or tiling; use --overwrite to replace it")
    settings = asdict(planned.settings)
    now = {"thresholds": {c: planned.settings.threshold(c) for c in planned.card.foreground}, **{k: settings[k] for k in PLOT_PARAMETERS}}
    before = run.get("parameters", {})
    changed = [k for k, v in now.items() if before.get(k) != v]
    if changed:
        raise OutputError(f"{out_dir}: this finished run used other {', '.join(changed)}; use --overwrite to redo it")
    log.info("%s: already complete, nothing redone", out_dir)
    return RunSummary.from_run_folder(out_dir)


CHECKPOINTS = "blocks"
CHECKPOINT_FORMAT = "probs-uint16/wsum-float32"  # what a block-*.npz holds (scout.blending.pack)


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in values.items())


def plan_fingerprint(plan: DetectPlan) -> str:
    """What a run's outputs depend on: imagery, bands, AOI, grid, tiling, model weights and the checkpoint format."""
    return hashlib.sha256("\n".join([_plan_core(plan), *_image_stamps(plan)]).encode()).hexdigest()


def _plan_core(plan: DetectPlan) -> str:
    """What every block result depends on, whatever images it reads."""
    h = hashlib.sha256(CHECKPOINT_FORMAT.encode())
    h.update(repr((plan.grid, plan.spec)).encode())
    h.update(plan.aoi_wkb)
    h.update(sha256_file(find_model_files(plan.model_path)[0]).encode())
    return h.hexdigest()


def _image_stamps(plan: DetectPlan) -> list[str]:
    return [f"{info.path}|{info.size_bytes}|{os.stat(info.path).st_mtime_ns}|{idx}" for info, idx in zip(plan.images, plan.indexes)]


def block_keys(plan: DetectPlan, blocks: Sequence[Block]) -> dict[int, str]:
    """Per block, a key of what its result depends on: the plan's core and the images it reads.

    A campaign's checkpoints stay good when one flight is copied again (a cut-short or corrupt
    file fixed): ``--resume`` redoes only the blocks that flight touches.
    """
    core, stamps = _plan_core(plan), _image_stamps(plan)
    boxes = [block_box(plan, b) for b in blocks]
    block_at, image_at = STRtree(list(plan.footprints)).query(boxes, predicate="intersects")
    reads: dict[int, list[int]] = {i: [] for i in range(len(blocks))}
    for b, i in zip(block_at.tolist(), image_at.tolist()):
        reads[b].append(i)
    return {
        blocks[b].block_id: hashlib.sha256("\n".join([core, *(stamps[i] for i in sorted(images))]).encode()).hexdigest()[:16]
        for b, images in reads.items()
    }


CHECKPOINT_BYTES_PER_CLASS = 2  # per block pixel and foreground class: uint16 probabilities, stored
OUTPUT_BYTES = 0.5  # per block pixel: deflated weight sums, staging raster, COG, plots (~0.45 on the bench)


def _staging_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.partial"


def _check_free_space(out_dir: Path, blocks: Sequence[Block], keys: dict[int, str], n_classes: int, resume: bool) -> None:
    """Refuse a run that cannot fit on its disk before it starts, not hours in: every block's
    checkpoint is kept until the outputs are written."""
    kept = _load_checkpoints(_staging_path(out_dir) / CHECKPOINTS, keys) if resume else {}
    pixels = sum(int(b.window.width) * int(b.window.height) for b in blocks if b.block_id not in kept)
    need = pixels * (CHECKPOINT_BYTES_PER_CLASS * n_classes + OUTPUT_BYTES)
    free = shutil.disk_usage(out_dir.parent).free
    if free < need:
        raise OutputError(
            f"{out_dir.parent}: the run needs about {_size(need)} of free disk while it lasts (block checkpoints and outputs), "
            f"{_size(free)} is free; free some space or choose an --out on another disk"
        )


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e9 else f"{max(1, round(n_bytes / 1e6))} MB"


def _prepare_staging(out_dir: Path, plan: DetectPlan, resume: bool) -> Path:
    staging = _staging_path(out_dir)
    core = _plan_core(plan)
    marker = staging / schema.RUN_JSON
    if resume and marker.exists():
        if json.loads(marker.read_text(encoding="utf-8")).get("core") != core:
            raise OutputError(f"{out_dir}: the interrupted run used another AOI, model, tiling or checkpoint format; start it again with --overwrite")
        return staging
    shutil.rmtree(staging, ignore_errors=True)
    (staging / CHECKPOINTS).mkdir(parents=True)
    write_json(marker, {"complete": False, "core": core, "out_dir": str(out_dir)})
    return staging


def _load_checkpoints(folder: Path, keys: dict[int, str]) -> dict[int, Path]:
    """The finished blocks whose checkpoint was made from the imagery the run reads now."""
    found = {}
    for path in folder.glob("block-*-*.npz"):
        block_id, key = path.stem.split("-")[1:3]
        if keys.get(int(block_id)) == key:
            found[int(block_id)] = path
    return found


def _save_checkpoint(folder: Path, result, key: str) -> None:  # noqa: ANN001
    """A block's packed blend as an .npz (``np.load`` reads it).  The weight sums are
    deflated: the same ramps over and over, they shrink to ~1% for 2 ms per MB, which
    halves a checkpoint; the probabilities shrink to ~35% only, for 12 ms per MB (a fifth
    of the model's time on the block), so they are stored as they are."""
    with atomic_path(folder / f"block-{result.block_id:06d}-{key}.npz") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as npz:
        for member, array in ((zipfile.ZipInfo("probs.npy"), result.probs), ("wsum.npy", result.wsum)):  # a ZipInfo is stored
            with npz.open(member, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array, allow_pickle=False)


class _StagingRaster:
    """The probability raster while blocks arrive, written out after each block.

    GDAL keeps written tiles in its block cache until it needs room, and then evicts clean
    tiles first, which are the source tiles the reader thread has just decoded: on the
    20,000 px bench the reader decoded every source tile 2.7 times (7,234 decodes for 2,736
    tiles).  Closing and reopening writes the tiles out and frees the cache; a tile that a
    later block completes is read back once (about 1,150 such reads there, of small tiles)."""

    def __init__(self, path: Path, profile: dict[str, Any], descriptions: Sequence[str]) -> None:
        self.path = path
        self.dst = rasterio.open(path, "w", **profile)
        self.dst.descriptions = tuple(descriptions)

    def write(self, window: Window, u8: np.ndarray, valid: np.ndarray) -> None:
        self.dst.write(u8, window=window)
        self.dst.write_mask(np.where(valid, 255, 0).astype(np.uint8), window=window)

    def flush(self) -> None:
        self.dst.close()
        self.dst = rasterio.open(self.path, "r+")

    def __enter__(self) -> _StagingRaster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dst.close()


class _InputHashes:
    """The images' sha256 for run.json, computed beside the blocks: hashing a campaign's
    hundreds of GB after the last block took minutes (941 MB: 1.5 s).  A daemon thread, so an
    interrupted run does not wait for it."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._paths = list(paths)
        self._sha256: dict[str, str] = {}
        self._thread = threading.Thread(target=self._hash, name="scout-hash", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        for path in self._paths:
            with contextlib.suppress(OSError):  # hashed again by result(), which raises it
                self._sha256[path] = sha256_file(path)

    def result(self) -> dict[str, str]:
        if self._thread.is_alive():  # a fast run over a campaign of hundreds of GB
            with working("images: sha256 for run.json"):
                self._thread.join()
        return {path: self._sha256.get(path) or sha256_file(path) for path in self._paths}


def _run(plan, blocks, keys, aois, card, settings, staging, started, t_start, n_tiles, aoi, out_dir) -> RunSummary:  # noqa: ANN001, PLR0913
    classes = card.foreground
    thresholds_u8 = np.array([math.ceil(settings.threshold(c) * 255) for c in classes], np.uint8)
    grid = plan.grid
    tmp_tif = staging / "probability.raw.tif"
    profile = dict(
        driver="GTiff", width=grid.width, height=grid.height, count=len(classes), dtype="uint8",
        crs=grid.crs, transform=grid.affine, tiled=True, blockxsize=512, blockysize=512, compress="deflate", zlevel=1, BIGTIFF="IF_SAFER",
    )
    hashes = _InputHashes([i.path for i in plan.images])
    fragments = Fragments()
    timings = {"read_s": 0.0, "infer_s": 0.0}
    cell_count = 0
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), _StagingRaster(tmp_tif, profile, classes) as dst:

        def emit(window: Window, probs: np.ndarray, valid: np.ndarray) -> None:
            nonlocal cell_count
            if not valid.any():
                return
            np.multiply(probs, 255, out=probs)  # in place: a third of the time of rint(probs * 255)
            u8 = np.rint(probs, out=probs).astype(np.uint8)
            dst.write(window, u8, valid)
            trace_window(fragments, u8, valid, window, thresholds_u8, cell_count)
            cell_count += 1

        assembler = Assembler({b.block_id: b.window for b in blocks}, emit)
        t_blocks = time.perf_counter()
        checkpoints = staging / CHECKPOINTS
        done = _load_checkpoints(checkpoints, keys)
        stale = [p for p in checkpoints.glob("block-*.npz") if p not in done.values()]
        for path in stale:  # from imagery that has changed since (copied again), or an older Scout
            path.unlink()
        if done or stale:
            log.info("resuming %s: %d finished block(s) kept, %d redone (their imagery changed)", out_dir, len(done), len(stale))
        for block_id in track(sorted(done), total=len(done), desc="finished blocks", unit="block"):
            with np.load(done[block_id]) as saved:
                assembler.add(block_id, saved["probs"], saved["wsum"])
        dst.flush()
        todo = [b for b in blocks if b.block_id not in done]
        # resumed tiles start the bar, outside its rate: the ETA is for the tiles still to run
        with bar(n_tiles, desc="tiles", unit="tile", initial=sum(len(blocks[i].tiles) for i in done)) as progress:  # closed on Ctrl-C too
            def finish(result) -> None:  # noqa: ANN001
                _save_checkpoint(checkpoints, result, keys[result.block_id])
                assembler.add(result.block_id, result.probs, result.wsum)
                dst.flush()
                timings["read_s"] += result.read_s
                timings["infer_s"] += result.infer_s
                progress.update(len(blocks[result.block_id].tiles))

            # One finishing thread checkpoints, blends, writes and traces block i while the
            # model runs block i+1; results are finished in arrival order, as before.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scout-finish") as finisher:
                pending = None
                for result in run_blocks(plan, todo, settings.workers, settings.scheduler):
                    if pending is not None:
                        pending.result()  # at most one block waits: memory stays one block deep
                    pending = finisher.submit(finish, result)
                if pending is not None:
                    pending.result()
        timings["blocks_s"] = time.perf_counter() - t_blocks
    t0 = time.perf_counter()
    prob_path = staging / schema.PROBABILITY_TIF
    # GDAL's COG driver keeps the internal mask (rio-cogeo's translate drops a per-dataset mask)
    # fast deflate for both the staging raster and the COG: half the time of the default
    # level for 13% more bytes (measured on a 134 MB probability raster: 2.6 s vs 5.0 s);
    # nothing else runs now, so every core compresses (3.2 s -> 2.2 s on 2 cores, same bytes)
    with working(f"{prob_path.name}: writing the COG ({grid.width:,} x {grid.height:,} px)"):  # a tenth of the bench run: minutes on a campaign
        rio_copy(
            tmp_tif, prob_path, driver="COG", COMPRESS="DEFLATE", LEVEL=1, BLOCKSIZE=512, OVERVIEW_RESAMPLING="AVERAGE", BIGTIFF="IF_SAFER",
            NUM_THREADS="ALL_CPUS",
        )
    tmp_tif.unlink()
    timings["cog_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with working(f"plots: merging {len(fragments):,} pieces"):
        plots = build_plots(fragments, plan, aois, classes, settings, f"{card.name}@{card.version}")
    timings["vectorize_s"] = time.perf_counter() - t0
    aoi_frame = aois.copy()
    aoi_frame["area_m2"] = aoi_frame.geometry.area.round(1)
    gpkg = staging / schema.PLOTS_GPKG
    write_gpkg_layer(plots, gpkg, "plots")
    write_gpkg_layer(_tiles_frame(plan, blocks), gpkg, "tiles")
    write_gpkg_layer(typed_frame(aoi_frame, schema.AOI_FIELDS, grid.crs), gpkg, "aoi")
    _add_styles(gpkg)
    geojson = plots.to_crs("EPSG:4326")
    geojson.to_file(staging / schema.PLOTS_GEOJSON, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})

    image_sha256 = hashes.result()
    seconds = time.perf_counter() - t_start
    by_class = {c: int((plots["class"] == c).sum()) for c in classes}
    megapixels = n_tiles * plan.spec.size**2 / 1e6
    flagged_m2 = float(plots["area_m2"].sum()) if len(plots) else 0.0
    timings["total_s"] = seconds
    run = {
        "scout_version": scout.__version__,
        "complete": True,
        "fingerprint": plan_fingerprint(plan),
        "resumed_blocks": len(done),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "work_crs": grid.crs.to_string(),
        "inputs": {
            "images": [
                {
                    "path": i.path,
                    "relpath": os.path.relpath(i.path, out_dir.resolve()),
                    "size_bytes": i.size_bytes,
                    "sha256": image_sha256[i.path],
                    "crs": i.crs.to_string(),
                    "gsd_m": round(i.gsd_m, 5),
                    "bands": list(i.band_names),
                    "band_indexes": list(idx),
                    "acquired": i.acquired,
                }
                for i, idx in zip(plan.images, plan.indexes)
            ],
            "aoi": None if aoi is None else {"path": str(Path(aoi).resolve()), "sha256": sha256_file(aoi), "layer": settings.aoi_layer, "name_field": settings.aoi_name_field},
        },
        "model": {"name": card.name, "version": card.version, "sha256": card.sha256, "path": str(Path(plan.model_path).resolve()), "gsd_m": card.gsd_m, "bands": list(card.bands)},
        "parameters": {
            **{k: v for k, v in asdict(settings).items() if k not in ("scheduler",)},
            "thresholds": {c: settings.threshold(c) for c in classes},
            "tile_size": plan.spec.size,
            "overlap": plan.spec.overlap,
            "device": plan.device,
        },
        "grid": {"width": grid.width, "height": grid.height, "transform": list(grid.transform)},
        "counts": {"blocks": len(blocks), "tiles": n_tiles, "plots": sum(by_class.values()), "plots_by_class": by_class, "megapixels": round(megapixels, 2)},
        "areas_m2": {"flagged": round(flagged_m2, 2), "aoi": round(float(aoi_frame["area_m2"].sum()), 1)},
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "versions": _versions(plan.device),
    }
    write_json(staging / schema.RUN_JSON, run)
    return RunSummary.from_run(run, out_dir)


def _versions(device: str) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "backend": backend(device),
        "torch": installed("torch"),  # read from metadata: a CPU run on ONNX Runtime never imports torch
        "onnxruntime": installed("onnxruntime"),
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "geopandas": installed("geopandas"),
        "shapely": shapely.__version__,
        "rio_cogeo": installed("rio-cogeo"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


__all__ = ["DetectSettings", "RunSummary", "build_plots", "detect", "plot_id"]
