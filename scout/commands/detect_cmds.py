"""``scout detect`` and ``scout demo``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from scout.commands.options import overwrite_option, quiet_option
from scout.errors import ImageryError

log = logging.getLogger("scout")

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".img"}


class Threshold(click.ParamType):
    """``0.6`` (every class) or ``poppy=0.6``."""

    name = "[CLASS=]P"

    def convert(self, value, param, ctx):  # type: ignore[override]
        if isinstance(value, tuple):
            return value
        cls, _, p = str(value).rpartition("=")
        try:
            prob = float(p)
        except ValueError:
            self.fail(f"{value!r}: expected a probability like 0.6 or poppy=0.6", param, ctx)
        if not 0 <= prob <= 1:
            self.fail(f"{value!r}: probability must be from 0 to 1", param, ctx)
        return (cls.strip() or "*", prob)


class BandList(click.ParamType):
    """``3,2,1``: image band numbers feeding the model's bands, in the model's order."""

    name = "N,N,..."

    def convert(self, value, param, ctx):  # type: ignore[override]
        if isinstance(value, tuple):
            return value
        try:
            return tuple(int(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r}: expected band numbers like 3,2,1", param, ctx)


def _list_text(path: Path) -> str:
    """A list file as Notepad may have saved it: UTF-8 (with or without BOM), or GBK on older Chinese Windows."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImageryError(f"{path}: not a text list of image paths (neither UTF-8 nor GBK)")


def expand_images(items: tuple[str, ...]) -> list[Path]:
    """Files as given; folders -> their rasters; ``.txt`` list files -> one path per line."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES)
            if not found:
                raise ImageryError(f"{p}: folder holds no rasters ({', '.join(sorted(RASTER_SUFFIXES))})")
            out.extend(found)
        elif p.suffix.lower() in {".txt", ".lst"} and p.is_file():
            lines = [ln.strip() for ln in _list_text(p).splitlines()]
            out.extend((p.parent / ln) for ln in lines if ln and not ln.startswith("#"))
        else:
            out.append(p)
    return out


@click.command()
@click.argument("images", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Run folder to create.")
@click.option("--aoi", type=click.Path(path_type=Path), help="AOI polygons (GeoJSON, GeoPackage, Shapefile, KML; any CRS). Default: image footprint.")
@click.option("--aoi-name-field", help="AOI attribute holding its name (default: name/NAME/township if present).")
@click.option("--aoi-layer", help="Layer of a multi-layer AOI file.")
@click.option("--model", type=click.Path(path_type=Path), help="Model (NAME.safetensors + NAME.json). Default: the shipped model fitting the imagery.")
@click.option("--bands", type=BandList(), help="Image band numbers for the model's bands, in the model's order (e.g. 3,2,1).")
@click.option("--threshold", "thresholds", type=Threshold(), multiple=True, help="Probability a pixel needs: 0.5, or per class poppy=0.6 (repeatable). Default: the model's calibrated value.")
@click.option("--min-confidence", "min_confidence", type=Threshold(), multiple=True, help="Mean probability a plot needs, like --threshold. Default: the model's calibrated value.")
@click.option("--min-area", type=click.FloatRange(min=0), help="Smallest plot kept, m². Default: the model's calibrated value, else 1.")
@click.option("--tile-size", type=click.IntRange(64, 4096), help="Tile size in pixels at model GSD (default: the model's).")
@click.option("--block-tiles", type=click.IntRange(min=1), default=3, show_default=True, help="Tiles per block side; memory grows with its square.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Tiles per forward pass (default: 1 of 512 px on CPU, 16 on CUDA).")
@click.option("--device", help="cpu, cuda, cuda:1 (default: CUDA when present).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Local worker processes.")
@click.option("--scheduler", help="dask.distributed scheduler address (tcp://HOST:PORT); workers read the imagery themselves.")
@click.option("--resume", is_flag=True, help="Finish an interrupted run in --out, reusing its finished blocks.")
@overwrite_option
@quiet_option
def detect(images, out_dir, aoi, aoi_name_field, aoi_layer, model, bands, thresholds, min_confidence, min_area, tile_size, block_tiles, batch_size, device, workers, scheduler, resume, overwrite):  # noqa: ANN001, PLR0913
    """Detect suspected poppy and cannabis plots in IMAGES (files, folders or .txt lists)."""
    from scout.detection import DetectSettings, detect as run_detect

    settings = DetectSettings(
        thresholds=dict(thresholds), min_confidence=dict(min_confidence), min_area_m2=min_area, tile_size=tile_size, block_tiles=block_tiles,
        batch_size=batch_size, device=device, bands=bands, aoi_name_field=aoi_name_field, aoi_layer=aoi_layer,
        workers=workers, scheduler=scheduler,
    )
    summary = run_detect(expand_images(images), out_dir, aoi=aoi, model=model, settings=settings, overwrite=overwrite, resume=resume)
    click.echo(summary.line(), err=True)


@click.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("demo"), show_default=True, help="Folder for the scene and the run.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--size", "size_px", type=click.IntRange(min=256), default=2048, show_default=True, help="Scene size in pixels.")
@overwrite_option
@quiet_option
def demo(out_dir, seed, size_px, overwrite):  # noqa: ANN001
    """Make a synthetic drone scene with known plots, detect on it, and report what was found."""
    from scout.demo import run_demo

    result = run_demo(out_dir, seed=seed, size_px=size_px, overwrite=overwrite)
    click.echo(result.report())


def register(group: click.Group) -> None:
    group.add_command(detect)
    group.add_command(demo)
