"""Open imagery for detection: validation, band mapping, GSD, valid footprint, reads at model GSD.

Every raster is read through a ``WarpedVRT`` onto the run's working grid (a metric CRS
at the model's GSD), so a 2 cm drone flight, a 0.5 m satellite scene and an image in
EPSG:4326 all reach the model the same way.  Work never reads outside the block asked for.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import platform
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio._err import CPLE_BaseError
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Interleaving, MaskFlags, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError
from rasterio.features import shapes
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_geom
from rasterio.windows import Window, from_bounds
from shapely.geometry import shape

from scout.errors import ImageryError, first_line
from scout.io import MAX_COORDINATE
from scout.progress import track

if TYPE_CHECKING:
    from scout.frames.georef import Frame

GDAL_ERRORS = (RasterioError, CPLE_BaseError)
"""What a failed read raises: rasterio passes some of GDAL's errors on as they are (a corrupt
tile offset table read for the colour interpretation: ``CPLE_AppDefinedError``, exit 1 before)."""

log = logging.getLogger(__name__)

MAX_PIXELS = 2_000_000 * 2_000_000 // 10  # declared sizes beyond this are refused before any read
MAX_BANDS = 64  # more is a hyperspectral cube (or a corrupt header): no model here reads one
MIN_GSD_M = 1e-3  # a millimetre: finer than any aerial image (a corrupted pixel scale of 1e-300 degenerated the footprint)
FOOTPRINT_PX = 1024  # longest side of the decimated mask used to trace the valid footprint

_BAND_SYNONYMS = {
    "red": "red", "r": "red", "b4": "red",
    "green": "green", "g": "green", "b3": "green",
    "blue": "blue", "b": "blue", "b2": "blue",
    "nir": "nir", "near-infrared": "nir", "near infrared": "nir", "nir1": "nir", "b8": "nir", "b5": "nir",
    "alpha": "alpha",
}
_COLORINTERP = {ColorInterp.red: "red", ColorInterp.green: "green", ColorInterp.blue: "blue", ColorInterp.alpha: "alpha"}


@dataclass(frozen=True)
class ImageInfo:
    """What detection needs to know about one raster; cheap to pickle (no open handles).

    A raw drone photo (:mod:`scout.frames`) has ``frame`` set: its footprint and reads come
    from its camera model, ``transform`` is only the north-up affine nearest it at its centre."""

    path: str
    crs_wkt: str
    transform: tuple[float, ...]
    width: int
    height: int
    count: int
    dtype: str
    band_names: tuple[str, ...]  # one per band; "" where unknown
    nodata: float | None
    has_alpha: bool
    gsd_m: float  # ground metres per pixel (geometric mean of x and y)
    size_bytes: int
    acquired: str  # ISO date when the file says, else ""
    frame: Frame | None = None

    @property
    def crs(self) -> CRS:
        return CRS.from_wkt(self.crs_wkt)

    @property
    def name(self) -> str:
        return Path(self.path).name


def guess_band_names(src: rasterio.DatasetReader) -> tuple[str, ...]:
    names = []
    for desc, ci in zip(src.descriptions, src.colorinterp):
        key = (desc or "").strip().lower()
        names.append(_BAND_SYNONYMS.get(key) or _COLORINTERP.get(ci, ""))
    if not any(names) and src.count == 4 and src.dtypes[0] == "uint16":
        names = ["blue", "green", "red", "nir"]  # the usual 4-band satellite order (PlanetScope, WorldView-MS)
    if len(names) >= 3 and not any(names[:3]) and src.dtypes[0] == "uint8":
        names[:3] = ["red", "green", "blue"]
    return tuple(names)


def _acquired(src: rasterio.DatasetReader) -> str:
    tags = src.tags()
    for key in ("ACQUISITIONDATETIME", "acquired", "ACQUISITION_DATE", "TIFFTAG_DATETIME", "DATETIME"):
        value = tags.get(key)
        if value:
            value = value.strip().replace(":", "-", 2) if key == "TIFFTAG_DATETIME" else value.strip()
            return value[:10]
    return ""


def ground_gsd_m(crs: CRS, transform: Affine, width: int, height: int) -> float:
    """Ground sampling distance in metres, correct for geographic CRSs too."""
    if crs.is_geographic:
        lon, lat = transform @ (width / 2, height / 2)
        dx = abs(transform.a) * 111_320.0 * math.cos(math.radians(lat))
        dy = abs(transform.e) * 110_574.0
    else:
        factor = crs.linear_units_factor[1] if crs.linear_units_factor else 1.0
        dx, dy = abs(transform.a) * factor, abs(transform.e) * factor
    return math.sqrt(dx * dy)


@contextlib.contextmanager
def _not_georeferenced_warning() -> Iterator[list[str]]:
    """Catch rasterio's NotGeoreferencedWarning raised in this thread; other warnings, and any
    raised in other threads meanwhile, are shown as ever.  The filters are global before Python
    3.14, so ``catch_warnings(record=True)`` records every thread's warnings: a reader thread
    left tracing in geometry_mask once made a georeferenced flight read as "no geotransform"."""
    me, caught = threading.get_ident(), []
    with warnings.catch_warnings():
        warnings.simplefilter("always", NotGeoreferencedWarning)
        show = warnings.showwarning

        def record(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: str | None = None) -> None:
            if issubclass(category, NotGeoreferencedWarning) and threading.get_ident() == me:
                caught.append(str(message))
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = record
        yield caught


def open_image(path: str | os.PathLike) -> ImageInfo:
    """Validate one raster for detection; raise ImageryError naming the file and the problem."""
    p = Path(path)
    if not p.exists():
        raise ImageryError(f"{p}: no such file")
    if p.is_dir():
        raise ImageryError(f"{p}: is a folder, not a raster")
    try:
        # GDAL finds no valid geotransform: rasterio warns, then passes on an identity matrix, or the
        # pixel size of a GeoTIFF without a tiepoint (found by fuzzing: such a flight sat at the CRS origin)
        with _not_georeferenced_warning() as warned:  # reported below, in one line
            src = rasterio.open(p)
        no_geotransform = bool(warned)
        with src:
            if src.width * src.height > MAX_PIXELS:
                raise ImageryError(f"{p}: declared size {src.width} x {src.height} x {src.count} is absurd; refused before reading")
            if src.count > MAX_BANDS:  # a hyperspectral cube, or a corrupt header
                raise ImageryError(f"{p}: has {src.count} bands, Scout reads at most {MAX_BANDS}; keep the bands the model needs "
                                   "(e.g. gdal_translate -b 3 -b 2 -b 1 in.tif out.tif)")
            t = src.transform
            if t.is_identity and src.gcps[0]:  # read as if pixel (0, 0) sat at the CRS origin, a metre a pixel
                raise ImageryError(f"{p}: georeferenced by ground control points only, not a map grid; warp it first (e.g. gdalwarp -t_srs EPSG:XXXX in.tif out.tif)")
            if src.crs is None:
                raise ImageryError(
                    f"{p}: raster has no CRS; georeference it first (e.g. gdal_translate -a_srs EPSG:XXXX -a_ullr ...)"
                )
            if not (src.crs.is_geographic or src.crs.is_projected):  # a local (engineering) or geocentric CRS
                raise ImageryError(f"{p}: its CRS is a local or geocentric system, not a map projection or latitude/longitude; "
                                   "georeference it in a map CRS first (e.g. gdalwarp -t_srs EPSG:XXXX in.tif out.tif)")
            if t.is_identity or no_geotransform:
                raise ImageryError(f"{p}: raster has no geotransform; georeference it first (e.g. gdal_translate -a_ullr ...)")
            bounds = (t.c, t.f, *(t @ (src.width, src.height)))
            if not all(math.isfinite(v) for v in (*t[:6], *bounds)) or t.determinant == 0 or max(map(abs, bounds)) > MAX_COORDINATE:
                raise ImageryError(f"{p}: geotransform {tuple(round(v, 6) for v in t[:6])} is not a usable georeference; the file may be corrupt")
            gsd_m = ground_gsd_m(src.crs, t, src.width, src.height)
            if not gsd_m >= MIN_GSD_M:  # NaN too
                raise ImageryError(f"{p}: pixel size {gsd_m:.3g} m is not a usable georeference (under {MIN_GSD_M * 1000:g} mm); the file may be corrupt")
            if src.transform.b != 0 or src.transform.d != 0:
                log.info("%s: rotated geotransform; it will be warped north-up", p.name)
            if src.dtypes[0] not in ("uint8", "uint16", "int16", "float32"):
                raise ImageryError(f"{p}: pixel type {src.dtypes[0]} is not supported (uint8, uint16, int16, float32)")
            size_bytes = p.stat().st_size
            end = tiff_data_end(src) if src.driver == "GTiff" else 0
            if end > size_bytes:
                raise ImageryError(f"{p}: file is cut short: its tiles run to byte {end:,} but it holds {size_bytes:,}; copy it again")
            names = guess_band_names(src)
            info = ImageInfo(
                path=str(p.resolve()),
                crs_wkt=src.crs.to_wkt(),
                transform=tuple(src.transform)[:6],
                width=src.width,
                height=src.height,
                count=src.count,
                dtype=src.dtypes[0],
                band_names=names,
                nodata=src.nodata,
                has_alpha=ColorInterp.alpha in src.colorinterp,
                gsd_m=gsd_m,
                size_bytes=size_bytes,
                acquired=_acquired(src),
            )
    except RasterioIOError as exc:
        raise ImageryError(f"{p}: not a readable raster ({first_line(exc)})") from None
    except GDAL_ERRORS as exc:
        raise ImageryError(f"{p}: cannot read raster ({first_line(exc)})") from None
    return info


def tiff_data_end(src: rasterio.DatasetReader) -> int:
    """The byte where a GeoTIFF's last tile, of any band or internal overview, ends.

    A file cut short (an interrupted copy) still opens when its directory comes first, as
    in a COG; without this its first missing tile would stop a campaign hours in.  Reads
    only the tile offset tables (milliseconds for a 20,000 px mosaic)."""
    levels = [src] if os.path.exists(f"{src.name}.ovr") else [src, *range(len(src.overviews(1)))]
    end = 0
    for level in levels:
        with contextlib.ExitStack() as stack:
            ds = level if level is src else stack.enter_context(rasterio.open(src.name, overview_level=level))
            (bh, bw), bands = ds.block_shapes[0], (range(1, ds.count + 1) if ds.interleaving == Interleaving.band else [1])
            for band in bands:
                for row in range(-(-ds.height // bh)):
                    for col in range(-(-ds.width // bw)):
                        offset = ds.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=band)
                        if offset and int(offset) > 0:  # 0: a sparse tile, never written
                            end = max(end, int(offset) + int(ds.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=band) or 0))
    return end


def band_indexes(info: ImageInfo, model_bands: tuple[str, ...], override: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """1-based band numbers of ``info`` feeding the model's bands, in model order."""
    if override:
        if len(override) != len(model_bands):
            raise ImageryError(f"{info.path}: --bands gives {len(override)} bands, the model needs {len(model_bands)} ({', '.join(model_bands)})")
        bad = [b for b in override if not 1 <= b <= info.count]
        if bad:
            raise ImageryError(f"{info.path}: --bands {bad} out of range; the image has {info.count} bands")
        return tuple(override)
    found = []
    for band in model_bands:
        if band not in info.band_names:
            have = ", ".join(n or "?" for n in info.band_names)
            raise ImageryError(
                f"{info.path}: the model needs band '{band}' but the image has [{have}]; "
                f"name the bands with --bands (image band numbers in the order {','.join(model_bands)})"
            )
        found.append(info.band_names.index(band) + 1)
    return tuple(found)


def working_crs(info: ImageInfo) -> CRS:
    """A metric CRS for the run: the image's own when it is projected in metres, else its UTM zone.

    Web Mercator is metric in name only (scale grows with latitude), so it is replaced too.
    """
    crs = info.crs
    if crs.is_projected and (crs.linear_units_factor or ("", 0))[1] == 1.0 and "mercator" not in crs.to_wkt().lower():
        return crs
    lon, lat = _centre_lonlat(info)
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + min(max(zone, 1), 60))


def _centre_lonlat(info: ImageInfo) -> tuple[float, float]:
    centre = shapely.geometry.mapping(shapely.Point(Affine(*info.transform) @ (info.width / 2, info.height / 2)))
    geom = transform_geom(info.crs, "EPSG:4326", centre)
    return tuple(geom["coordinates"])


def footprint(info: ImageInfo, crs: CRS) -> shapely.Geometry:
    """Polygon of valid pixels in ``crs``, traced on a decimated mask (cheap, slightly generous);
    a photo's is the ground its camera model sees."""
    if info.frame is not None:
        fp = info.frame.footprint
        return fp if crs == info.crs else shape(transform_geom(info.crs, crs, shapely.geometry.mapping(fp)))
    scale = max(info.width, info.height) / FOOTPRINT_PX
    try:
        with rasterio.open(info.path) as src:
            if scale > 1:
                shape_ = (max(1, round(info.height / scale)), max(1, round(info.width / scale)))
                mask = _decimated_mask(src, shape_, info.name)
                transform = src.transform @ Affine.scale(info.width / shape_[1], info.height / shape_[0])
            else:
                mask = src.dataset_mask()
                transform = src.transform
    except GDAL_ERRORS as exc:  # the mask of an image with alpha or nodata reads its pixels
        raise ImageryError(f"{info.path}: read failed while tracing its footprint ({first_line(exc)}); the file may be truncated or corrupt") from None
    polys = [shape(g) for g, v in shapes(mask, mask=mask > 0, transform=transform) if v > 0]
    if not polys:
        return shapely.Polygon()
    fp = shapely.union_all(polys)
    # one decimated pixel of slack, so edge pixels are never cut off
    fp = fp.buffer(abs(transform.a) * 1.5, join_style="mitre")
    return shape(transform_geom(info.crs, crs, shapely.geometry.mapping(fp)))


def _decimated_mask(src: rasterio.DatasetReader, shape_: tuple[int, int], name: str) -> np.ndarray:
    """The dataset mask at ``shape_`` (rows, cols), read in strips of whole tiles that GDAL's block
    cache holds.  Read at once, a row of tiles bigger than the cache is decoded again for every
    decimated row crossing it: a 50,000 px GeoTIFF in 4,096 px tiles (48 MB each) took 50 s under
    Scout's 64 MB cache, 1.5 s in strips."""
    rows, cols = shape_
    block = src.block_shapes[0]
    tile_bytes = block[0] * block[1] * (src.count * np.dtype(src.dtypes[0]).itemsize + 1)  # every band's block and the mask's
    strips = mask_strips(src.width, block, tile_bytes, gdal_cache_bytes())
    mask = np.zeros(shape_, np.uint8)
    for col0, col1 in track(strips, total=len(strips), desc=f"footprint of {name}", unit="strip") if len(strips) > 1 else strips:
        out0, out1 = round(col0 * cols / src.width), round(col1 * cols / src.width)
        if out1 > out0:  # a strip narrower than a decimated pixel has none of its own
            window = Window(col0, 0, col1 - col0, src.height)
            mask[:, out0:out1] = src.dataset_mask(window=window, out_shape=(rows, out1 - out0), resampling=Resampling.nearest)
    return mask


def mask_strips(width: int, block_shape: tuple[int, int], tile_bytes: int, cache_bytes: int) -> list[tuple[int, int]]:
    """Column ranges (pixels) of full-height strips, each a whole number of tiles, whose row of
    tiles (``tile_bytes`` each, all bands) fits half of ``cache_bytes``: at least one tile wide."""
    tiles = max(1, cache_bytes // 2 // max(1, tile_bytes))
    step = tiles * block_shape[1]
    return [(col, min(width, col + step)) for col in range(0, width, step)]


def gdal_cache_bytes() -> int:
    """GDAL's block cache size from ``GDAL_CACHEMAX`` (MB under 100,000, else bytes, or a % of
    memory), as GDAL reads it; Scout sets 64 MB unless the user set it."""
    value = os.environ.get("GDAL_CACHEMAX", "64").strip()
    try:
        if value.endswith("%"):
            return int(float(value[:-1]) / 100 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        number = float(value)
    except (ValueError, OSError, AttributeError):  # a form GDAL reads and this does not ("1GB"): take Scout's default
        return 64 << 20
    return int(number * (1 << 20) if number < 100_000 else number)


@dataclass(frozen=True)
class Grid:
    """The working grid: north-up, ``gsd_m`` pixels in a metric CRS; pixel (0, 0) at top-left."""

    crs_wkt: str
    transform: tuple[float, ...]
    width: int
    height: int

    @property
    def affine(self) -> Affine:
        return Affine(*self.transform)

    @property
    def crs(self) -> CRS:
        return CRS.from_wkt(self.crs_wkt)


def sample_pixels(info: ImageInfo, indexes: Sequence[int], per_side: int = 3, size: int = 256) -> np.ndarray:
    """Valid values (bands, n) from ``per_side``² small windows spread over the image: a cheap
    look at its radiometry (nine block reads, whatever the image size)."""
    found = []
    try:
        with rasterio.open(info.path) as src:
            w, h = min(size, src.width), min(size, src.height)
            for fy in (np.arange(per_side) + 0.5) / per_side:
                for fx in (np.arange(per_side) + 0.5) / per_side:
                    win = Window(int(fx * (src.width - w)), int(fy * (src.height - h)), w, h)
                    found.append(src.read(list(indexes), window=win)[:, src.dataset_mask(window=win) > 0])
    except GDAL_ERRORS as exc:
        raise ImageryError(f"{info.path}: read failed ({first_line(exc)}); the file may be truncated or corrupt") from None
    return np.concatenate(found, axis=1)


def read_block(
    info: ImageInfo,
    indexes: tuple[int, ...],
    grid: Grid,
    window: Window,
    resampling: Resampling | None = None,
    gsd_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read ``window`` of the working grid from one image: (bands (B, h, w) in the image's dtype, valid bool (h, w)).

    Downsampling averages (anti-aliased), upsampling is bilinear.  Pixels outside the
    image, under nodata or alpha 0 are invalid; a photo reads through its own warp
    (:func:`scout.frames.warp.read_frame`).
    """
    if info.frame is not None:
        from scout.frames.warp import read_frame

        return read_frame(info.frame, indexes, grid, window, gsd_m or abs(grid.affine.a))
    if resampling is None:
        resampling = Resampling.average if gsd_m is None or info.gsd_m < gsd_m else Resampling.bilinear
    try:
        with rasterio.open(info.path) as src:
            if _needs_warp(src, grid):
                with WarpedVRT(
                    src,
                    crs=grid.crs,
                    transform=grid.affine,
                    width=grid.width,
                    height=grid.height,
                    resampling=resampling,
                    add_alpha=not info.has_alpha,
                ) as vrt:
                    data = vrt.read(indexes, window=window)
                    valid = vrt.dataset_mask(window=window) > 0
            else:
                data, valid = _read_resampled(src, indexes, grid, window, resampling)
    except GDAL_ERRORS as exc:
        if not os.path.exists(info.path):  # e.g. a cluster worker that does not see the planner's disk
            raise ImageryError(f"{info.path}: not found on {platform.node()}; every worker reads the imagery itself, from this same path") from None
        raise ImageryError(f"{info.path}: read failed at window {window} ({first_line(exc)}); the file may be truncated or corrupt") from None
    return data, valid


def _needs_warp(src: rasterio.DatasetReader, grid: Grid) -> bool:
    """False when the image is north-up in the grid's CRS: a resampled read then gives the
    grid's pixels without GDAL's warper (a third of the CPU time on a drone orthomosaic)."""
    t = src.transform
    return not (t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0 and src.crs == grid.crs)


def _read_resampled(src: rasterio.DatasetReader, indexes: tuple[int, ...], grid: Grid, window: Window, resampling: Resampling) -> tuple[np.ndarray, np.ndarray]:
    """``window`` of the grid read straight from ``src`` (same CRS, north-up): the source window
    over the same ground, resampled to the grid's pixel count; outside the image is invalid.

    A window inside the image is read plainly, and an image without nodata, alpha or mask is
    all valid there: rasterio's boundless read goes through a VRT that costs a third more CPU."""
    h, w = int(window.height), int(window.width)
    left, top = grid.affine @ (window.col_off, window.row_off)
    right, bottom = grid.affine @ (window.col_off + w, window.row_off + h)
    src_window = from_bounds(left, bottom, right, top, transform=src.transform)
    inside = (
        src_window.col_off >= 0 and src_window.row_off >= 0
        and src_window.col_off + src_window.width <= src.width and src_window.row_off + src_window.height <= src.height
    )
    data = src.read(indexes, window=src_window, out_shape=(len(indexes), h, w), resampling=resampling, boundless=not inside, fill_value=0)
    if inside and all(flags == [MaskFlags.all_valid] for flags in src.mask_flag_enums):
        return data, np.ones((h, w), bool)
    valid = src.dataset_mask(window=src_window, out_shape=(h, w), boundless=not inside) > 0
    return data, valid
