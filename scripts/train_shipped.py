#!/usr/bin/env python
"""Reproduce a shipped model end to end: synthetic scenes -> train -> evaluate -> card metrics.

    .venv/bin/python scripts/train_shipped.py drone --shipped --real REAL_DIR      # models/scout-drone-v1, every round
    .venv/bin/python scripts/train_shipped.py satellite --shipped --real REAL_DIR  # models/scout-satellite-v1
    .venv/bin/python scripts/train_shipped.py satellite-rgb --shipped --real REAL_DIR  # models/scout-satellite-rgb-v1 (no NIR)
    .venv/bin/python scripts/train_shipped.py drone --skip-train   # calibrate and evaluate only

Training scenes use seeds from TRAIN_SEEDS.  Calibration detects on 30 more scenes
(CALIBRATION_SEEDS) and picks each class's pixel threshold and plot confidence floor
(scout.calibrate), written to the card's ``detection`` defaults.  Evaluation then runs
``scout detect`` with those defaults on 20 held-out scenes whose seeds (EVAL_SEEDS) are
used for nothing else, then ``scout evaluate`` on each run, and writes the pooled
metrics and the measured CPU throughput into the model card.  Everything is
deterministic by seed except wall-clock time budgets (``--max-minutes``), which can end
training at a different epoch on a different machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from scout.calibrate import CALIBRATION_SEEDS, calibrate_scenes
from scout.evaluate import evaluate_scenes, measure_throughput
from scout.io import write_gpkg_layer, write_json
from scout.model import ModelCard
from scout.model.files import find_model_files
from scout.synth import make_scene
from scout.train import TrainSettings, train

log = logging.getLogger("scout.train_shipped")

TRAIN_SEEDS = {"drone": range(1000, 1000 + 400), "satellite": range(3000, 3000 + 400)}
EVAL_SEEDS = {"drone": range(9000, 9020), "satellite": range(9500, 9520)}
# Training scenes span GSDs around the model's, so it sees imagery resampled on read.
# Drone flights are usually 2-5 cm: most scenes are rendered that fine and averaged on
# read, as detection does (scenes rendered at 0.1 m only gave 2.4x fewer false alarms on
# 0.1 m scenes than on the same layouts at 0.05 m).
SCENE_GSD = {"drone": (0.03, 0.05, 0.05, 0.07, 0.1), "satellite": (0.3, 0.4, 0.5, 0.6)}
MODEL = {
    "drone": dict(gsd_m=0.1, bands=("red", "green", "blue")),
    "satellite": dict(gsd_m=0.5, bands=("blue", "green", "red", "nir")),
    "satellite-rgb": dict(gsd_m=0.5, bands=("red", "green", "blue")),  # for satellite imagery without NIR
}
SENSOR = {"satellite-rgb": "satellite"}  # a model kind's scenes, seeds and real imagery (default: its own name)
# The training rounds behind the shipped models (``--shipped``): each round after the first
# fine-tunes the previous one; only the last is calibrated and evaluated.
SHIPPED_ROUNDS = {
    "drone": [
        "--version 1 --scenes 160 --epochs 50 --steps 80 --patience 15 --lr 3e-3 --max-minutes 110",
        "--version 1.1 --init {out} --scenes 120 --epochs 30 --patience 10 --lr 1e-3 --max-minutes 50",
        "--version 1.2 --init {out} --scenes 160 --epochs 30 --patience 10 --lr 7e-4 --negative-share 0.35 --max-minutes 30",
        "--version 1.3 --init {out} --real {real} --scenes 80 --epochs 20 --patience 8 --lr 3e-3 --plant-share 0.6",
        "--version 1.4 --init {out} --real {real} --scenes 80 --epochs 30 --patience 10 --lr 1e-3 --plant-share 0.6 --lookalikes 2 --negative-image-share 0.4",
    ],
    "satellite": [
        "--version 1 --scenes 120 --epochs 40 --steps 60 --patience 15 --lr 3e-3 --max-minutes 90",
        "--version 1.1 --init {out} --scenes 120 --epochs 30 --patience 10 --lr 1e-3 --max-minutes 35",
        "--version 1.2 --init {out} --real {real} --scenes 80 --epochs 20 --steps 60 --patience 8 --lr 7e-4 --plant-share 0.5 --max-minutes 30",
    ],
    # the RGBN model's filters for red, green and blue, fine-tuned without NIR
    "satellite-rgb": [
        "--version 1 --init models/scout-satellite-v1 --real {real} --scenes 80 --epochs 20 --steps 60 --patience 8 --lr 7e-4 --plant-share 0.5 --max-minutes 40",
        "--version 1.1 --init {out} --real {real} --scenes 80 --epochs 20 --steps 60 --patience 8 --lr 5e-4 --plant-share 0.5 --max-minutes 40",
    ],
}
DESCRIPTION = (
    "Learned from synthetic {sensor} scenes{real}. It has never seen real poppy or cannabis: "
    "fine-tune it on reviewed real imagery (scout detect -> review in QGIS -> scout train --init) before operational use."
)
REAL = (
    " (scout.synth: two rendering families, planted into real imagery too) and from real {sensor} imagery with no poppy or "
    "cannabis in it (background only; scripts/prepare_real.py lists which)"
)


def make_training_set(sensor: str, n: int, work: Path) -> tuple[list[Path], Path]:
    """Write ``n`` training scenes and one label file (plots + look-alike hard negatives)."""
    images, frames = [], []
    gsds = SCENE_GSD[sensor]
    for k, seed in enumerate(TRAIN_SEEDS[sensor][:n]):
        gsd = gsds[k % len(gsds)]
        size = int(round(76.8 / gsd)) if sensor == "drone" else int(round(384 / gsd))
        image, truth = work / "scenes" / f"{sensor}-{seed:04d}.tif", work / "scenes" / f"{sensor}-{seed:04d}-truth.gpkg"
        if not (image.exists() and truth.exists()):  # scenes are deterministic by seed: reuse them
            scene = make_scene(work / "scenes", seed, kind=sensor, size_px=size, gsd_m=gsd, boundary=sensor == "drone" and k % 3 == 0)
            image, truth = scene.image_path, scene.truth_path
        images.append(image)
        for layer in ("truth", "lookalikes"):
            frames.append(gpd.read_file(truth, layer=layer)[["class", "geometry"]])
    labels = work / "labels.gpkg"
    write_gpkg_layer(gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs), labels, "labels")
    return images, labels


def real_training_imagery(folder: Path, sensor: str) -> list[Path]:
    """The files ``scripts/prepare_real.py`` marked for training, of this sensor (the held-out ones never)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return [folder / f["file"] for f in manifest["files"].values() if f["role"] == "train" and f["sensor"] == sensor]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sensor", choices=sorted(MODEL), help="model kind: drone, satellite, or satellite-rgb (satellite imagery without NIR)")
    ap.add_argument("--work", type=Path, default=Path("work/train_shipped"), help="scratch folder for scenes and runs")
    ap.add_argument("--out", type=Path, help="model path stem (default models/scout-SENSOR-v1)")
    ap.add_argument("--scenes", type=int, default=160, help="training scenes")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--steps", type=int, default=80, help="batches per epoch")
    ap.add_argument("--patience", type=int, default=15, help="epochs without validation gain before stopping")
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--base-channels", type=int, default=8)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", type=Path, help="fine-tune this model instead of starting from random weights")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--version", default="1", help="version written to the card")
    ap.add_argument("--negative-share", type=float, default=0.25, help="share of patches centred on hard negatives")
    ap.add_argument("--real", type=Path, help="folder made by scripts/prepare_real.py: its 'train' files of this sensor are background-only training imagery")
    ap.add_argument("--negative-image-share", type=float, default=0.35, help="share of patches cut from the real background-only imagery")
    ap.add_argument("--plant-share", type=float, default=0.5, help="share of patches with synthetic plots and look-alikes planted")
    ap.add_argument("--lookalikes", type=float, default=1.0, help="mean look-alikes planted per planted patch")
    ap.add_argument("--augmentation", type=float, default=1.0, help="domain randomisation strength")
    ap.add_argument("--arch", default="unet", choices=["unet", "encoder_unet"])
    ap.add_argument("--encoder", default=None, help="encoder_unet: mobilenet_v3_small | mobilenet_v3_large | resnet18")
    ap.add_argument("--patch", type=int, default=160, help="training patch side in pixels")
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--sprites", type=int, default=300, help="sprites per planting bank")
    ap.add_argument("--skip-train", action="store_true", help="only evaluate the existing model")
    ap.add_argument("--skip-calibration", action="store_true", help="keep the card's detection defaults")
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument("--shipped", action="store_true", help="run every training round behind the shipped model (SHIPPED_ROUNDS)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    kind = args.sensor
    sensor = SENSOR.get(kind, kind)
    out = args.out or Path(f"models/scout-{kind}-v1")
    if args.shipped:
        rounds = SHIPPED_ROUNDS[kind]
        if args.real is None and any("{real}" in r for r in rounds):
            ap.error("--shipped needs --real REAL_DIR (made by scripts/prepare_real.py): the last round trains on real background-only imagery")
        for k, extra in enumerate(rounds):
            skips = ["--skip-calibration"] * (args.skip_calibration or k < len(rounds) - 1) + ["--skip-eval"] * (args.skip_eval or k < len(rounds) - 1)
            main([kind, "--work", str(args.work), "--out", str(out), *extra.format(out=out, real=args.real).split(), *skips])
        return 0
    work = args.work / sensor
    if not args.skip_train:
        images, labels = make_training_set(sensor, args.scenes, work)
        settings = TrainSettings(
            name=out.name,
            version=args.version,
            sensor=sensor,
            base_channels=args.base_channels,
            depth=args.depth,
            epochs=args.epochs,
            steps_per_epoch=args.steps,
            patience=args.patience,
            val_patches=96,
            threads=args.threads,
            max_minutes=args.max_minutes,
            lr=args.lr,
            negative_share=args.negative_share,
            negative_image_share=args.negative_image_share,
            plant_share=args.plant_share,
            lookalikes_per_patch=args.lookalikes,
            augmentation=args.augmentation,
            architecture=args.arch,
            encoder=args.encoder,
            patch_px=args.patch,
            batch_size=args.batch_size,
            sprites=args.sprites,
            description=DESCRIPTION.format(sensor=sensor, real=REAL.format(sensor=sensor) if args.real else " only (scout.synth)")
            + (" Bands red, green, blue: for imagery without NIR." if "nir" not in MODEL[kind]["bands"] else ""),
            **MODEL[kind],
        )
        negatives = real_training_imagery(args.real, sensor) if args.real else []
        result = train(images, labels, out, settings, init=args.init, resume=args.resume, overwrite=True, negatives=negatives)  # reproduces the shipped model in place
        log.info("trained %s: %d epochs, best %.3f at epoch %d (%s)", out, result.epochs_run, result.best_score, result.best_epoch, result.stopped)
    if not args.skip_calibration:
        canvases = real_training_imagery(args.real, sensor) if args.real else []
        detection = calibrate_scenes(out, sensor, CALIBRATION_SEEDS[sensor], work / "calibration", canvases=canvases)
        _, card_path = find_model_files(out)
        write_json(card_path, replace(ModelCard.read(card_path), detection=detection).to_dict())
        log.info("detection defaults written to %s: thresholds %s, plot confidence floors %s", card_path, detection["thresholds"], detection["min_confidence"])
    if not args.skip_eval:
        metrics = evaluate_scenes(out, sensor, EVAL_SEEDS[sensor], work / "eval")
        _, card_path = find_model_files(out)
        card = ModelCard.read(card_path)
        card = replace(card, metrics=metrics, throughput_mp_s=measure_throughput(out))
        write_json(card_path, card.to_dict())
        log.info("metrics written to %s", card_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
