"""Reading drone photos' EXIF and XMP (pure parsing, then the real test photos)."""

import pytest

from frames_data import DJI, SENSEFLY, edited_copy
from scout.errors import ImageryError
from scout.frames.metadata import frame_meta, parse_xmp, read_meta

DJI_XMP = """<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="DJI Meta Data"
 xmlns:dji="http://www.dji.com/drone-dji/1.0/" dji:RelativeAltitude="+99.80" dji:GimbalYawDegree="-12.30"
 dji:GimbalPitchDegree="-90.00" dji:GimbalRollDegree="+0.00" dji:RtkFlag="50" dji:RtkStdLon="0.012" dji:RtkStdLat="0.016"/>
</rdf:RDF></x:xmpmeta><?xpacket end='w'?>"""


def test_xmp_is_read_by_namespace_whatever_the_prefix():
    tags = parse_xmp(DJI_XMP.encode())
    assert tags["drone-dji:RelativeAltitude"] == "+99.80"  # bound to 'dji' in the file
    assert tags["drone-dji:RtkFlag"] == "50"


def test_xmp_elements_and_a_broken_packet_are_read_too():
    elements = ("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
                "<rdf:Description xmlns:sensefly='http://ns.sensefly.com/sensefly/1.0/'><sensefly:Height>66.1</sensefly:Height>"
                "</rdf:Description></rdf:RDF></x:xmpmeta>")
    assert parse_xmp(elements) == {"sensefly:Height": "66.1"}
    broken = '<x:xmpmeta> drone-dji:RelativeAltitude="+40.10" <sensefly:Heading>70.5</sensefly:Heading> <unclosed'
    assert parse_xmp(broken) == {"drone-dji:RelativeAltitude": "+40.10", "sensefly:Heading": "70.5"}
    assert parse_xmp(None) == {} and parse_xmp(b"") == {}


def test_frame_meta_signs_gps_and_reads_rtk():
    gps = {"GPSLatitude": (22.0, 30.0, 0.0), "GPSLatitudeRef": "S", "GPSLongitude": (100.0, 15.0, 36.0), "GPSLongitudeRef": "W",
           "GPSAltitude": 12.5, "GPSAltitudeRef": 1}
    meta = frame_meta("x.jpg", 4000, 3000, {"Make": "DJI\x00\x00", "Model": "M3E"}, {"FocalLength": 12.29}, gps, parse_xmp(DJI_XMP))
    assert (meta.lat, meta.lon) == pytest.approx((-22.5, -100.26))
    assert meta.altitude_m == -12.5 and meta.make == "DJI"
    assert (meta.agl_m, meta.agl_tag, meta.attitude) == (99.8, "drone-dji:RelativeAltitude", "gimbal")
    assert (meta.yaw_deg, meta.pitch_deg, meta.roll_deg) == (-12.3, -90.0, 0.0)
    assert meta.rtk_flag == 50 and meta.rtk_std_m == pytest.approx(0.0141, abs=1e-4)


def test_frame_meta_treats_zero_zero_as_no_fix_and_misses_as_none():
    meta = frame_meta("x.jpg", 10, 10, {}, {}, {"GPSLatitude": (0, 0, 0), "GPSLatitudeRef": "N", "GPSLongitude": (0, 0, 0), "GPSLongitudeRef": "E"}, {})
    assert meta.lat is None and meta.lon is None and meta.agl_m is None and meta.attitude == "" and meta.focal_mm is None


def test_real_dji_photo():
    meta = read_meta(DJI[0])
    assert (meta.make, meta.model, meta.width, meta.height, meta.orientation) == ("DJI", "FC300S", 500, 281, 1)
    assert (meta.lat, meta.lon) == pytest.approx((46.8428651, -91.9941766), abs=1e-7)
    assert (meta.agl_m, meta.yaw_deg, meta.pitch_deg, meta.attitude) == (40.1, 45.0, -90.0, "gimbal")
    assert (meta.focal_mm, meta.focal_35mm, meta.focal_plane_px_per_mm) == (3.61, 20.0, None)
    assert meta.acquired == "2016-06-23T16:32:20"


def test_real_sensefly_photo():
    meta = read_meta(SENSEFLY[1])
    assert meta.model == "Canon PowerShot ELPH 300 HS" and (meta.width, meta.exif_width) == (450, 4000)
    assert meta.attitude == "aircraft" and meta.agl_tag == "sensefly:Height"
    assert (meta.agl_m, meta.yaw_deg, meta.pitch_deg, meta.roll_deg) == pytest.approx((67.8745, 30.4386, -1.4035, -2.6523), abs=1e-4)
    assert meta.focal_plane_px_per_mm == pytest.approx(16393.44 / 25.4, rel=1e-5)
    assert meta.altitude_m == pytest.approx(315.753, abs=0.001)  # sensefly:AltitudeAMSL, not the EXIF GPS height (283.8, ellipsoidal)


def test_a_photo_without_gps_or_xmp(tmp_path):
    meta = read_meta(edited_copy(DJI[0], tmp_path / "bare.jpg", gps=False, keep_xmp=False))
    assert meta.lat is None and meta.agl_m is None and meta.attitude == "" and meta.model == "FC300S"


def test_not_a_photo_is_one_line(tmp_path):
    junk = tmp_path / "notes.jpg"
    junk.write_text("not a picture")
    with pytest.raises(ImageryError, match="notes.jpg: not a readable photo"):
        read_meta(junk)
