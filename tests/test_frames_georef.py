"""Placing photos on the ground: lens, height, attitude, skip reasons, DEM, position error."""

import dataclasses
import math

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from frames_data import DJI, SENSEFLY
from scout.errors import ImageryError
from scout.frames.georef import ErrorBudget, FrameSettings, dem_terrain, error_budget, flight_crs, lens, place_frame, true_north_bearing
from scout.frames.metadata import FrameMeta, read_meta


def bearing(v) -> float:
    return math.degrees(math.atan2(v[0], v[1]))


def long_side_bearing(fp: shapely.Polygon) -> float:
    rect = np.asarray(fp.minimum_rotated_rectangle.exterior.coords)
    sides = np.diff(rect[:3], axis=0)
    longest = sides[np.argmax(np.hypot(*sides.T))]
    return bearing(longest) % 180


def placed(path, **settings):
    meta = read_meta(path)
    return place_frame(meta, flight_crs([meta]), FrameSettings(**settings))


def test_dji_footprint_follows_from_height_and_lens():
    frame = placed(DJI[0])  # 40.1 m, gimbal -90.0, yaw 45
    assert frame.used and frame.lens.source.startswith("camera table (FC300S")
    focal = 3.61 / 6.17 * 500
    assert frame.lens.focal_px == pytest.approx(focal)
    fp = frame.footprint
    assert fp.area == pytest.approx((40.1 * 500 / focal) * (40.1 * 281 / focal), rel=1e-6)
    assert shapely.Point(frame.nadir_xy).distance(fp.centroid) < 0.01  # straight down: centred on the GPS position
    x, y = Transformer.from_crs("EPSG:4326", frame.crs_wkt, always_xy=True).transform(-91.9941766, 46.8428651)
    assert frame.nadir_xy == pytest.approx((x, y), abs=0.01)
    # the long side runs across the yaw (45° from true north; the UTM grid is turned ~0.7° here)
    assert long_side_bearing(fp) == pytest.approx((45 + 90) % 180, abs=1.0)
    assert frame.gsd_m == pytest.approx(40.1 / focal, rel=1e-6)


def test_sensefly_focal_plane_resolution_is_scaled_to_the_resized_photo():
    frame = placed(SENSEFLY[1])  # 450 px wide; EXIF resolution is for 4000 px
    assert frame.lens.source.startswith("EXIF focal length")
    assert frame.lens.focal_px == pytest.approx(4.3 * 16393.44 / 25.4 * 450 / 4000, rel=1e-5)
    fp, agl = frame.footprint, frame.agl_m
    nadir_area = (agl * 450 / frame.lens.focal_px) * (agl * 338 / frame.lens.focal_px)
    assert fp.area == pytest.approx(nadir_area, rel=0.03)  # 3° off nadir
    from scout.frames.geometry import apply
    centre = apply(frame.homography, [[225, 169]])[0]  # the photo's centre lies agl * tan(off nadir) from the GPS position
    assert math.dist(centre, frame.nadir_xy) == pytest.approx(agl * math.tan(math.radians(frame.off_nadir_deg)), rel=1e-6)
    assert long_side_bearing(fp) == pytest.approx((30.44 + 90) % 180, abs=3.0)  # senseFly: the photo's top faces the heading


def test_lens_sources_in_order():
    base = FrameMeta("x.jpg", 4000, 2250, make="DJI", model="FC300S", focal_mm=3.61, focal_35mm=20.0)
    assert lens(base).focal_px == pytest.approx(3.61 / 6.17 * 4000)
    plane = dataclasses.replace(base, focal_plane_px_per_mm=4000 / 6.3, exif_width=4000)
    assert lens(plane).focal_px == pytest.approx(3.61 * 4000 / 6.3)
    nonsense = dataclasses.replace(base, focal_plane_px_per_mm=1e6, exif_width=4000)  # a 4 µm sensor: ignored
    assert lens(nonsense).source.startswith("camera table")
    unknown = dataclasses.replace(base, model="Mystery 9")
    # 35 mm equivalent on the diagonal of the 4:3 sensor a 16:9 photo was cut from: within 2% of the table's
    assert lens(unknown).focal_px == pytest.approx(lens(base).focal_px, rel=0.02)
    assert lens(dataclasses.replace(unknown, focal_35mm=None)) is None


def test_height_from_agl_option_overrides_xmp():
    xmp, given = placed(DJI[0]), placed(DJI[0], agl_m=80.2)
    assert given.agl_source == "--agl" and xmp.agl_source == "drone-dji:RelativeAltitude"
    assert given.footprint.area == pytest.approx(4 * xmp.footprint.area, rel=1e-6)


@pytest.mark.parametrize("change, reason", [
    (dict(lat=None), "no GPS position"),
    (dict(lat=123.0), "is not on Earth"),
    (dict(model="Mystery", focal_35mm=None), "no lens information"),
    (dict(attitude=""), "no camera attitude"),
    (dict(agl_m=None, agl_tag=""), "no height above ground"),
    (dict(agl_m=1.5), "height above ground 1.5 m is absurd"),
    (dict(agl_m=2400.0), "height above ground 2400.0 m is absurd"),
    (dict(pitch_deg=20.0), "looks above the horizon"),
    (dict(pitch_deg=-60.0), "30° off nadir (limit 15°)"),
])
def test_unusable_photos_are_skipped_with_the_reason(change, reason):
    meta = dataclasses.replace(read_meta(DJI[0]), **change)
    frame = place_frame(meta, CRS.from_epsg(32615))
    assert frame.status.startswith("skipped: ") and reason in frame.status and not frame.used


def test_an_oblique_photo_keeps_a_finite_footprint_on_the_far_side():
    meta = dataclasses.replace(read_meta(DJI[0]), pitch_deg=-20.0, yaw_deg=0.0)  # looking north, 70° off nadir
    frame = place_frame(meta, CRS.from_epsg(32615))
    fp = frame.footprint
    assert "70° off nadir" in frame.status and fp.is_valid and fp.area > 0
    assert fp.centroid.y > frame.nadir_xy[1] + 40  # it shows ground ahead of the drone


def test_max_off_nadir_is_a_setting():
    meta = dataclasses.replace(read_meta(DJI[0]), pitch_deg=-70.0)
    assert not place_frame(meta, CRS.from_epsg(32615)).used
    assert place_frame(meta, CRS.from_epsg(32615), FrameSettings(max_off_nadir_deg=25)).used


def test_true_north_is_turned_onto_the_utm_grid():
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32647", always_xy=True)  # central meridian 99° E
    # east of the central meridian true north leans west of grid north by about dlon * sin(lat)
    assert true_north_bearing(to_utm, 102.0, 25.0) == pytest.approx(-3 * math.sin(math.radians(25)), abs=0.03)
    assert true_north_bearing(to_utm, 99.0, 25.0) == pytest.approx(0.0, abs=1e-6)


def write_dem(path, crs, origin, gsd, size, height):
    x0, y0 = origin
    cols, rows = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    z = height(x0 + cols * gsd, y0 - rows * gsd).astype("float32")
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32", crs=crs,
                       transform=Affine(gsd, 0, x0, 0, -gsd, y0), nodata=-9999) as dst:
        dst.write(z, 1)
    return path


def test_dem_gives_height_above_ground_and_its_slope(tmp_path):
    meta = read_meta(DJI[0])  # GPS altitude 198.6 m
    crs = flight_crs([meta])
    flat = place_frame(meta, crs)
    nx, ny = flat.nadir_xy
    rising_east = lambda x, y: 158.5 + 0.3 * (x - nx)  # noqa: E731  (a formula reads best as one expression) ground under the drone: 40.1 m below
    dem = write_dem(tmp_path / "dem.tif", crs.to_wkt(), (nx - 500, ny + 500), 5.0, 200, rising_east)
    terrain = dem_terrain(dem, crs, (nx - 100, ny - 100, nx + 100, ny + 100))
    assert terrain(np.array([nx + 10.0]), np.array([ny]))[0] == pytest.approx(161.5, abs=0.01)
    on_slope = place_frame(meta, crs, FrameSettings(), terrain)
    assert on_slope.used and on_slope.agl_source == "--dem"
    assert on_slope.agl_m == pytest.approx(198.609 - 158.5, abs=0.05)
    east = lambda fp: fp.bounds[2] - nx  # noqa: E731  # a measure named for what it measures
    west = lambda fp: nx - fp.bounds[0]  # noqa: E731  # likewise
    assert east(on_slope.footprint) < east(flat.footprint) - 3 and west(on_slope.footprint) > west(flat.footprint) + 3
    # every footprint corner lies on the DEM's plane at the camera's view: check one against the ray
    corner = np.asarray(on_slope.footprint.exterior.coords[0])
    assert terrain(corner[:1], corner[1:2])[0] == pytest.approx(rising_east(*corner), abs=0.05)


def test_dem_without_gps_altitude_or_coverage(tmp_path):
    meta = dataclasses.replace(read_meta(DJI[0]), altitude_m=None)
    crs = flight_crs([meta])
    nx, ny = place_frame(meta, crs).nadir_xy
    holed = write_dem(tmp_path / "dem.tif", crs.to_wkt(), (nx - 500, ny + 500), 5.0, 200,
                      lambda x, y: np.where(np.hypot(x - nx, y - ny) < 20, -9999, 100.0))  # nodata under the drone
    terrain = dem_terrain(holed, crs, (nx - 100, ny - 100, nx + 100, ny + 100))
    assert "no height above ground" in place_frame(meta, crs, FrameSettings(), terrain).status  # no GPS altitude
    meta = dataclasses.replace(meta, altitude_m=150.0)
    assert "no height above ground" in place_frame(meta, crs, FrameSettings(), terrain).status  # a hole in the DEM
    elsewhere = write_dem(tmp_path / "far.tif", crs.to_wkt(), (nx + 5000, ny + 500), 5.0, 20, lambda x, y: x * 0 + 100)
    with pytest.raises(ImageryError, match="far.tif: DEM does not cover the flight"):
        dem_terrain(elsewhere, crs, (nx - 100, ny - 100, nx + 100, ny + 100))


def test_position_error_grows_away_from_nadir_and_rtk_shrinks_it():
    meta = read_meta(DJI[0])
    plain = error_budget(meta, "drone-dji:RelativeAltitude")
    rtk = error_budget(dataclasses.replace(meta, rtk_flag=50, rtk_std_m=0.02), "drone-dji:RelativeAltitude")
    assert rtk.gnss_m == 0.02 and plain.gnss_m == 2.5
    near, far = plain.position_error_m(40.0, np.array([0.0, 30.0]), np.array([0.0, 36.9]))
    assert far > near and near == pytest.approx(2 * math.hypot(2.5, 40 * math.radians(0.5)))
    assert rtk.position_error_m(40.0, 30.0, 36.9) < far / 1.5
    frame = placed(DJI[0])
    at_nadir, at_corner = frame.position_error_m(np.array([frame.nadir_xy, frame.footprint.exterior.coords[0]]))
    assert at_corner > at_nadir > 2 * 2.5
    assert ErrorBudget(2.0, 1.0, 2.0, 3.0).position_error_m(70.0, 0.0) > ErrorBudget(1.5, 1.0, 0.5, 2.0).position_error_m(70.0, 0.0)


def test_cells_tile_overlapping_photos_by_the_most_nearly_straight_down_view():
    """Photos at other heights above ground: the cell boundaries are circles (tan = distance / height)."""
    from scout.frames.georef import with_cells

    metas = [dataclasses.replace(read_meta(p), agl_m=h) for p, h in zip(DJI[:3], (40.0, 30.0, 55.0))]
    crs = flight_crs(metas)
    frames = with_cells([place_frame(m, crs) for m in metas])
    union = shapely.union_all([f.footprint for f in frames])
    pts = np.random.default_rng(1).uniform(union.bounds[:2], union.bounds[2:], (4000, 2))
    inside = shapely.contains_xy(union, pts[:, 0], pts[:, 1])
    counts = sum(shapely.contains_xy(f.cell, pts[:, 0], pts[:, 1]).astype(int) for f in frames)
    assert (counts[inside] == 1).mean() > 0.998 and (counts[~inside] == 0).all()  # a tiling (a 256-gon stands for each circle)
    for p in pts[inside][:500]:
        seeing = [f for f in frames if f.footprint.contains(shapely.Point(p))]
        best = min(seeing, key=lambda f: f.view_tan(p)[0])
        holders = [f for f in frames if f.cell.contains(shapely.Point(p))]
        assert holders in ([best], []) and (holders or abs(min(f.view_tan(p)[0] for f in seeing) - sorted(f.view_tan(p)[0] for f in seeing)[1]) < 1e-3)
