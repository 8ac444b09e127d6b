"""Calibrate a model's detection defaults on runs over scenes with known plots.

A segmentation model's 0.5 is not a decision rule: whether a pixel should count, and
whether a whole plot is believable, depends on the model.  :func:`calibrate` picks, per
class, the pixel threshold and the plot confidence floor (mean probability over the
plot) that give the best plot-level precision for plots >= 10 m² (then over all sizes)
while keeping recall at or above the given floors, on calibration scenes that are neither training nor
held-out evaluation scenes.  The result goes into the model card's ``detection`` field,
which :meth:`scout.detection.DetectSettings.for_model` applies whenever the user sets nothing.

Runs are detected once at the lowest threshold tried; every setting is then scored by
re-tracing the run's ``probability.tif`` (:func:`plots_from_run`), so no model is run twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.windows import Window

from scout import areas
from scout.detection.plots import plot_shapes
from scout.detection.settings import DetectSettings
from scout.errors import InputError, RunFolderError, first_line
from scout.evaluate import match_plots
from scout.labels import read_labels, read_truth
from scout.runfolder import RunFolder, read_aoi_layer
from scout.schema import CLASSES
from scout.vectorize import Fragments, merge_fragments, trace_window

log = logging.getLogger(__name__)

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
CONFIDENCES = (0.0, *np.round(np.arange(0.5, 0.96, 0.01), 2))


def plots_from_run(run: str | Path, settings: DetectSettings) -> gpd.GeoDataFrame:
    """Plots of a finished run re-traced from its probability raster with other thresholds,
    floors or minimum area (``settings`` filled in), clipped to the run's AOI.  Reads the
    whole raster: meant for scene-sized runs."""
    run = Path(run)
    folder = RunFolder(run)
    try:
        with rasterio.open(folder.probability_tif) as src:
            classes = [d or "" for d in src.descriptions]
            probs, valid = src.read(), src.dataset_mask() > 0
            affine, crs = src.transform, src.crs
        aoi = read_aoi_layer(folder, crs)
    except (rasterio.errors.RasterioError, OSError, ValueError, RunFolderError) as exc:
        raise RunFolderError(f"{run}: cannot read its probability raster or AOI ({first_line(exc)})") from None
    thresholds_u8 = np.array([math.ceil(settings.threshold(c) * 255) for c in classes], np.uint8)
    fragments = Fragments()
    trace_window(fragments, probs, valid, Window(0, 0, probs.shape[2], probs.shape[1]), thresholds_u8, 0)
    return plot_shapes(merge_fragments(fragments), affine, crs, areas.union(aoi.geometry.values), classes, settings)


def _class_counts(truth: gpd.GeoDataFrame, plots: gpd.GeoDataFrame, cls: str) -> np.ndarray:
    """(found, truth, correct, predicted) for plots >= 10 m², (found, truth) under 10 m²,
    then (correct, predicted) over all sizes."""
    k = match_plots(truth, plots[["class", "geometry"]])["plots"][cls]
    big, small, every = k[">=10"], k["<10"], k["all"]
    return np.array([big["found"], big["truth"], big["correct"], big["predicted"], small["found"], small["truth"], every["correct"], every["predicted"]], float)


def calibrate(
    runs: Sequence[tuple[str | Path, str | Path]],
    recall_min: float = 0.97,
    small_recall_min: float = 0.85,
    thresholds: Sequence[float] = THRESHOLDS,
    confidences: Sequence[float] = CONFIDENCES,
    min_area_m2: float = 1.0,
) -> dict[str, Any]:
    """Per class, the (pixel threshold, plot confidence floor) with the best precision for
    plots >= 10 m² among those whose recall reaches ``recall_min`` (>= 10 m²) and
    ``small_recall_min`` (< 10 m²), pooled over ``runs`` ((run folder, truth file) pairs,
    detected at or below the lowest threshold); ties go to precision over all sizes.  When
    none reaches both floors, the best F2 score (recall weighted twice) for plots >= 10 m² wins, and the result says so."""
    truths = []
    for run, truth in runs:
        with rasterio.open(RunFolder(Path(run)).probability_tif) as src:
            truths.append(read_truth(truth, src.crs))
    # counts[class][t, m] pooled over runs
    counts = {c: np.zeros((len(thresholds), len(confidences), 8)) for c in CLASSES}
    for ti, t in enumerate(thresholds):
        settings = DetectSettings(thresholds={"*": t}, min_confidence={"*": 0.0}, min_area_m2=min_area_m2)
        for (run, _), truth in zip(runs, truths):
            plots = plots_from_run(run, settings)
            for c in CLASSES:
                mine = plots[plots["class"] == c]
                for mi, m in enumerate(confidences):
                    counts[c][ti, mi] += _class_counts(truth, mine[mine["confidence"] >= m], c)
        log.info("calibration: threshold %.2f scored on %d run(s)", t, len(runs))

    out: dict[str, Any] = {"thresholds": {}, "min_confidence": {}, "min_area_m2": min_area_m2, "calibration": {}}
    for c in CLASSES:
        k = counts[c]
        if not k[0, 0, 1] and not k[0, 0, 5]:
            log.warning("calibration: no %s plots in the truth; %s keeps the defaults", c, c)
            continue
        recall = np.divide(k[..., 0], k[..., 1], out=np.zeros(k.shape[:2]), where=k[..., 1] > 0)
        precision = np.divide(k[..., 2], k[..., 3], out=np.zeros(k.shape[:2]), where=k[..., 3] > 0)
        small = np.divide(k[..., 4], k[..., 5], out=np.ones(k.shape[:2]), where=k[..., 5] > 0)
        # F2: recall weighs twice precision -- a ground team checks every flag, a missed plot grows on
        f2 = np.divide(5 * precision * recall, 4 * precision + recall, out=np.zeros(k.shape[:2]), where=4 * precision + recall > 0)
        overall = np.divide(k[..., 6], k[..., 7], out=np.zeros(k.shape[:2]), where=k[..., 7] > 0)
        ok = (recall >= recall_min) & (small >= small_recall_min)
        # best precision among settings meeting both recall floors; ties: better precision over all
        # sizes (fewer wasted visits to small false alarms), then more recall, then the gentler setting
        score = np.where(ok, precision + 1e-3 * overall + 1e-6 * (recall + small), -1.0) if ok.any() else f2
        ti, mi = (int(i) for i in np.unravel_index(int(np.argmax(score)), score.shape))
        out["thresholds"][c] = float(thresholds[ti])
        out["min_confidence"][c] = float(confidences[mi])
        out["calibration"][c] = {
            "precision_ge10": round(float(precision[ti, mi]), 4),
            "recall_ge10": round(float(recall[ti, mi]), 4),
            "recall_lt10": round(float(small[ti, mi]), 4),
            "precision_all": round(float(overall[ti, mi]), 4),
            "recall_floors_met": bool(ok.any()),
        }
        if not ok.any():  # said, not only stored: a fine-tune can lose plots no floor brings back
            log.warning(
                "calibration: no %s setting finds %.0f%% of the plots >= 10 m² and %.0f%% of the smaller ones on the calibration scenes; "
                "the best recall-weighted one finds %.0f%% and %.0f%%. Expect it to miss such plots (a fine-tune keeps more of them "
                "with a larger --rehearsal-share)",
                c, 100 * recall_min, 100 * small_recall_min, 100 * recall[ti, mi], 100 * small[ti, mi],
            )
    out["calibration"]["runs"] = len(runs)
    out["calibration"]["recall_floors"] = {"ge10": recall_min, "lt10": small_recall_min}
    return out


def calibration_settings(thresholds: Sequence[float] = THRESHOLDS) -> DetectSettings:
    """Settings for the calibration runs: everything a later re-trace might keep."""
    return DetectSettings(thresholds={"*": min(thresholds)}, min_confidence={"*": 0.0}, min_area_m2=0.0)


def calibrate_scenes(
    model: str | Path, sensor: str, seeds: Sequence[int], work: str | Path, canvases: Sequence[str | Path] = (), size_px: int | None = None,
    known_plots: gpd.GeoDataFrame | None = None, **goals: Any,
) -> dict[str, Any]:
    """Detect on synthetic scenes made with ``seeds`` (neither training nor held-out ones), and on
    real ``canvases`` with synthetic plots planted into them (:func:`scout.synth.canvas.plant_scene`,
    seed by seed), and calibrate on them all; the result is a model card's ``detection`` field.
    ``known_plots``: labels (:func:`scout.labels.read_labels`) whose poppy and cannabis polygons are real plots in the canvases
    (confirmed in review); they are truth there, not false alarms.

    Planted canvases put real surroundings, and plots drawn by every rendering family, into the
    calibration: thresholds picked on one generator's scenes alone fit that generator."""
    from scout.detection import detect
    from scout.evaluate import scene_size
    from scout.synth import make_scene
    from scout.synth.canvas import plant_scene

    work = Path(work)
    pairs = []
    for seed in seeds:
        scene = make_scene(work / "scenes", seed, kind=sensor, size_px=size_px or scene_size(sensor), boundary=sensor == "drone")
        run = work / "runs" / f"{sensor}-{seed:04d}"
        detect([scene.image_path], run, model=model, settings=calibration_settings(), overwrite=True)
        pairs.append((run, scene.truth_path))
    for k, canvas in enumerate(canvases):
        seed = int(seeds[k % len(seeds)]) if seeds else k
        planted = plant_scene(canvas, work / "planted", seed, sensor=sensor, known_plots=known_plots)
        run = work / "runs" / planted.image_path.stem
        detect([planted.image_path], run, model=model, settings=calibration_settings(), overwrite=True)
        pairs.append((run, planted.truth_path))
    result = calibrate(pairs, **goals)
    result["calibration"]["scenes"] = {"sensor": sensor, "seeds": [int(s) for s in seeds], "size_px": size_px or scene_size(sensor),
                                       "planted_canvases": [Path(c).name for c in canvases]}
    return result


CALIBRATION_SEEDS = {"drone": range(8000, 8030), "satellite": range(8500, 8530)}
"""Synthetic scenes the shipped models were calibrated on: neither training, rehearsal nor evaluation scenes."""


def calibrate_model(
    model: str | Path, images: Sequence[str | Path] = (), scenes: int = 8, work: str | Path | None = None, size_px: int | None = None,
    labels: str | Path | None = None,
) -> dict[str, Any]:
    """Pick ``model``'s detection defaults anew and write them into its card.

    A fine-tuned model inherits the thresholds and plot confidence floors of the model it
    started from, but fine-tuning shifts its probabilities: on a county's first flight of false
    alarms, plots the base model found fell under the inherited floors (drone, lake shore, 20
    held-out synthetic scenes: of 62 poppy plots the base found 61, inherited floors 46, recalibrated 55;
    of 50 cannabis plots 50, 0 and 49).  Calibrates on ``scenes``
    synthetic scenes of the model's kind and on ``images`` (your flights) with plots planted.
    ``labels`` (``scout review --labels``): its confirmed poppy and cannabis plots in ``images``
    count as plots to find; without them a real plot found there would be scored a false alarm
    and the floors raised to hide it."""
    import tempfile
    from dataclasses import replace

    from scout.io import write_json
    from scout.model import ModelCard, find_model_files

    _, card_path = find_model_files(model)
    card = ModelCard.read(card_path)
    if labels is not None and not images:
        raise InputError(f"{labels}: labels are for the flights you calibrate on; name those flights too")
    known = read_labels(labels, require_plots=False) if labels is not None else None  # read once; a bad file fails now
    if card.sensor not in CALIBRATION_SEEDS:
        raise InputError(f"{card_path}: model sensor {card.sensor!r} has no synthetic scenes to calibrate on (drone, satellite)")
    seeds = CALIBRATION_SEEDS[card.sensor][:scenes]
    with tempfile.TemporaryDirectory(prefix="scout-calibrate-") as tmp:
        detection = calibrate_scenes(card_path.with_suffix(""), card.sensor, seeds, Path(work or tmp), canvases=images, size_px=size_px, known_plots=known)
    write_json(card_path, replace(card, detection=detection).to_dict())
    return detection
