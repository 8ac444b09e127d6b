"""Chips from the original photo, upright, and photos' placement kept in run.json."""

import json

import numpy as np
import pytest
import shapely
from PIL import Image

from frames_data import DJI, edited_copy
from scout.frames.chips import frame_from_record, frame_record, frames_from_records, photo_chip
from scout.frames.flight import place_flight
from scout.frames.geometry import apply
from scout.frames.georef import flight_crs, place_frame
from scout.frames.metadata import read_meta

BOX = (60, 40, 80, 60)  # upright pixels of a 500 x 281 photo, upper left


def placed(path):
    meta = read_meta(path)
    return place_frame(meta, flight_crs([meta]))


def red_centre(pixels):
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    ys, xs = np.nonzero(red)
    return np.array([xs.mean() + 0.5, ys.mean() + 0.5]), red.sum()


@pytest.mark.parametrize("transpose, orientation", [(None, None), (Image.Transpose.ROTATE_90, 6), (Image.Transpose.TRANSPOSE, 5)])
def test_a_chip_is_the_upright_photo_around_the_plot_with_its_outline_where_the_photo_shows_it(tmp_path, transpose, orientation):
    reference = placed(DJI[0])
    plot = shapely.Polygon(apply(reference.homography, [[60, 40], [80, 40], [80, 60], [60, 60]]))  # the box's ground
    frame = placed(edited_copy(DJI[0], tmp_path / "marked.jpg", paint=BOX, transpose=transpose, orientation=orientation))
    chip = photo_chip(frame, [plot], size_px=200, context_m=5.0)
    assert chip.pixels.shape == (200, 200, 3) and chip.image == "marked.jpg"
    found, n = red_centre(chip.pixels)
    x, y = chip.to_chip(*np.array(plot.centroid.coords).T)
    assert np.hypot(found[0] - x[0], found[1] - y[0]) < 2.0  # chip pixels
    scale = 200 / (chip.across_m / reference.gsd_m)  # chip pixels per photo pixel
    assert n == pytest.approx((20 * scale) ** 2, rel=0.25)
    assert chip.north_deg == pytest.approx(315, abs=1.5)  # the photo's top faces NE (yaw 45): north is up-left
    # upright: the same picture whatever way the file stores it
    plain = photo_chip(placed(edited_copy(DJI[0], tmp_path / "plain.jpg", paint=BOX)), [plot], size_px=200, context_m=5.0)
    assert np.abs(plain.pixels.astype(int) - chip.pixels).mean() < 4


def test_a_plot_at_the_photo_edge_is_off_centre_and_one_outside_gets_no_chip():
    frame = placed(DJI[0])
    corner = shapely.Point(apply(frame.homography, [[5, 5]])[0]).buffer(1.0)
    chip = photo_chip(frame, [corner], size_px=100, context_m=20.0)
    x, y = chip.to_chip(*np.array(corner.centroid.coords).T)
    assert 0 <= x[0] < 30 and 0 <= y[0] < 30  # the chip stays inside the photo
    far = shapely.Point(frame.nadir_xy[0] + 500, frame.nadir_xy[1]).buffer(1.0)
    assert photo_chip(frame, [far]) is None


def test_run_json_record_gives_back_the_frame(tmp_path):
    flight = place_flight(DJI)
    records = json.loads(json.dumps([frame_record(f, tmp_path) for f in flight.frames], allow_nan=False))
    again = frames_from_records(records, flight.crs_wkt, tmp_path)
    for a, b in zip(flight.frames, again):
        assert a.status == b.status and a.notes == b.notes and b.meta.path == a.meta.path
        assert np.allclose(a.homography, b.homography) and a.footprint.symmetric_difference(b.footprint).area < 1e-6 * a.footprint.area
        assert a.cell.symmetric_difference(b.cell).area < 1e-6 * a.cell.area
        assert b.position_error_m(np.array([b.nadir_xy])) == pytest.approx(a.position_error_m(np.array([a.nadir_xy])))


def test_a_record_finds_the_photo_beside_a_moved_run(tmp_path):
    frame = placed(DJI[0])
    run_dir = tmp_path / "survey" / "runs" / "r1"
    record = frame_record(frame, run_dir)
    record["meta"]["relpath"] = "../../photos/DJI_0021.JPG"  # as if the photos sat beside the runs
    assert frame_from_record(record, frame.crs_wkt, run_dir).meta.path == frame.meta.path  # not there: where it was
    (tmp_path / "survey" / "photos").mkdir(parents=True)
    (tmp_path / "survey" / "photos" / "DJI_0021.JPG").write_bytes(DJI[0].read_bytes())
    assert frame_from_record(record, frame.crs_wkt, run_dir).meta.path == str(tmp_path / "survey" / "photos" / "DJI_0021.JPG")
