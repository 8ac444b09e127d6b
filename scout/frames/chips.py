"""What the drone saw: chips cut from the original full-resolution photo, and a photo's placement
kept in run.json so a later ``scout tasks`` can cut them without the flight's DEM or settings.

A chip is the upright photo (as the camera saw it, the top edge toward the gimbal's yaw), not a
north-up resampling: a ground team compares it with what it sees.  :func:`photo_chip` also gives
the map from ground coordinates to chip pixels (to outline plots) and where north points.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from PIL import Image
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from scout.errors import ImageryError, first_line
from scout.frames import geometry as g
from scout.frames.georef import ErrorBudget, Frame, Lens, with_cells
from scout.frames.metadata import FrameMeta
from scout.imagery import GDAL_ERRORS

UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
"""EXIF orientation -> the turn that shows the stored pixels upright (as Pillow's exif_transpose)."""


@dataclasses.dataclass(frozen=True)
class Chip:
    """An upright crop of a photo: ``pixels`` (size, size, 3) uint8; ``to_chip`` maps ground
    (x, y) arrays of the photo's CRS to chip pixel (column, row); ``north_deg``: where north
    points in the chip, clockwise from its top; ``across_m``: ground width shown, at its centre."""

    pixels: np.ndarray
    to_chip: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    north_deg: float
    across_m: float
    image: str


def photo_chip(frame: Frame, geoms: Sequence[shapely.Geometry], size_px: int = 220, context_m: float = 15.0) -> Chip | None:
    """A square upright crop of ``frame``'s photo around ``geoms`` (its CRS) with ``context_m``
    of ground around them, read from the full-resolution photo (shrunk to ``size_px``); None
    when they are not in the photo.  Raises ImageryError when the photo cannot be read."""
    meta = frame.meta
    stored_to_upright = g.orientation_matrix(meta.orientation, meta.width, meta.height)
    ground_to_upright = stored_to_upright @ np.linalg.inv(frame.homography)
    pts = np.concatenate([shapely.get_coordinates(geom) for geom in geoms]) if geoms else np.empty((0, 2))
    if not len(pts):
        return None
    upright = g.apply(ground_to_upright, pts)
    up_w, up_h = g.upright_size(meta.orientation, meta.width, meta.height)
    (u0, v0), (u1, v1) = upright.min(axis=0), upright.max(axis=0)
    if u1 < 0 or v1 < 0 or u0 > up_w or v0 > up_h:
        return None
    half = max(u1 - u0, v1 - v0) * 0.6 + context_m / frame.gsd_m
    half = min(half, up_w / 2, up_h / 2)
    cu = min(max((u0 + u1) / 2, half), up_w - half)  # kept inside the photo: a plot at its edge is off centre
    cv = min(max((v0 + v1) / 2, half), up_h - half)
    box = np.array([[cu - half, cv - half], [cu + half, cv + half]])
    stored = g.apply(np.linalg.inv(stored_to_upright), box)
    (c0, r0), (c1, r1) = stored.min(axis=0), stored.max(axis=0)
    side = max(1, min(size_px, round(2 * half)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(meta.path) as src:
                pixels = src.read([1, 2, 3] if src.count >= 3 else [1, 1, 1], window=Window(c0, r0, c1 - c0, r1 - r0),
                                  out_shape=(3, side, side), resampling=Resampling.average)
    except GDAL_ERRORS as exc:
        raise ImageryError(f"{meta.path}: read failed for a chip ({first_line(exc)})") from None
    image = Image.fromarray(np.moveaxis(pixels, 0, -1).astype(np.uint8))
    if meta.orientation in UPRIGHT:
        image = image.transpose(UPRIGHT[meta.orientation])
    if side != size_px:
        image = image.resize((size_px, size_px), Image.Resampling.LANCZOS)
    scale = size_px / (2 * half)

    def to_chip(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, v, w = g.project(ground_to_upright, np.asarray(x, float), np.asarray(y, float))
        return (u / w - box[0, 0]) * scale, (v / w - box[0, 1]) * scale

    centre = g.apply(np.linalg.inv(ground_to_upright), [[cu, cv]])[0]
    (ax, ay), (bx, by) = np.column_stack(to_chip(np.array([centre[0], centre[0]]), np.array([centre[1], centre[1] + 1.0])))
    north = math.degrees(math.atan2(bx - ax, -(by - ay)))
    return Chip(np.asarray(image), to_chip, north % 360, 2 * half * frame.gsd_m, meta.name)


def frame_record(frame: Frame, run_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """A placed photo as run.json keeps it (enough to cut chips later, see :func:`frame_from_record`)."""
    meta = dataclasses.asdict(frame.meta)
    if run_dir is not None:
        meta["relpath"] = os.path.relpath(frame.meta.path, run_dir)
    def number(v: float) -> float | None:  # run.json is strict JSON: no NaN
        return None if v is None or not math.isfinite(v) else float(v)

    return {
        "meta": meta, "status": frame.status, "pixel_to_ground": list(frame.pixel_to_ground),
        "nadir_xy": [number(v) for v in frame.nadir_xy], "agl_m": number(frame.agl_m), "agl_source": frame.agl_source,
        "off_nadir_deg": number(frame.off_nadir_deg), "gsd_m": number(frame.gsd_m),
        "lens": dataclasses.asdict(frame.lens) if frame.lens else None, "errors": dataclasses.asdict(frame.errors) if frame.errors else None,
        "notes": list(frame.notes),
    }


def frame_from_record(record: dict[str, Any], crs_wkt: str, run_dir: str | os.PathLike | None = None) -> Frame:
    """The :class:`Frame` a run.json record keeps; the photo is looked for beside the run folder
    first (by its relative path, a run copied with its photos), then where it was."""
    meta = dict(record["meta"])
    relpath = meta.pop("relpath", None)
    beside = os.path.normpath(Path(run_dir) / relpath) if run_dir is not None and relpath else None
    if beside and Path(beside).is_file():
        meta["path"] = beside
    fmeta = FrameMeta(**meta)
    h = np.array(record["pixel_to_ground"], float).reshape(3, 3) if record["pixel_to_ground"] else None
    footprint = g.ground_polygon(h, g.border(fmeta.width, fmeta.height)) if h is not None else shapely.Polygon()
    def number(v: float | None) -> float:
        return math.nan if v is None else float(v)

    return Frame(
        fmeta, record["status"], crs_wkt, shapely.to_wkb(footprint), tuple(record["pixel_to_ground"]),
        (number(record["nadir_xy"][0]), number(record["nadir_xy"][1])), number(record["agl_m"]), record["agl_source"],
        Lens(**record["lens"]) if record.get("lens") else None, number(record["off_nadir_deg"]), number(record["gsd_m"]),
        ErrorBudget(**record["errors"]) if record.get("errors") else None, tuple(record.get("notes", ())),
    )


def frames_from_records(records: Sequence[dict[str, Any]], crs_wkt: str, run_dir: str | os.PathLike | None = None) -> list[Frame]:
    """A run's photos, each knowing its cell of ground again."""
    return with_cells([frame_from_record(r, crs_wkt, run_dir) for r in records])


def frame_mosaic(frames: Sequence[Frame], bounds: tuple[float, float, float, float], width_px: int, height_px: int) -> tuple[np.ndarray, np.ndarray]:
    """North-up RGB (3, h, w) uint8 of ``bounds`` (the frames' CRS) from placed photos, each point
    from the photo that sees it most nearly straight down, and where any photo covers (h, w)."""
    from rasterio.transform import from_bounds

    from scout.frames.warp import read_frame
    from scout.imagery import Grid

    mosaic, covered = np.zeros((3, height_px, width_px), np.uint8), np.zeros((height_px, width_px), bool)
    if not frames:
        return mosaic, covered
    grid = Grid(frames[0].crs_wkt, tuple(from_bounds(*bounds, width_px, height_px))[:6], width_px, height_px)
    area = shapely.box(*bounds)
    for frame in frames:
        if frame.used and frame.footprint.intersects(area):
            data, valid = read_frame(frame, (1, 2, 3), grid, Window(0, 0, width_px, height_px), (bounds[2] - bounds[0]) / width_px)
            take = valid & ~covered
            mosaic[:, take] = np.clip(data[:, take], 0, 255).astype(np.uint8) if data.dtype != np.uint8 else data[:, take]
            covered |= take
    return mosaic, covered


def best_frame(frames: Sequence[Frame], geom: shapely.Geometry) -> Frame | None:
    """The used photo showing ``geom``'s centre most nearly straight down (the one it was read from)."""
    centre = np.array(geom.centroid.coords)
    seeing = [f for f in frames if f.used and f.footprint.contains(geom.centroid)]
    return min(seeing, key=lambda f: (float(f.view_tan(centre)[0]), f.name)) if seeing else None
