"""Small I/O helpers: atomic files, typed empty layers, and one reader for every vector input."""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from scout.errors import DiskFullError, InputError, OutputError, ScoutError, first_line, raise_if_locked

log = logging.getLogger(__name__)

GPKG_OPTIONS = {"VERSION": "1.2"}  # QGIS 3.22's GDAL warns on GeoPackage 1.4


MAX_COORDINATE = 1e8
"""No georeference on Earth reaches this far, in metres, feet or degrees (Gauss-Kruger eastings
with a zone prefix reach 4.5e7 m).  A raster or vector file past it is refused as it is read:
GEOS's make_valid never returned on an AOI polygon reaching -1e300 (found by fuzzing)."""

CSV_LONLAT = {"X_POSSIBLE_NAMES": "lon,longitude,lng", "Y_POSSIBLE_NAMES": "lat,latitude", "GEOM_POSSIBLE_NAMES": "wkt,geometry,geom"}
"""How a CSV's coordinates are found: lon/lat columns (WGS84) or a WKT column."""


def read_vector(
    path: str | os.PathLike, what: str, geometry: str, *, layer: str | None = None, prefer_layer: str | None = None,
    error: type[InputError] = InputError, **read_options: Any,
) -> gpd.GeoDataFrame:
    """One layer of any vector file GDAL reads (a CSV with lon/lat columns too), with a CRS.

    Without ``layer``: ``prefer_layer`` when the file has it, else the first layer of the
    ``geometry`` kind ("Point", "LineString", "Polygon") that holds features; so a GPX gives its
    waypoints as depots and its tracks as roads.  Anything unusable is ``error`` in one line.
    """
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: no such file ({what})")
    csv = path.suffix.lower() == ".csv"
    options = {**(CSV_LONLAT if csv else {}), **read_options}
    try:
        if layer is None:
            layer = _pick_layer(path, geometry, prefer_layer)
        try:
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio", **options)
        except UnicodeDecodeError:  # e.g. a CSV saved by Excel on Chinese Windows, in GBK
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio", encoding="gb18030", **options)
    except Exception as exc:  # pyogrio, GDAL and shapely raise many types for unreadable files
        raise_if_locked(exc, path, error)
        raise error(f"{path}: cannot read {what} ({first_line(exc)})") from None
    if path.suffix.lower() == ".shp" and _gbk_read_as_latin1(gdf, path):
        log.warning("%s: no .cpg; its text looks like GBK read as Latin-1, so it is read as GBK (a .cpg file saying GBK makes it sure)", path)
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio", encoding="gb18030", **options)
    if not isinstance(gdf, gpd.GeoDataFrame):
        hint = " (a CSV needs lon and lat columns, or a WKT column)" if csv else ""
        raise error(f"{path}: holds a table without geometries, not {what}{hint}")
    if gdf.crs is None and csv and {c.lower() for c in gdf.columns} & {"lon", "longitude", "lng"}:
        gdf = gdf.set_crs("EPSG:4326")
    if gdf.crs is None:
        hint = {".shp": " (a Shapefile needs its .prj)", ".csv": " (a CSV has one only as lon and lat columns, in WGS84)"}.get(path.suffix.lower(), "")
        raise error(f"{path}: {what} have no CRS{hint}; save them with one, e.g. ogr2ogr -a_srs EPSG:4326")
    coords = np.abs(shapely.get_coordinates(gdf.geometry.to_numpy()))
    if not (coords <= MAX_COORDINATE).all():  # NaN and inf too
        raise error(f"{path}: coordinates reach {np.nan_to_num(coords, nan=np.inf).max():.3g}, farther out than any place on Earth "
                    f"in the file's CRS ({gdf.crs.to_string()}); its coordinates or CRS are wrong")
    return gdf


def _gbk_read_as_latin1(table: pd.DataFrame, path: Path) -> bool:
    """A Shapefile without .cpg or code page is read as Latin-1; Chinese text saved in GBK then shows
    as runs of accented letters of even length ('勐腊镇' -> 'ÛÂÀ°Õò'), which Latin-1 text rarely is."""
    if any(p.suffix.lower() == ".cpg" for p in path.parent.glob(f"{glob.escape(path.stem)}.*")):
        return False
    runs = [run for column in table.columns if table[column].dtype == object or pd.api.types.is_string_dtype(table[column])
            for value in table[column].dropna() if isinstance(value, str) for run in re.findall(r"[\x80-\xff]+", value)]
    if not runs or any(len(run) % 2 for run in runs):
        return False
    try:
        "".join(runs).encode("latin-1").decode("gb18030")
    except UnicodeError:
        return False
    return True


def _pick_layer(path: Path, geometry: str, prefer: str | None) -> str | None:
    layers = pyogrio.list_layers(path)
    if len(layers) <= 1:
        return None
    names = [str(name) for name, _ in layers]
    if prefer in names:
        return prefer
    kind = [str(name) for name, gtype in layers if gtype and geometry in str(gtype)]
    with_features = [name for name in kind if pyogrio.read_info(path, layer=name, force_feature_count=True)["features"] > 0]
    return (with_features or kind or names)[0]


LOW_DISK_BYTES = 64 << 20
"""Below this much free space, a failed write is taken for a full disk."""


def disk_full(exc: BaseException, folder: str | os.PathLike) -> bool:
    """Whether ``exc``, raised while writing into ``folder``, came from a full disk.

    Python's writes say so (ENOSPC, EDQUOT); GDAL's do not: libtiff prints "No space left on
    device" to stderr and rasterio raises only "Write failed", and SQLite says "database or disk
    is full".  So a write error with next to no free space left counts too.
    """
    if isinstance(exc, DiskFullError) or isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not isinstance(exc, Exception) or isinstance(exc, (ScoutError, MemoryError)):
        return False
    if any(os.strerror(e) in str(exc) for e in (errno.ENOSPC, errno.EDQUOT)) or "disk is full" in str(exc):
        return True
    try:
        return shutil.disk_usage(folder).free < LOW_DISK_BYTES
    except OSError:
        return False


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success.

    A crash or an exception leaves ``path`` as it was (absent, or the old file), never
    half-written.  An exception from a full disk becomes one ``DiskFullError``.
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
    except Exception as exc:
        if disk_full(exc, path.parent):  # asked before the partial file is removed and frees its space
            raise DiskFullError(f"{path}: disk full while writing it; free some space and run again") from None
        raise
    finally:
        if tmp_path.exists():
            if tmp_path.is_dir():
                shutil.rmtree(tmp_path, ignore_errors=True)
            else:
                tmp_path.unlink()


def check_new_file(path: str | os.PathLike, overwrite: bool) -> None:
    """An output file named by the user is replaced only when they said so."""
    if not overwrite and Path(path).exists():
        raise OutputError(f"{path}: exists; pass --overwrite to replace it")


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
