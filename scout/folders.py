"""Output folders Scout may replace or delete: only those it can prove it wrote.

A folder is Scout's when its record (a run's ``run.json``, a task folder's ``summary.json``)
carries Scout's format marker and every entry in it is a file Scout writes there (or a sidecar
that GDAL, SQLite or QGIS adds beside one) or a folder of Scout's own kind (a run's ``tasks/``).
Its temporary and backup folders (``.X.partial``, ``.X.old``) carry the marker too and its lock
file (``.X.lock``) Scout's words, so a user's folder or file that happens to have such a name is
never touched: Scout refuses in one line instead.  ``--out`` through a symlink writes where the
link points and keeps the link.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scout.errors import DiskFullError, OutputError
from scout.io import disk_full

log = logging.getLogger(__name__)

FORMAT_KEY = "format"
"""The key of the marker in a folder's record: ``{"format": "scout-run/1", ...}``."""

SIDECARS = ("{name}-wal", "{name}-shm", "{name}-journal", "{name}.aux.xml", "{name}.ovr", "{name}~", ".{stem}.*.part{suffix}")
"""What may lie beside a file Scout writes: SQLite's journals, GDAL's statistics and overviews
(QGIS writes them for a raster it shows), an editor's backup, and an interrupted atomic write's
temporary name (:func:`scout.io.atomic_path`)."""

_KINDS: dict[str, Inventory] = {}


@dataclass(frozen=True)
class Inventory:
    """What Scout writes in one kind of folder: the record that names it Scout's (with its
    ``format`` marker), the names of its files (glob patterns), and the subfolders it may hold,
    each a Scout folder of another kind (by its format).  ``legacy``: key sets that mark a record
    written before the marker (each set present in full)."""

    kind: str  # "Scout run folder": for messages
    record: str  # "run.json"
    format: str  # "scout-run/1"
    files: tuple[str, ...]
    folders: tuple[tuple[str, str], ...] = ()
    legacy: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        _KINDS[self.format] = self

    def marked(self, folder: Path) -> bool:
        """Whether ``folder`` holds a record of Scout's of this kind."""
        try:
            record = json.loads((folder / self.record).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(record, dict):
            return False
        return record.get(FORMAT_KEY) == self.format or any(all(k in record for k in keys) for keys in self.legacy)

    def stranger(self, folder: Path) -> Path | None:
        """The first entry of ``folder`` (itself marked) that Scout does not write there, or None."""
        subfolders = dict(self.folders)
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
                return entry
            if entry.is_dir():
                inner = _KINDS.get(subfolders.get(entry.name, ""))
                if inner is None or not inner.marked(entry):
                    return entry
                if (found := inner.stranger(entry)) is not None:
                    return found
            elif not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in self.patterns):
                return entry
        return None

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(side.format(name=name, stem=Path(name).stem, suffix=Path(name).suffix) for name in self.files for side in ("{name}", *SIDECARS))

    def stamp(self, record: dict) -> dict:
        """``record`` with this kind's marker first."""
        return {FORMAT_KEY: self.format, **{k: v for k, v in record.items() if k != FORMAT_KEY}}


def out_path(path: str | os.PathLike) -> Path:
    """Where ``--out`` writes: through a symlink (a dangling one too) to where it points, so the
    link is kept, and the staging, backup and lock names lie beside the link's target."""
    path = Path(path)
    if not path.is_symlink():
        return path
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop: RuntimeError before Python 3.13
        raise OutputError(f"{path}: cannot follow the symlink ({exc})") from None


def check_replaceable(folder: Path, inventory: Inventory) -> None:
    """Refuse to replace ``folder`` unless it is absent, empty, or Scout's own (see the module
    docstring): ``--out ~/Desktop --overwrite`` must not delete the desktop, nor a user's notes
    put in a run folder."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a {inventory.kind}; choose another --out")
    if not any(folder.iterdir()):
        return
    if not (folder / inventory.record).is_file():
        raise OutputError(f"{folder}: holds files but no {inventory.record}, so it is not a {inventory.kind}; --overwrite replaces only those: choose another --out")
    if not inventory.marked(folder):
        raise OutputError(f"{folder}: its {inventory.record} is not Scout's, so it is not a {inventory.kind}; --overwrite replaces only those: choose another --out")
    if (found := inventory.stranger(folder)) is not None:
        raise OutputError(f"{folder}: holds {found.relative_to(folder)}, which Scout did not write; move it out of the {inventory.kind}, or choose another --out")


def check_outside(folder: Path, inputs: Iterable[str | os.PathLike | None]) -> None:
    """No input lies inside ``folder``, which ``--overwrite`` is to replace: imagery that
    ``scout qgis --package`` copied into a run, detected on again, would be deleted with it."""
    root = folder.resolve()
    for given in inputs:
        if given is not None and Path(given).resolve().is_relative_to(root):
            raise OutputError(f"{given}: lies inside {folder}, which --overwrite replaces; copy it out first, or choose another --out")


def backup_path(folder: Path) -> Path:
    """Where an old folder waits while its replacement is renamed into place."""
    return folder.with_name(f".{folder.name}.old")


def check_scratch(path: Path, inventory: Inventory, purpose: str) -> None:
    """``path`` (Scout's temporary or backup name beside a folder) is free, an empty folder, or Scout's."""
    if not os.path.lexists(path) or path.is_dir() and not path.is_symlink() and (inventory.marked(path) or not any(path.iterdir())):
        return
    raise OutputError(f"{path}: Scout names its {purpose} so, and this is not Scout's; rename it or choose another --out")


def remove_scratch(path: Path, inventory: Inventory, purpose: str) -> None:
    """Delete ``path`` if it is Scout's (see :func:`check_scratch`, which refuses otherwise)."""
    check_scratch(path, inventory, purpose)
    if path.exists():
        shutil.rmtree(path)


def make_scratch(path: Path, record: dict, inventory: Inventory) -> None:
    """Create the folder ``path`` holding its marked record, whole or not at all: built under a
    unique name and renamed, so an interrupted start never leaves an unmarked folder there."""
    new = _new_folder(path)
    try:
        (new / inventory.record).write_text(json.dumps(inventory.stamp(record), indent=2) + "\n", encoding="utf-8")
        os.rename(new, path)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def _new_folder(beside: Path) -> Path:
    """A new empty folder under a unique hidden name beside ``beside``, with the permissions the
    user's umask gives (tempfile.mkdtemp's 0700 made a shared run folder private once renamed)."""
    new = beside.with_name(f".{beside.name}.{uuid.uuid4().hex[:8]}.new")
    new.mkdir()
    return new


def check_renameable(folder: Path) -> None:
    """Refuse a folder that cannot be moved aside to be replaced (immutable, a parent without write
    permission, open on Windows) before a run computes for hours: renamed beside itself and back."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    probe = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.probe")
    try:
        os.rename(folder, probe)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot be replaced ({exc.strerror}); check its permissions, or choose another --out") from None
    os.rename(probe, folder)


def replace_folder(new: Path, target: Path, inventory: Inventory) -> None:
    """Rename the finished folder ``new`` to ``target``; an old ``target`` (checked to be Scout's
    beforehand) is moved to :func:`backup_path` first and deleted once ``new`` is in place.  A
    rename that fails even so says where the finished folder is."""
    backup = backup_path(target)
    if target.exists():
        remove_scratch(backup, inventory, "backup of the folder it replaces")
    try:
        if target.exists():
            os.replace(target, backup)
            try:
                os.replace(new, target)
            except OSError:
                os.replace(backup, target)
                raise
            shutil.rmtree(backup, onerror=_left_behind)
        else:
            os.replace(new, target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot be replaced ({exc.strerror}); the finished {inventory.kind} is in {new}: move it there yourself") from None


@contextlib.contextmanager
def replaced_folder(folder: Path, inventory: Inventory) -> Iterator[Path]:
    """Write a whole output folder under a temporary name beside it; when the block finishes it
    replaces ``folder`` (which must be Scout's: :func:`check_replaceable`), so the folder is
    complete or as it was.  Through a symlink, where it points."""
    target = out_path(folder)
    check_replaceable(target, inventory)
    target.parent.mkdir(parents=True, exist_ok=True)
    new = _new_folder(target)
    try:
        yield new
    except BaseException as exc:
        shutil.rmtree(new, ignore_errors=True)
        if disk_full(exc, target.parent):
            raise DiskFullError(f"{folder}: disk full while writing it; free some space and run again") from None
        raise
    replace_folder(new, target, inventory)


def _left_behind(func, path, exc_info) -> None:
    log.warning("%s: not deleted (%s); it is what was replaced: delete it yourself", path, exc_info[1])


LOCK_TEXT = "scout detect, process {pid}\n"
_LOCK_FORMS = re.compile(rb"(scout detect, process \d+\s*)?")  # or empty: another Scout has just made it
# (older Scouts wrote the bare process id: a file of digits is not proof enough, so such a stale lock is refused, to be removed by hand)


def _lock_of_scout(path: Path) -> bool:
    try:
        return path.is_file() and not path.is_symlink() and path.stat().st_size < 100 and bool(_LOCK_FORMS.fullmatch(path.read_bytes()))
    except OSError:
        return False


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One ``scout detect`` at a time writes ``folder``: an advisory lock on ``.X.lock`` beside it,
    released by the system when a process dies.  A file of that name that is not Scout's lock is
    refused, never truncated or deleted."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    path = folder.with_name(f".{folder.name}.lock")
    if os.path.lexists(path) and not _lock_of_scout(path):
        raise OutputError(f"{path}: Scout names the lock of {folder.name} so, and this is not Scout's; rename it or choose another --out")
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            f.seek(0)
            f.truncate()
            f.write(LOCK_TEXT.format(pid=os.getpid()))
            f.flush()
        except BlockingIOError:
            f.seek(0)
            holder = re.findall(r"\d+", f.read())
            raise OutputError(f"{folder}: another scout detect (process {holder[0] if holder else '?'}) is writing this run; wait for it or stop it") from None
        except OSError as exc:  # a file system without locks (some network shares)
            log.debug("%s: not locked (%s)", path, exc.strerror)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
