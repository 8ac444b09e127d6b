#!/usr/bin/env python
"""Make the small copies of real drone photos in this folder (see README.md).

    python tests/data/frames/make_frames.py DJI_FOLDER SENSEFLY_FOLDER

Each photo is shrunk (Lanczos) and saved as JPEG quality 80 with its EXIF (less the maker note)
and XMP packet.  DJI copies get PixelX/YDimension set to their new size; senseFly copies keep
4000 x 3000, as senseFly's own resized photos do, since their focal-plane resolution refers to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import ExifTags, Image

HERE = Path(__file__).parent
PICK = {
    "dji": (["DJI_0021.JPG", "DJI_0022.JPG", "DJI_0025.JPG", "DJI_0026.JPG"], 8),
    "sensefly": (["IMG_0446.jpg", "IMG_0447.jpg", "IMG_0448.jpg"], 8),
}


def shrink(src: Path, dst: Path, factor: int, fix_dimensions: bool) -> None:
    with Image.open(src) as im:
        exif = im.getexif()
        xmp = im.info.get("xmp")
        small = im.resize((round(im.width / factor), round(im.height / factor)), Image.Resampling.LANCZOS)
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub.pop(ExifTags.Base.MakerNote, None)
    if fix_dimensions:
        sub[ExifTags.Base.ExifImageWidth], sub[ExifTags.Base.ExifImageHeight] = small.size
    small.save(dst, "JPEG", quality=80, exif=exif, xmp=xmp)


def main() -> None:
    dji, sensefly = (Path(a) for a in sys.argv[1:3])
    for name in PICK["dji"][0]:
        shrink(dji / name, HERE / name, PICK["dji"][1], fix_dimensions=True)
    for name in PICK["sensefly"][0]:
        shrink(sensefly / name, HERE / name, PICK["sensefly"][1], fix_dimensions=False)


if __name__ == "__main__":
    main()
