"""Hostile input through the real CLI: every case ends in a complete run (exit 0) or in one
line naming the file (exit 2), never a traceback, and an existing run folder is never lost.

Property tests use hypothesis with few, derandomized examples so the suite stays fast and
repeatable; the explicit cases pin the ones that matter most.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rasterio.errors import NotGeoreferencedWarning

from conftest import UTM, X0, Y0, invoke, painted_scene, snapshot, write_raster
from scout.cli import _register, cli

_register()

# no shrinking: a failure is reported as found (shrinking a CLI run costs minutes)

FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# ---------------------------------------------------------------- fixtures and the outcome contract


def existing_run(base: dict[str, Path]) -> tuple[Path, dict[str, str]]:
    """A fresh copy of a finished run in its own folder: what ``--overwrite`` must not lose on failure."""
    out = Path(tempfile.mkdtemp(dir=base["dir"], prefix="case-")) / "run"
    shutil.copytree(base["run"], out)
    return out, snapshot(out)


def detect_over(base: dict[str, Path], *args, image: Path | None = None, model: Path | None = None):
    out, before = existing_run(base)
    result = invoke("detect", image or base["image"], "--out", out, "--model", model or base["model"], "--overwrite", *args)
    return result, out, before


def check_outcome(result, out: Path, before: dict[str, str], *names: str) -> str:
    """exit 0 and a complete run, or exit 2, one line naming one of ``names``, the old run untouched."""
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {result.output!r} {result.exception!r}"
    assert "Traceback" not in result.output
    if "finished block(s) are kept in" not in result.output:  # kept for --resume only when the message says so
        assert not list(out.parent.glob(f".{out.name}.*")), "staging or backup folder left behind"
    if result.exit_code == 0:
        assert json.loads((out / "run.json").read_text())["complete"] is True
        assert list(gpd.read_file(out / "plots.gpkg", layer="plots").columns)[0] == "plot_id"
        return "ran"
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("scout: error: "), result.output
    assert any(n in lines[0] for n in names), f"{lines[0]!r} names none of {names}"
    assert snapshot(out) == before, "the existing run folder changed"
    return "refused"


# ---------------------------------------------------------------- AOI files


def _ring(x0: float, y0: float, dx: float, dy: float) -> list[list[float]]:
    return [[x0, y0], [x0 + dx, y0], [x0 + dx, y0 + dy], [x0, y0 + dy], [x0, y0]]


# Frames: the CRS an AOI's coordinates are really in, where they sit and how big a polygon is.
# A document declares a CRS that may lie about its frame.
FRAMES = {
    "utm": (st.tuples(st.floats(X0 - 20, X0 + 10), st.floats(Y0 - 20, Y0 + 10)), st.floats(-40, 40), "EPSG:32647"),
    "lonlat": (st.tuples(st.floats(99.9551, 99.9555), st.floats(19.8935, 19.8938)), st.floats(-3e-4, 3e-4), "EPSG:4326"),
    "antimeridian": (st.tuples(st.floats(179.99, 180.01), st.floats(-17.01, -16.99)), st.floats(-0.02, 0.02), "EPSG:4326"),
}
FRAME_CHOICES = tuple(FRAMES.values())
# past 1e8 a file is refused as it is read (io.MAX_COORDINATE); the values below it reach repair and reprojection
ABSURD = (st.tuples(st.sampled_from([-1e300, -1e15, 2e7, 1e9, 1e15, 1e300]), st.sampled_from([-1e300, -1e15, -5e7, 0.0, 1e15, 1e300])),
          st.sampled_from([0.0, 1e-9, 3e7, 1e12, -1e15, 1e300]), "EPSG:32760")
KINDS = ["polygon", "polygon", "bowtie", "multi", "empty", "null", "line", "point", "hole_outside", "unclosed"]


@st.composite
def aoi_documents(draw, frames=FRAME_CHOICES) -> dict:
    origins, sizes, truth = draw(st.sampled_from(frames))
    features = []
    for k in range(draw(st.integers(1, 3))):
        x0, y0 = draw(origins)
        dx, dy = draw(sizes), draw(sizes)
        kind = draw(st.sampled_from(KINDS))
        ring = _ring(x0, y0, dx, dy)
        geom = {
            "polygon": {"type": "Polygon", "coordinates": [ring]},
            "bowtie": {"type": "Polygon", "coordinates": [[ring[0], ring[2], ring[1], ring[3], ring[0]]]},
            "multi": {"type": "MultiPolygon", "coordinates": [[ring], [_ring(x0 + 2 * dx, y0, dx, dy)]]},
            "empty": {"type": "Polygon", "coordinates": []},
            "null": None,
            "line": {"type": "LineString", "coordinates": ring[:2]},
            "point": {"type": "Point", "coordinates": ring[0]},
            "hole_outside": {"type": "Polygon", "coordinates": [ring, _ring(x0 + 3 * dx, y0, dx / 2, dy / 2)]},
            "unclosed": {"type": "Polygon", "coordinates": [ring[:-1]]},
        }[kind]
        features.append({"type": "Feature", "properties": {"name": draw(st.text(max_size=8)), "n": k}, "geometry": geom})
    doc = {"type": "FeatureCollection", "features": features}
    declared = draw(st.sampled_from([truth, truth, None, "EPSG:4326", "EPSG:32647", "EPSG:3857", "EPSG:32760"]))  # may lie
    if declared:
        doc["crs"] = {"type": "name", "properties": {"name": declared.replace("EPSG:", "urn:ogc:def:crs:EPSG::")}}
    return doc


@FUZZ
@given(doc=aoi_documents())
def test_any_aoi_file_runs_or_is_refused_in_one_line(base, doc):
    aoi = Path(tempfile.mkdtemp(dir=base["dir"])) / "hostile aoi.geojson"
    aoi.write_text(json.dumps(doc))
    result, out, before = detect_over(base, "--aoi", aoi)
    check_outcome(result, out, before, aoi.name)


@FUZZ
@given(doc=aoi_documents(frames=(ABSURD,)))
@pytest.mark.filterwarnings("error::RuntimeWarning")  # no 'overflow encountered in area' on the user's screen
def test_aoi_with_absurd_coordinates_runs_or_is_refused_in_one_line(base, doc):
    aoi = Path(tempfile.mkdtemp(dir=base["dir"])) / "absurd.geojson"
    aoi.write_text(json.dumps(doc))
    result, out, before = detect_over(base, "--aoi", aoi)
    check_outcome(result, out, before, aoi.name)


def _write_aoi(path: Path, geometry: dict, declared: str) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": declared}},
                                "features": [{"type": "Feature", "properties": {"name": "A"}, "geometry": geometry}]}))
    return path


def test_unclosed_ring_is_closed_and_runs(base, tmp_path):
    ring = _ring(X0, Y0 - 10, 10, 10)[:-1]  # GDAL reads it; shapely refuses it unless fixed
    aoi = _write_aoi(tmp_path / "unclosed.geojson", {"type": "Polygon", "coordinates": [ring]}, "urn:ogc:def:crs:EPSG::32647")
    result, out, before = detect_over(base, "--aoi", aoi)
    assert check_outcome(result, out, before, aoi.name) == "ran"


def test_aoi_reprojecting_to_infinity_is_refused(base, tmp_path):
    aoi = _write_aoi(tmp_path / "far.geojson", {"type": "Polygon", "coordinates": [_ring(X0, Y0, 5e7, 1)]}, "urn:ogc:def:crs:EPSG::32760")
    result, out, before = detect_over(base, "--aoi", aoi)
    assert check_outcome(result, out, before, aoi.name) == "refused"
    assert "vanish when reprojected" in result.output


def test_aoi_near_float_overflow_is_refused_not_hung(base, tmp_path):
    """GEOS's make_valid never returned on this polygon (a shell out to -1e300, its hole outside
    it), found by a longer fuzz run; run in a subprocess so that a regression fails, not hangs CI."""
    shell = [[-1e300, -1e15], [0.0, -1e15], [0.0, 1e300], [-1e300, 1e300], [-1e300, -1e15]]
    hole = [[2e300, -1e15], [2.5e300, -1e15], [2.5e300, 5e299], [2e300, 5e299], [2e300, -1e15]]
    aoi = _write_aoi(tmp_path / "absurd.geojson", {"type": "Polygon", "coordinates": [shell, hole]}, "urn:ogc:def:crs:EPSG::32760")
    args = ["-q", "detect", base["image"], "--model", base["model"], "--aoi", aoi, "--out", tmp_path / "run"]
    done = subprocess.run([sys.executable, "-m", "scout.cli", *map(str, args)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"scout: error: {aoi}: coordinates reach 2.5e+300, farther out than any place on Earth "
                                        "in the file's CRS (EPSG:32760); its coordinates or CRS are wrong"]
    assert not (tmp_path / "run").exists()


def test_labels_out_past_the_earth_are_refused(tmp_path):
    from scout.errors import InputError
    from scout.labels import read_labels

    labels = _write_aoi(tmp_path / "labels.geojson", {"type": "Polygon", "coordinates": [_ring(X0, Y0, 1e12, 10)]}, "urn:ogc:def:crs:EPSG::32647")
    with pytest.raises(InputError, match=r"labels.geojson: coordinates reach 1e\+12, farther out than any place on Earth"):
        read_labels(labels)


def test_table_without_geometries_is_refused(base, tmp_path):
    aoi = tmp_path / "townships.csv"
    aoi.write_text("name,area\nXiangyang,12\n")
    result, out, before = detect_over(base, "--aoi", aoi)
    assert check_outcome(result, out, before, aoi.name) == "refused"
    assert "without geometries" in result.output


def test_aoi_declaring_degrees_for_metres_is_refused(base, tmp_path):
    aoi = tmp_path / "liar.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [_ring(X0, Y0 - 10, 10, 10)]}}]}))
    result, out, before = detect_over(base, "--aoi", aoi)
    assert check_outcome(result, out, before, "liar.geojson") == "refused"
    assert "not degrees" in result.output


@pytest.fixture(scope="module")
def fiji(tmp_path_factory) -> Path:
    """A 100 m flight in UTM 60S straddling the antimeridian (lon 179.9995 to 180.0005), a plot on each side."""
    d = tmp_path_factory.mktemp("fiji")
    img = painted_scene(400, 2000, [("poppy", 100, 200, 300, 800), ("poppy", 100, 1200, 300, 1800)])
    return write_raster(d / "fiji.tif", img, crs="EPSG:32760", transform=Affine(0.05, 0, 819_400.0, 0, -0.05, 8_118_010.0))


def test_aoi_split_at_the_antimeridian_covers_both_sides(base, fiji, tmp_path):
    west, east = _ring(179.99, -17.01, 0.01, 0.02), _ring(-180.0, -17.01, 0.01, 0.02)
    aoi = tmp_path / "split.geojson"  # RFC 7946 §3.1.9: cut at 180 into a MultiPolygon
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Taveuni"}, "geometry": {"type": "MultiPolygon", "coordinates": [[west], [east]]}}]}))
    result, out, before = detect_over(base, "--aoi", aoi, image=fiji)
    assert check_outcome(result, out, before, "split.geojson") == "ran", result.output
    plots = gpd.read_file(out / "plots.gpkg", layer="plots")
    assert len(plots) == 2 and set(plots["aoi"]) == {"Taveuni"}
    assert sorted(np.sign(plots["centroid_lon"])) == [-1, 1]


# ---------------------------------------------------------------- corrupt rasters


@pytest.fixture(scope="module")
def compressed(tmp_path_factory) -> bytes:
    """A small deflate-compressed, 64 px tiled GeoTIFF: headers, offsets and compressed data to break."""
    path = tmp_path_factory.mktemp("tif") / "ok.tif"
    data = painted_scene(256, 256, [("poppy", 40, 40, 120, 120)])
    with rasterio.open(path, "w", driver="GTiff", width=256, height=256, count=3, dtype="uint8", crs=UTM,
                       transform=Affine(0.05, 0, X0, 0, -0.05, Y0), tiled=True, blockxsize=64, blockysize=64, compress="deflate") as dst:
        dst.write(data)
    return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_truncated_or_corrupted_geotiff_is_refused_in_one_line(base, compressed, data):
    raw = bytearray(compressed)
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1), label="length")]
    else:
        for _ in range(data.draw(st.integers(1, 8), label="flips")):
            pos = data.draw(st.integers(0, len(raw) - 1) | st.integers(0, 300), label="pos")  # often in the header
            raw[pos] = data.draw(st.integers(0, 255), label="byte")
    image = Path(tempfile.mkdtemp(dir=base["dir"])) / "broken flight.tif"
    image.write_bytes(bytes(raw))
    result, out, before = detect_over(base, image=image)
    check_outcome(result, out, before, image.name)


def tiny_tiff(path: Path, width: int, height: int, samples: int = 1) -> Path:
    """A ~300 byte GeoTIFF (EPSG:32647, 5 cm) whose header declares ``width`` x ``height`` x ``samples``."""
    short, long_, double = 3, 4, 12
    tags = [(256, long_, 1, width), (257, long_, 1, height), (258, short, 1, 8), (259, short, 1, 1), (262, short, 1, 1),
            (273, long_, 1, 0), (277, short, 1, samples), (278, long_, 1, height), (279, long_, 1, 1), (284, short, 1, 1)]
    blobs = [(33550, double, 3, struct.pack("<3d", 0.05, 0.05, 0.0)), (33922, double, 6, struct.pack("<6d", 0, 0, 0, X0, Y0, 0)),
             (34735, short, 16, struct.pack("<16H", 1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32647))]
    n = len(tags) + len(blobs)
    offset, payload, entries = 8 + 2 + 12 * n + 4, b"", []
    for tag, typ, count, value in tags:
        entries.append((tag, struct.pack("<HHIHH", tag, typ, count, value, 0) if typ == short else struct.pack("<HHII", tag, typ, count, value)))
    for tag, typ, count, blob in blobs:
        entries.append((tag, struct.pack("<HHII", tag, typ, count, offset + len(payload))))
        payload += blob
    ifd = struct.pack("<H", n) + b"".join(e for _, e in sorted(entries)) + struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + payload)
    return path


@pytest.mark.parametrize(("width", "height", "samples", "says"), [
    (10**6, 10**6, 1, "declared size 1000000 x 1000000 x 1 is absurd"), (400_000_000, 2_000, 1, "is absurd"),
    (64, 64, 5000, "has 5000 bands, Scout reads at most 64"),
    (64, 64, 200, "has 200 bands, Scout reads at most 64"),  # issue 17, case 9: was 'declared size 64 x 64 x 200 is absurd'
])
def test_absurd_declared_size_is_refused_before_allocating(base, tmp_path, width, height, samples, says):
    image = tiny_tiff(tmp_path / "huge.tif", width, height, samples)
    with rasterio.open(image) as src:  # the lie is readable: GDAL believes the header
        assert (src.width, src.height, src.count) == (width, height, samples)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result, out, before = detect_over(base, image=image)
    assert check_outcome(result, out, before, "huge.tif") == "refused"
    assert says in result.output
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 200 * 1024  # KiB: nothing big allocated


def test_lying_header_within_limits_fails_on_read_in_one_line(base, tmp_path):
    image = tiny_tiff(tmp_path / "hollow.tif", 4000, 4000)  # declares 16 MP; holds none of it
    result, out, before = detect_over(base, image=image)
    assert check_outcome(result, out, before, "hollow.tif") == "refused"


def _ifd_entry(raw: bytearray, tag: int) -> int:
    """Byte offset of ``tag``'s entry in a little-endian TIFF's first IFD."""
    (ifd,) = struct.unpack_from("<I", raw, 4)
    (n,) = struct.unpack_from("<H", raw, ifd)
    return next(ifd + 2 + 12 * i for i in range(n) if struct.unpack_from("<H", raw, ifd + 2 + 12 * i)[0] == tag)


def refusal_of(base: dict[str, Path], raw: bytearray, image: Path) -> str:
    """Detect over ``raw`` saved as ``image``: refused in one line, the old run untouched; that line."""
    image.write_bytes(bytes(raw))
    result, out, before = detect_over(base, image=image)
    assert check_outcome(result, out, before, image.name) == "refused"
    return result.output


def test_tiled_header_taller_than_its_tile_table_is_refused_in_one_line(base, compressed, tmp_path):
    """One flipped byte in ImageLength: GDAL's error came through rasterio as CPLE_AppDefinedError,
    not a RasterioError, and escaped as exit 1 (found by a 150-example fuzz run)."""
    raw = bytearray(compressed)
    entry = _ifd_entry(raw, 257)
    assert struct.unpack_from("<HHIH", raw, entry)[1:] == (3, 1, 256)  # ImageLength, one SHORT: 256 rows
    struct.pack_into("<H", raw, entry + 8, 256 * 200)  # its 16 tile offsets cover 256 rows only
    assert "cannot read raster" in refusal_of(base, raw, tmp_path / "tall.tif")


def test_pixel_size_without_a_tiepoint_is_refused(base, compressed, tmp_path):
    """ModelPixelScale without ModelTiepoint: GDAL finds no geotransform and rasterio passes on the pixel
    size with the origin at 0, 0; the flight ran there, at the CRS origin (found by fuzzing)."""
    raw = bytearray(compressed)
    struct.pack_into("<H", raw, _ifd_entry(raw, 33922), 33999)  # ModelTiepoint becomes an unknown tag
    assert "no geotransform" in refusal_of(base, raw, tmp_path / "no tiepoint.tif")


def test_no_geotransform_is_told_by_this_threads_warning_only(recwarn):
    """The warning filters are global before Python 3.14: a reader thread left tracing in geometry_mask
    once made a georeferenced flight read as "no geotransform" (CI, once in some hundred runs)."""
    from scout.imagery import _not_georeferenced_warning

    def warn() -> None:
        warnings.warn("Dataset has no geotransform, gcps, or rpcs.", NotGeoreferencedWarning, stacklevel=1)

    with _not_georeferenced_warning() as caught:
        elsewhere = threading.Thread(target=warn)
        elsewhere.start()
        elsewhere.join()
        assert caught == []
        warn()
    assert len(caught) == 1
    assert [w.category for w in recwarn] == [NotGeoreferencedWarning]  # the other thread's, shown as ever


def test_metadata_gdal_cannot_decode_prints_nothing(base, tmp_path):
    """A damaged GDAL_METADATA tag makes GDAL quote bytes that are not UTF-8; rasterio's error handler
    failed on them and Python printed a traceback at every read, even under -q (found by fuzzing)."""
    image = write_raster(tmp_path / "flight.tif", painted_scene(200, 200, [("poppy", 40, 40, 120, 120)]))
    with rasterio.open(image, "r+") as dst:
        dst.update_tags(flight="0512")
    raw = bytearray(image.read_bytes())
    raw[raw.index(b"</GDALMetadata>") + 1] = 0xE6  # the closing tag's "/"
    image.write_bytes(bytes(raw))
    args = ["-q", "detect", image, "--model", base["model"], "--out", tmp_path / "run"]
    done = subprocess.run([sys.executable, "-m", "scout.cli", *map(str, args)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary, *warnings = done.stderr.splitlines()
    assert summary.endswith(str(tmp_path / "run")) and all(w.startswith("warning: ") for w in warnings), done.stderr  # the summary (and its warnings) only


def test_pixel_size_under_a_millimetre_is_refused(base, compressed, tmp_path):
    """A corrupted ModelPixelScale of 1e-60 m: the footprint shrank to nothing and transform_geom
    raised ValueError, exit 1 (found by fuzzing)."""
    raw = bytearray(compressed)
    (offset,) = struct.unpack_from("<I", raw, _ifd_entry(raw, 33550) + 8)  # three doubles, stored apart
    struct.pack_into("<dd", raw, offset, 1e-60, 1e-60)
    assert "pixel size 1e-60 m is not a usable georeference (under 1 mm)" in refusal_of(base, raw, tmp_path / "speck.tif")


def test_garbage_geotransform_is_refused(base, tmp_path):
    # a corrupted ModelTiepoint: the origin lies 1e125 m away (footprint raised ValueError: exit 1)
    image = write_raster(tmp_path / "far away.tif", painted_scene(64, 64, []), transform=Affine(0.05, 0, X0, 0, -0.05, -8.7e124))
    result, out, before = detect_over(base, image=image)
    assert check_outcome(result, out, before, image.name) == "refused"


# ---------------------------------------------------------------- model cards that lie


HOSTILE_VALUES = st.sampled_from([None, 0, -1, 1e-12, 1e12, float("nan"), float("inf"), "x", "", [], {}, ["red"], ["nir"] * 9, True, 10**15])
CARD_FIELDS = ["gsd_m", "tile_size", "bands", "classes", "normalization", "architecture", "receptive_field_px", "max_gsd_ratio", "sha256", "name"]


@FUZZ
@given(field=st.sampled_from(CARD_FIELDS), value=HOSTILE_VALUES)
def test_a_lying_model_card_runs_or_is_refused_in_one_line(base, field, value):
    d = Path(tempfile.mkdtemp(dir=base["dir"]))
    for suffix in (".safetensors", ".json"):
        shutil.copy(base["model"].with_name("lin" + suffix), d / ("liar" + suffix))
    card = json.loads((d / "liar.json").read_text())
    card[field] = value
    (d / "liar.json").write_text(json.dumps(card))
    result, out, before = detect_over(base, model=d / "liar")
    check_outcome(result, out, before, "liar")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("bands", ["red", "green", "blue", "nir"], "do not fit"),  # weights take 3 bands
    ("classes", ["background", "poppy"], "do not fit"),  # weights give 3 classes
    ("gsd_m", 40.0, "grid"),  # 0.05 m imagery read at 40 m: plots vanish, but the run is valid
])
def test_card_lies_about_bands_classes_gsd(base, field, value, words, tmp_path):
    for suffix in (".safetensors", ".json"):
        shutil.copy(base["model"].with_name("lin" + suffix), tmp_path / ("liar" + suffix))
    card = json.loads((tmp_path / "liar.json").read_text())
    card[field] = value
    if field == "bands":  # a careful liar: the normalization fits the claimed bands
        card["normalization"] = {**card["normalization"], "mean": [0.0] * len(value), "std": [1.0] * len(value)}
    (tmp_path / "liar.json").write_text(json.dumps(card))
    result, out, before = detect_over(base, model=tmp_path / "liar")
    outcome = check_outcome(result, out, before, "liar")
    if words == "grid":
        assert outcome == "ran" and json.loads((out / "run.json").read_text())["model"]["gsd_m"] == 40.0
    else:
        assert outcome == "refused" and words in result.output


# ---------------------------------------------------------------- pickles are never unpickled


class _Payload:
    """Unpickling this creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_model_files_are_refused_unopened(base, tmp_path):
    marker = tmp_path / "UNPICKLED"
    payload = pickle.dumps(_Payload(marker))
    pickle.loads(payload)  # the payload is live ...
    assert marker.exists()
    marker.unlink()
    card = json.loads(base["model"].with_name("lin.json").read_text())
    cases = []
    for name in ("evil.pt", "evil.pth", "evil.ckpt", "evil.pkl"):
        (tmp_path / name).write_bytes(payload)
        cases.append(tmp_path / name)
    # pickle bytes behind a safetensors name, with a card whose checksum matches them
    (tmp_path / "sneaky.safetensors").write_bytes(payload)
    (tmp_path / "sneaky.json").write_text(json.dumps({**card, "sha256": hashlib.sha256(payload).hexdigest()}))
    cases.append(tmp_path / "sneaky")
    # a torch.save zip archive (holds the same pickle) behind a safetensors name
    import torch

    torch.save({"w": _Payload(marker)}, tmp_path / "zip.safetensors")
    (tmp_path / "zip.json").write_text(json.dumps({**card, "sha256": hashlib.sha256((tmp_path / "zip.safetensors").read_bytes()).hexdigest()}))
    cases.append(tmp_path / "zip")
    for model in cases:
        result, out, before = detect_over(base, model=model)
        assert check_outcome(result, out, before, model.name) == "refused"
        assert not marker.exists(), f"{model.name} was unpickled"


# ---------------------------------------------------------------- odd file names


@pytest.mark.parametrize("name", ["flight 12 ✈ Mai.tif", "полёт.tif", "-x.tif", "--out.tif", "a;rm -rf b.tif"])
def test_odd_file_names_run(base, tmp_path, name):
    folder = tmp_path / "tüten folder"
    folder.mkdir()
    image = folder / name
    shutil.copy(base["image"], image)
    out = folder / ("-run " + name.replace(".tif", ""))
    # a leading dash: as ./-x.tif, or after "--"
    arg = f"./{name}" if name.startswith("-") else name
    with contextlib.chdir(folder):
        result = CliRunner().invoke(cli, ["-q", "detect", "--out", f"./{out.name}", "--model", str(base["model"]), "--", arg])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "run.json").read_text())
    assert meta["inputs"]["images"][0]["path"] == str(image.resolve())
    assert meta["counts"]["plots"] == 1
    assert json.loads((out / "plots.geojson").read_text(encoding="utf-8"))["features"][0]["properties"]["source"] == name

