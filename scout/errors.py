"""Scout's exceptions.

One root, ``ScoutError``; each subclass also inherits the builtin it resembles, so
callers that catch ``ValueError`` or ``OSError`` keep working.  The CLI turns any
``ScoutError`` into a one-line message and exit code 2.
"""

from __future__ import annotations


class ScoutError(Exception):
    """Root of every error Scout raises on purpose."""


class InputError(ScoutError, ValueError):
    """An input file exists but cannot be used (wrong kind, no CRS, bad geometry...)."""


class ImageryError(InputError):
    """A raster cannot be used for detection."""


class AOIError(InputError):
    """An area-of-interest file or geometry cannot be used."""


class ModelError(ScoutError, ValueError):
    """A model file or card is missing, unsafe, or does not fit the imagery."""


class OutputError(ScoutError, OSError):
    """An output location cannot be written, or would overwrite work."""


class DiskFullError(OutputError):
    """A write failed because its disk is full; what was finished before is kept."""


class ClusterError(ScoutError, ConnectionError):
    """A dask cluster stopped serving a run (its scheduler went away, or every worker did);
    finished blocks are kept for ``--resume``."""


class RunFolderError(InputError):
    """A run folder is missing files or holds edited-away / inconsistent data."""


def first_line(exc: BaseException) -> str:
    """The first line of ``exc`` for a one-line error (its type when it says nothing), or of
    GDAL's error behind rasterio's "See previous exception"."""
    cause = exc.__cause__ or exc.__context__
    if "previous exception" in str(exc) and cause is not None:
        return first_line(cause)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def raise_if_locked(exc: BaseException, path: object, error: type[ScoutError]) -> None:
    """Raise ``error`` saying that another program is writing ``path`` when ``exc`` is SQLite's
    "database is locked" (from GDAL or sqlite3): QGIS or QField saving a GeoPackage read as
    "not a readable GeoPackage (... database is locked)"."""
    if "database is locked" in str(exc) or "database table is locked" in str(exc):
        raise error(f"{path}: another program (QGIS, QField, a sync tool) is writing it; let it finish saving or close it there, "
                    "then run again") from None
