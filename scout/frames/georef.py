"""Place a photo on the ground from its metadata: lens, height, attitude -> footprint and homography.

:func:`place_frame` is the one entry: it resolves the lens (:func:`lens`), the height above
ground (``--agl``, a DEM, or the photo's XMP), checks that the metadata is sane and the camera
near nadir, and returns a :class:`Frame` whose ``status`` is ``"used"`` or ``"skipped: reason"``.
Positions are in a metric CRS (the flight's UTM zone, :func:`flight_crs`).  How far off a
placed point may be is :class:`ErrorBudget`'s job (the model is stated in the README).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

from scout.frames import geometry as g
from scout.frames.cameras import lookup
from scout.frames.metadata import RTK_FIXED, RTK_FLOAT, FrameMeta

Terrain = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Ground height above sea level (m) at points (x, y) of the working CRS; NaN where unknown."""

FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)
USED = "used"


@dataclass(frozen=True)
class FrameSettings:
    """How photos are placed.  ``agl_m``: height above ground for every photo (``--agl``,
    overrides the XMP); ``max_off_nadir_deg``: steeper views are skipped; heights outside
    ``min_agl_m``..``max_agl_m`` are absurd; ``aircraft_mount_deg``: how a fixed camera is turned
    under an aircraft (0: the photo's top edge points forward, as on senseFly's)."""

    agl_m: float | None = None
    max_off_nadir_deg: float = 15.0
    min_agl_m: float = 2.0
    max_agl_m: float = 1500.0
    aircraft_mount_deg: int = 0


@dataclass(frozen=True)
class Lens:
    focal_px: float  # focal length in pixels of the stored photo
    source: str  # where it came from, for the record


@dataclass(frozen=True)
class ErrorBudget:
    """One-sigma errors of what places a photo: GNSS horizontal position (m, radial RMS), height
    above ground (m), camera tilt and yaw (degrees)."""

    gnss_m: float
    agl_m: float
    tilt_deg: float
    yaw_deg: float

    def position_error_m(self, agl_m: float, offset_m: float | np.ndarray, view_deg: float | np.ndarray = 0.0) -> np.ndarray:
        """2DRMS (about 95%) horizontal error, in metres, of a ground point ``offset_m`` from the
        point under the camera and seen ``view_deg`` from straight down: GNSS, tilt (moves the
        point by agl·δ/cos²), yaw (turns it about the nadir point: offset·δ) and height (scales
        the offset: offset·δh/agl), independent, added in quadrature."""
        cos2 = np.cos(np.radians(view_deg)) ** 2
        tilt = agl_m * math.radians(self.tilt_deg) / cos2
        yaw = np.asarray(offset_m) * math.radians(self.yaw_deg)
        height = np.asarray(offset_m) * self.agl_m / agl_m
        return 2.0 * np.sqrt(self.gnss_m**2 + tilt**2 + yaw**2 + height**2)


def error_budget(meta: FrameMeta, agl_source: str) -> ErrorBudget:
    """The error budget of a photo, from its positioning (RTK or not), height source and attitude.

    GNSS: RTK fixed 0.05 m (or DJI's own RtkStdLon/Lat), RTK float 0.5 m, plain GNSS 2.5 m on
    a multirotor and 5 m on a fixed wing (it moves 10-15 m/s while its shutter and log lag).
    Height: the XMP's barometric height 1 m (0.3 m with RTK), ``--agl`` 2 m, GPS altitude minus
    a DEM 3 m.  Attitude: a stabilised gimbal 0.5° tilt and 2° yaw (compass); a fixed wing's
    IMU 3° and 5°.  The plain-GNSS and fixed-wing values are set so that the stated error
    covers what two real flights' overlapping photos disagree by (README).  Terrain away from
    flat ground at the take-off height is not in it (README)."""
    rtk = meta.rtk_flag in (RTK_FIXED, RTK_FLOAT)
    if meta.rtk_flag == RTK_FIXED:
        gnss = meta.rtk_std_m if meta.rtk_std_m and 0 < meta.rtk_std_m < 0.5 else 0.05
    elif meta.rtk_flag == RTK_FLOAT:
        gnss = 0.5
    else:
        gnss = 2.5 if meta.attitude == "gimbal" else 5.0
    height = {"--agl": 2.0, "--dem": 3.0}.get(agl_source, 0.3 if rtk else 1.0)
    tilt, yaw = (0.5, 2.0) if meta.attitude == "gimbal" else (3.0, 5.0)
    return ErrorBudget(gnss, height, tilt, yaw)


@dataclass(frozen=True)
class Frame:
    """A photo placed on the ground, or the reason it is not (``status``); cheap to pickle.

    ``pixel_to_ground``: 3x3 homography (row-major) from stored pixels to (x, y) of ``crs_wkt``;
    ``footprint_wkb``: the ground it shows, in that CRS (empty when it cannot be placed);
    ``nadir_xy``: the point under the camera; ``gsd_m``: ground metres per pixel at the photo's
    centre; angles as :class:`FrameMeta` gives them, ``off_nadir_deg`` from the camera model."""

    meta: FrameMeta
    status: str
    crs_wkt: str
    footprint_wkb: bytes
    pixel_to_ground: tuple[float, ...] = ()
    nadir_xy: tuple[float, float] = (math.nan, math.nan)
    agl_m: float = math.nan
    agl_source: str = ""
    lens: Lens | None = None
    off_nadir_deg: float = math.nan
    gsd_m: float = math.nan
    errors: ErrorBudget | None = None
    notes: tuple[str, ...] = field(default=())
    cell_wkb: bytes = b""  # the ground it is read for, among overlapping photos (:func:`owned_cell`); empty: all its footprint

    @property
    def used(self) -> bool:
        return self.status == USED

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def footprint(self) -> shapely.Geometry:
        return shapely.from_wkb(self.footprint_wkb)

    @property
    def cell(self) -> shapely.Geometry:
        """The ground this photo is read for (its footprint when no other photo overlaps it)."""
        return shapely.from_wkb(self.cell_wkb) if self.cell_wkb else self.footprint

    @property
    def homography(self) -> np.ndarray:
        """Stored pixels -> working CRS (x, y)."""
        return np.array(self.pixel_to_ground, dtype=float).reshape(3, 3)

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Points (n, 2) of the working CRS -> stored pixel (column, row)."""
        return g.apply(np.linalg.inv(self.homography), xy)

    @property
    def stamp(self) -> str:
        """What a block read from this photo depends on beyond the file: its placement and its cell."""
        return hashlib.sha256(repr(self.pixel_to_ground).encode() + self.cell_wkb).hexdigest()[:16]

    def view_tan(self, xy: np.ndarray) -> np.ndarray:
        """tan of the angle from straight down at which the camera sees ground points (n, 2)."""
        return np.hypot(*(np.asarray(xy, float).reshape(-1, 2) - self.nadir_xy).T) / self.agl_m

    def position_error_m(self, xy: np.ndarray) -> np.ndarray:
        """2DRMS horizontal error (m) of ground points (n, 2) placed from this photo."""
        assert self.errors is not None
        offset = np.hypot(*(np.asarray(xy, float).reshape(-1, 2) - self.nadir_xy).T)
        view = np.degrees(np.arctan2(offset, self.agl_m))
        return self.errors.position_error_m(self.agl_m, offset, view)


def lens(meta: FrameMeta) -> Lens | None:
    """The focal length in pixels, from the EXIF focal length and focal-plane resolution, else
    the camera table, else the 35 mm equivalent focal length; None when nothing says.

    The focal-plane resolution refers to the EXIF PixelXDimension, which a resized copy often
    keeps (senseFly's 3,600 px photos say 4,000): it is scaled to the stored width.  A 35 mm
    equivalent is taken on the diagonal, of the photo or, for a photo wider than 3:2 (16:9 cut
    from a 4:3 sensor), of the 4:3 sensor it was cut from."""
    long_px, short_px = max(meta.width, meta.height), min(meta.width, meta.height)
    if meta.focal_mm and meta.focal_plane_px_per_mm:
        ref_width = meta.exif_width or meta.width
        sensor_mm = ref_width / meta.focal_plane_px_per_mm
        if 1.0 <= sensor_mm <= 60.0:  # some cameras write nonsense here
            return Lens(meta.focal_mm * meta.focal_plane_px_per_mm * meta.width / ref_width, "EXIF focal length and focal-plane resolution")
    camera = lookup(meta.make, meta.model)
    focal_mm = meta.focal_mm or (camera.focal_mm if camera else None)
    if camera and focal_mm:
        return Lens(focal_mm / camera.sensor_width_mm * long_px, f"camera table ({camera.name}, {camera.sensor_width_mm} mm sensor)")
    if meta.focal_35mm:
        ratio = short_px / long_px if short_px / long_px >= 0.66 else 0.75
        return Lens(meta.focal_35mm / FULL_FRAME_DIAGONAL_MM * long_px * math.hypot(1, ratio), "35 mm equivalent focal length")
    return None


def flight_crs(metas: Sequence[FrameMeta]) -> CRS:
    """The UTM zone of the flight (of its first photo with a position)."""
    for m in metas:
        if m.lon is not None and m.lat is not None and abs(m.lat) <= 84 and abs(m.lon) <= 180:
            zone = min(max(int((m.lon + 180) // 6) + 1, 1), 60)
            return CRS.from_epsg((32600 if m.lat >= 0 else 32700) + zone)
    return CRS.from_epsg(3857)


_GEOD = Geod(ellps="WGS84")


def true_north_bearing(to_crs: Transformer, lon: float, lat: float) -> float:
    """Grid bearing (degrees clockwise from grid north) of true north at a point: yaws from true
    north are turned by it onto the map grid (1-3° near a UTM zone's edge)."""
    lon2, lat2, _ = _GEOD.fwd(lon, lat, 0.0, 100.0)
    (x1, x2), (y1, y2) = to_crs.transform([lon, lon2], [lat, lat2])
    return math.degrees(math.atan2(x2 - x1, y2 - y1))


def place_frame(meta: FrameMeta, crs: CRS, settings: FrameSettings | None = None, terrain: Terrain | None = None) -> Frame:
    """Place one photo on the ground in ``crs`` (metric), or say why it cannot be.

    ``terrain`` (a DEM): the camera's height above ground is its GPS altitude minus the ground,
    and the ground under the photo is the plane that best fits the DEM there (a homography
    still maps a sloping plane exactly)."""
    settings = settings or FrameSettings()
    crs_wkt = crs.to_wkt()
    empty = shapely.to_wkb(shapely.Polygon())

    def skipped(reason: str, **kwargs: object) -> Frame:
        return Frame(meta, f"skipped: {reason}", crs_wkt, kwargs.pop("footprint_wkb", empty), **kwargs)  # type: ignore[arg-type]  # kwargs are Frame's own fields, typed object here

    if meta.lat is None or meta.lon is None:
        return skipped("no GPS position")
    if not (abs(meta.lat) <= 90 and abs(meta.lon) <= 180):
        return skipped(f"GPS position {meta.lat:g}, {meta.lon:g} is not on Earth")
    found = lens(meta)
    if found is None:
        return skipped(f"no lens information (focal length with focal-plane resolution, 35 mm equivalent, or a known camera: {meta.camera})")
    if not meta.attitude or meta.yaw_deg is None or meta.pitch_deg is None:
        return skipped("no camera attitude (DJI gimbal or aircraft angles in XMP)")
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    nadir = to_crs.transform(meta.lon, meta.lat)
    yaw = meta.yaw_deg + true_north_bearing(to_crs, meta.lon, meta.lat)
    mount = settings.aircraft_mount_deg
    rotation = g.camera_rotation(yaw, meta.pitch_deg, meta.roll_deg or 0.0, meta.attitude, mount)
    off_nadir = g.off_nadir_deg(rotation)
    if off_nadir >= 90:
        return skipped(f"camera pitch {meta.pitch_deg:+.1f}° looks above the horizon", off_nadir_deg=off_nadir)

    agl, agl_source = _height(meta, settings, terrain, nadir)
    if agl is None:
        why = "no GPS altitude, or no DEM height under it" if agl_source == "--dem" else "no XMP height; give --agl METRES or --dem DEM.tif"
        return skipped(f"no height above ground ({why})", off_nadir_deg=off_nadir)
    upright_w, upright_h = g.upright_size(meta.orientation, meta.width, meta.height)
    k = g.intrinsics(found.focal_px, upright_w, upright_h)
    stored_to_upright = g.orientation_matrix(meta.orientation, meta.width, meta.height)

    def homography(agl_m: float, slope_: tuple[float, float]) -> np.ndarray:
        to_pixel = g.ground_to_pixel(k, rotation, agl_m, slope_)
        return g.translate(*nadir) @ np.linalg.inv(to_pixel) @ stored_to_upright

    slope = (0.0, 0.0)
    if terrain is not None:
        agl, slope = _fit_terrain(meta, terrain, homography, agl, nadir)
    common = dict(nadir_xy=(float(nadir[0]), float(nadir[1])), agl_m=float(agl), agl_source=agl_source, lens=found, off_nadir_deg=off_nadir)
    if not settings.min_agl_m <= agl <= settings.max_agl_m:
        return skipped(f"height above ground {agl:.1f} m is absurd (under {settings.min_agl_m:g} or over {settings.max_agl_m:,g} m)", **common)
    h = homography(agl, slope)
    upright_border = g.border(upright_w, upright_h)
    to_stored = np.linalg.inv(stored_to_upright)
    if off_nadir > settings.max_off_nadir_deg:
        visible = g.below_horizon(rotation, k, upright_border)
        fp = g.ground_polygon(h, g.apply(to_stored, visible)) if len(visible) else shapely.Polygon()
        return skipped(f"{off_nadir:.0f}° off nadir (limit {settings.max_off_nadir_deg:g}°)", footprint_wkb=shapely.to_wkb(fp), **common)
    centre = g.apply(to_stored, [[upright_w / 2, upright_h / 2]])[0]
    return Frame(
        meta, USED, crs_wkt, shapely.to_wkb(g.ground_polygon(h, g.apply(to_stored, upright_border))),
        pixel_to_ground=tuple(float(v) for v in (h / h[2, 2]).ravel()),
        gsd_m=g.pixel_scale_m(h, *centre), errors=error_budget(meta, agl_source), **common,  # type: ignore[arg-type]  # common holds Frame's own fields, typed object
    )


def _height(meta: FrameMeta, settings: FrameSettings, terrain: Terrain | None, nadir: tuple[float, float]) -> tuple[float | None, str]:
    """Height above the ground under the camera (m), and where it came from."""
    if settings.agl_m is not None:
        return settings.agl_m, "--agl"
    if terrain is not None:
        if meta.altitude_m is None:
            return None, "--dem"
        ground = float(terrain(np.array([nadir[0]]), np.array([nadir[1]]))[0])
        return (meta.altitude_m - ground if math.isfinite(ground) else None), "--dem"
    return meta.agl_m, meta.agl_tag


def _fit_terrain(meta: FrameMeta, terrain: Terrain, homography: Callable[[float, tuple[float, float]], np.ndarray], agl: float,
                 nadir: tuple[float, float]) -> tuple[float, tuple[float, float]]:
    """Height above the DEM's plane and its slope under the photo: the footprint found on the
    previous plane is sampled (7 x 7 points) and a plane fitted, twice."""
    slope = (0.0, 0.0)
    assert meta.altitude_m is not None
    for _ in range(2):
        s = (np.arange(7) + 0.5) / 7
        cols, rows = np.meshgrid(s * meta.width, s * meta.height)
        xy = g.apply(homography(agl, slope), np.column_stack([cols.ravel(), rows.ravel()]))
        z = terrain(xy[:, 0], xy[:, 1])
        ok = np.isfinite(z)
        if ok.sum() < 3:
            break
        a = np.column_stack([xy[ok, 0] - nadir[0], xy[ok, 1] - nadir[1], np.ones(ok.sum())])
        (sx, sy, z0), *_ = np.linalg.lstsq(a, z[ok], rcond=None)
        agl, slope = meta.altitude_m - float(z0), (float(sx), float(sy))
    return agl, slope


def dem_terrain(path: str | os.PathLike, crs: CRS, bounds: tuple[float, float, float, float]) -> Terrain:
    """A DEM (a raster of heights above sea level, metres) as a :data:`Terrain` in ``crs``, read
    once over ``bounds`` (x0, y0, x1, y1 in ``crs``: the flight and a margin) and sampled bilinearly."""
    import rasterio
    from rasterio.errors import WindowError
    from rasterio.windows import Window, from_bounds
    from scipy.ndimage import map_coordinates

    from scout.errors import ImageryError, first_line
    from scout.imagery import GDAL_ERRORS

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise ImageryError(f"{path}: DEM has no CRS; georeference it first")
            to_dem = Transformer.from_crs(crs, src.crs, always_xy=True)
            xs, ys = to_dem.transform([bounds[0], bounds[2], bounds[0], bounds[2]], [bounds[1], bounds[1], bounds[3], bounds[3]])
            window = from_bounds(min(xs), min(ys), max(xs), max(ys), src.transform).round_offsets().round_lengths()
            try:
                window = window.intersection(Window(0, 0, src.width, src.height))
            except WindowError:
                raise ImageryError(f"{path}: DEM does not cover the flight") from None
            band = src.read(1, window=window, masked=True, boundless=False).astype("float64").filled(np.nan)
            inverse = ~src.window_transform(window)
    except GDAL_ERRORS as exc:
        raise ImageryError(f"{path}: not a readable DEM ({first_line(exc)})") from None

    def heights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = to_dem.transform(np.asarray(x, float), np.asarray(y, float))
        col, row = inverse * (np.asarray(dx), np.asarray(dy))
        return map_coordinates(band, [np.asarray(row) - 0.5, np.asarray(col) - 0.5], order=1, mode="constant", cval=np.nan)

    return heights


def owned_cell(frame: Frame, rivals: Sequence[Frame]) -> shapely.Geometry:
    """The ground ``frame`` is read for, among the overlapping photos ``rivals``: the points it
    sees more nearly straight down than every other photo that shows them (least lean of trees
    and relief; the same plot in several photos is then read, and found, once).  Against each
    rival the points it sees better form a half-plane (the same height above ground: nearer its
    nadir point) or a disk (another height: tan = distance / height, a 256-gon), given up where
    the rival's footprint covers them; so the photos' cells tile the flight.  Reads rasterize
    the cell (a test per pixel and rival cost more than the warp)."""
    fp = frame.footprint
    me, h = np.asarray(frame.nadir_xy), frame.agl_m
    reach = 4 * max(fp.bounds[2] - fp.bounds[0], fp.bounds[3] - fp.bounds[1]) + 1.0
    cell = fp
    for r in rivals:
        other, k = np.asarray(r.nadir_xy), r.agl_m / h
        if abs(k - 1) < 1e-6:  # points nearer the rival's nadir point: a half-plane, as a large box beyond the bisector
            mid, d = (me + other) / 2, other - me
            if not np.hypot(*d):
                continue
            u = d / np.hypot(*d)
            v = np.array([-u[1], u[0]])
            theirs = shapely.Polygon([mid + reach * v, mid + reach * v + reach * u, mid - reach * v + reach * u, mid - reach * v])
        else:  # |p - rival| < k |p - me|: the Apollonius circle's inside (k < 1) or outside (k > 1)
            centre = (other - k * k * me) / (1 - k * k)
            radius = k * np.hypot(*(other - me)) / abs(1 - k * k)
            disk = shapely.Point(centre).buffer(radius, 64)  # 256 sides: within 0.008% of the radius
            theirs = disk if k < 1 else shapely.box(*fp.buffer(reach).bounds).difference(disk)
        cell = cell.difference(theirs.intersection(r.footprint))
    return cell


def with_cells(frames: Sequence[Frame]) -> list[Frame]:
    """``frames`` with each used one that overlaps others knowing its cell (:func:`owned_cell`)."""
    used = [k for k, f in enumerate(frames) if f.used]
    if not used:
        return list(frames)
    footprints = [frames[k].footprint for k in used]
    left, right = shapely.STRtree(footprints).query(footprints, predicate="intersects")
    neighbours: dict[int, list[int]] = {}
    for i, j in zip(left, right):
        if i != j:
            neighbours.setdefault(used[int(i)], []).append(used[int(j)])
    out = list(frames)
    for k, near in neighbours.items():
        others = [frames[j] for j in near]
        out[k] = dataclasses.replace(frames[k], cell_wkb=shapely.to_wkb(owned_cell(frames[k], others)))
    return out
