"""One detection run: plan -> read/infer/blend blocks -> probability COG -> plots -> run folder.

The run is written into a staging folder (:mod:`scout.detection.staging`) with every finished
block checkpointed (:mod:`scout.detection.checkpoints`), so ``--resume`` after a crash or
``kill -9`` recomputes only the missing blocks, and renamed into place when whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.shutil import copy as rio_copy
from rasterio.windows import Window

from scout import folders, runfolder
from scout.blending import Assembler
from scout.detection import checkpoints, mosaic, staging
from scout.detection.blocks import BlockResult
from scout.detection.executor import run_blocks
from scout.detection.plan import PlannedRun, plan_run, tiles_frame
from scout.detection.plots import build_plots
from scout.detection.record import RunOutcome, RunSummary, already_complete, run_record
from scout.detection.settings import DetectSettings
from scout.errors import ImageryError
from scout.inputs import expand_images
from scout.io import sha256_file, typed_frame
from scout.progress import bar, track, working
from scout.schema import AOI_FIELDS
from scout.vectorize import Fragments, trace_window

log = logging.getLogger(__name__)


def detect(
    images: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    aoi: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    settings: DetectSettings | None = None,
    overwrite: bool = False,
    resume: bool = False,
) -> RunSummary:
    """Detect suspected plots in ``images`` (files, folders, ``.txt`` lists: see
    :func:`scout.inputs.expand_images`), clipped to ``aoi``, and write a run folder.

    ``resume``: finish an interrupted run into the same ``out_dir``, reusing its finished
    blocks; a run that is already complete is reported, not redone (refused if made another way).
    """
    started = dt.datetime.now(dt.UTC)
    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    target = folders.out_path(out_dir)  # through a symlink: where it points, keeping the link
    images = expand_images(images, photos=True)
    if not images:
        raise ImageryError("no imagery given")
    finished = resume and not overwrite and runfolder.is_run(target)
    if not finished:
        staging.check_out_dir(target, overwrite)
        if overwrite:
            folders.check_outside(target, [*images, aoi, model])

    planned = plan_run(images, aoi, model, settings)
    if finished:
        return already_complete(out_dir, planned)
    with staging.run_lock(target):
        return replace(_write_run(planned, target, aoi, resume, started, t_start), out_dir=out_dir)


def _write_run(planned: PlannedRun, out_dir: Path, aoi: str | os.PathLike | None, resume: bool, started: dt.datetime, t_start: float) -> RunSummary:
    keys = checkpoints.block_keys(planned.plan, planned.blocks)
    kept = checkpoints.load_checkpoints(staging.staging_path(out_dir) / checkpoints.CHECKPOINTS, keys) if resume else {}
    checkpoints.check_free_space(out_dir, kept, planned.blocks, len(planned.card.foreground))
    folder = staging.prepare_staging(out_dir, planned.plan, resume)
    try:
        with warnings.catch_warnings():
            # rasterio's in-memory datasets (features.shapes, geometry_mask) hide their own
            # NotGeoreferencedWarning with catch_warnings, which is not thread-safe: with the
            # reader and finishing threads both tracing, the warning leaked now and then
            warnings.filterwarnings("ignore", category=NotGeoreferencedWarning, module=r"rasterio\.features")
            summary = _run(planned, keys, folder, aoi, out_dir, started, t_start)
    except BaseException as exc:
        replacement = staging.failed(exc, folder)
        if replacement is None:
            raise
        raise replacement from None
    staging.commit(folder, out_dir)
    return summary


def _run(planned: PlannedRun, keys: dict[int, str], folder: Path, aoi: str | os.PathLike | None, out_dir: Path, started: dt.datetime, t_start: float) -> RunSummary:
    hashes = _InputHashes([i.path for i in planned.plan.images])
    fragments, timings, resumed, descriptors = _blend_blocks(planned, keys, folder, out_dir)
    t0 = time.perf_counter()
    _write_cog(folder / "probability.raw.tif", runfolder.RunFolder(folder).probability_tif, planned)
    timings["cog_s"] = time.perf_counter() - t0
    if mosaic.has_photos(planned.plan):
        t0 = time.perf_counter()
        mosaic.write_photo_mosaic(planned.plan, runfolder.RunFolder(folder).photo_mosaic_tif)
        timings["photo_mosaic_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    card = planned.card
    with working(f"plots: merging {len(fragments):,} pieces"):
        plots = build_plots(fragments, planned.plan, planned.aois, card.foreground, planned.settings, f"{card.name}@{card.version}")
    timings["vectorize_s"] = time.perf_counter() - t0
    aoi_frame = planned.aois.copy()
    aoi_frame["area_m2"] = aoi_frame.geometry.area.round(1)
    frames = planned.flight.layer() if planned.flight else None
    runfolder.write_layers(folder, plots, tiles_frame(planned.plan, planned.blocks), typed_frame(aoi_frame, AOI_FIELDS, planned.plan.grid.crs), frames)

    image_sha256 = hashes.result()
    timings["total_s"] = time.perf_counter() - t_start
    # the area the AOIs cover, unrounded: 100,000 parcels of 0.04 m² each rounded to 0.0 made '0.00 ha', and overlapping AOIs counted twice
    outcome = RunOutcome(plots, float(planned.plan.aoi.area), image_sha256, timings, started, resumed, descriptors, planned.imaged_area_m2)
    run = run_record(planned, out_dir, aoi, outcome)
    runfolder.write_record(folder, run)
    return RunSummary.from_run(run, out_dir)


def _blend_blocks(planned: PlannedRun, keys: dict[int, str], folder: Path, out_dir: Path) -> tuple[Fragments, dict[str, float], int, np.ndarray]:
    """Every block blended into the staging probability raster and traced into plot fragments:
    checkpointed blocks read back, the others computed where the settings say.  Returns the
    fragments, the timings so far, the number of blocks resumed and the imagery's window
    descriptors (:mod:`scout.domain`)."""
    plan, blocks, settings = planned.plan, planned.blocks, planned.settings
    classes = planned.card.foreground
    thresholds_u8 = np.array([math.ceil(settings.threshold(c) * 255) for c in classes], np.uint8)
    grid = plan.grid
    profile = dict(
        driver="GTiff", width=grid.width, height=grid.height, count=len(classes), dtype="uint8",
        crs=grid.crs, transform=grid.affine, tiled=True, blockxsize=512, blockysize=512, compress="deflate", zlevel=1, BIGTIFF="IF_SAFER",
    )
    fragments = Fragments()
    timings = {"read_s": 0.0, "infer_s": 0.0}
    cell_count = 0
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), _StagingRaster(folder / "probability.raw.tif", profile, classes) as dst:

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
        descriptors: list[np.ndarray] = []
        done = _resume_blocks(folder / checkpoints.CHECKPOINTS, keys, assembler, out_dir, descriptors)
        dst.flush()
        todo = [b for b in blocks if b.block_id not in done]
        # resumed tiles start the bar, outside its rate: the ETA is for the tiles still to run
        with bar(planned.n_tiles, desc="tiles", unit="tile", initial=sum(len(blocks[i].tiles) for i in done)) as progress:  # closed on Ctrl-C too
            def finish(result: BlockResult) -> None:
                checkpoints.save_checkpoint(folder / checkpoints.CHECKPOINTS, result, keys[result.block_id])
                assembler.add(result.block_id, result.probs, result.wsum)
                descriptors.append(result.descriptors)
                dst.flush()
                timings["read_s"] += result.read_s
                timings["infer_s"] += result.infer_s
                progress.update(len(blocks[result.block_id].tiles))

            # closed at once when finishing fails (a full disk): the generator then shuts its reader thread or
            # local cluster down before the error leaves; left to the garbage collector, the reader went on
            # tracing into the next run's warnings, and a local cluster's worker processes lived on
            with contextlib.closing(run_blocks(plan, todo, settings.workers, settings.scheduler)) as results:
                _finish_in_turn(results, finish)
        timings["blocks_s"] = time.perf_counter() - t_blocks
    found = [d for d in descriptors if d.size]
    return fragments, timings, len(done), np.concatenate(found) if found else np.zeros((0, 0), np.float32)


def _resume_blocks(folder: Path, keys: dict[int, str], assembler: Assembler, out_dir: Path, descriptors: list[np.ndarray]) -> dict[int, Path]:
    """Blend the blocks checkpointed from the imagery the run reads now; drop stale checkpoints."""
    done = checkpoints.load_checkpoints(folder, keys)
    stale = [p for p in folder.glob("block-*.npz") if p not in done.values()]
    for path in stale:  # from imagery that has changed since (copied again), or an older Scout
        path.unlink()
    if done or stale:
        log.info("resuming %s: %d finished block(s) kept, %d redone (their imagery changed)", out_dir, len(done), len(stale))
    for block_id in track(sorted(done), total=len(done), desc="finished blocks", unit="block"):
        with np.load(done[block_id]) as saved:
            assembler.add(block_id, saved["probs"], saved["wsum"])
            descriptors.append(saved["descriptors"])
    return done


def _finish_in_turn(results: Iterator[BlockResult], finish: Any) -> None:
    """One finishing thread checkpoints, blends, writes and traces block i while the model
    runs block i+1; results are finished in arrival order."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scout-finish") as finisher:
        pending = None
        for result in results:
            if pending is not None:
                pending.result()  # at most one block waits: memory stays one block deep
            pending = finisher.submit(finish, result)
        if pending is not None:
            pending.result()


def _write_cog(raw: Path, prob_path: Path, planned: PlannedRun) -> None:
    """The staging raster as the run's probability COG.  GDAL's COG driver keeps the internal
    mask (rio-cogeo's translate drops a per-dataset mask); fast deflate for both rasters: half
    the time of the default level for 13% more bytes (134 MB probability raster: 2.6 s vs
    5.0 s); nothing else runs now, so every core compresses (3.2 s -> 2.2 s on 2 cores, same bytes)."""
    grid = planned.plan.grid
    with working(f"{prob_path.name}: writing the COG ({grid.width:,} x {grid.height:,} px)"):  # a tenth of the bench run: minutes on a campaign
        rio_copy(
            raw, prob_path, driver="COG", COMPRESS="DEFLATE", LEVEL=1, BLOCKSIZE=512, OVERVIEW_RESAMPLING="AVERAGE", BIGTIFF="IF_SAFER",
            NUM_THREADS="ALL_CPUS",
        )
    raw.unlink()


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
