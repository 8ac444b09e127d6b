"""Load a Scout QGIS project (.qgz/.qgs) or a run's GeoPackage in real QGIS, headless, and report.

Run with the SYSTEM python, which imports qgis (a venv cannot):

    QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$(mktemp -d) \\
        /usr/bin/python3 scripts/qgis_check.py RUN/project.qgz [--set PLOT_ID=STATUS ...] [--render OUT.png]

Prints one JSON object on stdout: the QGIS version, the project's CRS and default view, and
for each layer: valid, provider, source, CRS, feature count, renderer type, labels, the editor
widget of each configured field, read-only fields.  ``--set`` does what an analyst or a QField
user does: opens the plots layer for editing, sets ``review_status`` on a plot and commits it
to the GeoPackage (the style's default values stamp ``reviewed_at``).  ``--render`` draws the
project's visible layers to a PNG.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def layer_info(layer) -> dict:
    from qgis.core import QgsMapLayerType

    info = {
        "name": layer.name(),
        "id": layer.id(),
        "valid": layer.isValid(),
        "provider": layer.providerType(),
        "source": layer.source(),
        "crs": layer.crs().authid(),
    }
    if layer.type() == QgsMapLayerType.VectorLayer:
        renderer = layer.renderer()
        fields = layer.fields()
        form = layer.editFormConfig()
        info.update(
            kind="vector",
            geometry_type=int(layer.geometryType()),
            feature_count=layer.featureCount(),
            renderer=renderer.type() if renderer else None,
            categories=[c.value() for c in renderer.categories()] if renderer and renderer.type() == "categorizedSymbol" else [],
            labels=bool(layer.labelsEnabled() and layer.labeling()),
            widgets={f.name(): layer.editorWidgetSetup(i).type() for i, f in enumerate(fields) if layer.editorWidgetSetup(i).type()},
            value_map={
                f.name(): [v for item in layer.editorWidgetSetup(i).config().get("map", []) for v in item.values()]
                for i, f in enumerate(fields)
                if layer.editorWidgetSetup(i).type() == "ValueMap"
            },
            value_map_labels={
                f.name(): [k for item in layer.editorWidgetSetup(i).config().get("map", []) for k in item.keys()]
                for i, f in enumerate(fields)
                if layer.editorWidgetSetup(i).type() == "ValueMap"
            },
            aliases={f.name(): layer.attributeAlias(i) for i, f in enumerate(fields) if layer.attributeAlias(i)},
            read_only_fields=[f.name() for i, f in enumerate(fields) if form.readOnly(i)],
            form_layout=int(form.layout()),
            form_tabs=[t.name() for t in form.tabs()],
            can_edit_attributes=bool(layer.dataProvider().capabilities() & layer.dataProvider().ChangeAttributeValues),
            read_only=layer.readOnly(),
        )
    else:
        renderer = layer.renderer()
        info.update(kind="raster", bands=layer.bandCount(), renderer=renderer.type() if renderer else None, opacity=renderer.opacity() if renderer else None)
    return info


def set_status(layer, plot_id: str, status: str) -> dict:
    """Edit one plot's review_status through QGIS's editing buffer and commit it."""
    from qgis.core import QgsFeatureRequest

    idx = layer.fields().indexOf("review_status")
    features = list(layer.getFeatures(QgsFeatureRequest().setFilterExpression(f"\"plot_id\" = '{plot_id}'")))
    if len(features) != 1:
        return {"plot_id": plot_id, "ok": False, "error": f"{len(features)} features with this plot_id"}
    if not layer.startEditing():
        return {"plot_id": plot_id, "ok": False, "error": "cannot start editing"}
    changed = layer.changeAttributeValue(features[0].id(), idx, status)
    committed = layer.commitChanges()
    after = next(layer.getFeatures(QgsFeatureRequest(features[0].id())))
    return {
        "plot_id": plot_id,
        "ok": bool(changed and committed),
        "errors": layer.commitErrors(),
        "attributes": {f.name(): (None if after[f.name()] is None else str(after[f.name()])) for f in layer.fields()},
    }


def render(project, layers, path: str) -> None:
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())
    extent = project.viewSettings().defaultViewExtent()
    settings.setExtent(extent if not extent.isEmpty() else layers[0].extent())
    settings.setOutputSize(QSize(800, 600))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(path, "png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="project (.qgz/.qgs) or GeoPackage")
    parser.add_argument("--set", action="append", default=[], metavar="PLOT_ID=STATUS", help="set a plot's review_status and commit")
    parser.add_argument("--render", metavar="PNG", help="draw the visible layers to this PNG")
    args = parser.parse_args()

    from qgis.core import QgsApplication, QgsProject, QgsVectorLayer

    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    out: dict = {"qgis_version": __import__("qgis.core").core.Qgis.QGIS_VERSION, "path": args.path}
    if args.path.endswith((".qgz", ".qgs")):
        out["project_read"] = project.read(args.path)
        out["absolute_paths"] = project.readBoolEntry("Paths", "/Absolute", True)[0]
        out["crs"] = project.crs().authid()
        extent = project.viewSettings().defaultViewExtent()
        out["default_view"] = [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
        root = project.layerTreeRoot()
        order = [node.layer() for node in root.findLayers()]
        visible = {node.layerId() for node in root.findLayers() if node.isVisible()}
        out["groups"] = [node.name() for node in root.children() if node.nodeType() == node.NodeGroup]
        out["abstract"] = project.metadata().abstract()
    else:
        from osgeo import ogr

        ds = ogr.Open(args.path)
        names = [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]
        ds = None
        order = [QgsVectorLayer(f"{args.path}|layername={name}", name, "ogr") for name in names if name != "layer_styles"]
        project.addMapLayers(order)
        visible = {layer.id() for layer in order}
    out["layers"] = [dict(layer_info(layer), visible=layer.id() in visible) for layer in order]
    from qgis.core import QgsExpressionContextUtils

    out["user_full_name"] = QgsExpressionContextUtils.globalScope().variable("user_full_name")
    plots = next((layer for layer in order if layer.name() == "plots"), None)
    out["edits"] = [set_status(plots, *item.split("=", 1)) for item in args.set] if plots else []
    if args.render:
        render(project, [layer for layer in order if layer.id() in visible], args.render)
    print(json.dumps(out, indent=1, default=str))
    sys.stdout.flush()
    project.clear()  # closes the GeoPackage so QGIS's WAL is checkpointed into the file
    os._exit(0)  # QGIS can segfault in exitQgis() when run headless


if __name__ == "__main__":
    main()
