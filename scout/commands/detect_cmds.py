"""``scout detect`` and ``scout demo``."""

from __future__ import annotations

from pathlib import Path

import click

from scout.commands.options import BandList, Threshold, lang_option, overwrite_option, quiet_option


@click.command("detect")
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
@click.option("--agl", "agl_m", type=click.FloatRange(min=0, min_open=True), help="Raw photos: height flown above the ground, metres, for every photo (default: each photo's XMP).")
@click.option("--dem", type=click.Path(dir_okay=False, path_type=Path), help="Raw photos: a DEM of ground heights (metres above sea level); photos are placed on it from their GPS altitude.")
@click.option("--max-off-nadir", "max_off_nadir_deg", type=click.FloatRange(0, 60), default=15.0, show_default=True,
              help="Raw photos: photos looking further from straight down (degrees) are skipped.")
@click.option("--resume", is_flag=True, help="Finish an interrupted run in --out, reusing its finished blocks.")
@lang_option
@overwrite_option
@quiet_option
def detect_cmd(
    images: tuple[str, ...], out_dir: Path, aoi: Path | None, aoi_name_field: str | None, aoi_layer: str | None, model: Path | None,
    bands: tuple[int, ...] | None, thresholds: tuple[tuple[str, float], ...], min_confidence: tuple[tuple[str, float], ...], min_area: float | None,
    tile_size: int | None, block_tiles: int, batch_size: int | None, device: str | None, workers: int, scheduler: str | None,
    agl_m: float | None, dem: Path | None, max_off_nadir_deg: float, resume: bool, lang: str | None, overwrite: bool,
) -> None:
    """Detect suspected poppy and cannabis plots in IMAGES (files, folders or .txt lists): GeoTIFF
    orthomosaics and scenes, raw drone photos (JPEG, placed by their EXIF GPS and XMP), or both."""
    from scout.detection import DetectSettings, detect

    settings = DetectSettings(
        thresholds=dict(thresholds), min_confidence=dict(min_confidence), min_area_m2=min_area, tile_size=tile_size, block_tiles=block_tiles,
        batch_size=batch_size, device=device, bands=bands, aoi_name_field=aoi_name_field, aoi_layer=aoi_layer,
        workers=workers, scheduler=scheduler, lang=lang, agl_m=agl_m, dem=str(dem) if dem else None, max_off_nadir_deg=max_off_nadir_deg,
    )
    summary = detect(images, out_dir, aoi=aoi, model=model, settings=settings, overwrite=overwrite, resume=resume)
    click.echo(summary.line(), err=True)


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("demo"), show_default=True, help="Folder for the scene and the run.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--size", "size_px", type=click.IntRange(min=256), default=2048, show_default=True, help="Scene size in pixels.")
@overwrite_option
@quiet_option
def demo_cmd(out_dir: Path, seed: int, size_px: int, overwrite: bool) -> None:
    """Make a synthetic drone scene with known plots, detect on it, and report what was found."""
    from scout.demo import run_demo

    result = run_demo(out_dir, seed=seed, size_px=size_px, overwrite=overwrite)
    click.echo(result.report())


def register(group: click.Group) -> None:
    for command in (detect_cmd, demo_cmd):
        group.add_command(command)
