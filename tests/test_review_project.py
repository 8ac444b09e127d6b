"""``scout qgis``: a QGIS/QField project with relative paths, checked in real QGIS."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import rasterio
import rasterio.windows
from click.testing import CliRunner

from review_runs import HAS_QGIS, X0, Y0, needs_qgis, plots_frame, qgis_check, write_run, write_survey
from scout import schema
from scout.cli import cli
from scout.commands import review_cmds
from scout.errors import InputError, RunFolderError
from scout.io import write_gpkg_layer
from scout.review.decisions import review_run
from scout.review.project import write_project
from scout.schema import PROJECT_QGZ

review_cmds.register(cli)

CLASSES = ["poppy", "cannabis", "poppy", "cannabis"]


def _qgs(project: Path) -> ET.Element:
    with zipfile.ZipFile(project) as zf:
        names = zf.namelist()
        assert names == ["project.qgs"]
        return ET.fromstring(zf.read(names[0]))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "field" / "runs" / "r1", plots_frame(CLASSES))


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    return write_survey(tmp_path / "field" / "survey", plots_frame(CLASSES))


def test_project_layers_and_relative_paths(run: Path, survey: Path) -> None:
    project = write_project(run, survey)
    assert project == run / PROJECT_QGZ
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []  # no temp files left
    root = _qgs(project)
    sources = {m.findtext("layername"): m.findtext("datasource") for m in root.iter("maplayer")}
    assert sources == {
        "depots": "../../survey/depots.geojson",
        "tasks": "../../survey/tasks.geojson",
        "routes": "../../survey/routes.geojson",
        "missed_plots": "./plots.gpkg|layername=missed_plots",
        "plots": "./plots.gpkg|layername=plots",
        "aoi": "./plots.gpkg|layername=aoi",
        "tiles": "./plots.gpkg|layername=tiles",
        "probability poppy": "./probability.tif",
        "probability cannabis": "./probability.tif",
        "scene": "../imagery/scene.tif",
    }
    assert root.find("properties/Paths/Absolute").text == "false"
    checked = {n.get("name"): n.get("checked") for n in root.iter("layer-tree-layer")}
    assert checked["tiles"] == "Qt::Unchecked" and checked["plots"] == "Qt::Checked"
    heatmaps = [m.find("pipe/rasterrenderer") for m in root.iter("maplayer") if m.findtext("layername", "").startswith("probability")]
    assert [h.get("band") for h in heatmaps] == ["1", "2"]
    # the imagery inside every plot shows: heatmaps off, half transparent, in colours the plot outlines do not use
    assert checked["probability poppy"] == checked["probability cannabis"] == "Qt::Unchecked"
    assert all(float(h.get("opacity")) <= 0.5 for h in heatmaps)
    heat_colours = {i.get("color") for h in heatmaps for i in h.iter("item")}
    assert not heat_colours & {"#ff00c8", "#ffaa00"}
    assert "onlin" not in ET.tostring(root, encoding="unicode").lower()  # no basemap service


def test_existing_project_needs_overwrite(run: Path) -> None:
    write_project(run)
    result = CliRunner().invoke(cli, ["qgis", str(run)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert CliRunner().invoke(cli, ["qgis", str(run), "--overwrite"]).exit_code == 0


def test_project_without_optional_files(run: Path) -> None:
    (run / schema.PROBABILITY_TIF).unlink()
    shutil.rmtree(run.parent / "imagery")
    names = [m.findtext("layername") for m in _qgs(write_project(run)).iter("maplayer")]
    assert names == ["missed_plots", "plots", "aoi", "tiles"]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda run: (run / schema.RUN_JSON).unlink(), "run.json: missing"),
        (lambda run: (run / schema.PLOTS_GPKG).unlink(), "plots.gpkg: missing"),
        (lambda run: (run / schema.RUN_JSON).write_text("{"), "run.json: not valid JSON"),
        (lambda run: (run / schema.RUN_JSON).write_text(json.dumps({"complete": False})), "did not complete"),
    ],
)
def test_bad_run_folders(run: Path, breakage, message: str) -> None:
    breakage(run)
    with pytest.raises(RunFolderError, match=message):
        write_project(run)
    result = CliRunner().invoke(cli, ["qgis", str(run)])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (run / PROJECT_QGZ).exists()


def test_missing_plots_layer_and_tasks(run: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="tasks.geojson: missing"):
        write_project(run, tmp_path / "nowhere")
    other = tmp_path / "other"
    other.mkdir()
    (run / schema.PLOTS_GPKG).replace(other / "x.gpkg")
    plots_frame(["poppy"])[["plot_id", "geometry"]].to_file(run / schema.PLOTS_GPKG, layer="fields", engine="pyogrio")
    with pytest.raises(RunFolderError, match="no 'plots' layer"):
        write_project(run)


@needs_qgis
@pytest.mark.qgis
def test_qgis_loads_every_layer_valid_and_styled_after_moving_the_folder(run: Path, survey: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["qgis", str(run), "--tasks", str(survey)])
    assert result.exit_code == 0, result.output
    moved = tmp_path / "phone"
    shutil.move(str(tmp_path / "field"), moved)  # relative paths must survive the copy
    report = qgis_check(moved / "runs" / "r1" / PROJECT_QGZ, "--render", str(tmp_path / "map.png"))
    assert report["project_read"] and report["absolute_paths"] is False
    assert report["crs"] == "EPSG:32647"
    assert len(report["layers"]) == 10
    for layer in report["layers"]:
        assert layer["valid"], layer
        assert layer["renderer"], layer
        assert str(moved) in layer["source"], layer
    layers = {layer["name"]: layer for layer in report["layers"]}
    plots = layers["plots"]
    assert plots["renderer"] == "categorizedSymbol" and plots["labels"] and plots["can_edit_attributes"]
    assert plots["widgets"]["review_status"] == "ValueMap" and plots["feature_count"] == len(CLASSES)
    assert layers["probability poppy"]["renderer"] == "singlebandpseudocolor"
    assert layers["scene"]["renderer"] == "multibandcolor"
    assert layers["tasks"]["feature_count"] == len(CLASSES) and not layers["tiles"]["visible"]
    assert layers["depots"]["feature_count"] == 1 and layers["depots"]["labels"]
    assert not layers["probability poppy"]["visible"] and layers["probability poppy"]["opacity"] == 0.5
    missed = layers["missed_plots"]
    assert missed["geometry_type"] == 2 and missed["feature_count"] == 0 and missed["value_map"]["class"] == ["poppy", "cannabis"]
    assert (tmp_path / "map.png").stat().st_size > 1000


@needs_qgis
@pytest.mark.qgis
def test_qgis_edit_is_read_back_by_scout_review(run: Path) -> None:
    """What an analyst or a QField user does: pick decisions from the drop-down and save."""
    project = write_project(run)
    report = qgis_check(project, "--set", "P000=confirmed", "--set", "P001=false_alarm", "--set", "P002=eradicated")
    assert [e["ok"] for e in report["edits"]] == [True, True, True]
    assert report["edits"][0]["attributes"]["reviewed_at"]  # stamped by the style's default value
    summary = review_run(run)
    assert summary["by_status"] == {"unreviewed": 1, "confirmed": 1, "false_alarm": 1, "eradicated": 1}
    assert summary["precision"]["all"]["confirmed"] == 2 and summary["precision"]["all"]["false_alarm"] == 1
    # a second reviewer changes a decision: reviewed_by and reviewed_at now describe that change
    plots = gpd.read_file(run / schema.PLOTS_GPKG, layer="plots")
    plots["reviewed_by"] = "first reviewer"
    plots["reviewed_at"] = "2000-01-01 00:00:00"
    write_gpkg_layer(plots, run / schema.PLOTS_GPKG, "plots")
    again = qgis_check(project, "--set", "P001=confirmed")
    attributes = again["edits"][0]["attributes"]
    assert attributes["reviewed_at"] > "2020"
    assert attributes["reviewed_by"] == (again["user_full_name"] or "first reviewer")


@needs_qgis
@pytest.mark.qgis
def test_qgis_project_in_chinese_with_the_runs_warnings(run: Path) -> None:
    meta = json.loads((run / schema.RUN_JSON).read_text())
    meta["warnings"] = ["imagery unlike the model's training data"]
    (run / schema.RUN_JSON).write_text(json.dumps(meta))
    report = qgis_check(write_project(run, lang="zh"))
    plots = {layer["name"]: layer for layer in report["layers"]}["plots"]
    assert plots["value_map_labels"]["review_status"] == ["未核查", "确认", "误报", "已铲除"]
    assert plots["value_map"]["review_status"] == list(schema.REVIEW_STATUSES)  # values unchanged
    assert plots["aliases"]["review_status"] == "核查状态" and plots["aliases"]["plot_id"] == "地块编号"
    assert plots["form_tabs"] == ["核查", "地块"]
    assert report["groups"] == ["⚠ imagery unlike the model's training data"] and "training data" in report["abstract"]
    assert {layer["name"]: layer for layer in report["layers"]}["missed_plots"]["value_map_labels"]["class"] == ["罂粟", "大麻"]


@needs_qgis
@pytest.mark.qgis
def test_qgis_loads_an_empty_run(tmp_path: Path) -> None:
    empty = plots_frame([])
    run = write_run(tmp_path / "runs" / "r0", empty)
    report = qgis_check(write_project(run, write_survey(tmp_path / "survey", empty)))
    assert len(report["layers"]) == 10
    assert all(layer["valid"] and layer["renderer"] for layer in report["layers"])
    assert {layer["name"]: layer.get("geometry_type") for layer in report["layers"]}["plots"] == 2  # polygons


def test_package_copies_the_imagery_clipped_to_the_aoi_so_the_folder_travels_alone(run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["qgis", str(run), "--package", "--lang", "en"])
    assert result.exit_code == 0, result.output
    copy = run / "imagery" / "scene.tif"
    sources = {m.findtext("layername"): m.findtext("datasource") for m in _qgs(run / PROJECT_QGZ).iter("maplayer")}
    assert sources["scene"] == "./imagery/scene.tif"
    with rasterio.open(copy) as dst, rasterio.open(run.parent / "imagery" / "scene.tif") as src:
        assert dst.crs == src.crs and dst.count == src.count and dst.descriptions == src.descriptions
        assert dst.bounds == pytest.approx((X0, Y0 - 350, X0 + 400, Y0))  # the AOI (400 x 300 m) plus 50 m, within the image
        window = rasterio.windows.from_bounds(*dst.bounds, transform=src.transform)
        assert (dst.read() == src.read(window=window)).all() and dst.overviews(1) == [2]
    moved = tmp_path / "tablet" / "r1"
    shutil.copytree(run, moved)  # the run folder alone, without ../imagery
    if HAS_QGIS:
        layers = {layer["name"]: layer for layer in qgis_check(moved / PROJECT_QGZ)["layers"]}
        assert layers["scene"]["valid"] and str(moved) in layers["scene"]["source"]
