"""Assemble the real imagery Scout trains and measures on (no poppy or cannabis in any of it).

Scout's users never need this: it rebuilds, on a developer's machine, the folder of real rasters
that ``scripts/train_shipped.py`` uses as background-only training imagery and that
``scripts/eval_real.py`` measures false alarms on.  Every file is written as a GeoTIFF Scout reads
as it is (RGB uint8 with band names; satellite scenes as blue, green, red, NIR reflectance x 10,000
in uint16), and ``manifest.json`` says, per file, its role:

* ``train``   - background-only training imagery (``scout train --negatives``) and canvases for
                planted synthetic plots;
* ``heldout`` - never trained on: the real held-out set every shipped model is judged on;
* ``coldstart`` pairs - one real flight to fine-tune on and one of similar landscape to measure on.

Sources (all real, openly licensed; credit them where you redistribute):

* ``--real-aerial DIR``: the project's real-aerial collection (OpenAerialMap drone orthos of Manila
  and Brazil, CC-BY 4.0; PDOK aerial of the Netherlands, CC-BY 4.0; USDA NAIP, public domain;
  SpaceNet WorldView-2 Rotterdam, CC-BY-SA 4.0).
* ``--real-frames DIR``: raw DJI Phantom 3 frames of a lake shore (pierotofy/drone_dataset_brighton_beach,
  BSD-2-Clause), given an approximate north-up georeference at the GSD their EXIF/XMP give
  (height 39.8 m, 35 mm-equivalent focal length 20 mm, 4000 px: 1.79 cm).
* ``--deepforest-wheel FILE``: ``pip download deepforest==1.4.1 --no-deps`` (MIT); its ``data/``
  holds NEON airborne RGB at 10 cm (OSBS forest, SJER oak savanna, SOAP conifer/oak, YELL conifer
  forest; NEON data, CC0) and a 1.8 cm drone ortho of Australian scrub.  PNGs without georeference
  get one at NEON's 10 cm.

The NAIP and WorldView digital numbers are not calibrated reflectance; they are scaled to a
plausible reflectance range (documented per file in the manifest: ``scale``), which is what a user
with an uncalibrated export would have, no better.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from PIL import Image

Image.MAX_IMAGE_PIXELS = None

# name -> (role, sensor, source, licence, how)
DRONE_TRAIN = ("manila-urban-10cm", "brazil-pasture-10cm", "yell-forest-10cm-a", "soap-woodland-10cm-a", *[f"lakeshore-dji-{i:04d}" for i in range(18, 24)])
DRONE_HELDOUT = ("netherlands-aerial-25cm", "osbs-forest-10cm", "sjer-savanna-10cm", "soap-woodland-10cm-b", "yell-forest-10cm-b", "australia-scrub-2cm",
                 *[f"lakeshore-dji-{i:04d}" for i in range(24, 30)])
SATELLITE_TRAIN = ("worldview-rotterdam-1m-1", "worldview-rotterdam-1m-3")
SATELLITE_HELDOUT = ("naip-rgbn-1m", "naip-rgb-1.2m", "worldview-rotterdam-1m-2")
# fine-tune on the first, measure on the second (similar landscape, never trained on by the base model
# that the pair is measured from: see scripts/cold_start.py)
COLDSTART_PAIRS = {
    "drone": [("lakeshore-dji-0018", "lakeshore-dji-0024"), ("soap-woodland-10cm-a", "soap-woodland-10cm-b"), ("yell-forest-10cm-a", "yell-forest-10cm-b")],
    "satellite": [("worldview-rotterdam-1m-1", "worldview-rotterdam-1m-2")],
}


def write_rgb(path: Path, rgb: np.ndarray, crs: str, transform: Affine) -> None:
    """(3, H, W) uint8 red, green, blue as a tiled deflate GeoTIFF with band names."""
    profile = dict(driver="GTiff", width=rgb.shape[2], height=rgb.shape[1], count=3, dtype="uint8", crs=crs, transform=transform, tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(rgb)
        dst.descriptions = ("red", "green", "blue")


def write_bgrn(path: Path, bgrn: np.ndarray, crs, transform: Affine, nodata: int | None = None) -> None:
    """(4, H, W) reflectance x 10,000 uint16 blue, green, red, NIR."""
    profile = dict(driver="GTiff", width=bgrn.shape[2], height=bgrn.shape[1], count=4, dtype="uint16", crs=crs, transform=transform, compress="deflate", nodata=nodata)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bgrn)
        dst.descriptions = ("blue", "green", "red", "nir")


def fake_transform(gsd: float, seed: int) -> Affine:
    """North-up at ``gsd`` m, somewhere in UTM 47N (images without a georeference of their own)."""
    return Affine(gsd, 0, 400000 + seed * 1000.0, 0, -gsd, 2500000 + seed * 1000.0)


def prepare(real_aerial: Path, real_frames: Path | None, wheel: Path | None, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}

    def add(name: str, sensor: str, source: str, licence: str, **extra) -> Path:
        role = "train" if name in DRONE_TRAIN + SATELLITE_TRAIN else "heldout" if name in DRONE_HELDOUT + SATELLITE_HELDOUT else "coldstart"
        files[name] = {"file": f"{name}.tif", "role": role, "sensor": sensor, "source": source, "licence": licence, **extra}
        return out / f"{name}.tif"

    oam = "CC-BY 4.0, OpenAerialMap contributors"
    for name, src_name, what in (("manila-urban-10cm", "manila-urban-10cm.tif", "OpenAerialMap 5b90f92da0d7280005fab355"),
                                 ("brazil-pasture-10cm", "brazil-pasture-10cm.tif", "OpenAerialMap 5dded5bc0140b80006d2e565")):
        with rasterio.open(real_aerial / src_name) as src:
            rgb, crs, transform = src.read([1, 2, 3]), src.crs, src.transform
        # both have a black (0, 0, 0) corner outside the flight with no nodata set: mask it as alpha
        valid = (rgb.max(0) > 0).astype(np.uint8) * 255
        path = add(name, "drone", what, oam)
        profile = dict(driver="GTiff", width=rgb.shape[2], height=rgb.shape[1], count=4, dtype="uint8", crs=crs, transform=transform, tiled=True, compress="deflate", photometric="RGB")
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.concatenate([rgb, valid[None]]))
            dst.colorinterp = [rasterio.enums.ColorInterp.red, rasterio.enums.ColorInterp.green, rasterio.enums.ColorInterp.blue, rasterio.enums.ColorInterp.alpha]
    with rasterio.open(real_aerial / "netherlands-aerial-25cm.tif") as src:
        write_rgb(add("netherlands-aerial-25cm", "drone", "PDOK Luchtfoto (DeepForest test_tiled.tif)", "CC-BY 4.0, PDOK"), src.read([1, 2, 3]), src.crs, src.transform)

    with rasterio.open(real_aerial / "naip-rgbn-1m.tif") as src:  # R, G, B, N as 8-bit DNs in uint16, nodata 256
        a = src.read().astype(np.float32)
        nod = a.max(0) >= 256
        refl = np.clip(a * 22.0, 1, 60000)  # DN 255 -> 0.56 reflectance
        bgrn = np.stack([refl[2], refl[1], refl[0], refl[3]]).astype(np.uint16)
        bgrn[:, nod] = 0
        write_bgrn(add("naip-rgbn-1m", "satellite", "USDA NAIP", "public domain", scale="DN x 22"), bgrn, src.crs, src.transform, nodata=0)
    with rasterio.open(real_aerial / "naip-rgb-1.2m.tif") as src:
        write_rgb(add("naip-rgb-1.2m", "satellite", "USDA NAIP", "public domain"), src.read([1, 2, 3]), src.crs, src.transform)
    for k in (1, 2, 3):
        with rasterio.open(real_aerial / f"worldview-rotterdam-rgbn-1m-{k}.tif") as src:  # red, green, blue, NIR DNs
            a = src.read().astype(np.float32)
            refl = np.clip(a * 3.0, 1, 60000)  # 11-bit DNs; NIR of vegetation ~1300 DN -> 0.39
            bgrn = np.stack([refl[2], refl[1], refl[0], refl[3]]).astype(np.uint16)
            path = add(f"worldview-rotterdam-1m-{k}", "satellite", "SpaceNet / Maxar WorldView-2 (solaris sample data)", "CC-BY-SA 4.0, SpaceNet / Maxar", scale="DN x 3")
            write_bgrn(path, bgrn, src.crs, src.transform)

    if real_frames is not None:
        frames = real_frames / "dji-phantom3-lakeshore"
        for i in range(18, 30):
            im = np.asarray(Image.open(frames / f"DJI_{i:04d}.JPG").convert("RGB")).transpose(2, 0, 1)
            path = add(f"lakeshore-dji-{i:04d}", "drone", f"DJI Phantom 3 frame DJI_{i:04d}.JPG (pierotofy/drone_dataset_brighton_beach)",
                       "BSD-2-Clause, (c) 2017 Piero Toffanin", georeference="approximate: north-up, 1.79 cm")
            write_rgb(path, im, "EPSG:32647", fake_transform(0.0179, i))

    if wheel is not None:
        neon = "NEON AOP camera mosaic via DeepForest 1.4.1 (weecology)"
        with zipfile.ZipFile(wheel) as z:
            def png(member: str) -> np.ndarray:
                with z.open(f"deepforest/data/{member}") as f:
                    return np.asarray(Image.open(f).convert("RGB")).transpose(2, 0, 1)

            def tif(member: str, name: str, what: str, licence: str) -> None:
                tmp = out / f".{member}"
                tmp.write_bytes(z.read(f"deepforest/data/{member}"))
                with rasterio.open(tmp) as src:
                    write_rgb(add(name, "drone", what, licence), src.read([1, 2, 3]), src.crs, src.transform)
                tmp.unlink()

            tif("OSBS_029.tif", "osbs-forest-10cm", neon + " OSBS_029", "NEON data CC0; DeepForest MIT")
            tif("2018_SJER_3_252000_4107000_image_477.tif", "sjer-savanna-10cm", neon + " SJER", "NEON data CC0; DeepForest MIT")
            tif("australia.tif", "australia-scrub-2cm", "drone ortho via DeepForest 1.4.1 (australia.tif)", "DeepForest MIT")
            for k, (member, name) in enumerate((("SOAP_031.png", "soap-woodland-10cm-a"), ("SOAP_061.png", "soap-woodland-10cm-b"),
                                                ("2019_YELL_2_528000_4978000_image_crop2.png", "yell-forest-10cm-a"),
                                                ("2019_YELL_2_541000_4977000_image_crop.png", "yell-forest-10cm-b"))):
                write_rgb(add(name, "drone", f"{neon} {member}", "NEON data CC0; DeepForest MIT", georeference="approximate: north-up, 10 cm"), png(member), "EPSG:32647", fake_transform(0.1, 100 + k))
    manifest = {"files": files, "coldstart_pairs": COLDSTART_PAIRS}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real-aerial", type=Path, required=True, help="folder with the real-aerial rasters")
    ap.add_argument("--real-frames", type=Path, help="folder holding dji-phantom3-lakeshore/")
    ap.add_argument("--deepforest-wheel", type=Path, help="deepforest-1.4.1-py3-none-any.whl (pip download deepforest==1.4.1 --no-deps)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    m = prepare(args.real_aerial, args.real_frames, args.deepforest_wheel, args.out)
    for name, f in m["files"].items():
        print(f"{f['role']:9s} {f['sensor']:9s} {name}")


if __name__ == "__main__":
    main()
