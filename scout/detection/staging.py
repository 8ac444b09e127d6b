"""Where a run is written while it lasts: a hidden staging folder beside ``--out``, renamed
into place when the run is whole, and a lock so that one ``scout detect`` at a time writes it.

An interrupted or failed run never leaves a folder that looks complete, and ``--overwrite``
replaces the old run only once the new one is whole.  The staging folder keeps the finished
blocks (:mod:`scout.detection.checkpoints`) for ``--resume``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

from scout import folders, runfolder
from scout.detection.blocks import DetectPlan
from scout.detection.checkpoints import CHECKPOINTS, plan_core
from scout.errors import ClusterError, OutputError, ScoutError
from scout.io import disk_full

log = logging.getLogger(__name__)


def check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """``out_dir`` may be written (where a symlink points: :func:`scout.folders.out_path`):
    absent, empty, or a run folder of Scout's to replace with ``overwrite``, which can be moved
    aside; and the names Scout stages and backs up under beside it are free or Scout's.  All
    found before a run computes for hours."""
    runfolder.check_replaceable_run(out_dir)
    full = out_dir.is_dir() and any(out_dir.iterdir())
    if full and not overwrite:  # an empty folder made beforehand is fine
        raise OutputError(f"{out_dir}: run folder exists; use --overwrite to replace it (or --resume to finish an interrupted run)")
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{out_dir}: cannot write in {parent}")
    folders.check_scratch(staging_path(out_dir), runfolder.RUN_FOLDER, "staging folder")
    if full:
        folders.check_scratch(folders.backup_path(out_dir), runfolder.RUN_FOLDER, "backup of the folder it replaces")
        folders.check_renameable(out_dir)


def run_lock(out_dir: Path) -> contextlib.AbstractContextManager[None]:
    """One ``scout detect`` at a time per run folder: a second one on the same ``--out`` (a
    script started twice, a ``--resume`` while the first still runs) would write into the same
    staging folder (:func:`scout.folders.folder_lock`)."""
    return folders.folder_lock(out_dir)


def staging_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.partial"


def prepare_staging(out_dir: Path, plan: DetectPlan, resume: bool) -> Path:
    """The staging folder for ``out_dir``: the interrupted run's when resuming the same plan, else
    a fresh one, marked as Scout's (a user's folder of that name is refused, never deleted)."""
    staging = staging_path(out_dir)
    core = plan_core(plan)
    if resume and runfolder.is_run(staging):
        if runfolder.read_record(staging).get("core") != core:
            raise OutputError(f"{out_dir}: the interrupted run used another AOI, model, tiling or checkpoint format; start it again with --overwrite")
        return staging
    folders.remove_scratch(staging, runfolder.RUN_FOLDER, "staging folder")
    folders.make_scratch(staging, {"complete": False, "core": core, "out_dir": str(out_dir)}, runfolder.RUN_FOLDER)
    (staging / CHECKPOINTS).mkdir()
    return staging


def failed(exc: BaseException, staging: Path) -> BaseException | None:
    """What to raise for a run stopped by ``exc`` (None: ``exc`` itself), keeping the finished
    blocks for ``--resume`` wherever the message can say so."""
    if disk_full(exc, staging.parent):
        return OutputError(f"{staging.parent}: disk full; finished blocks are kept in {staging}: free some space and run again with --resume")
    if isinstance(exc, ScoutError):  # bad data, e.g. a corrupt tile in one flight of a campaign
        kept = len(list((staging / CHECKPOINTS).glob("block-*.npz")))
        if not kept:
            shutil.rmtree(staging, ignore_errors=True)
            return None
        if isinstance(exc, ClusterError):
            return ClusterError(f"{exc}; {kept} finished block(s) are kept in {staging}: run again with --resume to finish (on a cluster, or without --scheduler)")
        return type(exc)(f"{exc}; {kept} finished block(s) are kept in {staging}: once it is fixed, --resume redoes only the blocks it touches")
    what = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"failed ({type(exc).__name__})"
    log.error("%s; finished blocks are kept in %s: run again with --resume to finish", what, staging)
    return None


def commit(staging: Path, out_dir: Path) -> None:
    """Rename the finished staging folder into place (its checkpoints dropped), replacing an old run."""
    shutil.rmtree(staging / CHECKPOINTS, ignore_errors=True)
    folders.replace_folder(staging, out_dir, runfolder.RUN_FOLDER)
