"""Write a QGIS project (``project.qgz``) for a run folder, without QGIS.

The project holds the source imagery, the probability raster as one heatmap layer per class,
the AOIs, the plots (editable, styled from ``scout/qml``), the tile grid (off), and
a survey's tasks and routes when given.  Every path is stored relative to the run folder, so
the folder can be copied to another computer or a phone and opened in QGIS or QField
offline: there is no online basemap.  Imagery that lies outside the run folder must be
copied along with it, keeping the same relative place (the log says so).
"""

from __future__ import annotations

import logging
import math
import os
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import rasterio.windows
from pyproj import CRS
from rasterio.enums import ColorInterp

from scout import schema
from scout.errors import InputError, OutputError
from scout.io import atomic_path
from scout.lang import Lang, resolve_lang
from scout.runfolder import RunFolder, add_missed_layer, image_path, open_run
from scout.schema import DEPOTS_GEOJSON, MISSED_LAYER, ROUTES_GEOJSON, TASKS_GEOJSON
from scout.styles import add_styles, style_qml

log = logging.getLogger(__name__)

QGIS_VERSION = "3.22.0-Białowieża"  # the oldest QGIS this project is written for

HEATMAP_COLOURS = {"poppy": "#00e5ff", "cannabis": "#2962ff"}
"""Heatmap colour of each class (cyan, blue: unlike the plots' magenta and amber outlines); other classes grey.
The heatmaps start switched off and half transparent, so the imagery inside every plot shows."""
HEATMAP_OPACITY = 0.5


@dataclass(frozen=True)
class Layer:
    """One layer of the project, top of the legend first."""

    name: str
    source: str  # relative to the run folder, QGIS data-source syntax
    provider: str  # "ogr" or "gdal"
    crs: CRS
    style: ET.Element  # maplayer children: renderer, labels, form... (vector) or pipe (raster)
    style_attrs: dict[str, str]
    visible: bool = True

    @property
    def kind(self) -> str:
        return "raster" if self.provider == "gdal" else "vector"


def write_project(run: str | os.PathLike, tasks_dir: str | os.PathLike | None = None, overwrite: bool = False, lang: str | None = None,
                  package: bool = False) -> Path:
    """Write ``RUN/project.qgz`` (atomically) and return its path.

    An existing project (perhaps changed and saved in QGIS) is replaced only with ``overwrite``.
    The GeoPackage gains an empty ``missed_plots`` layer (for fields the model did not flag) when
    it has none, and its stored styles are rewritten in ``lang`` (the run's, else the locale's).
    With ``package``, the imagery is copied into the run folder, clipped to the AOIs
    (:func:`package_imagery`), and the project uses those copies.
    """
    folder = open_run(run)
    out = folder.project_qgz
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: exists (it may hold changes saved in QGIS); pass --overwrite to replace it")
    language = resolve_lang(lang, folder.meta)
    add_missed_layer(folder)
    add_styles(folder.plots_gpkg, language)
    layers: list[Layer] = []
    if tasks_dir is not None:
        layers += survey_layers(folder.path, Path(tasks_dir), language)
    layers += gpkg_layers(folder, language)
    layers += probability_layers(folder)
    layers += imagery_layers(folder, package_imagery(folder) if package else None)
    crs = folder.metric_crs()
    tree = project_xml(layers, crs, _view_extent(folder), title=f"Scout run {folder.path.resolve().name}", warnings=run_warnings(folder.meta))
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qgs", "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(tree, encoding="unicode"))
    log.info("wrote %s with %d layers", out, len(layers))
    return out


def _relative(target: Path, base: Path) -> str:
    """``target`` relative to ``base`` in QGIS's form (``./a`` or ``../a``), absolute across drives."""
    try:
        rel = Path(os.path.relpath(target.resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return target.resolve().as_posix()
    return rel if rel.startswith("../") else f"./{rel}"


def run_warnings(meta: dict) -> list[str]:
    """run.json's ``warnings``: plain sentences saying why the run should not be trusted as it stands."""
    warnings = meta.get("warnings") or []
    return [str(w) for w in (warnings if isinstance(warnings, list) else [warnings]) if str(w).strip()]


def _style(name: str, fields: list[str], lang: Lang = "en") -> tuple[ET.Element, dict[str, str]]:
    """Scout's QML for ``name``: its elements (to go inside ``<maplayer>``) and root attributes."""
    root = ET.fromstring(style_qml(name, fields, lang))
    attrs = {k: v for k, v in root.attrib.items() if k in ("labelsEnabled", "readOnly")}
    return root, attrs


def _ogr_layer(path: Path, base: Path, layer: str | None, name: str, style: str, expected_geometry: str, visible: bool = True,
               lang: Lang = "en") -> Layer:
    info = pyogrio.read_info(path, layer=layer)
    source = _relative(path, base) + (f"|layername={layer}" if layer else "")
    if info["geometry_type"] in (None, "Unknown"):  # an empty layer: tell QGIS what it will hold
        source += f"|geometrytype={expected_geometry}"
    crs = CRS.from_user_input(info["crs"]) if info["crs"] else CRS.from_epsg(4326)
    element, attrs = _style(style, list(info["fields"]), lang)
    return Layer(name, source, "ogr", crs, element, attrs, visible)


def gpkg_layers(folder: RunFolder, lang: Lang = "en") -> list[Layer]:
    """Missed plots, plots, AOIs, raw photos' footprints and tiles from ``plots.gpkg`` (tiles switched off)."""
    present = folder.layers()
    layers = [_ogr_layer(folder.plots_gpkg, folder.path, MISSED_LAYER, MISSED_LAYER, MISSED_LAYER, "Polygon", lang=lang)] if MISSED_LAYER in present else []
    layers.append(_ogr_layer(folder.plots_gpkg, folder.path, schema.PLOTS_LAYER, "plots", "plots", "Polygon", lang=lang))
    if schema.AOI_LAYER in present:
        layers.append(_ogr_layer(folder.plots_gpkg, folder.path, schema.AOI_LAYER, "aoi", "aoi", "Polygon"))
    if schema.FRAMES_LAYER in present:  # raw drone photos' footprints
        layers.append(_ogr_layer(folder.plots_gpkg, folder.path, schema.FRAMES_LAYER, "frames", "frames", "Polygon", lang=lang))
    if schema.TILES_LAYER in present:
        layers.append(_ogr_layer(folder.plots_gpkg, folder.path, schema.TILES_LAYER, "tiles", "tiles", "Polygon", visible=False))
    return layers


def survey_layers(run: Path, tasks_dir: Path, lang: Lang = "en") -> list[Layer]:
    """Depots and tasks (points) and routes (lines) written by ``scout tasks`` into ``tasks_dir``."""
    tasks = tasks_dir / TASKS_GEOJSON
    if not tasks.is_file():
        raise InputError(f"{tasks}: missing (write it with scout tasks ... --out {tasks_dir})")
    layers = [_ogr_layer(tasks_dir / DEPOTS_GEOJSON, run, None, "depots", "depots", "Point", lang=lang)] if (tasks_dir / DEPOTS_GEOJSON).is_file() else []
    layers.append(_ogr_layer(tasks, run, None, "tasks", "tasks", "Point", lang=lang))
    routes = tasks_dir / ROUTES_GEOJSON
    if routes.is_file():
        layers.append(_ogr_layer(routes, run, None, "routes", "routes", "LineString"))
    else:
        log.warning("%s: missing; the project has tasks but no routes", routes)
    return layers


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _pipe(renderer: ET.Element) -> ET.Element:
    style = ET.Element("qgis")
    pipe = _sub(style, "pipe")
    pipe.append(renderer)
    _sub(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    _sub(pipe, "huesaturation", saturation="0", grayscaleMode="0", invertColors="0", colorizeOn="0", colorizeRed="255", colorizeGreen="128", colorizeBlue="128", colorizeStrength="100")
    _sub(pipe, "rasterresampler", maxOversampling="2")
    _sub(style, "blendMode", "0")
    return style


def heatmap_renderer(band: int, colour: str, scale: float) -> ET.Element:
    """Single-band pseudocolour at half opacity: transparent below probability 0.3, then ``colour`` growing opaque.

    ``scale`` is the stored value of probability 1 (255 for uint8 rasters, 1 for float).
    """
    renderer = ET.Element(
        "rasterrenderer", type="singlebandpseudocolor", band=str(band), opacity=f"{HEATMAP_OPACITY:g}", alphaBand="-1", classificationMin="0",
        classificationMax=f"{scale:g}", nodataColor="",
    )
    shader = _sub(_sub(renderer, "rastershader"), "colorrampshader", colorRampType="INTERPOLATED", classificationMode="1", clip="0", minimumValue="0", maximumValue=f"{scale:g}")
    for p, alpha in ((0.0, 0), (0.3, 0), (0.5, 110), (0.8, 190), (1.0, 230)):
        _sub(shader, "item", value=f"{p * scale:g}", color=colour, alpha=str(alpha), label=f"{p:.1f}")
    return renderer


def probability_layers(folder: RunFolder) -> list[Layer]:
    """One heatmap layer per class band of ``probability.tif``; none when the file is absent."""
    path = folder.probability_tif
    if not path.is_file():
        log.warning("%s: missing; the project has no probability heatmap", path)
        return []
    with rasterio.open(path) as src:
        crs = CRS.from_user_input(src.crs)
        names = [d or (schema.CLASSES[i] if i < len(schema.CLASSES) else f"band {i + 1}") for i, d in enumerate(src.descriptions)]
        scale = 255.0 if src.dtypes[0] == "uint8" else 1.0
    source = _relative(path, folder.path)
    return [
        Layer(f"probability {name}", source, "gdal", crs, _pipe(heatmap_renderer(band, HEATMAP_COLOURS.get(name, "#808080"), scale)), {}, visible=False)
        for band, name in enumerate(names, start=1)
    ]


def _rgb_bands(src: rasterio.DatasetReader, names: list[str]) -> tuple[int, int, int] | None:
    """1-based indexes of red, green, blue by band name or colour interpretation."""
    lower = [n.lower() for n in names]
    if all(c in lower for c in ("red", "green", "blue")):
        return lower.index("red") + 1, lower.index("green") + 1, lower.index("blue") + 1
    interp = list(src.colorinterp)
    if all(c in interp for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)):
        return interp.index(ColorInterp.red) + 1, interp.index(ColorInterp.green) + 1, interp.index(ColorInterp.blue) + 1
    return (1, 2, 3) if src.count >= 3 else None


def _stretch(src: rasterio.DatasetReader, band: int) -> tuple[float, float]:
    """2–98 % range of a band read from an overview-sized decimation (at most 512 px a side)."""
    if src.dtypes[band - 1] == "uint8":
        return 0.0, 255.0
    factor = max(1, int(np.ceil(max(src.width, src.height) / 512)))
    data = src.read(band, out_shape=(max(1, src.height // factor), max(1, src.width // factor)), masked=True)
    values = data.compressed()
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(values, [2, 98])
    return float(lo), float(hi if hi > lo else lo + 1)


def _enhancement(parent: ET.Element, tag: str, lo: float, hi: float, uint8: bool) -> None:
    ce = _sub(parent, tag)
    _sub(ce, "minValue", f"{lo:g}")
    _sub(ce, "maxValue", f"{hi:g}")
    _sub(ce, "algorithm", "NoEnhancement" if uint8 else "StretchToMinimumMaximum")


def imagery_renderer(path: Path, band_names: list[str]) -> ET.Element:
    """True colour (red, green, blue) when the image has them, else grey of band 1."""
    with rasterio.open(path) as src:
        rgb = _rgb_bands(src, band_names)
        interp = list(src.colorinterp)
        alpha = interp.index(ColorInterp.alpha) + 1 if ColorInterp.alpha in interp else -1
        if rgb is None:
            renderer = ET.Element("rasterrenderer", type="singlebandgray", grayBand="1", gradient="BlackToWhite", opacity="1", alphaBand=str(alpha), nodataColor="")
            _enhancement(renderer, "contrastEnhancement", *_stretch(src, 1), uint8=src.dtypes[0] == "uint8")
            return renderer
        renderer = ET.Element("rasterrenderer", type="multibandcolor", redBand=str(rgb[0]), greenBand=str(rgb[1]), blueBand=str(rgb[2]), opacity="1", alphaBand=str(alpha), nodataColor="")
        for colour, band in zip(("red", "green", "blue"), rgb):
            _enhancement(renderer, f"{colour}ContrastEnhancement", *_stretch(src, band), uint8=src.dtypes[band - 1] == "uint8")
        return renderer


def imagery_layers(folder: RunFolder, packaged: dict[int, Path] | None = None) -> list[Layer]:
    """The run's source images (run.json ``inputs.images``; ``packaged`` copies by entry index
    instead), skipping any that cannot be found; raw photos show as the run's photo mosaic."""
    layers = []
    photos = _photo_names(folder)
    for index, entry in enumerate(folder.meta.get("inputs", {}).get("images", [])):
        if Path(entry.get("path", "")).name in photos:
            continue  # a raw drone photo: placed by its camera model, shown by the frames layer and the photo mosaic
        path = (packaged or {}).get(index) or image_path(folder.path, entry)
        if path is None:
            log.warning("image %s not found (relpath %s); the project has no layer for it", entry.get("path"), entry.get("relpath"))
            continue
        source = _relative(path, folder.path)
        if source.startswith("../") or source.startswith("/"):
            log.info("image %s lies outside the run folder: copy it along with the folder, to %s from it (or use scout qgis --package)", path.name, source)
        with rasterio.open(path) as src:
            crs = CRS.from_user_input(src.crs)
        layers.append(Layer(path.stem, source, "gdal", crs, _pipe(imagery_renderer(path, list(entry.get("bands") or []))), {}))
    if photos and folder.photo_mosaic_tif.exists():  # in the run folder: a packaged copy carries it as it is
        with rasterio.open(folder.photo_mosaic_tif) as src:
            crs = CRS.from_user_input(src.crs)
        layers.append(Layer(folder.photo_mosaic_tif.stem, schema.PHOTO_MOSAIC_TIF, "gdal", crs, _pipe(imagery_renderer(folder.photo_mosaic_tif, ["red", "green", "blue"])), {}))
    return layers


def _photo_names(folder: RunFolder) -> set[str]:
    """File names of a run's raw drone photos (run.json ``frames``): no map georeference to show or clip them by."""
    return {Path(r["meta"]["path"]).name for r in (folder.meta.get("frames") or {}).get("records", [])}


def package_imagery(folder: RunFolder, margin_m: float = 50.0, strip_rows: int = 512) -> dict[int, Path]:
    """Copy each source image, clipped to the run's AOIs (plus ``margin_m``, in the image's CRS units
    when it is metric), into ``RUN/imagery/``, so a copy of the run folder alone works offline on a
    tablet.  Tiled, deflate-compressed, with overviews; copied in strips of ``strip_rows`` rows, so
    memory stays small for any flight; raw photos are not copied (the run's photo mosaic, in the run
    folder, shows them).  Returns the copies by run.json image index."""
    aoi = folder.read_layer(schema.AOI_LAYER) if schema.AOI_LAYER in folder.layers() else None
    out_dir = folder.packaged_imagery_dir()
    copies: dict[int, Path] = {}
    photos = _photo_names(folder)
    for index, entry in enumerate(folder.meta.get("inputs", {}).get("images", [])):
        if Path(entry.get("path", "")).name in photos:  # the run's photo mosaic shows them; tasks' chips are cut from them
            continue
        path = image_path(folder.path, entry)
        if path is None:
            log.warning("image %s not found; not packaged", entry.get("path"))
            continue
        out = out_dir / f"{path.stem}.tif"
        if path.resolve().parent == out_dir.resolve():
            copies[index] = path
            continue
        with rasterio.open(path) as src:
            window = rasterio.windows.Window(0, 0, src.width, src.height)
            if aoi is not None and len(aoi) and not aoi.geometry.is_empty.all():
                area = aoi.to_crs(src.crs).union_all().buffer(margin_m if CRS.from_user_input(src.crs).is_projected else 0)
                try:
                    exact = rasterio.windows.from_bounds(*area.bounds, transform=src.transform)
                    c0, r0 = math.floor(round(exact.col_off, 6)), math.floor(round(exact.row_off, 6))
                    c1, r1 = math.ceil(round(exact.col_off + exact.width, 6)), math.ceil(round(exact.row_off + exact.height, 6))
                    window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0).intersection(window)
                except rasterio.errors.WindowError:  # the AOIs miss this image
                    log.info("%s: outside the AOIs; not packaged", path.name)
                    continue
            profile = {**src.profile, "driver": "GTiff", "width": int(window.width), "height": int(window.height), "transform": src.window_transform(window),
                       "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 2 if src.dtypes[0].startswith("uint") else 1,
                       "BIGTIFF": "IF_SAFER"}
            with atomic_path(out) as tmp:
                with rasterio.open(tmp, "w", **profile) as dst:
                    dst.colorinterp = src.colorinterp
                    dst.descriptions = src.descriptions
                    for row in range(0, int(window.height), strip_rows):
                        strip = rasterio.windows.Window(0, row, int(window.width), min(strip_rows, int(window.height) - row))
                        source = rasterio.windows.Window(window.col_off, window.row_off + row, strip.width, strip.height)
                        dst.write(src.read(window=source), window=strip)
                        if src.nodata is None and any(f == rasterio.enums.MaskFlags.per_dataset for f in src.mask_flag_enums[0]):
                            dst.write_mask(src.dataset_mask(window=source), window=strip)
                    factors = [f for f in (2, 4, 8, 16, 32, 64) if max(window.width, window.height) / f >= 128]
                    if factors:
                        dst.build_overviews(factors, rasterio.enums.Resampling.average)
        log.info("packaged %s -> %s (%d x %d px)", path.name, out, window.width, window.height)
        copies[index] = out
    return copies


def _view_extent(folder: RunFolder) -> tuple[float, float, float, float] | None:
    """Bounds (work CRS units) to open on: the AOIs, else the plots, padded 5 %."""
    for layer in (schema.AOI_LAYER, schema.PLOTS_LAYER):
        if layer in folder.layers():
            frame = folder.read_layer(layer, columns=[])
            if len(frame) and not frame.geometry.is_empty.all():
                x0, y0, x1, y1 = frame.total_bounds
                pad = 0.05 * max(x1 - x0, y1 - y0, 1.0)
                return x0 - pad, y0 - pad, x1 + pad, y1 + pad
    return None


def spatialrefsys(parent: ET.Element, crs: CRS) -> None:
    """QGIS's ``<spatialrefsys>``: QGIS reads the WKT (srsid 0 keeps it from trusting ids)."""
    srs = _sub(parent, "spatialrefsys")
    epsg = crs.to_epsg()
    _sub(srs, "wkt", crs.to_wkt())
    _sub(srs, "proj4", "")  # the WKT says it all; PROJ strings drop datum detail
    _sub(srs, "srsid", "0")
    _sub(srs, "srid", str(epsg or 0))
    _sub(srs, "authid", f"EPSG:{epsg}" if epsg else "")
    _sub(srs, "description", crs.name)
    _sub(srs, "projectionacronym", "")
    _sub(srs, "ellipsoidacronym", "")
    _sub(srs, "geographicflag", "true" if crs.is_geographic else "false")


def _layer_id(index: int, layer: Layer) -> str:
    return f"scout_{index:02d}_" + "".join(c if c.isalnum() else "_" for c in layer.name)


def project_xml(layers: list[Layer], crs: CRS, extent: tuple[float, float, float, float] | None, title: str,
                warnings: list[str] | None = None) -> ET.Element:
    """The ``.qgs`` document: legend tree, layers with their styles, CRS, relative paths, start view.

    The run's ``warnings`` (run.json) head the legend, one empty group per sentence marked ⚠, and
    fill the project's abstract (Project > Properties > Metadata), so nobody reviews without seeing them.
    """
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    _sub(root, "homePath", path="")
    _sub(root, "title", title)
    spatialrefsys(_sub(root, "projectCrs"), crs)
    metadata = _sub(root, "projectMetadata")
    _sub(metadata, "title", title)
    _sub(metadata, "abstract", "\n".join(f"⚠ {w}" for w in warnings or []))
    tree = _sub(root, "layer-tree-group")
    for warning in warnings or []:
        _sub(tree, "layer-tree-group", name=f"⚠ {warning}", checked="Qt::Checked", expanded="0")
    maps = _sub(root, "projectlayers")
    ids = [_layer_id(i, layer) for i, layer in enumerate(layers)]
    for layer_id, layer in zip(ids, layers):
        _sub(tree, "layer-tree-layer", id=layer_id, name=layer.name, source=layer.source, providerKey=layer.provider, checked="Qt::Checked" if layer.visible else "Qt::Unchecked", expanded="0")
        element = _sub(maps, "maplayer", type=layer.kind, **layer.style_attrs)
        _sub(element, "id", layer_id)
        _sub(element, "datasource", layer.source)
        _sub(element, "layername", layer.name)
        spatialrefsys(_sub(element, "srs"), layer.crs)
        _sub(element, "provider", layer.provider, **({"encoding": "UTF-8"} if layer.kind == "vector" else {}))
        element.extend(list(layer.style))
    custom = _sub(tree, "custom-order", enabled="0")
    for layer_id in ids:
        _sub(custom, "item", layer_id)
    properties = _sub(root, "properties")
    _sub(_sub(properties, "Paths"), "Absolute", "false", type="bool")
    _sub(_sub(properties, "SpatialRefSys"), "ProjectionsEnabled", "1", type="int")  # else QGIS ignores projectCrs
    if extent is not None:
        view = _sub(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
        default = _sub(view, "DefaultViewExtent", xmin=f"{extent[0]:.3f}", ymin=f"{extent[1]:.3f}", xmax=f"{extent[2]:.3f}", ymax=f"{extent[3]:.3f}")
        spatialrefsys(default, crs)
        canvas = _sub(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
        _sub(canvas, "units", "meters" if not crs.is_geographic else "degrees")
        box = _sub(canvas, "extent")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), extent):
            _sub(box, key, f"{value:.3f}")
        _sub(canvas, "rotation", "0")
        spatialrefsys(_sub(canvas, "destinationsrs"), crs)
    return root
