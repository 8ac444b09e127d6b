"""What a drone photo says about itself: EXIF (GPS, lens, orientation) and XMP (DJI, senseFly).

Parsing is pure (:func:`parse_xmp`, :func:`frame_meta` take tag dictionaries) and separate from
reading a file (:func:`read_meta`, Pillow: only the header is read, never the pixels).  Values
are kept as the photo gives them; whether they make sense is :mod:`scout.frames.georef`'s job.
"""

from __future__ import annotations

import logging
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scout.errors import ImageryError, first_line

log = logging.getLogger(__name__)

XMP_PREFIXES = {
    "http://www.dji.com/drone-dji/1.0/": "drone-dji",
    "http://ns.sensefly.com/sensefly/1.0/": "sensefly",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/xap/1.0/": "xmp",
}
"""Namespace URI -> the prefix keys are filed under, whatever prefix the file binds to it."""

RTK_FIXED, RTK_FLOAT = 50, 34
"""DJI ``drone-dji:RtkFlag``: 50 fixed (centimetres), 34 float (decimetres), 16 single point, 0 none."""

FOCAL_PLANE_UNIT_MM = {1: 25.4, 2: 25.4, 3: 10.0, 4: 1.0, 5: 1e-3}
"""EXIF FocalPlaneResolutionUnit -> millimetres per unit (1 'none' is read as inches, as cameras write it)."""


@dataclass(frozen=True)
class FrameMeta:
    """One photo's position, attitude and lens as its metadata gives them (None: not given).

    Angles in degrees: ``yaw_deg`` clockwise from north; ``pitch_deg`` up from the horizon
    (a DJI gimbal looking straight down: -90; an aircraft flying level: 0); ``roll_deg`` right
    side down.  ``attitude`` says whose angles they are: ``"gimbal"`` (the camera's own, DJI)
    or ``"aircraft"`` (a fixed camera looking down from an aircraft, senseFly)."""

    path: str
    width: int  # stored pixels (before EXIF orientation)
    height: int
    make: str = ""
    model: str = ""
    orientation: int = 1  # EXIF 1-8
    lon: float | None = None
    lat: float | None = None
    altitude_m: float | None = None  # GPS altitude above sea level
    agl_m: float | None = None  # height above ground (or above the take-off point) from XMP
    agl_tag: str = ""  # which tag gave agl_m
    yaw_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    attitude: str = ""  # "gimbal" | "aircraft" | ""
    focal_mm: float | None = None
    focal_35mm: float | None = None
    focal_plane_px_per_mm: float | None = None  # EXIF FocalPlaneXResolution, per millimetre
    exif_width: int | None = None  # EXIF PixelXDimension: the width the focal-plane resolution refers to
    rtk_flag: int | None = None  # DJI RtkFlag
    rtk_std_m: float | None = None  # DJI RtkStdLon/Lat: horizontal standard deviation (m)
    acquired: str = ""  # ISO date and time, as the camera's clock gave it

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def camera(self) -> str:
        return " ".join(v for v in (self.make, self.model) if v) or "unknown camera"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", " ").strip() if value is not None else ""


def _number(value: Any) -> float | None:
    """A finite float from an EXIF rational, a number or a string like '+39.80'; else None."""
    if value is None or isinstance(value, (bytes, tuple, list)):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return x if math.isfinite(x) else None


def _dms(value: Any, ref: Any) -> float | None:
    """EXIF (degrees, minutes, seconds) and 'N'/'S'/'E'/'W' -> signed decimal degrees."""
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return _number(value)
    deg = d + m / 60 + s / 3600
    if not math.isfinite(deg):
        return None
    return -deg if _text(ref).upper()[:1] in ("S", "W") else deg


def parse_xmp(packet: str | bytes | None) -> dict[str, str]:
    """Every simple property of an XMP packet, as ``prefix:Name`` -> text.

    Properties are read from attributes and from child elements of every ``rdf:Description``
    (DJI writes the first, senseFly the second).  Prefixes come from :data:`XMP_PREFIXES`
    by namespace URI, so a file binding another prefix to DJI's namespace reads the same.
    A packet that is not well-formed XML is read with a lenient pattern instead."""
    if not packet:
        return {}
    text = packet.decode("utf-8", "replace") if isinstance(packet, bytes) else packet
    text = text.strip("\x00 \n\r\t")
    try:
        root = ET.fromstring(text[text.index("<x:xmpmeta"):text.rindex("</x:xmpmeta>") + len("</x:xmpmeta>")] if "<x:xmpmeta" in text else text)
    except (ET.ParseError, ValueError):
        return _parse_xmp_leniently(text)
    found: dict[str, str] = {}
    for desc in root.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"):
        items = [(k, v) for k, v in desc.attrib.items()] + [(c.tag, c.text or "") for c in desc if len(c) == 0]
        for tag, value in items:
            if tag.startswith("{"):
                uri, local = tag[1:].split("}", 1)
                prefix = XMP_PREFIXES.get(uri)
                if prefix is None:
                    prefix = uri.rstrip("/").rsplit("/", 2)[-2] if uri.count("/") >= 3 else uri
                found[f"{prefix}:{local}"] = value.strip()
    return found


def _parse_xmp_leniently(text: str) -> dict[str, str]:
    found = {f"{p}:{k}": v for p, k, v in re.findall(r'([\w-]+):(\w+)\s*=\s*["\']([^"\']*)["\']', text)}
    found.update({f"{p}:{k}": v.strip() for p, k, v in re.findall(r"<([\w-]+):(\w+)>([^<]*)</\1:\2>", text)})
    return found


def frame_meta(
    path: str | os.PathLike, width: int, height: int, ifd0: Mapping[str, Any], exif: Mapping[str, Any],
    gps: Mapping[str, Any], xmp: Mapping[str, str],
) -> FrameMeta:
    """A :class:`FrameMeta` from tag dictionaries keyed by EXIF tag name (Pillow's ``ExifTags``
    names) and by ``prefix:Name`` for XMP (:func:`parse_xmp`)."""
    lat, lon = _dms(gps.get("GPSLatitude"), gps.get("GPSLatitudeRef")), _dms(gps.get("GPSLongitude"), gps.get("GPSLongitudeRef"))
    if lat is None or lon is None:
        lat, lon = _number(xmp.get("sensefly:Latitude")), _number(xmp.get("sensefly:Longitude"))
    if lat == 0 and lon == 0:  # DJI writes 0, 0 before its GNSS has a fix
        lat = lon = None
    altitude = _number(gps.get("GPSAltitude"))
    if altitude is not None and _number(gps.get("GPSAltitudeRef")) == 1:  # below sea level
        altitude = -altitude
    altitude = _first(xmp, "drone-dji:AbsoluteAltitude", "sensefly:AltitudeAMSL", default=altitude)

    agl_tag = next((t for t in ("drone-dji:RelativeAltitude", "sensefly:Height") if _number(xmp.get(t)) is not None), "")
    if any(f"drone-dji:Gimbal{a}Degree" in xmp for a in ("Yaw", "Pitch")):
        attitude, keys = "gimbal", ("drone-dji:GimbalYawDegree", "drone-dji:GimbalPitchDegree", "drone-dji:GimbalRollDegree")
    elif "drone-dji:FlightYawDegree" in xmp:  # a camera without a gimbal (fixed, looking down)
        attitude, keys = "aircraft", ("drone-dji:FlightYawDegree", "drone-dji:FlightPitchDegree", "drone-dji:FlightRollDegree")
    elif "sensefly:Heading" in xmp:
        attitude, keys = "aircraft", ("sensefly:Heading", "sensefly:PitchAngle", "sensefly:RollAngle")
    else:
        attitude, keys = "", ("", "", "")
    yaw, pitch, roll = (_number(xmp.get(k)) for k in keys)

    unit_mm = FOCAL_PLANE_UNIT_MM.get(int(_number(exif.get("FocalPlaneResolutionUnit")) or 2), 25.4)
    fpx = _number(exif.get("FocalPlaneXResolution"))
    rtk_std = [_number(xmp.get(k)) for k in ("drone-dji:RtkStdLon", "drone-dji:RtkStdLat")]
    rtk_flag = _number(xmp.get("drone-dji:RtkFlag"))
    exif_width = _number(exif.get("ExifImageWidth") or exif.get("PixelXDimension"))
    orientation = int(_number(ifd0.get("Orientation")) or 1)
    return FrameMeta(
        path=str(path),
        width=int(width),
        height=int(height),
        make=_text(ifd0.get("Make")),
        model=_text(ifd0.get("Model")),
        orientation=orientation if 1 <= orientation <= 8 else 1,
        lon=lon,
        lat=lat,
        altitude_m=altitude,
        agl_m=_number(xmp.get(agl_tag)) if agl_tag else None,
        agl_tag=agl_tag,
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=roll if roll is not None or attitude == "" else 0.0,
        attitude=attitude if yaw is not None and pitch is not None else "",
        focal_mm=_number(exif.get("FocalLength")),
        focal_35mm=_number(exif.get("FocalLengthIn35mmFilm")) or None,
        focal_plane_px_per_mm=fpx / unit_mm if fpx else None,
        exif_width=int(exif_width) if exif_width else None,
        rtk_flag=int(rtk_flag) if rtk_flag is not None else None,
        rtk_std_m=math.hypot(*rtk_std) / math.sqrt(2) if all(s is not None for s in rtk_std) else None,  # type: ignore[arg-type]  # all() above: no None reaches hypot
        acquired=_acquired(exif, ifd0),
    )


def _first(tags: Mapping[str, str], *keys: str, default: float | None = None) -> float | None:
    for k in keys:
        if (v := _number(tags.get(k))) is not None:
            return v
    return default


def _acquired(exif: Mapping[str, Any], ifd0: Mapping[str, Any]) -> str:
    stamp = _text(exif.get("DateTimeOriginal") or ifd0.get("DateTime"))
    m = re.match(r"(\d{4})[:-](\d\d)[:-](\d\d)[ T](\d\d:\d\d:\d\d)", stamp)
    return f"{m[1]}-{m[2]}-{m[3]}T{m[4]}" if m else ""


def read_meta(path: str | os.PathLike) -> FrameMeta:
    """The metadata of one photo (JPEG or TIFF); raise ImageryError naming the file when it is
    not an image Pillow can open."""
    from PIL import ExifTags, Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as im:
            exif = im.getexif()
            ifd0 = {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.items()}
            sub = {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.get_ifd(ExifTags.IFD.Exif).items()}
            gps = {ExifTags.GPSTAGS.get(k, str(k)): v for k, v in exif.get_ifd(ExifTags.IFD.GPSInfo).items()}
            xmp = im.info.get("xmp") or (im.tag_v2.get(700) if hasattr(im, "tag_v2") else None)
            width, height = im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageryError(f"{p}: not a readable photo ({first_line(exc)})") from None
    return frame_meta(p, width, height, ifd0, sub, gps, parse_xmp(xmp))
