"""Keep what GDAL and libtiff print on their own off the terminal, so a failure reads as
Scout's one line.  The ``scout`` command group calls these once; a Python user may too."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path
from typing import Any


def quiet_libtiff() -> None:
    """Stop libtiff printing write errors past GDAL, straight onto stderr.

    On a full disk libtiff's default handler printed "_tiffWriteProc: No space left on
    device." a few times above Scout's one-line error; GDAL still reports the failed write,
    which ``disk_full`` reads.  The handler is dropped only in a libtiff this process has
    loaded and only while it is libtiff's own: a GDAL build that routes libtiff's errors
    keeps its handler.  Linux only (it reads /proc/self/maps); elsewhere nothing changes.
    """
    import rasterio  # noqa: F401  # imported for its effect: it loads GDAL and its libtiff

    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8")
    except OSError:
        return
    spans: dict[str, list[tuple[int, int]]] = {}
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and Path(fields[5]).name.startswith("libtiff"):
            low, high = (int(x, 16) for x in fields[0].split("-"))
            spans.setdefault(fields[5], []).append((low, high))
    for path, ranges in spans.items():
        try:
            set_handler = ctypes.CDLL(path).TIFFSetErrorHandler
        except (OSError, AttributeError):
            continue
        set_handler.restype, set_handler.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
        previous = set_handler(None)
        if previous and not any(low <= previous < high for low, high in ranges):
            set_handler(previous)  # another library's handler: put it back


def _undecodable_gdal_message(exc_type: type[BaseException], where: object) -> bool:
    return issubclass(exc_type, UnicodeDecodeError) and str(where).startswith("rasterio.")


def _skip_in_unraisablehook(unraisable: Any) -> None:
    if not _undecodable_gdal_message(unraisable.exc_type, unraisable.object):
        _previous_hooks["unraisablehook"](unraisable)


def _skip_in_excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    # Cython prints the error through sys.excepthook, with no traceback, before it reports it as
    # unraisable; an uncaught error of Scout's own always has a traceback
    if tb is not None or not issubclass(exc_type, UnicodeDecodeError):
        _previous_hooks["excepthook"](exc_type, exc, tb)


_previous_hooks: dict[str, Any] = {}


def quiet_undecodable_gdal_messages() -> None:
    """Stop Python printing errors for GDAL messages that are not UTF-8.

    A GDAL message quoting a corrupt file's bytes (a damaged GDAL_METADATA tag: "Parse error
    at EOF, ... starting with \\xe6GDALMetadata") fails to decode in rasterio's error handler,
    inside GDAL's callback.  Python then printed the UnicodeDecodeError, "Exception ignored in:
    'rasterio._env.log_error'" and a traceback at every read, even under -q, above the run's
    summary or its one-line error.  The read itself goes on, or fails, as before.
    """
    for name, hook in (("unraisablehook", _skip_in_unraisablehook), ("excepthook", _skip_in_excepthook)):
        if getattr(sys, name) is not hook:
            _previous_hooks[name] = getattr(sys, name)
            setattr(sys, name, hook)
