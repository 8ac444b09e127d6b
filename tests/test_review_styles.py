"""QGIS styles stored in the run GeoPackage: written without QGIS, read by real QGIS."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest

from review_runs import needs_qgis, plots_frame, qgis_check, write_run
from scout import schema
from scout.errors import OutputError, RunFolderError
from scout.styles import GPKG_LAYERS, STYLES_DIR, add_styles, style_qml


def _styles(gpkg: Path) -> list[tuple]:
    with sqlite3.connect(gpkg) as con:
        return con.execute("SELECT f_table_name, f_geometry_column, styleName, useAsDefault FROM layer_styles ORDER BY f_table_name, id").fetchall()


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "runs" / "r1", plots_frame(["poppy", "cannabis", "poppy"]), styles=False)


def test_add_styles_stores_a_default_style_per_layer(run: Path) -> None:
    gpkg = run / schema.PLOTS_GPKG
    add_styles(gpkg)
    present = sorted(set(GPKG_LAYERS) - {"missed_plots", "frames"})  # scout qgis adds missed_plots; frames: runs from photos
    assert _styles(gpkg) == [(layer, "geom", "scout", 1) for layer in present]
    with sqlite3.connect(gpkg) as con:
        assert con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone() == ("attributes",)
        qml = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'plots'").fetchone()[0]
    assert qml == style_qml("plots")
    assert len(pyogrio.read_dataframe(gpkg, layer="plots")) == 3  # the data is untouched


def test_add_styles_is_idempotent_and_keeps_user_styles(run: Path) -> None:
    gpkg = run / schema.PLOTS_GPKG
    add_styles(gpkg)
    with sqlite3.connect(gpkg) as con:
        con.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, useAsDefault)"
            " VALUES ('', '', 'plots', 'geom', 'mine', '<qgis/>', 1)"
        )
    add_styles(gpkg)
    add_styles(gpkg)
    rows = _styles(gpkg)
    assert rows.count(("plots", "geom", "scout", 1)) == 1
    assert ("plots", "geom", "mine", 0) in rows
    assert len(rows) == len(GPKG_LAYERS) - 2 + 1  # no missed_plots or frames layer here; the user's own style


def test_plots_style_matches_the_contract() -> None:
    root = ET.fromstring(style_qml("plots"))
    assert root.find("renderer-v2").get("type") == "categorizedSymbol"
    categories = {c.get("value") for c in root.iter("category")}
    assert {f"{c} {s}" for c in schema.CLASSES for s in schema.REVIEW_STATUSES} <= categories
    widget = root.find("fieldConfiguration/field[@name='review_status']/editWidget")
    assert widget.get("type") == "ValueMap"
    assert [o.get("value") for o in widget.iter("Option") if o.get("type") == "QString"] == list(schema.REVIEW_STATUSES)
    read_only = {f.get("name") for f in root.iter("field") if f.get("editable") == "0"}
    editable = {"review_status", "reviewed_by", "reviewed_at", "note"}
    assert read_only == set(schema.PLOT_FIELDS) - editable | {"fid"}
    for path in STYLES_DIR.glob("*.qml"):
        ET.parse(path)  # every shipped style is well-formed


def test_tracked_plots_style_adds_history_tab() -> None:
    root = ET.fromstring(style_qml("plots", [*schema.PLOT_FIELDS, "track_status", "prev_status"]))
    tabs = [t.get("name") for t in root.find("attributeEditorForm")]
    assert tabs == ["Review", "History", "Plot"]
    assert "track_status" in root.find("labeling/settings/text-style").get("fieldName")


def test_add_styles_bad_files(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="no such GeoPackage"):
        add_styles(tmp_path / "absent.gpkg")
    junk = tmp_path / "junk.gpkg"
    junk.write_text("not a database")
    with pytest.raises(OutputError, match="junk.gpkg"):
        add_styles(junk)


@needs_qgis
@pytest.mark.qgis
def test_qgis_opens_the_geopackage_styled(run: Path) -> None:
    gpkg = run / schema.PLOTS_GPKG
    add_styles(gpkg)
    report = qgis_check(gpkg)
    layers = {layer["name"]: layer for layer in report["layers"]}
    assert set(layers) == set(GPKG_LAYERS) - {"missed_plots", "frames"}
    assert all(layer["valid"] for layer in layers.values())
    plots = layers["plots"]
    assert plots["renderer"] == "categorizedSymbol" and plots["labels"]
    assert plots["widgets"]["review_status"] == "ValueMap"
    assert plots["value_map"]["review_status"] == list(schema.REVIEW_STATUSES)
    assert "plot_id" in plots["read_only_fields"] and "review_status" not in plots["read_only_fields"]
    assert plots["form_tabs"] == ["Review", "Plot"]
    assert layers["tiles"]["read_only"] and layers["aoi"]["labels"]
