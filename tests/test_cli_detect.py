"""``scout detect`` from the command line: bad input gives one line, exit 2, nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from rasterio.windows import Window

from conftest import UTM, X0, Y0, linear_model, painted_scene, write_raster
from scout.cli import _register, cli
from scout.demo import run_demo
from scout.errors import ImageryError, OutputError
from scout.imagery import Grid, open_image, read_block
from scout.inputs import expand_images

_register()


def run(*args: str):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return write_raster(tmp_path / "flight.tif", painted_scene(400, 400, [("poppy", 50, 50, 150, 150)]))


def assert_clean_error(result, *words: str) -> None:
    """Exit 2 and one error line, the last (without -q the log lines of the steps before it come first)."""
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln]
    assert "Traceback" not in result.output, result.output
    assert [ln for ln in lines if ln.startswith(("scout: error:", "Error:"))] == lines[-1:], result.output
    for w in words:
        assert w in lines[-1], lines[-1]


def test_detect_cli_happy_path_and_summary(tmp_path, image, rgb_model):
    result = run("detect", image, "--out", tmp_path / "run", "--model", rgb_model, "--quiet")
    assert result.exit_code == 0, result.output
    assert "1 plots (1 poppy, 0 cannabis)" in result.output
    assert (tmp_path / "run" / "plots.gpkg").exists()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["lang"] in ("zh", "en")  # the locale's, stored
    # an existing run is kept without --overwrite
    again = run("detect", image, "--out", tmp_path / "run", "--model", rgb_model, "-q")
    assert_clean_error(again, "exists", "--overwrite")
    assert run("detect", image, "--out", tmp_path / "run", "--model", rgb_model, "-q", "--overwrite", "--lang", "zh").exit_code == 0
    assert json.loads((tmp_path / "run" / "run.json").read_text())["lang"] == "zh"  # what later commands speak


def test_the_steps_after_the_tiles_say_what_they_do(tmp_path, image, rgb_model):
    # writing the COG and merging plots take a tenth of a run: minutes on a campaign, after the tiles bar is done
    quiet = run("detect", image, "--out", tmp_path / "run", "--model", rgb_model, "-q")
    assert quiet.exit_code == 0 and "writing the COG" not in quiet.output, quiet.output
    # and the -q of the command before, in this process, does not linger
    result = run("detect", image, "--out", tmp_path / "run", "--model", rgb_model, "--overwrite")
    assert result.exit_code == 0, result.output
    assert "probability.tif: writing the COG (" in result.output and "plots: merging " in result.output


def test_thresholds_and_min_area_apply(tmp_path, image, rgb_model):
    result = run("detect", image, "--out", tmp_path / "r", "--model", rgb_model, "-q", "--min-area", "30")
    assert "0 plots" in result.output  # the plot is 25 m²
    pale = painted_scene(400, 400, [])
    pale[:, 50:150, 50:150] = np.array([160, 90, 60], np.uint8)[:, None, None]  # poppy-ish: p ~ 0.4 for the test model
    pale_path = write_raster(tmp_path / "pale.tif", pale)
    assert "0 plots" in run("detect", pale_path, "--out", tmp_path / "r2", "--model", rgb_model, "-q").output
    result = run("detect", pale_path, "--out", tmp_path / "r3", "--model", rgb_model, "-q", "--threshold", "poppy=0.3")
    assert "1 poppy" in result.output, result.output


def test_plot_confidence_floor_and_calibrated_card_defaults(tmp_path, rgb_model):
    pale = painted_scene(400, 400, [])
    pale[:, 50:150, 50:150] = np.array([160, 90, 60], np.uint8)[:, None, None]  # p ~ 0.4 for the test model
    pale_path = write_raster(tmp_path / "pale.tif", pale)
    low = ("--threshold", "poppy=0.3")
    assert "0 plots" in run("detect", pale_path, "--out", tmp_path / "a", "--model", rgb_model, "-q", *low, "--min-confidence", "poppy=0.5").output
    assert "1 poppy" in run("detect", pale_path, "--out", tmp_path / "b", "--model", rgb_model, "-q", *low, "--min-confidence", "0.35").output
    # a card's calibrated defaults apply when the user sets nothing, and the user's values win
    card_path = rgb_model.parent / f"{rgb_model.name}.json"
    card = json.loads(card_path.read_text())
    card["detection"] = {"thresholds": {"poppy": 0.3, "cannabis": 0.5}, "min_confidence": {"poppy": 0.0}, "min_area_m2": 2.0}
    card_path.write_text(json.dumps(card))
    assert "1 poppy" in run("detect", pale_path, "--out", tmp_path / "c", "--model", rgb_model, "-q").output
    params = json.loads((tmp_path / "c" / "run.json").read_text())["parameters"]
    assert params["thresholds"] == {"poppy": 0.3, "cannabis": 0.5} and params["min_area_m2"] == 2.0
    assert "0 plots" in run("detect", pale_path, "--out", tmp_path / "d", "--model", rgb_model, "-q", "--threshold", "0.5").output
    assert "0 plots" in run("detect", pale_path, "--out", tmp_path / "e", "--model", rgb_model, "-q", "--min-area", "200").output
    assert_clean_error(run("detect", pale_path, "--out", tmp_path / "f", "--model", rgb_model, "--threshold", "popy=0.3"), "no class popy")
    card["detection"] = {"thresholds": {"poppy": 1.5}}
    card_path.write_text(json.dumps(card))
    assert_clean_error(run("detect", pale_path, "--out", tmp_path / "g", "--model", rgb_model), "detection thresholds")


def test_not_a_raster(tmp_path, rgb_model):
    bad = tmp_path / "notes.tif"
    bad.write_text("not an image")
    assert_clean_error(run("detect", bad, "--out", tmp_path / "run", "--model", rgb_model), "notes.tif", "not a readable raster")
    assert not (tmp_path / "run").exists()
    assert_clean_error(run("detect", tmp_path / "missing.tif", "--out", tmp_path / "run", "--model", rgb_model), "missing.tif", "no such file")


def test_stray_raster_in_a_folder_is_named_when_no_model_fits_it(tmp_path, image):
    write_raster(tmp_path / "flight-labels.tif", np.zeros((1, 400, 400), np.uint8))  # a labels raster left beside the flight
    result = run("detect", tmp_path, "--out", tmp_path / "run", "--quiet")
    assert_clean_error(result, "flight-labels.tif: no shipped model fits imagery with bands [?]")


def test_truncated_geotiff(tmp_path, image, rgb_model):
    data = image.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 3])
    result = run("detect", cut, "--out", tmp_path / "run", "--model", rgb_model)
    assert_clean_error(result, "cut.tif")
    assert not (tmp_path / "run").exists() and not list(tmp_path.glob(".run*"))


def test_cog_cut_short_is_refused_before_any_block_runs(tmp_path, rgb_model):
    """A COG's directories come first, so a copy cut short still opens; its overviews come
    next and the full-resolution tiles last.  Refused at planning, not at its first lost tile."""
    from rasterio.shutil import copy as rio_copy

    from scout.imagery import open_image

    flight = write_raster(tmp_path / "flight.tif", painted_scene(1024, 1024, [("poppy", 100, 100, 400, 400)]))
    cog = tmp_path / "cog.tif"
    rio_copy(flight, cog, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=256)
    data = cog.read_bytes()
    assert open_image(cog).size_bytes == len(data)  # whole: accepted
    for keep in (0.9, 0.3):  # inside the full-resolution tiles; inside the overviews
        cut = tmp_path / f"cut {keep}.tif"
        cut.write_bytes(data[: int(len(data) * keep)])
        result = run("detect", cut, "--out", tmp_path / "run", "--model", rgb_model)
        assert_clean_error(result, f"cut {keep}.tif: file is cut short: its tiles run to byte", f"but it holds {len(cut.read_bytes()):,}; copy it again")
        assert not (tmp_path / "run").exists() and not list(tmp_path.glob(".run*"))


def test_raster_without_crs(tmp_path, rgb_model):
    import rasterio

    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8") as dst:
        dst.write(np.zeros((3, 64, 64), np.uint8))
    assert_clean_error(run("detect", path, "--out", tmp_path / "run", "--model", rgb_model), "nocrs.tif", "no CRS")


def test_raster_georeferenced_by_gcps_only_is_refused(tmp_path, rgb_model):
    """Read through its identity transform it sat at the CRS origin, a metre a pixel (found by
    fuzzing: a corrupted ModelTiepoint count turns a tiepoint into GCPs beside the file's CRS)."""
    import warnings

    import rasterio
    from rasterio.control import GroundControlPoint
    from rasterio.errors import NotGeoreferencedWarning

    corners = [(0, 0), (0, 64), (64, 0), (64, 64)]
    tif = tmp_path / "gcps.tif"  # GDAL keeps a GeoTIFF's CRS with its GCPs: the dataset has none
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(tif, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8") as dst:
            dst.write(np.full((3, 64, 64), 90, np.uint8))
            dst.gcps = ([GroundControlPoint(row=r, col=c, x=X0 + c * 0.05, y=Y0 - r * 0.05) for r, c in corners], UTM)
    vrt = tmp_path / "gcps.vrt"  # a CRS beside the GCPs, as in the fuzzed GeoTIFF
    points = "".join(f'<GCP Id="{i}" Pixel="{c}" Line="{r}" X="{X0 + c * 0.05}" Y="{Y0 - r * 0.05}"/>' for i, (r, c) in enumerate(corners))
    bands = "".join(f'<VRTRasterBand dataType="Byte" band="{b}"/>' for b in (1, 2, 3))
    vrt.write_text(f'<VRTDataset rasterXSize="64" rasterYSize="64"><SRS>{UTM}</SRS><GCPList Projection="{UTM}">{points}</GCPList>{bands}</VRTDataset>')
    for path, crs in ((tif, None), (vrt, UTM)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                assert src.transform.is_identity and len(src.gcps[0]) == 4 and src.crs == crs
        assert_clean_error(run("detect", path, "--out", tmp_path / "run", "--model", rgb_model), path.name, "ground control points only", "gdalwarp")


def test_raster_in_a_local_crs_is_refused(tmp_path, rgb_model):
    """A site grid (LOCAL_CS) has no place on the Earth; its GSD lookup raised CRSError: exit 1 (found by fuzzing)."""
    wkt = 'LOCAL_CS["site grid",UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
    path = write_raster(tmp_path / "site.tif", painted_scene(64, 64, []), crs=wkt)
    assert_clean_error(run("detect", path, "--out", tmp_path / "run", "--model", rgb_model), "site.tif", "local or geocentric")


def test_raster_without_georeference_is_one_line_without_rasterio_warning(tmp_path):
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    path = tmp_path / "nocrs.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8") as dst:
            dst.write(np.zeros((3, 64, 64), np.uint8))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ImageryError, match="no CRS"):
            open_image(path)
    assert [str(w.message) for w in seen] == []  # rasterio's "identity matrix will be returned" printed before the error


def test_aoi_outside_imagery(tmp_path, image, rgb_model):
    far = gpd.GeoDataFrame({"name": ["far"]}, geometry=[shapely.box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)], crs=UTM)
    far.to_file(tmp_path / "far.gpkg")
    assert_clean_error(run("detect", image, "--aoi", tmp_path / "far.gpkg", "--out", tmp_path / "run", "--model", rgb_model), "far.gpkg", "does not overlap")


def test_invalid_aoi_is_repaired_and_empty_aoi_refused(tmp_path, image, rgb_model):
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 20, Y0 - 20), (X0 + 20, Y0), (X0, Y0 - 20)])  # self-intersecting
    gpd.GeoDataFrame({"name": ["bow"]}, geometry=[bowtie], crs=UTM).to_file(tmp_path / "bow.geojson")
    result = run("detect", image, "--aoi", tmp_path / "bow.geojson", "--out", tmp_path / "run", "--model", rgb_model, "-q")
    assert result.exit_code == 0, result.output
    line = gpd.GeoDataFrame({"name": ["line"]}, geometry=[shapely.LineString([(X0, Y0), (X0 + 5, Y0 - 5)])], crs=UTM)
    line.to_file(tmp_path / "line.geojson")
    assert_clean_error(run("detect", image, "--aoi", tmp_path / "line.geojson", "--out", tmp_path / "r2", "--model", rgb_model), "line.geojson", "no usable polygon")


def test_missing_band_and_band_override(tmp_path, rgb_model):
    gray = write_raster(tmp_path / "gray.tif", painted_scene(200, 200, [])[:1], descriptions=("pan",))
    assert_clean_error(run("detect", gray, "--out", tmp_path / "run", "--model", rgb_model), "gray.tif", "needs band 'red'")
    # BGR file, declared by --bands: the poppy is still found
    bgr = painted_scene(400, 400, [("poppy", 50, 50, 150, 150)])[::-1].copy()
    path = write_raster(tmp_path / "bgr.tif", bgr, descriptions=("b1", "b2", "b3"))
    result = run("detect", path, "--out", tmp_path / "r", "--model", rgb_model, "--bands", "3,2,1", "-q")
    assert result.exit_code == 0 and "1 poppy" in result.output, result.output


def test_imagery_too_coarse_is_refused_not_upsampled(tmp_path, rgb_model):
    coarse = write_raster(tmp_path / "landsat.tif", painted_scene(64, 64, []), transform=__import__("affine").Affine(30, 0, X0, 0, -30, Y0))
    assert_clean_error(run("detect", coarse, "--out", tmp_path / "run", "--model", rgb_model), "landsat.tif", "too coarse")


def test_model_errors(tmp_path, image, rgb_model):
    assert_clean_error(run("detect", image, "--out", tmp_path / "r", "--model", tmp_path / "nope"), "weights not found")
    pickle_file = tmp_path / "evil.pt"
    pickle_file.write_bytes(b"\x80\x04K\x01.")
    assert_clean_error(run("detect", image, "--out", tmp_path / "r", "--model", pickle_file), "evil.pt", "refused")
    # weights that do not match the card's checksum
    other = linear_model(tmp_path / "other", bands=("red", "green", "blue"))
    other.with_name("other.safetensors").write_bytes(rgb_model.with_name("linear-rgb.safetensors").read_bytes() + b"")
    card = other.with_name("other.json")
    card.write_text(card.read_text().replace('"sha256": "', '"sha256": "00'))
    assert_clean_error(run("detect", image, "--out", tmp_path / "r", "--model", other), "sha256")
    assert not (tmp_path / "r").exists()


def test_unwritable_output(tmp_path, image, rgb_model):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_clean_error(run("detect", image, "--out", blocker / "run", "--model", rgb_model), "cannot create")


def test_image_gone_when_its_blocks_are_read_says_so(tmp_path, image):
    """What a cluster worker that cannot see the planner's disk reports (instead of 'truncated or corrupt')."""
    info = open_image(image)
    grid = Grid(info.crs.to_wkt(), tuple(info.transform)[:6], info.width, info.height)
    assert read_block(info, (1, 2, 3), grid, Window(0, 0, 64, 64))[0].shape == (3, 64, 64)
    image.rename(tmp_path / "elsewhere.tif")
    with pytest.raises(ImageryError, match=r"flight\.tif: not found on .+; every worker reads the imagery itself"):
        read_block(info, (1, 2, 3), grid, Window(0, 0, 64, 64))


def test_overwrite_replaces_only_a_run_folder(tmp_path, image, rgb_model):
    desktop = tmp_path / "Desktop"
    desktop.mkdir()
    (desktop / "report.docx").write_text("a week of work")
    result = run("detect", image, "--out", desktop, "--model", rgb_model, "--overwrite")
    assert_clean_error(result, "Desktop: holds files but no run.json, so it is not a Scout run folder")
    assert (desktop / "report.docx").read_text() == "a week of work" and not list(tmp_path.glob(".Desktop*"))
    note = tmp_path / "note.txt"
    note.write_text("keep")
    assert_clean_error(run("detect", image, "--out", note, "--model", rgb_model, "--overwrite"), "note.txt: is a file, not a Scout run folder")
    assert note.read_text() == "keep"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("detect", image, "--out", empty, "--model", rgb_model, "-q").exit_code == 0  # made beforehand, empty
    assert_clean_error(run("detect", image, "--out", empty, "--model", rgb_model), "run folder exists; use --overwrite")
    assert run("detect", image, "--out", empty, "--model", rgb_model, "--overwrite", "-q").exit_code == 0  # now a run folder


def test_demo_overwrite_spares_folders_it_did_not_make(tmp_path):
    (tmp_path / "scene").mkdir()
    (tmp_path / "scene" / "survey.gpkg").write_text("someone's")
    with pytest.raises(OutputError, match="scene: holds files but no townships.geojson"):
        run_demo(tmp_path, size_px=256, overwrite=True)
    assert (tmp_path / "scene" / "survey.gpkg").read_text() == "someone's"
    (tmp_path / "scene" / "survey.gpkg").unlink()
    for _ in range(2):  # the second time over its own outputs
        assert run_demo(tmp_path, size_px=256, overwrite=True).run.out_dir == tmp_path / "run"
        assert (tmp_path / "run" / "run.json").is_file() and (tmp_path / "scene" / "townships.geojson").is_file()


@pytest.mark.parametrize(("encoding", "text"), [("utf-8-sig", "航拍 1.tif\r\n\r\n# the north slope\r\n"), ("gbk", "航拍 1.tif\r\n")])
def test_list_file_saved_by_notepad_is_read(tmp_path, encoding, text):
    """Windows Notepad writes a byte-order mark and CRLF; older Chinese Windows writes GBK."""
    listing = tmp_path / "flights.txt"
    listing.write_bytes(text.encode(encoding))
    assert expand_images((str(listing),)) == [tmp_path / "航拍 1.tif"]


def test_a_full_disk_is_one_line_not_a_traceback():
    import errno
    import os

    import click

    from scout.cli import ScoutGroup

    @click.group(cls=ScoutGroup)
    def group() -> None:
        pass

    @group.command()
    @click.argument("path")
    def write(path: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    @group.command()
    def other() -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    result = CliRunner().invoke(group, ["write", "/data/tasks/team_01.gpx"])
    assert result.exit_code == 2 and result.exc_info[0] is SystemExit
    assert "/data/tasks/team_01.gpx: disk full (No space left on device); free some space and run again" in result.output
    assert isinstance(CliRunner().invoke(group, ["other"]).exception, OSError)  # other I/O errors are not dressed up as this


def test_gdal_warnings_need_verbose():
    """GDAL's warnings (after a full disk: "A strile cannot be rewritten in place") printed
    above the one-line error; Scout reports failed reads and writes itself."""
    import logging

    gdal = logging.getLogger("rasterio._env")  # where rasterio logs GDAL's messages
    assert run("models").exit_code == 0
    assert not gdal.isEnabledFor(logging.WARNING) and gdal.isEnabledFor(logging.ERROR)
    assert run("-v", "models").exit_code == 0
    assert gdal.isEnabledFor(logging.WARNING)
    assert run("-q", "models").exit_code == 0
    assert not gdal.isEnabledFor(logging.WARNING)


def test_ctrl_c_while_the_commands_load_is_one_line(monkeypatch, capsys):
    import scout.cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(scout.cli, "_register", interrupted)
    with pytest.raises(SystemExit) as exit_:
        scout.cli.main()
    assert exit_.value.code == 130 and capsys.readouterr().err == "scout: interrupted\n"
