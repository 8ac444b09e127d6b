"""Camera geometry (pure): rotations, homographies to the ground, EXIF orientation."""

import math

import numpy as np
import pytest
import shapely
from PIL import Image, ImageOps

from scout.frames import geometry as g


def nadir_homography(yaw: float, focal: float = 1000.0, w: int = 400, h: int = 300, agl: float = 50.0, attitude: str = "gimbal"):
    pitch = -90.0 if attitude == "gimbal" else 0.0
    r = g.camera_rotation(yaw, pitch, 0.0, attitude)
    return np.linalg.inv(g.ground_to_pixel(g.intrinsics(focal, w, h), r, agl))


@pytest.mark.parametrize("attitude", ["gimbal", "aircraft"])
def test_nadir_footprint_is_the_pinhole_rectangle_with_its_top_edge_toward_the_yaw(attitude):
    to_ground = nadir_homography(30.0, attitude=attitude)
    corners = g.apply(to_ground, [[0, 0], [400, 0], [400, 300], [0, 300]])
    fp = shapely.Polygon(corners)
    assert fp.area == pytest.approx((50 * 400 / 1000) * (50 * 300 / 1000), rel=1e-9)
    assert np.allclose(fp.centroid.coords[0], (0, 0), atol=1e-9)  # centred under the camera
    top_mid = (corners[0] + corners[1]) / 2
    assert math.degrees(math.atan2(top_mid[0], top_mid[1])) == pytest.approx(30.0)  # bearing of the photo's top
    long_side = corners[1] - corners[0]  # the 400 px side runs across the yaw
    assert math.degrees(math.atan2(long_side[0], long_side[1])) % 180 == pytest.approx(120.0)


def test_tilted_camera_looks_ahead_by_agl_times_tan():
    k = g.intrinsics(1000.0, 400, 300)
    for pitch, expect in ((-80.0, 50 * math.tan(math.radians(10))), (-90.0, 0.0)):
        r = g.camera_rotation(90.0, pitch, 0.0, "gimbal")  # looking east, 10° forward of nadir
        x, y = g.apply(np.linalg.inv(g.ground_to_pixel(k, r, 50.0)), [[200, 150]])[0]
        assert (x, y) == pytest.approx((expect, 0.0), abs=1e-9)
        assert g.off_nadir_deg(r) == pytest.approx(pitch + 90, abs=1e-9)


def test_aircraft_nose_up_and_right_wing_down_tilt_the_down_camera_forward_and_left():
    k = g.intrinsics(1000.0, 400, 300)
    centre = lambda r: g.apply(np.linalg.inv(g.ground_to_pixel(k, r, 100.0)), [[200, 150]])[0]  # noqa: E731  # one line, used twice below
    x, y = centre(g.camera_rotation(0.0, 5.0, 0.0, "aircraft"))  # heading north, nose 5° up
    assert (x, y) == pytest.approx((0, 100 * math.tan(math.radians(5))))
    x, y = centre(g.camera_rotation(0.0, 0.0, 5.0, "aircraft"))  # right wing 5° down
    assert (x, y) == pytest.approx((-100 * math.tan(math.radians(5)), 0))


def test_ground_slope_shrinks_the_uphill_side():
    k = g.intrinsics(1000.0, 400, 400)
    r = g.camera_rotation(0.0, -90.0, 0.0, "gimbal")
    flat = g.ground_polygon(np.linalg.inv(g.ground_to_pixel(k, r, 50.0)), g.border(400, 400))
    slope = g.ground_polygon(np.linalg.inv(g.ground_to_pixel(k, r, 50.0, (0.2, 0.0))), g.border(400, 400))  # rising to the east
    assert slope.bounds[2] < flat.bounds[2] and slope.bounds[0] < flat.bounds[0]  # nearer ground east, farther west
    assert slope.area == pytest.approx(flat.area, rel=0.1)


def test_pixel_scale_at_nadir_is_agl_over_focal():
    to_ground = nadir_homography(0.0, focal=2000.0, agl=40.0)
    assert g.pixel_scale_m(to_ground, 200, 150) == pytest.approx(0.02)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matrix_maps_stored_pixels_as_pillow_turns_them(orientation):
    rng = np.random.default_rng(orientation)
    stored = rng.integers(0, 255, (3, 5), dtype=np.uint8)  # 5 wide, 3 high
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.info["exif"] = exif.tobytes()
    upright = np.asarray(ImageOps.exif_transpose(im))
    assert upright.shape[::-1] == g.upright_size(orientation, 5, 3)
    o = g.orientation_matrix(orientation, 5, 3)
    rows, cols = np.mgrid[0:3, 0:5]
    moved = g.apply(o, np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5]))
    assert np.array_equal(upright[np.floor(moved[:, 1]).astype(int), np.floor(moved[:, 0]).astype(int)], stored.ravel())


def test_below_horizon_keeps_a_finite_ground_polygon_of_an_oblique_photo():
    k = g.intrinsics(800.0, 400, 300)
    r = g.camera_rotation(0.0, -10.0, 0.0, "gimbal")  # nearly horizontal: the top of the photo shows sky
    visible = g.below_horizon(r, k, g.border(400, 300))
    assert 3 <= len(visible) and visible[:, 1].min() > 0  # the top rows are cut
    fp = g.ground_polygon(np.linalg.inv(g.ground_to_pixel(k, r, 50.0)), visible)
    assert fp.is_valid and 0 < fp.area < math.inf and fp.bounds[3] < 50 / math.tan(math.radians(9))
