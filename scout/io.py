"""Small I/O helpers shared by every writer: atomic files, typed empty layers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from scout.errors import OutputError

GPKG_OPTIONS = {"VERSION": "1.2"}  # QGIS 3.22's GDAL warns on GeoPackage 1.4


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success.

    A crash or an exception leaves ``path`` as it was (absent, or the old file), never
    half-written.
    """
    path = Path(path)
    try:
        # keep the real extension last: GDAL picks drivers by it
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write here ({exc.strerror})") from None
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            if tmp_path.is_dir():
                shutil.rmtree(tmp_path, ignore_errors=True)
            else:
                tmp_path.unlink()


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically, pretty-printed, UTF-8."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def typed_frame(gdf: gpd.GeoDataFrame | None, fields: dict[str, str], crs: Any) -> gpd.GeoDataFrame:
    """Return ``gdf`` with exactly ``fields`` (in order, with their dtypes) and a geometry.

    An empty result is an empty, fully typed layer, never ``None``.
    """
    if gdf is None or len(gdf) == 0:
        data = {name: pd.Series([], dtype="object" if t == "str" else t) for name, t in fields.items()}
        return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    out = gpd.GeoDataFrame(geometry=gdf.geometry.values, crs=gdf.crs if gdf.crs is not None else crs)
    for name, t in fields.items():
        col = gdf[name] if name in gdf.columns else pd.Series([None] * len(gdf))
        values = col.to_numpy()
        out[name] = pd.Series(values, dtype="object" if t == "str" else t).values
    return out[[*fields, "geometry"]]


def write_gpkg_layer(gdf: gpd.GeoDataFrame, path: str | os.PathLike, layer: str) -> None:
    """Append or replace one layer of a GeoPackage (GeoPackage 1.2, for QGIS 3.22)."""
    gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", dataset_options=GPKG_OPTIONS)
