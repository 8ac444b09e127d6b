"""The small real drone photos in tests/data/frames (see the README there), and edited copies."""

from __future__ import annotations

from pathlib import Path

from PIL import ExifTags, Image

FRAMES = Path(__file__).parent / "data" / "frames"
DJI = [FRAMES / f"DJI_00{n}.JPG" for n in (21, 22, 25, 26)]
SENSEFLY = [FRAMES / f"IMG_04{n}.jpg" for n in (46, 47, 48)]


def edited_copy(src: Path, dst: Path, *, gps: bool = True, xmp: bytes | str | None = None, keep_xmp: bool = True,
                orientation: int | None = None, transpose: Image.Transpose | None = None,
                paint: tuple[int, int, int, int] | None = None) -> Path:
    """A copy of a real photo with its GPS dropped, its XMP replaced or dropped, a pure red box
    painted (``paint``: left, top, right, bottom stored pixels, before ``transpose``), or its
    pixels turned (``transpose``) and its EXIF orientation set; everything else as it was."""
    with Image.open(src) as im:
        exif = im.getexif()
        packet = im.info.get("xmp") if keep_xmp else None
        pixels = im.copy()
    if paint is not None:
        pixels.paste((255, 0, 0), paint)
    if transpose is not None:
        pixels = pixels.transpose(transpose)
    if not gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).clear()
        del exif[ExifTags.IFD.GPSInfo]
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if xmp is not None:
        packet = xmp.encode() if isinstance(xmp, str) else xmp
    pixels.save(dst, "JPEG", quality=95, exif=exif, **({"xmp": packet} if packet else {}))
    return dst
