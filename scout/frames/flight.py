"""A flight's photos placed on the ground: the library entry for a folder of raw drone photos.

:func:`place_flight` reads every photo's metadata, refuses a flight that cannot be placed at all
(no GPS anywhere, no height above ground anywhere without ``--agl``/``--dem``) in one line,
places each photo (:func:`scout.frames.georef.place_frame`), and checks the recorded yaws
against the overlapping photos' pixels (:mod:`scout.frames.overlap`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from scout import schema
from scout.errors import ImageryError
from scout.frames.georef import Frame, FrameSettings, Terrain, dem_terrain, flight_crs, place_frame, with_cells
from scout.frames.metadata import FrameMeta, read_meta
from scout.frames.overlap import choose_turns, overlapping_pairs, pair_scores
from scout.frames.warp import read_thumbnail
from scout.io import typed_frame
from scout.progress import track

log = logging.getLogger(__name__)

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".tif", ".tiff")
CHECK_GSD_M = 0.3  # ground grid of the yaw check (coarse: cheap, and blind to small misplacement)
TURNED_NOTE = "yaw recorded 180° off the photo's pixels (its overlapping photos agree only turned): turned"


@dataclass(frozen=True)
class Flight:
    """Placed photos (in the given order) in one metric CRS, with what the run should tell the user."""

    frames: tuple[Frame, ...]
    crs_wkt: str
    warnings: tuple[str, ...]
    timings: dict[str, float] = dataclasses.field(default_factory=dict)  # metadata_s, placing_s, yaw_check_s

    @property
    def used(self) -> list[Frame]:
        return [f for f in self.frames if f.used]

    def layer(self) -> gpd.GeoDataFrame:
        """The run folder's ``frames`` layer (schema.FRAME_FIELDS): a footprint per photo, none
        for a photo that cannot be placed."""
        rows = {
            "image": [f.name for f in self.frames],
            "agl_m": [round(f.agl_m, 2) for f in self.frames],
            "gsd_m": [round(f.gsd_m, 4) for f in self.frames],
            "yaw_deg": [f.meta.yaw_deg for f in self.frames],
            "pitch_deg": [f.meta.pitch_deg for f in self.frames],
            "status": [f.status for f in self.frames],
            "note": ["; ".join(f.notes) for f in self.frames],
        }
        geoms = [None if f.footprint.is_empty else f.footprint for f in self.frames]
        return typed_frame(gpd.GeoDataFrame(rows, geometry=geoms, crs=self.crs_wkt), schema.FRAME_FIELDS, self.crs_wkt)

    def record(self, run_dir: str | os.PathLike | None = None) -> dict[str, object]:
        """What run.json keeps: counts, and every photo's placement (:func:`scout.frames.chips.frame_record`)."""
        from scout.frames.chips import frame_record

        return {
            "photos": len(self.frames), "used": len(self.used), "skipped": len(self.frames) - len(self.used),
            "turned": sum(1 for f in self.frames if TURNED_NOTE in f.notes), "timings": self.timings,
            "records": [frame_record(f, run_dir) for f in self.frames],
        }


def _names(metas: Sequence[FrameMeta], limit: int = 3) -> str:
    shown = ", ".join(m.name for m in metas[:limit])
    return shown + (f" and {len(metas) - limit} more" if len(metas) > limit else "")


def place_flight(
    photos: Sequence[str | os.PathLike], settings: FrameSettings | None = None, dem: str | os.PathLike | None = None,
    check_yaw: bool = True, crs: CRS | None = None,
) -> Flight:
    """Place every photo of a flight (or of several: mixed cameras are fine), in ``crs``
    (metric; default the flight's UTM zone).

    Raises ImageryError, in one line, when no photo has a GPS position, when no photo says its
    height above ground and neither ``settings.agl_m`` nor ``dem`` is given, or when no photo
    can be used at all (with the reasons)."""
    settings = settings or FrameSettings()
    t0 = time.perf_counter()
    metas = [read_meta(p) for p in track(photos, total=len(photos), desc="photo metadata", unit="photo")]
    timings = {"metadata_s": time.perf_counter() - t0}
    if not metas:
        raise ImageryError("no photos given")
    where = str(Path(metas[0].path).parent)
    if all(m.lat is None or m.lon is None for m in metas):
        raise ImageryError(f"{where}: none of the {len(metas)} photos has a GPS position ({_names(metas)}); "
                           "Scout places raw photos by their EXIF GPS (or use an orthomosaic GeoTIFF)")
    if settings.agl_m is None and dem is None and all(m.agl_m is None for m in metas):
        raise ImageryError(f"{where}: no photo says its height above ground (no DJI drone-dji:RelativeAltitude or senseFly "
                           f"sensefly:Height in {_names(metas)}); give --agl METRES (the height flown above the ground) "
                           "or --dem DEM.tif (ground heights; the photos' GPS altitude is used)")
    crs = crs or flight_crs(metas)
    terrain: Terrain | None = None
    if dem is not None:
        terrain = dem_terrain(dem, crs, _flight_bounds(metas, crs))
    t0 = time.perf_counter()
    frames = [place_frame(m, crs, settings, terrain) for m in metas]
    timings["placing_s"] = time.perf_counter() - t0
    notes: list[str] = []
    if check_yaw:
        t0 = time.perf_counter()
        frames, turned = check_yaws(frames, crs, settings, terrain)
        timings["yaw_check_s"] = time.perf_counter() - t0
        if turned:
            notes.append(f"{len(turned)} photo(s) recorded a yaw 180° off what their pixels show next to overlapping photos "
                         f"and were turned ({_names([f.meta for f in turned])}); check plots from them on the ground")
    used = [f for f in frames if f.used]
    if not used:
        reasons = Counter(f.status.removeprefix("skipped: ") for f in frames)
        raise ImageryError(f"{where}: none of the {len(frames)} photos can be placed: "
                           + "; ".join(f"{n} x {r}" for r, n in reasons.most_common(3)))
    skipped = [f for f in frames if not f.used]
    if skipped:
        log.warning("%d of %d photos skipped (first: %s, %s); see the frames layer", len(skipped), len(frames), skipped[0].name, skipped[0].status)
    return Flight(tuple(with_cells(frames)), crs.to_wkt(), tuple(notes), {k: round(v, 3) for k, v in timings.items()})


def _flight_bounds(metas: Sequence[FrameMeta], crs: CRS, margin_m: float = 2000.0) -> tuple[float, float, float, float]:
    from pyproj import Transformer

    pts = [(m.lon, m.lat) for m in metas if m.lon is not None and m.lat is not None]
    xs, ys = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform([p[0] for p in pts], [p[1] for p in pts])
    return (min(xs) - margin_m, min(ys) - margin_m, max(xs) + margin_m, max(ys) + margin_m)


def check_yaws(frames: Sequence[Frame], crs: CRS, settings: FrameSettings, terrain: Terrain | None = None) -> tuple[list[Frame], list[Frame]]:
    """``frames`` with those whose overlapping photos agree only when turned 180° replaced by the
    turned placement (noted), and the list of those turned."""
    used = [k for k, f in enumerate(frames) if f.used]
    if len(used) < 2:
        return list(frames), []
    pairs = overlapping_pairs([frames[k].footprint for k in used])
    if not pairs:
        return list(frames), []
    turned_frames = {k: place_frame(dataclasses.replace(frames[k].meta, yaw_deg=(frames[k].meta.yaw_deg or 0.0) + 180.0), crs, settings, terrain) for k in used}
    involved = sorted({used[i] for i, _, _ in pairs} | {used[j] for _, j, _ in pairs})
    thumbs = {k: read_thumbnail(frames[k], CHECK_GSD_M) for k in track(involved, total=len(involved), desc="yaw check", unit="photo")}
    scores = {}
    for i, j, shared in pairs:
        a, b = used[i], used[j]
        if not turned_frames[a].used or not turned_frames[b].used:
            continue
        placed = [np.stack([frames[k].homography, turned_frames[k].homography]) for k in (a, b)]
        scores[(i, j)] = pair_scores(placed, [thumbs[a], thumbs[b]], shapely.buffer(shared, 0), CHECK_GSD_M)
    turn = choose_turns(len(used), scores)
    out, turned = list(frames), []
    for i, k in enumerate(used):
        if turn[i]:
            out[k] = dataclasses.replace(turned_frames[k], notes=(*turned_frames[k].notes, TURNED_NOTE))
            turned.append(out[k])
            log.warning("%s: %s", frames[k].name, TURNED_NOTE)
    return out, turned
