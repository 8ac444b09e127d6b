"""Imagery as users name it: files, folders of them, and ``.txt`` lists (one path a line), as
Windows Notepad saves them (a byte-order mark, CRLF, or GBK on older Chinese Windows).

``scout detect`` and ``scout train`` take the same names, and so do their library functions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from scout.errors import ImageryError

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".img"}
"""What a folder's rasters are called."""
LIST_SUFFIXES = {".txt", ".lst"}


def expand_images(items: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders -> their rasters, sorted; list files -> one path per line
    (relative to the list's folder; blank lines and ``#`` comments skipped)."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES)
            if not found:
                raise ImageryError(f"{p}: folder holds no rasters ({', '.join(sorted(RASTER_SUFFIXES))})")
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
