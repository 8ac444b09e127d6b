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
from collections.abc import Iterator
from pathlib import Path

from scout import runfolder
from scout.detection.blocks import DetectPlan
from scout.detection.checkpoints import CHECKPOINTS, plan_core
from scout.errors import OutputError, ScoutError
from scout.io import disk_full

log = logging.getLogger(__name__)


def check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """``out_dir`` may be written: absent, empty, or a run folder to replace with ``overwrite``."""
    runfolder.check_replaceable_run(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:  # an empty folder made beforehand is fine
        raise OutputError(f"{out_dir}: run folder exists; use --overwrite to replace it (or --resume to finish an interrupted run)")
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{out_dir}: cannot write in {parent}")


@contextlib.contextmanager
def run_lock(out_dir: Path) -> Iterator[None]:
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


def staging_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.partial"


def prepare_staging(out_dir: Path, plan: DetectPlan, resume: bool) -> Path:
    """The staging folder for ``out_dir``: the interrupted run's when resuming the same plan, else a fresh one."""
    staging = staging_path(out_dir)
    core = plan_core(plan)
    if resume and runfolder.is_run(staging):
        if runfolder.read_record(staging).get("core") != core:
            raise OutputError(f"{out_dir}: the interrupted run used another AOI, model, tiling or checkpoint format; start it again with --overwrite")
        return staging
    shutil.rmtree(staging, ignore_errors=True)
    (staging / CHECKPOINTS).mkdir(parents=True)
    runfolder.write_record(staging, {"complete": False, "core": core, "out_dir": str(out_dir)})
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
        return type(exc)(f"{exc}; {kept} finished block(s) are kept in {staging}: once it is fixed, --resume redoes only the blocks it touches")
    what = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"failed ({type(exc).__name__})"
    log.error("%s; finished blocks are kept in %s: run again with --resume to finish", what, staging)
    return None


def commit(staging: Path, out_dir: Path) -> None:
    """Rename the finished staging folder into place (its checkpoints dropped), replacing an old run."""
    shutil.rmtree(staging / CHECKPOINTS, ignore_errors=True)
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
        os.replace(staging, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out_dir)
