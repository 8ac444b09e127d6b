"""Tiny real run folders for the review tests, written the way ``scout detect`` writes them.

Plots are ``size`` m squares on a row, ``spacing`` m apart, in UTM 47N; the image lies in a
sibling folder so run.json's relpath is ``../imagery/scene.tif``, as on a real laptop.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from scout import schema
from scout.io import typed_frame, write_gpkg_layer
from scout.styles import add_styles

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's QGIS imports only from here, never from a venv
UTM = "EPSG:32647"
X0, Y0 = 600_000.0, 2_200_000.0
GSD = 1.0
SIZE_PX = 400  # image and probability raster: 400 m a side


def plots_frame(
    classes: Sequence[str],
    statuses: Sequence[str] | None = None,
    aois: Sequence[str] | None = None,
    size: float = 20.0,
    spacing: float = 50.0,
    offset: tuple[float, float] = (0.0, 0.0),
    ids: Sequence[str] | None = None,
    crs: str = UTM,
) -> gpd.GeoDataFrame:
    """Plots with the full PLOT_FIELDS contract; plot i is a square at x = X0 + 10 + i * spacing."""
    n = len(classes)
    geoms = [
        shapely.box(X0 + 10 + i * spacing + offset[0], Y0 - 10 - size + offset[1], X0 + 10 + i * spacing + size + offset[0], Y0 - 10 + offset[1])
        for i in range(n)
    ]
    gdf = gpd.GeoDataFrame(
        {
            "plot_id": list(ids) if ids else [f"P{i:03d}" for i in range(n)],
            "class": list(classes),
            "confidence": [round(0.5 + 0.4 * i / max(n, 1), 3) for i in range(n)],
            "max_confidence": [0.95] * n,
            "area_m2": [g.area for g in geoms],
            "centroid_lon": [99.9] * n,
            "centroid_lat": [19.9] * n,
            "aoi": list(aois) if aois else ["valley"] * n,
            "source": ["scene.tif"] * n,
            "acquired": ["2025-02-01"] * n,
            "model": ["test@1"] * n,
            "review_status": list(statuses) if statuses else ["unreviewed"] * n,
            "reviewed_by": [""] * n,
            "reviewed_at": [""] * n,
            "note": [""] * n,
        },
        geometry=geoms,
        crs=UTM,
    ).to_crs(crs)
    return typed_frame(gdf, schema.PLOT_FIELDS, crs)


def write_image(path: Path, count: int = 3, dtype: str = "uint8", descriptions: Sequence[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0.2, 0.6, SIZE_PX, dtype=np.float32)
    data = (np.stack([np.add.outer(ramp, ramp * (b + 1) / count) for b in range(count)]) * (255 if dtype == "uint8" else 4000) / 1.6).astype(dtype)
    with rasterio.open(
        path, "w", driver="GTiff", width=SIZE_PX, height=SIZE_PX, count=count, dtype=dtype, crs=UTM,
        transform=Affine(GSD, 0, X0, 0, -GSD, Y0), tiled=True, blockxsize=256, blockysize=256,
    ) as dst:
        dst.write(data)
        if descriptions:
            dst.descriptions = tuple(descriptions)
    return path


def write_probability(path: Path, plots: gpd.GeoDataFrame) -> Path:
    """uint8 probability*255 per class, high inside each plot, with an internal mask."""
    prob = np.zeros((len(schema.CLASSES), SIZE_PX, SIZE_PX), np.uint8)
    transform = Affine(GSD, 0, X0, 0, -GSD, Y0)
    for cls, geom in zip(plots["class"], plots.to_crs(UTM).geometry):
        x0, y0, x1, y1 = geom.bounds
        c0, r0 = ~transform * (x0, y1)
        c1, r1 = ~transform * (x1, y0)
        prob[schema.CLASSES.index(cls), int(r0):int(r1), int(c0):int(c1)] = 230
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(
        path, "w", driver="GTiff", width=SIZE_PX, height=SIZE_PX, count=len(schema.CLASSES), dtype="uint8",
        crs=UTM, transform=transform, tiled=True, blockxsize=256, blockysize=256,
    ) as dst:
        dst.write(prob)
        dst.descriptions = schema.CLASSES
        mask = np.full((SIZE_PX, SIZE_PX), 255, np.uint8)
        mask[:, : SIZE_PX // 10] = 0
        dst.write_mask(mask)
    return path


def write_run(run: Path, plots: gpd.GeoDataFrame, image: bool = True, probability: bool = True, styles: bool = True) -> Path:
    """A complete run folder: plots.gpkg (plots, tiles, aoi, styles), probability.tif, run.json, image."""
    run.mkdir(parents=True, exist_ok=True)
    gpkg = run / schema.PLOTS_GPKG
    write_gpkg_layer(plots, gpkg, "plots")
    tiles = gpd.GeoDataFrame(
        {"tile_id": ["t0", "t1"], "block": [0, 0], "row_off": [0, 0], "col_off": [0, 200], "size_px": [200, 200]},
        geometry=[shapely.box(X0, Y0 - 200, X0 + 200, Y0), shapely.box(X0 + 200, Y0 - 200, X0 + 400, Y0)],
        crs=UTM,
    )
    write_gpkg_layer(typed_frame(tiles, schema.TILE_FIELDS, UTM), gpkg, "tiles")
    aoi = gpd.GeoDataFrame({"aoi": ["valley"], "area_m2": [400.0 * 300]}, geometry=[shapely.box(X0, Y0 - 300, X0 + 400, Y0)], crs=UTM)
    write_gpkg_layer(typed_frame(aoi, schema.AOI_FIELDS, UTM), gpkg, "aoi")
    if styles:
        add_styles(gpkg)
    images = []
    if image:
        scene = write_image(run.parent / "imagery" / "scene.tif", descriptions=("red", "green", "blue"))
        images.append({
            "path": str(scene.resolve()), "relpath": os.path.relpath(scene.resolve(), run.resolve()), "size_bytes": scene.stat().st_size,
            "sha256": "0" * 64, "crs": UTM, "gsd_m": GSD, "bands": ["red", "green", "blue"], "acquired": "2025-02-01",
        })
    if probability:
        write_probability(run / schema.PROBABILITY_TIF, plots)
    meta = {
        "scout_version": "0.1.0", "complete": True, "started": "2025-02-02T10:00:00+00:00", "finished": "2025-02-02T10:01:00+00:00",
        "work_crs": UTM, "inputs": {"images": images, "aoi": None},
        "model": {"name": "test", "version": "1", "sha256": "0" * 64, "path": "/models/test", "gsd_m": GSD, "bands": ["red", "green", "blue"]},
        "parameters": {}, "counts": {"tiles": 2, "plots": len(plots), "plots_by_class": {}}, "timings": {},
    }
    (run / schema.RUN_JSON).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return run


def write_survey(out: Path, plots: gpd.GeoDataFrame, teams: int = 2) -> Path:
    """tasks.geojson (one task per plot), routes.geojson and depots.geojson in the form ``scout tasks`` writes."""
    out.mkdir(parents=True, exist_ok=True)
    centroids = plots.geometry.centroid.to_crs("EPSG:4326")
    n = len(plots)
    tasks = gpd.GeoDataFrame(
        {
            "task_id": [f"T{i:03d}" for i in range(n)], "plot_ids": list(plots["plot_id"]), "team": [i % teams for i in range(n)],
            "day": [1] * n, "sequence": [i // teams + 1 for i in range(n)], "priority": [1.0] * n,
            "lon": list(centroids.x), "lat": list(centroids.y), "class": list(plots["class"]), "confidence": list(plots["confidence"]),
            "area_m2": list(plots["area_m2"]), "leg_m": [50.0] * n, "eta": ["09:00"] * n, "status": ["planned"] * n,
        },
        geometry=list(centroids),
        crs="EPSG:4326",
    )
    typed_frame(tasks, schema.TASK_FIELDS, "EPSG:4326").to_file(out / "tasks.geojson", driver="GeoJSON", engine="pyogrio")
    lines = [shapely.LineString([(p.x, p.y) for p in centroids[i::teams]]) for i in range(teams) if len(centroids[i::teams]) > 1]
    routes = gpd.GeoDataFrame(
        {"team": list(range(len(lines))), "day": [1] * len(lines), "distance_m": [100.0] * len(lines), "duration_min": [30.0] * len(lines), "stops": [2] * len(lines)},
        geometry=lines,
        crs="EPSG:4326",
    )
    typed_frame(routes, schema.ROUTE_FIELDS, "EPSG:4326").to_file(out / "routes.geojson", driver="GeoJSON", engine="pyogrio")
    depot = shapely.Point(X0 + 200, Y0 - 350)
    gpd.GeoDataFrame({"team": [1], "name": ["Depot"]}, geometry=[depot], crs=UTM).to_crs(4326).to_file(out / "depots.geojson", driver="GeoJSON", engine="pyogrio")
    return out


def _has_qgis() -> bool:
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


HAS_QGIS = _has_qgis()
needs_qgis = pytest.mark.skipif(not HAS_QGIS, reason="QGIS absent: run scripts/install_qgis.sh (Debian qgis, python3-qgis)")


def qgis_check(path: Path, *args: str) -> dict:
    """Run scripts/qgis_check.py on ``path`` in real QGIS (headless) and return its JSON report."""
    with tempfile.TemporaryDirectory() as runtime:
        os.chmod(runtime, 0o700)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": runtime}
        env.pop("PYTHONPATH", None)
        done = subprocess.run([SYSTEM_PYTHON, str(REPO / "scripts" / "qgis_check.py"), str(path), *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout[done.stdout.index("{"):])
