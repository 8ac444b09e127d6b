"""scout detect on raw drone photos: a synthetic flight over a painted scene, the real pipeline,
a model with known output; mixed with GeoTIFFs; refusals; QGIS and task sheets from such a run."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from conftest import UTM, X0, Y0, linear_model, painted_scene, write_raster
from frames_data import DJI, edited_copy
from review_runs import needs_qgis, qgis_check
from scout import schema
from scout.cli import _register
from scout.cli import cli as scout_cli
from scout.detection import DetectSettings, detect, plan_run
from scout.synth.flight import SynthCamera, render_flight

PLOTS = [("poppy", 60, 80, 130, 160), ("cannabis", 250, 240, 330, 300), ("poppy", 300, 40, 360, 100)]  # rows, cols of a 400 px scene at 5 cm
CAMERA = SynthCamera(width=240, height=180, focal_px=240.0)  # 10 m up: 4.2 cm pixels, 10 x 7.5 m footprints


@pytest.fixture(scope="module")
def flight(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(painted GeoTIFF, folder of photos of it, linear model)."""
    root = tmp_path_factory.mktemp("flight")
    scene = write_raster(root / "scene.tif", painted_scene(400, 400, PLOTS))
    render_flight(scene, root / "photos", 10.0, CAMERA)
    (root / "photos" / "DJI_0001.SRT").write_text("subtitles of a video")
    return scene, root / "photos", linear_model(root / "models" / "linear-rgb")


def truth() -> list[tuple[str, shapely.Polygon]]:
    t = Affine(0.05, 0, X0, 0, -0.05, Y0)
    return [(cls, shapely.box(*(t * (c0, r1)), *(t * (c1, r0)))) for cls, r0, c0, r1, c1 in PLOTS]


def test_photos_give_each_plot_once_where_it_is(flight, tmp_path, caplog):
    scene, photos, model = flight
    caplog.set_level(logging.INFO, logger="scout.inputs")  # an earlier -q in this process set scout's loggers to ERROR
    summary = detect([photos], tmp_path / "run", model=model)
    assert "1 file(s) that are not images ignored (DJI_0001.SRT)" in caplog.text
    plots = gpd.read_file(tmp_path / "run" / "plots.gpkg", layer="plots")
    assert list(plots.columns) == [*schema.PLOT_FIELDS, *schema.FRAME_PLOT_FIELDS, "geometry"]
    assert summary.plots_by_class == {"poppy": 2, "cannabis": 1}  # each once, though every plot is in several photos
    for cls, box in truth():
        found = plots[plots.intersects(box)]
        assert len(found) == 1 and found["class"].iloc[0] == cls
        plot = found.iloc[0]
        assert plot.geometry.centroid.distance(box.centroid) < 0.15  # metres: the photos' own metadata places it
        assert plot["area_m2"] == pytest.approx(box.area, rel=0.12)
        sources = plot["source"].split(";")
        assert len(sources) >= 2 and all(s.startswith("DJI_") for s in sources)  # every photo that saw it
        assert 2 * 2.5 < plot["position_error_m"] < 15  # GNSS 2.5 m (2DRMS x2), plus attitude and height at 10 m up
    frames = gpd.read_file(tmp_path / "run" / "plots.gpkg", layer="frames")
    assert list(frames.columns) == [*schema.FRAME_FIELDS, "geometry"]
    assert len(frames) == len(list(photos.glob("*.JPG"))) and set(frames["status"]) == {"used"}
    assert frames["agl_m"].tolist() == pytest.approx([10.0] * len(frames)) and frames["gsd_m"].tolist() == pytest.approx([10 / 240] * len(frames), abs=1e-4)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["frames"]["used"] == len(frames) and meta["frames"]["turned"] == 0
    assert [w for w in meta["warnings"] if "of the imaged AOI flagged" not in w] == []  # no photo warnings (three plots in a small painted flight flag a few % of it)
    assert len(meta["inputs"]["images"]) == len(frames) and meta["work_crs"] == UTM


def test_the_same_plots_as_from_the_orthomosaic(flight, tmp_path):
    scene, photos, model = flight
    detect([scene], tmp_path / "ortho", model=model)
    detect([photos], tmp_path / "photos", model=model)
    a, b = (gpd.read_file(tmp_path / r / "plots.gpkg", layer="plots") for r in ("ortho", "photos"))
    assert len(a) == len(b) == 3
    for geom in a.geometry:
        match = b[b.intersects(geom)]
        assert len(match) == 1 and match.geometry.iloc[0].symmetric_difference(geom).area < 0.15 * geom.area


def test_photos_and_geotiffs_in_one_campaign(flight, tmp_path):
    scene, photos, model = flight
    elsewhere = write_raster(tmp_path / "east.tif", painted_scene(200, 200, [("poppy", 50, 50, 120, 120)]), transform=Affine(0.05, 0, X0 + 100, 0, -0.05, Y0))
    summary = detect([photos, elsewhere], tmp_path / "run", model=model)
    assert summary.plots_by_class == {"poppy": 3, "cannabis": 1}
    plots = gpd.read_file(tmp_path / "run" / "plots.gpkg", layer="plots")
    east = plots[plots["source"] == "east.tif"]
    assert len(east) == 1 and np.isnan(east["position_error_m"].iloc[0])  # an orthomosaic's plot: no photo error


def test_placement_is_part_of_the_fingerprint(flight):
    _, photos, model = flight
    from scout.detection.checkpoints import plan_fingerprint

    as_recorded = plan_fingerprint(plan_run([photos], model=model).plan)
    assert plan_fingerprint(plan_run([photos], model=model).plan) == as_recorded
    assert plan_fingerprint(plan_run([photos], model=model, settings=DetectSettings(agl_m=12.0)).plan) != as_recorded


_register()


def cli(*args: str):
    return CliRunner().invoke(scout_cli, list(args))


def test_a_folder_without_gps_is_one_line_and_writes_nothing(tmp_path):
    folder = tmp_path / "sd"
    folder.mkdir()
    for p in DJI:
        edited_copy(p, folder / p.name, gps=False)
    result = cli("detect", str(folder), "--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "none of the 4 photos has a GPS position (DJI_0021.JPG, DJI_0022.JPG, DJI_0025.JPG and 1 more)" in result.output
    assert not (tmp_path / "run").exists()


def test_no_height_anywhere_names_agl_and_dem(tmp_path):
    folder = tmp_path / "sd"
    folder.mkdir()
    xmp = ("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
           "xmlns:drone-dji='http://www.dji.com/drone-dji/1.0/' drone-dji:GimbalYawDegree='45' drone-dji:GimbalPitchDegree='-90'/></rdf:RDF></x:xmpmeta>")
    for p in DJI[:2]:
        edited_copy(p, folder / p.name, xmp=xmp)
    result = cli("detect", str(folder), "--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and "--agl METRES" in result.output and "--dem DEM.tif" in result.output
    assert not (tmp_path / "run").exists()


def test_absurd_photos_are_skipped_with_their_reason(flight, tmp_path):
    _, photos, model = flight
    folder = tmp_path / "sd"
    folder.mkdir()
    for p in sorted(photos.glob("*.JPG")):
        (folder / p.name).write_bytes(p.read_bytes())
    low = folder / "DJI_0001.JPG"  # a photo taken on the ground: 1.5 m up
    edited_copy(low, low, xmp=low_xmp(1.5))
    detect([folder], tmp_path / "run", model=model)
    frames = gpd.read_file(tmp_path / "run" / "plots.gpkg", layer="frames").set_index("image")
    assert frames.loc["DJI_0001.JPG", "status"].startswith("skipped: height above ground 1.5 m is absurd")
    assert (frames.drop("DJI_0001.JPG")["status"] == "used").all()


def low_xmp(agl: float) -> str:
    return ("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
            f"xmlns:drone-dji='http://www.dji.com/drone-dji/1.0/' drone-dji:RelativeAltitude='{agl}' drone-dji:GimbalYawDegree='0' "
            "drone-dji:GimbalPitchDegree='-90' drone-dji:GimbalRollDegree='0'/></rdf:RDF></x:xmpmeta>")


def test_qgis_project_and_task_sheets_of_a_photo_run(flight, tmp_path):
    _, photos, model = flight
    run = tmp_path / "run"
    detect([photos], run, model=model)
    from scout.review.project import gpkg_layers, imagery_layers
    from scout.runfolder import open_run

    folder = open_run(run)
    assert "frames" in [layer.name for layer in gpkg_layers(folder)]  # photos show as footprints
    assert [(layer.name, layer.source) for layer in imagery_layers(folder)] == [("photo_mosaic", schema.PHOTO_MOSAIC_TIF)]  # and as imagery
    result = cli("tasks", str(run), "--teams", "1", "--depot", "99.96,19.89", "--cluster-m", "0.5")
    assert result.exit_code == 0, result.output
    sheet = (run / "tasks" / "team_01.html").read_text(encoding="utf-8")
    assert "DJI_" in sheet and "rotate(" in sheet  # a chip cut from a photo, with its north arrow


def test_a_photo_run_shows_its_photos_where_they_lie(flight, tmp_path):
    """A reviewer judges plots by the imagery under them: the photos, warped as detection read them."""
    scene, photos, model = flight
    detect([photos], tmp_path / "run", model=model)
    with rasterio.open(tmp_path / "run" / schema.PHOTO_MOSAIC_TIF) as mosaic, rasterio.open(tmp_path / "run" / schema.PROBABILITY_TIF) as prob:
        assert (mosaic.crs, mosaic.transform, mosaic.shape) == (prob.crs, prob.transform, prob.shape)
        assert mosaic.compression.name == "jpeg" and mosaic.profile["tiled"]  # a COG, small on a tablet
        seen, shown = mosaic.read(), mosaic.read_masks(1) > 0
        with rasterio.open(scene) as src, WarpedVRT(src, crs=mosaic.crs, transform=mosaic.transform, width=mosaic.width, height=mosaic.height,
                                                    resampling=Resampling.average) as vrt:
            truth, inside = vrt.read([1, 2, 3]).astype(float), vrt.read_masks(1) > 0
    both = shown & inside
    assert both.mean() > 0.3 and not (shown & ~inside).any()  # nothing shown where no photo saw the scene
    error = np.abs(seen - truth)[:, both].mean()
    shifted = np.abs(seen[:, :, 20:] - truth[:, :, :-20])[:, both[:, 20:]].mean()  # a metre off
    assert error < 6 and error < shifted / 4, (error, shifted)


def test_the_mosaic_takes_red_green_blue_by_name(flight):
    """A multispectral camera's TIFF photos: bands in another order, or one band a file (left out)."""
    from dataclasses import replace

    from scout.detection.mosaic import rgb_indexes

    _, photos, model = flight
    photo = plan_run([photos], model=model).plan.images[0]
    assert rgb_indexes(photo) == (1, 2, 3)
    assert rgb_indexes(replace(photo, count=5, band_names=("blue", "green", "red", "rededge", "nir"))) == (3, 2, 1)
    assert rgb_indexes(replace(photo, count=1, band_names=("nir",))) is None
    assert rgb_indexes(replace(photo, frame=None)) is None  # an orthomosaic shows as itself


@needs_qgis
@pytest.mark.qgis
def test_qgis_opens_a_photo_run_with_its_footprints(flight, tmp_path, caplog):
    _, photos, model = flight
    detect([photos], tmp_path / "run", model=model)
    report = qgis_check(tmp_path / "run" / schema.PLOTS_GPKG)
    layers = {layer["name"]: layer for layer in report["layers"]}
    frames = layers["frames"]
    assert frames["valid"] and frames["renderer"] == "RuleRenderer" and frames["read_only"] and frames["feature_count"] == len(list(photos.glob("*.JPG")))
    assert "position_error_m" in layers["plots"]["read_only_fields"]

    from scout.review.project import write_project

    caplog.set_level(logging.INFO, logger="scout.review.project")  # an earlier -q in this process set scout's loggers to ERROR
    moved = tmp_path / "tablet"
    shutil.move(str(tmp_path / "run"), moved)  # the run folder alone, as copied to a tablet: the photos stay behind
    layers = {layer["name"]: layer for layer in qgis_check(write_project(moved), "--render", str(tmp_path / "map.png"))["layers"]}
    mosaic = layers["photo_mosaic"]
    assert mosaic["valid"] and mosaic["renderer"] and str(moved) in mosaic["source"]
    assert "not found" not in caplog.text  # photos are never layers of their own: left behind, nothing is missing


def test_dem_places_photos_from_their_gps_altitude(flight, tmp_path):
    scene, photos, model = flight  # the photos say 10 m above ground, GPS altitude 10 m: ground at sea level
    dem = tmp_path / "dem.tif"
    ground = np.full((1, 40, 40), 4.0, np.float32)  # 4 m above sea level: the drone was 6 m above it
    write_raster(dem, ground, transform=Affine(1.0, 0, X0 - 10, 0, -1.0, Y0 + 10))
    planned = plan_run([photos], model=model, settings=DetectSettings(dem=str(dem)))
    assert {f.agl_source for f in planned.flight.frames} == {"--dem"}
    assert [f.agl_m for f in planned.flight.frames] == pytest.approx([6.0] * len(planned.flight.frames), abs=0.01)
    agl = plan_run([photos], model=model, settings=DetectSettings(agl_m=6.0)).flight.frames[0]
    assert planned.flight.frames[0].footprint.symmetric_difference(agl.footprint).area < 0.01 * agl.footprint.area
