"""Scout's QGIS styles: kept inside a run's GeoPackage, so its layers open styled in QGIS and
QField, and given to the layers of a QGIS project.

QGIS reads a layer's default style from the GeoPackage's ``layer_styles`` table (the table
its "Save style > In database" writes).  Scout writes that table itself with ``sqlite3``:
no QGIS at run time, milliseconds per file.  The styles are QML files shipped in
``scout/qml/`` (plots: colour by class, fill by review status, plot ID and confidence
labels, ``review_status`` as a drop-down; missed_plots: fields the model missed, drawn by hand;
aoi: outline; tiles: thin grey, read-only; frames: raw photos' footprints; tasks, routes, depots), with aliases and drop-down
labels in zh or en.  :mod:`scout.runfolder` stores them whenever it writes a run's GeoPackage.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Collection
from pathlib import Path

from scout.errors import OutputError, RunFolderError
from scout.lang import STRINGS, Lang, label, text
from scout.schema import AOI_LAYER, FRAMES_LAYER, MISSED_LAYER, PLOTS_LAYER, TILES_LAYER, TRACK_FIELDS

DRONE_FIELDS = ("drone_status", "drone_plot_ids", "drone_coverage", "drone_run")  # scout.review.verify.VERIFY_FIELDS

STYLES_DIR = Path(__file__).with_name("qml")
STYLE_NAME = "scout"
GPKG_LAYERS = (PLOTS_LAYER, AOI_LAYER, TILES_LAYER, MISSED_LAYER, FRAMES_LAYER)
"""Layers of ``plots.gpkg`` that get a stored style."""

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
  f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))
"""
# registered as an attributes table, as QGIS and GDAL do, so GDAL lists it
_REGISTER = """
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id)
SELECT 'layer_styles', 'attributes', 'layer_styles', '', strftime('%Y-%m-%dT%H:%M:%fZ','now'), 0
WHERE NOT EXISTS (SELECT 1 FROM gpkg_contents WHERE table_name = 'layer_styles')
"""


def style_qml(layer: str, fields: Collection[str] = (), lang: Lang = "en") -> str:
    """The QML text of Scout's style for ``layer`` (plots, aoi, tiles, missed_plots, tasks, routes,
    depots), with field aliases, drop-down labels, legend and form tabs in ``lang`` (values stay English).

    A plots layer with ``scout track``'s fields among ``fields`` gets a read-only History tab
    in its form and the track status (regrowth, known false alarm) in its labels; one from raw
    drone photos shows ``position_error_m`` beside the source photos.
    """
    qml = (STYLES_DIR / f"{layer}.qml").read_text(encoding="utf-8")
    tracked = layer == "plots" and "track_status" in fields
    checked = layer == "plots" and "drone_status" in fields
    photos = layer == "plots" and "position_error_m" in fields
    if lang == "en" and not tracked and not checked and not photos:
        return qml
    root = ET.fromstring(qml)
    if checked:  # scout track SAT_RUN DRONE_RUN: what the drone flight said
        _read_only_tab(root, "Drone", DRONE_FIELDS, " || ' ' || coalesce(\"drone_status\", '')")
    if photos:  # a run from raw drone photos: how far off each plot may be, read-only, after its source photos
        tab = next(t for t in root.iter("attributeEditorContainer") if t.get("name") == "Plot")
        after = next(i for i, f in enumerate(tab) if f.get("name") == "source")
        tab.insert(after + 1, ET.Element("attributeEditorField", name="position_error_m", index="-1", showLabel="1"))
        ET.SubElement(_plots_element(root, "editable"), "field", name="position_error_m", editable="0")
        ET.SubElement(_plots_element(root, "aliases"), "alias", field="position_error_m", index="-1", name=text("f_position_error_m", "en"))
    if tracked:
        _read_only_tab(root, "History", TRACK_FIELDS, " || CASE WHEN \"track_status\" = 'regrowth' THEN ' regrowth' "
                       "WHEN \"track_status\" = 'known_false_alarm' THEN ' known false alarm' ELSE '' END")
    if lang != "en":
        _translate(root, lang)
    return qml[: qml.index("<qgis")] + ET.tostring(root, encoding="unicode")


def _plots_element(root: ET.Element, path: str) -> ET.Element:
    """The element at ``path`` in the plots style, which Scout ships with it."""
    element = root.find(path)
    assert element is not None, f"{STYLES_DIR / 'plots.qml'}: not Scout's plots style (no {path})"
    return element


def _read_only_tab(root: ET.Element, name: str, fields: Collection[str], label_suffix: str) -> None:
    """A form tab (second, after Review) of read-only ``fields``, and ``label_suffix`` added to the labels' expression."""
    editable, form, style = (_plots_element(root, path) for path in ("editable", "attributeEditorForm", "labeling/settings/text-style"))
    tab = ET.Element("attributeEditorContainer", name=name, columnCount="1", groupBox="0", showLabel="1", visibilityExpressionEnabled="0", visibilityExpression="")
    for field in fields:
        ET.SubElement(tab, "attributeEditorField", name=field, index="-1", showLabel="1")
        ET.SubElement(editable, "field", name=field, editable="0")
    form.insert(1, tab)
    style.set("fieldName", style.get("fieldName", "") + label_suffix)


def _translate(root: ET.Element, lang: Lang) -> None:
    """Field aliases, drop-down labels, legend labels and form tabs in ``lang``; values untouched."""
    aliases = root.find("aliases")
    if aliases is not None:
        named = {a.get("field") for a in aliases}
        for field in root.iter("field"):  # every field the form shows gets an alias
            name = field.get("name")
            if name is not None and name not in named and f"f_{name}" in STRINGS:
                ET.SubElement(aliases, "alias", field=name, index="-1", name="")
                named.add(name)
        for alias in aliases:
            if f"f_{alias.get('field')}" in STRINGS:
                alias.set("name", text(f"f_{alias.get('field')}", lang))
    for widget in root.iter("editWidget"):
        if widget.get("type") == "ValueMap":
            for option in widget.iter("Option"):
                if option.get("type") == "QString" and option.get("name") is not None:
                    option.set("name", label(option.get("value", ""), lang))
    for category in root.iter("category"):
        cls, _, status = (category.get("value") or "").partition(" ")
        if status:
            category.set("label", f"{label(cls, lang)}：{label(status, lang)}")
    for tab in root.iter("attributeEditorContainer"):
        tab.set("name", text(f"tab_{tab.get('name', '').lower()}", lang))


def add_styles(gpkg_path: str | os.PathLike, lang: Lang = "en") -> None:
    """Store Scout's styles (in ``lang``) as the default style of each of ``GPKG_LAYERS`` present in the file.

    Idempotent: an earlier Scout style of a layer is replaced; styles saved by users are kept
    but no longer the default.
    """
    path = Path(gpkg_path)
    if not path.is_file():
        raise RunFolderError(f"{path}: no such GeoPackage")
    try:
        with contextlib.closing(sqlite3.connect(path)) as con, con:
            geometry_columns = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
            plot_fields = [row[1] for row in con.execute(f"PRAGMA table_info({PLOTS_LAYER})")]
            con.execute(_CREATE_TABLE)
            con.execute(_REGISTER)
            for layer in GPKG_LAYERS:
                if layer not in geometry_columns:
                    continue
                con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?", (layer, STYLE_NAME))
                con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (layer,))
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
                    " styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)"
                    " VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                    (layer, geometry_columns[layer], STYLE_NAME, style_qml(layer, plot_fields, lang), f"Scout style for {layer}"),
                )
    except sqlite3.DatabaseError as exc:
        raise OutputError(f"{path}: cannot store QGIS styles ({exc})") from None
