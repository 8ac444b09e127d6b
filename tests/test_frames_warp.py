"""Reading photos onto the ground grid (pure warp, then the real test photos)."""

import numpy as np
import pytest
import shapely
from affine import Affine
from PIL import Image
from rasterio.windows import Window

from frames_data import DJI, edited_copy
from scout.frames.geometry import apply
from scout.frames.georef import flight_crs, place_frame
from scout.frames.metadata import read_meta
from scout.frames.warp import read_frame, shrink_factor, warp_to_grid
from scout.imagery import Grid


def test_warp_to_grid_is_bilinear_and_masks_outside():
    pixels = (np.arange(4 * 6, dtype=np.float32).reshape(1, 4, 6) * 10)  # value = 10 * (row * 6 + col) at pixel centres
    to_pixels = np.array([[0.5, 0, 0], [0, -0.5, 0], [0, 0, 1]])  # ground (x, y) -> (col = x / 2, row = -y / 2)
    xy = np.array([[1.0, -1.0], [3.0, -1.0], [2.0, -2.0], [13.0, -1.0], [-0.5, -1.0]])  # centres of (0, 0), (1, 0); between; outside x2
    data, valid = warp_to_grid(pixels, to_pixels, xy, (1, 5))
    assert valid.tolist() == [[True, True, True, False, False]]
    assert data[0, 0, :3] == pytest.approx([0, 10, (0 + 10 + 60 + 70) / 4])


def placed(path):
    meta = read_meta(path)
    return place_frame(meta, flight_crs([meta]))


def grid_over(frame, gsd):
    x0, y0, x1, y1 = frame.footprint.bounds
    w, h = int((x1 - x0) / gsd) + 1, int((y1 - y0) / gsd) + 1
    return Grid(frame.crs_wkt, tuple(Affine(gsd, 0, x0, 0, -gsd, y1))[:6], w, h)


def red_centre(data, valid, grid):
    red = valid & (data[0] > 200) & (data[1] < 80) & (data[2] < 80)
    ys, xs = np.nonzero(red)
    return np.array(grid.affine * (xs.mean() + 0.5, ys.mean() + 0.5)), red.sum()


@pytest.mark.parametrize("transpose, orientation", [(None, None), (Image.Transpose.ROTATE_90, 6), (Image.Transpose.ROTATE_270, 8), (Image.Transpose.ROTATE_180, 3)])
def test_a_photo_lands_on_its_footprint_and_a_marked_pixel_where_the_camera_model_says(tmp_path, transpose, orientation):
    """A red box painted on a real photo (off centre) lands where its homography puts it, also
    when the photo is stored turned with the EXIF orientation that shows it upright."""
    box = (60, 40, 80, 60)  # 20 x 20 px in the upright photo, upper left
    frame = placed(edited_copy(DJI[0], tmp_path / "marked.jpg", paint=box, transpose=transpose, orientation=orientation))
    upright = placed(DJI[0])
    assert frame.footprint.symmetric_difference(upright.footprint).area < 1e-6 * upright.footprint.area
    grid = grid_over(frame, 0.1)
    data, valid = read_frame(frame, (1, 2, 3), grid, Window(0, 0, grid.width, grid.height), 0.1)
    assert data.shape == (3, grid.height, grid.width) and data.dtype == np.uint8
    assert valid.sum() * 0.1**2 == pytest.approx(frame.footprint.area, rel=0.01)
    ys, xs = np.nonzero(valid)  # the valid pixels are the footprint's, none outside it
    assert shapely.within(shapely.points(np.column_stack(grid.affine * (xs + 0.5, ys + 0.5))), frame.footprint.buffer(0.15)).all()
    found, n = red_centre(data, valid, grid)
    expected = apply(upright.homography, [[70, 50]])[0]  # the box's centre, through the upright photo's model
    assert np.hypot(*(found - expected)) < 0.15  # metres: under two grid pixels (the box is 2.7 m wide)
    assert n * 0.01 == pytest.approx((20 * upright.gsd_m) ** 2, rel=0.3)
    if transpose is not None:  # the same turned photo with its orientation left at 1 puts the box elsewhere
        wrong = placed(edited_copy(DJI[0], tmp_path / "wrong.jpg", paint=box, transpose=transpose))
        data, valid = read_frame(wrong, (1, 2, 3), grid_over(wrong, 0.1), Window(0, 0, grid.width, grid.height), 0.1)
        assert np.hypot(*(red_centre(data, valid, grid_over(wrong, 0.1))[0] - expected)) > 10


def test_a_partial_window_reads_only_its_part_and_matches_the_whole():
    frame = placed(DJI[0])
    grid = grid_over(frame, 0.25)
    whole, whole_valid = read_frame(frame, (1, 2, 3), grid, Window(0, 0, grid.width, grid.height), 0.25)
    part, part_valid = read_frame(frame, (1, 2, 3), grid, Window(40, 60, 64, 48), 0.25)
    assert np.array_equal(part_valid, whole_valid[60:108, 40:104]) and part_valid.any() and not part_valid.all()
    assert np.abs(part.astype(int) - whole[:, 60:108, 40:104]).max() <= 1  # invalid pixels are 0 in both
    empty, empty_valid = read_frame(frame, (1, 2, 3), Grid(frame.crs_wkt, tuple(Affine(0.25, 0, 0, 0, -0.25, 0))[:6], 10, 10), Window(0, 0, 10, 10), 0.25)
    assert not empty_valid.any()


def test_photos_are_shrunk_to_the_model_gsd_never_enlarged():
    frame = placed(DJI[0])  # 13.7 cm
    assert shrink_factor(frame, 0.1) == 1.0
    assert shrink_factor(frame, 0.5) == pytest.approx(0.5 / frame.gsd_m)
