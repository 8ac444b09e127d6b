"""Imagery as users name it: files, folders of them, and ``.txt`` lists (one path a line), as
Windows Notepad saves them (a byte-order mark, CRLF, or GBK on older Chinese Windows).

``scout detect`` and ``scout train`` take the same names, and so do their library functions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from scout.errors import ImageryError

log = logging.getLogger(__name__)

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".img"}
"""What a folder's rasters are called."""
PHOTO_SUFFIXES = {".jpg", ".jpeg"}
"""What a folder's raw drone photos are called (a TIFF photo is told from a GeoTIFF when opened)."""
LIST_SUFFIXES = {".txt", ".lst"}


def expand_images(items: Iterable[str | os.PathLike], photos: bool = False) -> list[Path]:
    """Files as given; folders -> their rasters (and with ``photos`` their JPEG photos), sorted;
    list files -> one path per line (relative to the list's folder; blank lines and ``#``
    comments skipped).  Other files in a folder (a drone's videos and subtitles) are ignored
    with a count in the log."""
    wanted = RASTER_SUFFIXES | (PHOTO_SUFFIXES if photos else set())
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
            found = [f for f in files if f.suffix.lower() in wanted]
            if not found:
                raise ImageryError(f"{p}: folder holds no {'rasters or photos' if photos else 'rasters'} ({', '.join(sorted(wanted))})")
            others = [f.name for f in files if f.suffix.lower() not in wanted]
            if others:
                log.info("%s: %d file(s) that are not images ignored (%s%s)", p, len(others), ", ".join(others[:3]), ", ..." if len(others) > 3 else "")
            out.extend(found)
        elif p.suffix.lower() in LIST_SUFFIXES and p.is_file():
            lines = [ln.strip() for ln in list_text(p).splitlines()]
            out.extend((p.parent / ln) for ln in lines if ln and not ln.startswith("#"))
        else:
            out.append(p)
    return out


def list_text(path: Path) -> str:
    """A list file as Notepad may have saved it: UTF-8 (with or without BOM), or GBK on older Chinese Windows."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImageryError(f"{path}: not a text list of image paths (neither UTF-8 nor GBK)")
