"""Raw drone photos as detection imagery: the opener beside :mod:`scout.imagery`.

:func:`open_photos` places a flight's photos (:func:`scout.frames.flight.place_flight`) and
gives each photo it can use as an :class:`~scout.imagery.ImageInfo` with its ``frame`` set, so
planning and blocks take photos and GeoTIFFs alike: the footprint comes from the camera model,
reads go through the photo's own warp (``imagery.footprint`` and ``imagery.read_block`` ask
the frame).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.errors import NotGeoreferencedWarning

from scout.errors import ImageryError, first_line
from scout.frames import geometry as g
from scout.frames.flight import Flight, place_flight
from scout.frames.georef import Frame, FrameSettings
from scout.frames.metadata import read_meta
from scout.imagery import GDAL_ERRORS, ImageInfo, guess_band_names
from scout.inputs import PHOTO_SUFFIXES


def is_photo(path: str | os.PathLike) -> bool:
    """A JPEG, or a TIFF without a map georeference but with EXIF GPS (a multispectral camera's),
    is a raw photo; anything else is a raster for :func:`scout.imagery.open_image` (which says
    what a GeoTIFF without its georeference lacks)."""
    p = Path(path)
    if p.suffix.lower() in PHOTO_SUFFIXES:
        return True
    if p.suffix.lower() not in (".tif", ".tiff") or not p.is_file():
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(p) as src:
                if src.crs is not None or not src.transform.is_identity or src.gcps[0]:
                    return False
        return read_meta(p).lat is not None
    except (*GDAL_ERRORS, ImageryError):
        return False  # open_image says why


def open_photos(
    photos: Sequence[str | os.PathLike], settings: FrameSettings | None = None, dem: str | os.PathLike | None = None, crs: CRS | None = None,
) -> tuple[Flight, list[ImageInfo]]:
    """Place ``photos`` (one flight or several) and open the usable ones as imagery, in ``crs``
    (default: the flight's UTM zone).  One-line ImageryError for a flight that cannot be placed."""
    flight = place_flight(photos, settings, dem, crs=crs)
    return flight, [frame_info(f) for f in flight.used]


def frame_info(frame: Frame) -> ImageInfo:
    """A placed photo as detection imagery."""
    path = Path(frame.meta.path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                count, dtype, names = src.count, src.dtypes[0], guess_band_names(src)
    except GDAL_ERRORS as exc:
        raise ImageryError(f"{path}: not a readable photo ({first_line(exc)})") from None
    if dtype not in ("uint8", "uint16"):
        raise ImageryError(f"{path}: pixel type {dtype} is not supported for photos (uint8, uint16)")
    return ImageInfo(
        path=str(path.resolve()), crs_wkt=frame.crs_wkt, transform=tuple(_nearest_affine(frame))[:6], width=frame.meta.width,
        height=frame.meta.height, count=count, dtype=dtype, band_names=names, nodata=None, has_alpha=False, gsd_m=frame.gsd_m,
        size_bytes=path.stat().st_size, acquired=frame.meta.acquired[:10], frame=frame,
    )


def _nearest_affine(frame: Frame) -> Affine:
    """The north-up affine matching the photo's ground size at its centre (for code that wants
    one; reads and footprints use the camera model)."""
    cx, cy = g.apply(frame.homography, [[frame.meta.width / 2, frame.meta.height / 2]])[0]
    gsd = frame.gsd_m if math.isfinite(frame.gsd_m) else 1.0
    return Affine(gsd, 0, cx - gsd * frame.meta.width / 2, 0, -gsd, cy + gsd * frame.meta.height / 2)


__all__ = ["frame_info", "is_photo", "open_photos"]
