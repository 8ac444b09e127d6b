"""WGS-84 <-> GCJ-02 <-> BD-09: the coordinates Chinese map apps use (pure, vectorized).

GPS and Scout's files are WGS-84.  AMap (Gaode) and Tencent show mainland China in GCJ-02, a
published-by-leak obfuscation of WGS-84 that moves points by 100-700 m; Baidu adds its own
BD-09 on top.  A WGS-84 point handed to AMap as ``coordinate=gaode`` lands in the wrong field
unless shifted first.  The apps shift only inside mainland China (the bounding box most code
uses takes in northern Myanmar, Laos and Vietnam, where the apps do not shift: a border county's
plots would be moved ~500 m off), so :func:`in_china` tests the mainland polygon shipped in
``scout/data`` (Natural Earth 1:10m, generalized: within a few hundred metres of the border it
may decide either way; see ``scout/data/README.md``).

GCJ-02 has no closed-form inverse: :func:`gcj02_to_wgs84` iterates the forward transform to
below a millimetre.  No maintained Python library does these vectorized (eviltransform and
prcoords are scalar and unmaintained since 2018-2019), hence this module.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import ArrayLike

CHINA_GEOJSON = Path(__file__).with_name("data") / "china_mainland.geojson"
_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid, as GCJ-02 uses, metres
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0


@functools.cache
def china_mainland() -> shapely.Geometry:
    """Mainland China (lon/lat degrees, prepared for fast point tests)."""
    geometry = json.loads(CHINA_GEOJSON.read_text(encoding="utf-8"))["features"][0]["geometry"]
    polygon = shapely.geometry.shape(geometry)
    shapely.prepare(polygon)
    return polygon


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """True where (lon, lat) (WGS-84 degrees) lies in mainland China, where the apps shift."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    inside = np.zeros(lon.shape, bool)
    box = (lon > 73.0) & (lon < 135.5) & (lat > 17.5) & (lat < 54.0)  # the polygon's bounds, quick reject
    if box.any():
        inside[box] = shapely.contains_xy(china_mainland(), lon[box], lat[box])
    return inside


def _offsets(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84 at (lon, lat), degrees (the published formula, everywhere)."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike, china_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 (lon, lat) of WGS-84 points, degrees; unchanged outside mainland China when ``china_only``."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    dlon, dlat = _offsets(lon, lat)
    shift = in_china(lon, lat) if china_only else np.ones(lon.shape, bool)
    return np.where(shift, lon + dlon, lon), np.where(shift, lat + dlat, lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, china_only: bool = True, tolerance_deg: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 (lon, lat) of GCJ-02 points, degrees: the forward transform inverted by fixed-point
    iteration (converges to ``tolerance_deg``, 1e-10 degrees = 0.01 mm, in a handful of steps)."""
    glon, glat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(30):
        dlon, dlat = _offsets(wlon, wlat)
        error_lon, error_lat = wlon + dlon - glon, wlat + dlat - glat
        wlon, wlat = wlon - error_lon, wlat - error_lat
        if max(np.abs(error_lon).max(initial=0), np.abs(error_lat).max(initial=0)) < tolerance_deg:
            break
    if not china_only:
        return wlon, wlat
    shift = in_china(wlon, wlat)
    return np.where(shift, wlon, glon), np.where(shift, wlat, glat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Baidu's BD-09 (lon, lat) of GCJ-02 points, degrees (Baidu applies it everywhere)."""
    x, y = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike, tolerance_deg: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 (lon, lat) of BD-09 points: Baidu's approximate inverse, refined by iteration."""
    blon, blat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    x, y = blon - 0.0065, blat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(10):
        flon, flat = gcj02_to_bd09(glon, glat)
        error_lon, error_lat = flon - blon, flat - blat
        glon, glat = glon - error_lon, glat - error_lat
        if max(np.abs(error_lon).max(initial=0), np.abs(error_lat).max(initial=0)) < tolerance_deg:
            break
    return glon, glat


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike, china_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 (lon, lat) of WGS-84 points; unchanged outside mainland China when ``china_only``."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    blon, blat = gcj02_to_bd09(*wgs84_to_gcj02(lon, lat, china_only=False))
    shift = in_china(lon, lat) if china_only else np.ones(lon.shape, bool)
    return np.where(shift, blon, lon), np.where(shift, blat, lat)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike, china_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 (lon, lat) of BD-09 points (inverse of :func:`wgs84_to_bd09`)."""
    blon, blat = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    wlon, wlat = gcj02_to_wgs84(*bd09_to_gcj02(blon, blat), china_only=False)
    shift = in_china(wlon, wlat) if china_only else np.ones(wlon.shape, bool)
    return np.where(shift, wlon, blon), np.where(shift, wlat, blat)
