"""A flight's photos placed together: flight-level refusals, and the yaw check on real photos."""

import numpy as np
import pytest

from frames_data import DJI, SENSEFLY, edited_copy
from scout.errors import ImageryError
from scout.frames.flight import place_flight
from scout.frames.georef import FrameSettings
from scout.frames.overlap import choose_turns, ncc

GIMBAL_ONLY = ("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
               "<rdf:Description xmlns:drone-dji='http://www.dji.com/drone-dji/1.0/' drone-dji:GimbalYawDegree='+45.0' "
               "drone-dji:GimbalPitchDegree='-90.0' drone-dji:GimbalRollDegree='0'/></rdf:RDF></x:xmpmeta>")


def test_a_strip_recorded_with_its_yaw_180_off_is_turned():
    """The Phantom 3 flight records the strip flown back (25, 26) with a yaw 180° off its pixels."""
    flight = place_flight(DJI)
    turned = [f.name for f in flight.frames if f.notes]
    assert turned == ["DJI_0025.JPG", "DJI_0026.JPG"]
    assert flight.warnings and "DJI_0025.JPG, DJI_0026.JPG" in flight.warnings[0]
    recorded = {f.name: f for f in place_flight(DJI, check_yaw=False).frames}
    for f in flight.frames:  # turned about the nadir point: the same footprint (but for a 0.1° tilt now the other way)
        assert f.footprint.symmetric_difference(recorded[f.name].footprint).area < 0.02 * f.footprint.area


def test_photos_placed_right_are_left_alone():
    assert not place_flight(SENSEFLY).warnings
    assert not place_flight(DJI[:2]).warnings  # one strip, recorded right


def test_choose_turns_finds_a_whole_flight_turned_and_ignores_weak_evidence():
    both_turned = np.array([[0.1, -0.2], [-0.1, 0.7]])  # consecutive photos agree only when both are turned
    assert choose_turns(3, {(0, 1): both_turned, (1, 2): both_turned}) == [True, True, True]
    weak = np.array([[-0.2, -0.1], [-0.1, 0.1]])  # everything disagrees: keep the record
    assert choose_turns(2, {(0, 1): weak}) == [False, False]
    assert choose_turns(2, {(0, 1): np.full((2, 2), np.nan)}) == [False, False]


def test_ncc():
    a = np.arange(10.0)
    assert ncc(a, 2 * a + 1) == pytest.approx(1) and ncc(a, -a) == pytest.approx(-1) and ncc(a, np.ones(10)) == 0


def test_mixed_cameras_are_one_flight():
    flight = place_flight([*DJI[:2], *SENSEFLY[:2]], check_yaw=False)
    assert [f.used for f in flight.frames] == [True] * 4


def test_no_gps_in_any_photo_is_one_line(tmp_path):
    bare = [edited_copy(p, tmp_path / p.name, gps=False) for p in DJI]
    with pytest.raises(ImageryError, match=r"none of the 4 photos has a GPS position \(DJI_0021.JPG, DJI_0022.JPG, DJI_0025.JPG and 1 more\)"):
        place_flight(bare)


def test_no_height_anywhere_names_both_options(tmp_path):
    no_height = [edited_copy(p, tmp_path / p.name, xmp=GIMBAL_ONLY) for p in DJI[:2]]
    with pytest.raises(ImageryError, match="no photo says its height above ground.*--agl METRES.*--dem DEM.tif"):
        place_flight(no_height)
    flight = place_flight(no_height, FrameSettings(agl_m=40.0))
    assert all(f.used and f.agl_source == "--agl" for f in flight.frames)


def test_some_photos_skipped_others_used(tmp_path):
    photos = [edited_copy(DJI[0], tmp_path / "no_gps.jpg", gps=False), DJI[1]]
    flight = place_flight(photos, check_yaw=False)
    assert [f.status for f in flight.frames] == ["skipped: no GPS position", "used"]


def test_no_usable_photo_says_why(tmp_path):
    no_attitude = [edited_copy(p, tmp_path / p.name, keep_xmp=False) for p in DJI[:2]]
    with pytest.raises(ImageryError, match="none of the 2 photos can be placed: 2 x no camera attitude"):
        place_flight(no_attitude, FrameSettings(agl_m=40.0))
