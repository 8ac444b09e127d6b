"""Score a run folder against truth plots: the measures the literature reports.

* **Pixel IoU** per class, from ``probability.tif`` classified as detection does (most
  probable plot class where it reaches the run's threshold), inside its valid mask.
* **Plot-level precision, recall and F1** per class and per plot size (< 10, 10-100,
  > 100 m²).  A truth plot is *found* when a predicted plot of its class overlaps it with
  IoU >= 0.3 or holds its centroid.  A predicted plot is *correct* when it finds a truth
  plot of its class by that rule, or when at least half of its area lies on truth plots
  of its class (a piece of a real field is not a false alarm: a team sent there finds
  the plot).  Truth plots are binned by their own area, predicted plots by theirs.
* **Poppy/cannabis confusion**: of the truth plots of a class that any predicted plot
  found, the share found only by plots of the other class.
* **False-alarm area**: area of the false-alarm plots (predicted plots that are not
  correct) lying outside every truth plot, as a fraction of the AOI (the run's ``aoi``
  layer, or the valid area of its probability raster): ground teams sent where nothing
  grows.  The area of *all* predicted plots outside truth, which adds the overshoot of
  correct plots' outlines past the truth boundary, is reported beside it as
  ``outside_truth_fraction``.

Counts are kept next to ratios so that several runs can be pooled (:func:`pool`).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely
import torch
from rasterio import features

from scout.errors import InputError, RunFolderError
from scout.io import check_new_file, write_json
from scout.labels import read_truth
from scout.runfolder import RunFolder, open_run, read_aoi_layer, read_plots
from scout.schema import CLASSES
from scout.vectorize import label_classes

log = logging.getLogger(__name__)

MATCH_IOU = 0.3
SIZE_BINS: dict[str, tuple[float, float]] = {"<10": (0.0, 10.0), "10-100": (10.0, 100.0), ">100": (100.0, math.inf), ">=10": (10.0, math.inf), "all": (0.0, math.inf)}
PIXEL_CLASSES = ("background", *CLASSES)


def _bin_of(area: np.ndarray, name: str) -> np.ndarray:
    lo, hi = SIZE_BINS[name]
    return (area >= lo) & (area < hi)


def match_plots(truth: gpd.GeoDataFrame, pred: gpd.GeoDataFrame) -> dict[str, Any]:
    """Plot-level counts per class and size bin, confusion counts and false-alarm area (m²).

    Both frames hold ``class`` and polygon geometry in the same metric CRS.
    """
    t_geom, p_geom = truth.geometry.values, pred.geometry.values
    t_cls, p_cls = truth["class"].to_numpy(), pred["class"].to_numpy()
    t_area, p_area = shapely.area(t_geom), shapely.area(p_geom)
    # match[i, j]: predicted plot j finds truth plot i (IoU >= 0.3 or holds its centroid)
    match = np.zeros((len(truth), len(pred)), bool)
    on_truth = np.zeros(len(pred))  # area of predicted plot j on truth plots of its class
    if len(truth) and len(pred):
        ti, pi = pred.sindex.query(t_geom, predicate="intersects")
        inter = shapely.area(shapely.intersection(t_geom[ti], p_geom[pi]))
        iou = inter / (t_area[ti] + p_area[pi] - inter)
        holds = shapely.contains(p_geom[pi], shapely.centroid(t_geom[ti]))
        match[ti, pi] = (iou >= MATCH_IOU) | holds
        same = t_cls[ti] == p_cls[pi]
        np.add.at(on_truth, pi[same], inter[same])
    same_cls = t_cls[:, None] == p_cls[None, :]
    found = (match & same_cls).any(1)
    found_any = match.any(1)
    correct = (match & same_cls).any(0) | (on_truth >= 0.5 * np.maximum(p_area, 1e-12))

    counts: dict[str, Any] = {"plots": {}, "confusion": {}}
    for c in CLASSES:
        tc, pc = t_cls == c, p_cls == c
        counts["plots"][c] = {
            b: {
                "truth": int((tc & _bin_of(t_area, b)).sum()),
                "found": int((tc & found & _bin_of(t_area, b)).sum()),
                "predicted": int((pc & _bin_of(p_area, b)).sum()),
                "correct": int((pc & correct & _bin_of(p_area, b)).sum()),
            }
            for b in SIZE_BINS
        }
        counts["confusion"][c] = {"found_by_any": int((tc & found_any).sum()), "only_other_class": int((tc & found_any & ~found).sum())}
    truth_union = shapely.union_all(t_geom) if len(truth) else shapely.Polygon()
    pred_union = shapely.union_all(p_geom) if len(pred) else shapely.Polygon()
    false_union = shapely.union_all(p_geom[~correct]) if (~correct).any() else shapely.Polygon()
    counts["false_alarm_area_m2"] = float(shapely.area(shapely.difference(false_union, truth_union)))
    counts["outside_truth_area_m2"] = float(shapely.area(shapely.difference(pred_union, truth_union)))
    counts["false_alarm_plots"] = int((~correct).sum())
    return counts


def pixel_confusion(run: Path, truth: gpd.GeoDataFrame, thresholds: dict[str, float]) -> tuple[np.ndarray, float]:
    """Pixel confusion [truth, pred] (background, classes...) and the valid area in m²."""
    path = RunFolder(run).probability_tif
    with rasterio.open(path) as src:
        names = [d or "" for d in src.descriptions]
        if sorted(n for n in names if n) != sorted(CLASSES):
            raise RunFolderError(f"{path}: bands {names} are not one per class {list(CLASSES)}")
        order = [names.index(c) + 1 for c in CLASSES]
        probs = src.read(order)
        valid = src.dataset_mask() > 0
        shapes = [(g, CLASSES.index(c) + 1) for g, c in zip(truth.to_crs(src.crs).geometry, truth["class"])]
        t_lab = features.rasterize(shapes, out_shape=src.shape, transform=src.transform, dtype="uint8") if shapes else np.zeros(src.shape, np.uint8)
        pixel_area = abs(src.transform.a * src.transform.e)
    if probs.dtype != np.uint8:  # float32 probabilities: scale like the uint8 contract
        probs = np.clip(np.round(probs * 255), 0, 255).astype(np.uint8)
    th = np.array([math.ceil(thresholds.get(c, 0.5) * 255) for c in CLASSES], np.uint8)
    pred = label_classes(probs, valid, th)
    n = len(PIXEL_CLASSES)
    cm = np.bincount(t_lab[valid].astype(int) * n + pred[valid].astype(int), minlength=n * n).reshape(n, n)
    return cm, float(valid.sum() * pixel_area)


def _read_run(run: Path) -> tuple[gpd.GeoDataFrame, dict[str, Any], float | None]:
    """The plots (with a class), run.json (when there is one) and the AOI area (None without
    an aoi layer) of a run folder, finished or not: calibration and test runs are scored too."""
    folder = open_run(run, complete=False)
    if not folder.probability_tif.exists():
        raise RunFolderError(f"{folder.probability_tif}: missing; is {run} a complete scout run folder?")
    plots = read_plots(folder, required=("class",))
    aoi_area = None
    try:
        aoi = read_aoi_layer(folder, plots.crs)
        if len(aoi):
            aoi_area = float(shapely.area(shapely.union_all(aoi.geometry.values)))
    except Exception:  # no aoi layer: fall back to the raster's valid area
        aoi_area = None
    return plots, folder.meta, aoi_area


def evaluate_run(run: str | Path, truth: str | Path, out: str | Path | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Score one run folder against a truth file; write JSON to ``out`` when given."""
    if out is not None:
        check_new_file(out, overwrite)
    run = Path(run)
    plots, meta, aoi_area = _read_run(run)
    if plots.crs.is_geographic:
        raise RunFolderError(f"{RunFolder(run).plots_gpkg}: plots are in a geographic CRS; expected the run's metric working CRS")
    truth_gdf = read_truth(truth, plots.crs)
    thresholds = (meta.get("parameters") or {}).get("thresholds") or {}
    cm, valid_area = pixel_confusion(run, truth_gdf, thresholds)
    counts = match_plots(truth_gdf, plots[["class", "geometry"]])
    counts["pixel_confusion"] = cm.tolist()
    counts["aoi_area_m2"] = aoi_area if aoi_area is not None else valid_area
    metrics = summarize(counts)
    metrics["run"] = str(run)
    metrics["truth"] = str(truth)
    if out is not None:
        write_json(out, metrics)
    return metrics


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def summarize(counts: dict[str, Any]) -> dict[str, Any]:
    """Ratios (IoU, precision, recall, F1, confusion, false-alarm share) from pooled counts."""
    cm = np.asarray(counts["pixel_confusion"])
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    plots: dict[str, Any] = {}
    for c, bins in counts["plots"].items():
        plots[c] = {}
        for b, k in bins.items():
            p, r = _ratio(k["correct"], k["predicted"]), _ratio(k["found"], k["truth"])
            f1 = round(2 * p * r / (p + r), 4) if p and r else (0.0 if p is not None and r is not None else None)
            plots[c][b] = {**k, "precision": p, "recall": r, "f1": f1}
    return {
        "counts": counts,
        "pixel_iou": {c: _ratio(float(tp[i]), float(denom[i])) for i, c in enumerate(PIXEL_CLASSES)},
        "plots": plots,
        "confusion": {c: _ratio(k["only_other_class"], k["found_by_any"]) for c, k in counts["confusion"].items()},
        "false_alarm_fraction": _ratio(counts["false_alarm_area_m2"], counts["aoi_area_m2"]),
        "false_alarm_area_m2": round(counts["false_alarm_area_m2"], 2),
        "outside_truth_fraction": _ratio(counts.get("outside_truth_area_m2", 0.0), counts["aoi_area_m2"]),
        "aoi_area_m2": round(counts["aoi_area_m2"], 2),
    }


def pool(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Pool several runs' metrics by adding their counts, then recompute the ratios."""
    total: dict[str, Any] | None = None
    for m in results:
        c = m["counts"]
        if total is None:
            total = json.loads(json.dumps(c))
            continue
        for cls, bins in c["plots"].items():
            for b, k in bins.items():
                for key, v in k.items():
                    total["plots"][cls][b][key] += v
        for cls, k in c["confusion"].items():
            for key, v in k.items():
                total["confusion"][cls][key] += v
        for key in ("false_alarm_area_m2", "outside_truth_area_m2", "aoi_area_m2", "false_alarm_plots"):
            total[key] = total.get(key, 0) + c.get(key, 0)
        total["pixel_confusion"] = (np.asarray(total["pixel_confusion"]) + np.asarray(c["pixel_confusion"])).tolist()
    if total is None:
        raise InputError("nothing to pool: no runs")
    return summarize(total)


def format_table(metrics: dict[str, Any]) -> str:
    """A short plain-text table: plot precision/recall/F1 per class and size, then pixel IoU."""

    def f(v: float | None) -> str:
        return "  -  " if v is None else f"{v:5.3f}"

    lines = [f"{'class':9} {'size m2':8} {'truth':>5} {'found':>5} {'recall':>6} {'pred':>5} {'prec':>6} {'F1':>6}"]
    for c, bins in metrics["plots"].items():
        for b in ("<10", "10-100", ">100", ">=10", "all"):
            k = bins[b]
            lines.append(f"{c:9} {b:8} {k['truth']:5d} {k['found']:5d} {f(k['recall']):>6} {k['predicted']:5d} {f(k['precision']):>6} {f(k['f1']):>6}")
    iou = ", ".join(f"{c} {f(v)}" for c, v in metrics["pixel_iou"].items())
    conf = ", ".join(f"{c} {f(v)}" for c, v in metrics["confusion"].items())
    fa = metrics["false_alarm_fraction"]
    lines.append(f"pixel IoU: {iou}")
    lines.append(f"confused with the other class: {conf}")
    lines.append(f"false-alarm area: {metrics['false_alarm_area_m2']:.1f} m2 = {100 * (fa or 0):.3f}% of {metrics['aoi_area_m2'] / 1e4:.2f} ha AOI")
    lines.append(f"all predicted area outside truth (with outline overshoot): {100 * (metrics.get('outside_truth_fraction') or 0):.3f}% of the AOI")
    return "\n".join(lines)


def scene_size(sensor: str) -> int:
    """Side in pixels of the synthetic scenes models are calibrated and evaluated on."""
    return 2048 if sensor == "drone" else 1024


def evaluate_scenes(model: str | Path, sensor: str, seeds: Sequence[int], work: str | Path, size_px: int | None = None) -> dict[str, Any]:
    """Detect on synthetic scenes made with ``seeds`` and pool the metrics (held-out evaluation)."""
    from scout.detection import detect
    from scout.synth import make_scene

    work = Path(work)
    (work / "metrics").mkdir(parents=True, exist_ok=True)
    per_run = []
    for seed in seeds:
        size = size_px or scene_size(sensor)
        scene = make_scene(work / "scenes", seed, kind=sensor, size_px=size, boundary=sensor == "drone")
        run = work / "runs" / f"{sensor}-{seed:04d}"
        detect([scene.image_path], run, model=model, overwrite=True)
        per_run.append(evaluate_run(run, scene.truth_path, work / "metrics" / f"{sensor}-{seed:04d}.json", overwrite=True))
    pooled = pool(per_run)
    pooled["scenes"] = {"sensor": sensor, "seeds": [int(s) for s in seeds], "size_px": size_px or scene_size(sensor)}
    pooled.pop("counts", None)
    return pooled


def measure_throughput(model: str | Path, seconds: float = 5.0, batch: int = 4) -> float:
    """Model-only CPU throughput in megapixels per second at the model's GSD (tiles of its card size)."""
    from scout.model import load_model

    loaded = load_model(model)
    net = loaded.net.to(memory_format=torch.channels_last)
    t = loaded.card.tile_size
    x = torch.randn(batch, len(loaded.card.bands), t, t).contiguous(memory_format=torch.channels_last)
    done, start = 0, None
    with torch.inference_mode():
        net(x)  # warm-up
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            net(x)
            done += batch
    return round(done * t * t / 1e6 / (time.perf_counter() - start), 2)

