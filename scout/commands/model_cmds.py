"""``scout synth``, ``scout train``, ``scout calibrate``, ``scout evaluate``, ``scout export-onnx`` and ``scout models``."""

from __future__ import annotations

import math
from pathlib import Path

import click

from scout.commands.options import BandList, overwrite_option, quiet_option


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, required=True, help="Scene seed: the same seed gives the same scene.")
@click.option(
    "--canvas", type=click.Path(dir_okay=False, path_type=Path),
    help=(
        "Plant synthetic plots and look-alikes into this real raster (a flight with no poppy or cannabis) instead of "
        "drawing a whole scene."
    ),
)
@click.option("--plots", "n_plots", type=click.IntRange(min=0), default=12, show_default=True, help="--canvas: poppy/cannabis plots to plant.")
@click.option("--lookalikes", "n_lookalikes", type=click.IntRange(min=0), default=12, show_default=True, help="--canvas: look-alikes (trees, lawns, gardens, ...) to plant.")
@click.option("--kind", type=click.Choice(["drone", "satellite"]), default="drone", show_default=True)
@click.option("--size", "size_px", type=click.IntRange(min=64), default=1024, show_default=True, help="Width and height in pixels.")
@click.option("--gsd", "gsd_m", type=click.FloatRange(min=0, min_open=True), help="Metres per pixel (default 0.05 drone, 0.5 satellite).")
@click.option("--crs", default="EPSG:32647", show_default=True, help="Projected CRS of the scene.")
@click.option("--boundary", is_flag=True, help="Drone only: add an alpha band, 0 outside an irregular flight boundary.")
@quiet_option
def synth_cmd(out: Path, seed: int, canvas: Path | None, n_plots: int, n_lookalikes: int, kind: str, size_px: int, gsd_m: float | None, crs: str, boundary: bool) -> None:
    """Make a synthetic scene with known plots in OUT: image, truth GeoPackage, label raster.

    With --canvas, plots and look-alikes are planted into a real raster instead (its grid, CRS and
    bands kept; light, colour, blur and noise matched to it), so their surroundings are real."""
    if canvas is not None:
        from scout.synth.canvas import plant_scene

        scene = plant_scene(canvas, out, seed, targets=n_plots, lookalikes=n_lookalikes)
    else:
        from scout.synth import make_scene

        scene = make_scene(out, seed, kind=kind, size_px=size_px, gsd_m=gsd_m, crs=crs, boundary=boundary)
    plots = ", ".join(f"{n} {c}" for c, n in scene.n_plots.items())
    click.echo(f"{scene.image_path}\n{scene.truth_path} ({plots})\n{scene.label_path}")


@click.command("train")
@click.argument("images", nargs=-1)
@click.option(
    "--labels", type=click.Path(dir_okay=False, path_type=Path),
    help=(
        "Polygons with a 'class' field: poppy, cannabis, background (hard negatives; false alarms from `scout review "
        "--labels`)."
    ),
)
@click.option("--negatives", multiple=True, help="Background-only imagery (files, folders or .txt lists): flights known to hold no poppy or cannabis; every valid pixel is background. Repeatable.")
@click.option("--negatives-share", "negative_image_share", type=click.FloatRange(0, 1), default=0.35, show_default=True, help="Share of training patches cut from --negatives.")
@click.option(
    "--plant-share", type=click.FloatRange(0, 1), default=0.5, show_default=True,
    help=(
        "Share of patches with synthetic plots and look-alikes planted (the positives when you have none); 0 turns "
        "planting off."
    ),
)
@click.option(
    "--rehearse", "rehearsal_scenes", type=click.IntRange(min=0),
    help=(
        "With --init: synthetic scenes of the model's own kind kept in the mix, so a fine-tune on a few reviewed "
        "flights does not forget the targets it learned (default 12; 0: none). Made once, kept beside OUT in "
        ".scout-rehearsal/."
    ),
)
@click.option(
    "--rehearsal-share", type=click.FloatRange(0, 1), default=0.75, show_default=True,
    help="With --init: share of patches cut from the rehearsal scenes; the rest come from your imagery, whatever its area.",
)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate (default 3e-3 for a new model, 5e-4 with --init).")
@click.option(
    "--augmentation", type=click.FloatRange(0, 2), default=1.0, show_default=True,
    help=(
        "Domain randomisation strength (colour, light, haze, shadow, blur, noise, JPEG, rotation); 0: flips only."
    ),
)
@click.option("--arch", "architecture", type=click.Choice(["unet", "encoder_unet"]), default="unet", show_default=True, help="New model: the small U-Net, or a standard encoder under a U-Net decoder.")
@click.option("--encoder", type=click.Choice(["mobilenet_v3_small", "mobilenet_v3_large", "resnet18"]), help="--arch encoder_unet: which torchvision encoder (default mobilenet_v3_small).")
@click.option(
    "--encoder-weights", type=click.Path(dir_okay=False, exists=True),
    help=(
        "Pretrained encoder weights: a torchvision state dict saved as safetensors (see README: converting ImageNet "
        "weights)."
    ),
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Model path stem, e.g. models/my-drone (writes .safetensors + .json).")
@click.option("--init", type=click.Path(dir_okay=False, path_type=Path), help="Fine-tune this model (keeps its bands, GSD, normalization).")
@click.option("--sensor", type=click.Choice(["drone", "satellite"]), default="drone", show_default=True, help="Default bands and GSD for a new model.")
@click.option("--drop-band", "drop_bands", multiple=True, help="Leave this band out (repeatable): with --init nir, an RGB model from an RGBN one, for imagery without NIR.")
@click.option("--gsd", "gsd_m", type=click.FloatRange(min=0, min_open=True), help="Model GSD in metres per pixel (default 0.1 drone, 0.5 satellite).")
@click.option("--bands", "image_bands", type=BandList(), help="Image band numbers for the model's bands, in the model's order (e.g. 3,2,1), where the images do not name their bands.")
@click.option("--epochs", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=80, show_default=True, help="Batches per epoch.")
@click.option("--batch-size", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), help="Stop after this much training time (the best model so far is kept).")
@click.option(
    "--background-within", "background_within_m", type=click.FloatRange(min=0, min_open=True),
    help="Only pixels within this many metres of a label polygon count as background (partly reviewed imagery); default: all unlabelled pixels.",
)
@click.option("--resume", is_flag=True, help="Continue from OUT's checkpoint.")
@overwrite_option
@click.option("--device", help="cpu, cuda, cuda:1 (default: CUDA when present).")
@click.option("--seed", type=int, default=0, show_default=True)
@quiet_option
def train_cmd(
    images: tuple[str, ...], labels: Path | None, negatives: tuple[str, ...], negative_image_share: float, plant_share: float, rehearsal_scenes: int | None, rehearsal_share: float,
    lr: float | None, augmentation: float, architecture: str, encoder: str | None, encoder_weights: str | None, out: Path, init: Path | None, sensor: str,
    drop_bands: tuple[str, ...], gsd_m: float | None, image_bands: tuple[int, ...] | None, epochs: int, steps: int, batch_size: int, max_minutes: float | None,
    background_within_m: float | None, resume: bool, overwrite: bool, device: str | None, seed: int,
) -> None:
    """Train a model on IMAGES (files, folders or .txt lists) with label polygons and on background-only --negatives.

    Synthetic plots are planted into a share of the patches, so false alarms alone (or a clean
    flight alone) are enough to fine-tune a model (--init) without losing what it found."""
    from scout.model.files import model_stem
    from scout.train import TrainSettings, train

    settings = TrainSettings(
        name=model_stem(out).name,
        sensor=sensor, drop_bands=tuple(b.lower() for b in drop_bands), gsd_m=gsd_m, image_bands=image_bands, epochs=epochs, steps_per_epoch=steps, batch_size=batch_size,
        max_minutes=max_minutes, background_within_m=background_within_m, device=device, seed=seed,
        negative_image_share=negative_image_share, plant_share=plant_share, augmentation=augmentation,
        rehearsal_scenes=(12 if init else 0) if rehearsal_scenes is None else rehearsal_scenes, rehearsal_share=rehearsal_share, lr=lr or (5e-4 if init else 3e-3),
        architecture=architecture, encoder=encoder, encoder_weights=encoder_weights,
    )
    result = train(images, labels, out, settings, init=init, resume=resume, overwrite=overwrite, negatives=negatives)
    score = "no validation score (no plot labels where it validates)" if math.isnan(result.best_score) else f"best validation IoU {result.best_score:.3f}"
    click.echo(f"{result.model_path}: {score} at epoch {result.best_epoch} of {result.epochs_run} ({result.stopped.replace('_', ' ')})")


@click.command("evaluate")
@click.argument("run", type=click.Path(file_okay=False, path_type=Path))
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Truth plots with a 'class' field (GeoPackage/GeoJSON/Shapefile).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the metrics JSON here.")
@overwrite_option
@quiet_option
def evaluate_cmd(run: Path, truth: Path, out: Path | None, overwrite: bool) -> None:
    """Score RUN against truth plots: pixel IoU, plot precision/recall/F1 by class and size."""
    from scout.evaluate import evaluate_run, format_table

    click.echo(format_table(evaluate_run(run, truth, out, overwrite)))


@click.command("export-onnx")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@overwrite_option
@quiet_option
def export_onnx_cmd(model: Path, out: Path, overwrite: bool) -> None:
    """Export MODEL to ONNX (for the QGIS Deepness plugin), checked against torch."""
    from scout.model.onnx import export_onnx

    click.echo(export_onnx(model, out, overwrite=overwrite))


@click.command("calibrate")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("images", nargs=-1)
@click.option("--scenes", type=click.IntRange(1, 30), default=8, show_default=True, help="Synthetic scenes of the model's kind to calibrate on.")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), help="Keep the calibration runs here (default: a temporary folder).")
@click.option("--labels", type=click.Path(dir_okay=False, path_type=Path),
              help="Labels of IMAGES (scout review --labels): their confirmed poppy and cannabis plots count as plots to find, not false alarms.")
@quiet_option
def calibrate_cmd(model: Path, images: tuple[str, ...], scenes: int, work: Path | None, labels: Path | None) -> None:
    """Pick MODEL's detection defaults (pixel thresholds, plot confidence floors) anew, after fine-tuning.

    Detects on synthetic scenes and on IMAGES (your flights, or crops of them) with synthetic plots
    planted, and writes into MODEL's card the settings with the best precision at high recall."""
    from scout.calibrate import calibrate_model
    from scout.inputs import expand_images

    det = calibrate_model(model, expand_images(images) if images else [], scenes=scenes, work=work, labels=labels)
    for c, t in det["thresholds"].items():
        q = det["calibration"][c]
        click.echo(f"{c}: threshold {t}, plot confidence floor {det['min_confidence'][c]}: recall {q['recall_ge10']} precision {q['precision_ge10']} (plots >= 10 m²)"
                   + ("" if q["recall_floors_met"] else "; below the recall floors"))


@click.command("models")
@click.option("--dir", "models_dir", type=click.Path(file_okay=False, path_type=Path), help="Models folder (default: the shipped models).")
def models_cmd(models_dir: Path | None) -> None:
    """List the models Scout can pick from (name, sensor, bands, GSD, size, held-out metrics)."""
    from scout.model.registry import describe, models_in

    for entry in models_in(models_dir):
        click.echo(describe(entry))


def register(group: click.Group) -> None:
    for command in (synth_cmd, train_cmd, calibrate_cmd, evaluate_cmd, export_onnx_cmd, models_cmd):
        group.add_command(command)
