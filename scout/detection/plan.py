"""Plan a run before any block is read: imagery checked against the model, AOIs read, the
grid at model GSD and its tiles cut into blocks.  Nothing is written."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from rasterio.crs import CRS

from scout import areas, schema
from scout.aoi import read_aoi
from scout.detection.blocks import DetectPlan
from scout.detection.checks import check_image, resolve_model
from scout.detection.settings import DetectSettings
from scout.errors import AOIError, ImageryError
from scout.frames.flight import Flight
from scout.frames.source import is_photo, open_photos
from scout.imagery import ImageInfo, footprint, open_image, working_crs
from scout.inference import cached_model, configure_threads, pick_device
from scout.inputs import expand_images
from scout.io import typed_frame
from scout.model.card import ModelCard
from scout.progress import track
from scout.tiling import Block, TileSpec, make_grid, plan_blocks

log = logging.getLogger(__name__)

BATCH_PIXELS = 16 * 512 * 512
"""Pixels per ``predict`` call: a whole block of tiles.  On a CPU its tiles run one per core
(one tile holds ~100 MB of activations of a small U-Net, so memory follows the core count,
not the batch)."""


def auto_batch_size(tile_size: int) -> int:
    return max(1, BATCH_PIXELS // (tile_size * tile_size))


@dataclass(frozen=True)
class PlannedRun:
    """What a run will compute, before any block is read: see :func:`plan_run`."""

    plan: DetectPlan
    blocks: list[Block]
    aois: gpd.GeoDataFrame  # working CRS
    card: ModelCard
    settings: DetectSettings  # with the model card's calibration filled in
    flight: Flight | None = None  # raw drone photos: every photo placed or skipped, and what to tell the user
    imaged_area_m2: float = 0.0  # the AOIs where there is imagery: what a flagged share is a share of

    @property
    def n_tiles(self) -> int:
        return sum(len(b.tiles) for b in self.blocks)


def plan_run(
    images: Sequence[str | os.PathLike],
    aoi: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    settings: DetectSettings | None = None,
) -> PlannedRun:
    """Check the inputs (``images`` as :func:`~scout.inputs.expand_images` takes them) and plan
    the tiles and blocks of a run (also what the benchmark reads).

    Nothing is written; bad imagery, AOIs or models raise a :class:`ScoutError`.
    """
    settings = settings or DetectSettings()
    images = expand_images(images, photos=True)
    if not images:
        raise ImageryError("no imagery given")
    photos = [p for p in images if is_photo(p)]
    infos = [open_image(p) for p in images if p not in photos]
    flight = None
    if photos:  # placed in their own UTM zone, the run's working CRS
        flight, placed = open_photos(photos, settings.frame_settings(), settings.dem)
        infos += placed
    infos.sort(key=lambda i: i.gsd_m)
    model_path = resolve_model(model, infos)
    device = pick_device(settings.device)
    configure_threads(settings.threads)
    card = cached_model(str(model_path), device).card
    settings = settings.for_model(card)
    log.info(
        "pixel thresholds %s, plot confidence floors %s, plots from %g m²%s",
        _fmt(settings.thresholds), _fmt(settings.min_confidence), settings.min_area_m2,
        " (model card's calibration where not set)" if card.detection else "",
    )
    crs = CRS.from_wkt(flight.crs_wkt) if flight else working_crs(infos[0])
    indexes, fps = [], []
    for info in track(infos, total=len(infos), desc="images", unit="image"):  # a footprint reads a mask: ~0.4 s for a 20,000 px flight
        indexes.append(check_image(info, card, settings.bands))
        fps.append(footprint(info, crs))
    aois, aoi_union, area = plan_aois(aoi, infos, fps, crs, settings)

    overlap = int(math.ceil(max(card.receptive_field_px, 1) / 16) * 16)
    spec = TileSpec(size=settings.tile_size or card.tile_size, overlap=overlap, block_tiles=settings.block_tiles)
    grid = make_grid(area.bounds, card.gsd_m, crs.to_wkt(), spec)
    blocks = plan_blocks(grid, spec, area)
    plan = DetectPlan(
        images=tuple(infos),
        indexes=tuple(indexes),
        footprints_wkb=tuple(shapely.to_wkb(f) for f in fps),
        aoi_wkb=shapely.to_wkb(aoi_union),
        grid=grid,
        spec=spec,
        model_path=str(model_path),
        batch_size=settings.batch_size or auto_batch_size(spec.size),
        device=device,
    )
    log.info(
        "%d image(s) -> grid %d x %d px at %.3f m (%s); %d tiles of %d px (overlap %d) in %d blocks; model %s on %s",
        len(infos), grid.width, grid.height, card.gsd_m, crs.to_string(), sum(len(b.tiles) for b in blocks), spec.size, spec.overlap, len(blocks), card.name, device,
    )
    return PlannedRun(plan, blocks, aois, card, settings, flight, imaged_area_m2=float(area.area))


def plan_aois(
    aoi: str | os.PathLike | None, infos: Sequence[ImageInfo], footprints: Sequence[shapely.Geometry], crs: CRS, settings: DetectSettings
) -> tuple[gpd.GeoDataFrame, shapely.Geometry, shapely.Geometry]:
    """The AOIs in the working CRS (the imagery's footprint without ``aoi``), their union, and
    the area to read: that union's intersection with valid imagery.  AOIs that miss the imagery
    are refused."""
    imagery_area = shapely.union_all(footprints)
    if aoi is not None:
        aois = read_aoi(aoi, crs, settings.aoi_name_field, settings.aoi_layer)
        if not aois.geometry.intersects(imagery_area).any():
            raise AOIError(f"{aoi}: AOI does not overlap the imagery ({', '.join(Path(i.path).name for i in infos)})")
    else:
        aois = gpd.GeoDataFrame({"aoi": ["footprint"]}, geometry=[imagery_area], crs=crs)
    aoi_union = areas.union(aois.geometry.values)  # a cadastral layer of 100,000 parcels: 2.5 s, where GEOS's union_all took 144
    area = areas.intersection(aoi_union, imagery_area)
    if area.is_empty:
        raise AOIError(f"{aoi or infos[0].path}: no valid imagery inside the AOI")
    return aois, aoi_union, area


def tiles_frame(plan: DetectPlan, blocks: Sequence[Block]) -> gpd.GeoDataFrame:
    """The tiles of ``blocks`` as polygons in the working CRS (the run folder's ``tiles`` layer)."""
    t = plan.grid.affine
    rows = []
    for b in blocks:
        for tile in b.tiles:
            w = tile.window
            x0, y0 = t @ (w.col_off, w.row_off)
            x1, y1 = t @ (w.col_off + w.width, w.row_off + w.height)
            rows.append({"tile_id": tile.tile_id, "block": b.block_id, "row_off": int(w.row_off), "col_off": int(w.col_off), "size_px": int(w.width), "geometry": shapely.box(x0, y1, x1, y0)})
    return typed_frame(gpd.GeoDataFrame(rows, crs=plan.grid.crs) if rows else None, schema.TILE_FIELDS, plan.grid.crs)


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in values.items())
