"""GCJ-02 / BD-09 against reference pairs published with other implementations; shifts only in mainland China."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from scout.chinacoords import bd09_to_gcj02, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84, in_china, wgs84_to_bd09, wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")

# (wgs lon, wgs lat, gcj lon, gcj lat): the test table of googollee/eviltransform (test.py), used by its ports
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]
# geotool's CLI tests (Rust): one WGS-84 point with its GCJ-02 and BD-09
GEOTOOL = (121.0917077, 30.6107779, 121.09626935575027, 30.608604331756705, 121.10271732371203, 30.61484572185035)


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_eviltransform(wlon, wlat, glon, glat) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-7) and lat == pytest.approx(glat, abs=1e-7)
    back = gcj02_to_wgs84(glon, glat)
    assert metres(*back, wlon, wlat) < 0.01  # the iterated inverse: below a centimetre


def test_geotool_pair_wgs_gcj_bd() -> None:
    wlon, wlat, glon, glat, blon, blat = GEOTOOL
    assert metres(*wgs84_to_gcj02(wlon, wlat), glon, glat) < 0.05
    assert metres(*wgs84_to_bd09(wlon, wlat), blon, blat) < 0.05
    assert metres(*bd09_to_wgs84(blon, blat), wlon, wlat) < 0.05


def test_gcoord_pairs() -> None:
    """hujiulong/gcoord's unit tests (5 decimals): GCJ-02 (123, 45) to WGS-84 and to BD-09."""
    lon, lat = gcj02_to_wgs84(123, 45)
    assert (round(float(lon), 5), round(float(lat), 5)) == (122.99396, 44.99804)
    lon, lat = gcj02_to_bd09(123, 45)
    assert (round(float(lon), 5), round(float(lat), 5)) == (123.00636, 45.00637)


def test_round_trips_under_a_metre_over_china() -> None:
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(97.5, 122.0, 4000), rng.uniform(21.0, 45.0, 4000)
    inside = in_china(lon, lat)
    assert inside.sum() > 1500
    lon, lat = lon[inside], lat[inside]
    glon, glat = wgs84_to_gcj02(lon, lat)
    shift = metres(lon, lat, glon, glat)
    assert shift.min() > 1 and shift.max() < 1000  # GCJ-02 moves every point, by at most hundreds of metres
    assert metres(*gcj02_to_wgs84(glon, glat), lon, lat).max() < 1.0
    blon, blat = wgs84_to_bd09(lon, lat)
    assert metres(*bd09_to_wgs84(blon, blat), lon, lat).max() < 1.0
    assert metres(*bd09_to_gcj02(*gcj02_to_bd09(glon, glat)), glon, glat).max() < 1.0


@pytest.mark.parametrize(
    ("lon", "lat", "china"),
    [
        (100.80, 22.00, True),  # Jinghong, Xishuangbanna
        (97.85, 24.01, True),  # Ruili, Yunnan
        (98.366, 20.795, False),  # Shan State, Myanmar: inside the usual bounding box, not shifted by the apps
        (101.0, 21.5, False),  # northern Laos
        (104.0, 21.0, False),  # northern Vietnam
        (114.17, 22.30, False),  # Hong Kong
        (121.5, 25.03, False),  # Taipei
        (-122.4, 37.8, False),  # elsewhere
    ],
)
def test_shift_only_inside_mainland_china(lon: float, lat: float, china: bool) -> None:
    assert bool(in_china(lon, lat)) is china
    glon, glat = wgs84_to_gcj02(lon, lat)
    blon, blat = wgs84_to_bd09(lon, lat)
    moved = metres(lon, lat, glon, glat)
    if china:
        assert moved > 50 and metres(*gcj02_to_wgs84(glon, glat), lon, lat) < 0.01
    else:
        assert (glon, glat) == (lon, lat) and (blon, blat) == (lon, lat)
        assert tuple(map(float, gcj02_to_wgs84(lon, lat))) == (lon, lat)
