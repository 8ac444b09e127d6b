"""Synthetic raw drone photos: a survey flight over any north-up GeoTIFF (a synthetic scene).

Each photo is what a pinhole camera at the pose would see of the ground raster (through the
same homography :mod:`scout.frames` places photos with, so a placement error is Scout's, not
the renderer's), saved as a JPEG with the EXIF and DJI XMP a DJI drone writes: GPS, focal
length and focal-plane resolution, ``drone-dji:RelativeAltitude`` and gimbal angles.  For
end-to-end tests of ``scout detect`` on photos, and the frames benchmark.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from PIL import ExifTags, Image
from pyproj import Transformer
from rasterio.windows import from_bounds

from scout.frames import geometry as g
from scout.frames.georef import true_north_bearing
from scout.frames.warp import warp_to_grid
from scout.io import atomic_path


@dataclass(frozen=True)
class SynthCamera:
    """A camera for synthetic photos: size in pixels and focal length in pixels."""

    width: int = 400
    height: int = 300
    focal_px: float = 400.0
    model: str = "Scout synthetic"


@dataclass(frozen=True)
class Pose:
    """Where a photo is taken: x, y in the raster's CRS (m), height above ground (m), gimbal
    yaw (degrees from grid north; the photo's top edge points there) and pitch (-90: nadir)."""

    x: float
    y: float
    agl_m: float
    yaw_deg: float
    pitch_deg: float = -90.0


def lawnmower(bounds: tuple[float, float, float, float], agl_m: float, camera: SynthCamera, overlap: tuple[float, float] = (0.7, 0.6)) -> list[Pose]:
    """Poses of a survey over ``bounds`` (x0, y0, x1, y1): strips running north then south, the
    photo's top edge along the flight, ``overlap`` (forward, side) shares of the footprint."""
    x0, y0, x1, y1 = bounds
    across, along = agl_m * camera.width / camera.focal_px, agl_m * camera.height / camera.focal_px
    step_along, step_across = along * (1 - overlap[0]), across * (1 - overlap[1])
    n_strips = max(1, math.ceil((x1 - x0 - across) / step_across) + 1)
    n_photos = max(1, math.ceil((y1 - y0 - along) / step_along) + 1)
    poses = []
    for s in range(n_strips):
        x = x0 + across / 2 + s * step_across
        ys = [y0 + along / 2 + k * step_along for k in range(n_photos)]
        north = s % 2 == 0
        poses += [Pose(x, y, agl_m, 0.0 if north else 180.0) for y in (ys if north else ys[::-1])]
    return poses


def render_photo(ground: np.ndarray, ground_transform: Affine, pose: Pose, camera: SynthCamera) -> np.ndarray:
    """(bands, height, width) photo of ``ground`` (bands, h, w) at ``pose``; 0 off the raster."""
    k = g.intrinsics(camera.focal_px, camera.width, camera.height)
    r = g.camera_rotation(pose.yaw_deg, pose.pitch_deg, 0.0, "gimbal")
    to_ground = g.translate(pose.x, pose.y) @ np.linalg.inv(g.ground_to_pixel(k, r, pose.agl_m))
    cols, rows = np.meshgrid(np.arange(camera.width) + 0.5, np.arange(camera.height) + 0.5)
    xy = g.apply(to_ground, np.column_stack([cols.ravel(), rows.ravel()]))
    inverse = ~ground_transform
    to_raster = np.array([[inverse.a, inverse.b, inverse.c], [inverse.d, inverse.e, inverse.f], [0, 0, 1.0]])
    photo, _ = warp_to_grid(ground, to_raster, xy, (camera.height, camera.width))
    return photo


def _rational(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return (float(d), float(m), round(((value - d) * 60 - m) * 60, 4))


def photo_tags(lon: float, lat: float, pose: Pose, camera: SynthCamera, taken: dt.datetime, ground_altitude_m: float = 0.0) -> tuple[Image.Exif, bytes]:
    """The EXIF and DJI XMP of a synthetic photo."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "DJI"
    exif[ExifTags.Base.Model] = camera.model
    exif[ExifTags.Base.Orientation] = 1
    focal_mm = 4.0
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.FocalLength: focal_mm,
        ExifTags.Base.FocalPlaneXResolution: camera.focal_px / focal_mm * 10,  # per centimetre
        ExifTags.Base.FocalPlaneYResolution: camera.focal_px / focal_mm * 10,
        ExifTags.Base.FocalPlaneResolutionUnit: 3,
        ExifTags.Base.ExifImageWidth: camera.width,
        ExifTags.Base.ExifImageHeight: camera.height,
        ExifTags.Base.DateTimeOriginal: taken.strftime("%Y:%m:%d %H:%M:%S"),
    }
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S", ExifTags.GPS.GPSLatitude: _rational(abs(lat)),
        ExifTags.GPS.GPSLongitudeRef: "E" if lon >= 0 else "W", ExifTags.GPS.GPSLongitude: _rational(abs(lon)),
        ExifTags.GPS.GPSAltitudeRef: 0, ExifTags.GPS.GPSAltitude: round(ground_altitude_m + pose.agl_m, 2),
    }
    yaw = (pose.yaw_deg + 180) % 360 - 180
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="DJI Meta Data" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
        f'drone-dji:AbsoluteAltitude="{ground_altitude_m + pose.agl_m:+.2f}" drone-dji:RelativeAltitude="{pose.agl_m:+.2f}" '
        f'drone-dji:GimbalRollDegree="+0.00" drone-dji:GimbalYawDegree="{yaw:+.2f}" drone-dji:GimbalPitchDegree="{pose.pitch_deg:+.2f}" '
        f'drone-dji:FlightRollDegree="+0.00" drone-dji:FlightYawDegree="{yaw:+.2f}" drone-dji:FlightPitchDegree="+0.00"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    return exif, xmp.encode()


def render_flight(
    ground_path: str | Path, out_dir: str | Path, agl_m: float, camera: SynthCamera | None = None, poses: Sequence[Pose] | None = None,
    overlap: tuple[float, float] = (0.7, 0.6), quality: int = 92,
) -> list[Path]:
    """Photos of a survey flight over a north-up RGB GeoTIFF (``poses`` default: a lawnmower
    over the raster at ``agl_m``), written as DJI-style JPEGs ``DJI_0001.JPG``... into
    ``out_dir``.  Only the ground under each photo is read (a large mosaic is never held whole)."""
    camera = camera or SynthCamera()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with rasterio.open(ground_path) as src:
        crs = src.crs
        poses = list(poses) if poses is not None else lawnmower(tuple(src.bounds), agl_m, camera, overlap)
        to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        start = dt.datetime(2024, 4, 20, 10, 0, 0)
        for n, pose in enumerate(poses, 1):
            reach = pose.agl_m * math.hypot(camera.width, camera.height) / camera.focal_px  # more than the footprint's half diagonal
            window = from_bounds(pose.x - reach, pose.y - reach, pose.x + reach, pose.y + reach, src.transform).round_offsets().round_lengths()
            ground = src.read([1, 2, 3], window=window, boundless=True, fill_value=0)
            photo = render_photo(ground, src.window_transform(window), pose, camera)
            lon, lat = to_lonlat.transform(pose.x, pose.y)
            # a drone records its yaw from true north; the pose's is from the raster's grid north
            recorded = replace(pose, yaw_deg=pose.yaw_deg - true_north_bearing(to_crs, lon, lat))
            exif, xmp = photo_tags(lon, lat, recorded, camera, start + dt.timedelta(seconds=2 * n))
            path = out_dir / f"DJI_{n:04d}.JPG"
            with atomic_path(path) as tmp:
                Image.fromarray(np.moveaxis(photo, 0, -1)).save(tmp, "JPEG", quality=quality, exif=exif, xmp=xmp)
            paths.append(path)
    return paths
