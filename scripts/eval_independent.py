#!/usr/bin/env python
"""Score a model on independent scenes (``scripts/independent_scenes.py``): how it does on imagery
unlike anything it was trained on.  Evaluation only: never train on these scenes.

For each seed: the scene is made (or read back from ``OUT/scenes/`` when this generator version
made it), ``scout detect`` runs on it with the model's calibrated defaults, and ``scout evaluate``
scores the run against the scene's truth.  Prints and writes (``OUT/{model}-{kind}.json``):

* pooled recall and precision for plots >= 10 m², per class and both together;
* false-alarm area as a share of the AOI (``scout evaluate``'s measure);
* recall by growth stage and by where the plot was planted (field, strip in maize, courtyard,
  forest clearing, under trees, along a path);
* where the flagged area outside the truth lies (tree crowns, banana, vegetables, ...), from the
  scene's landcover raster, and how many look-alike plots (cabbage, flower beds, ...) were flagged.

    .venv/bin/python scripts/eval_independent.py --model models/scout-drone-v1                  # 20 drone scenes
    .venv/bin/python scripts/eval_independent.py --model scout-satellite-v1 --kind satellite    # 10 satellite scenes
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio import features

sys.path.insert(0, str(Path(__file__).resolve().parent))
from independent_scenes import COVER, GENERATOR_VERSION, Scene, cached_scene, parse_seeds
from scout.evaluate import evaluate_run, match_plots, pool
from scout.model.files import find_model_files
from scout.model.registry import default_models_dir
from scout.schema import CLASSES, PLOTS_GPKG

log = logging.getLogger("eval_independent")

DEFAULT_SEEDS = {"drone": "0-19", "satellite": "0-9"}
DEFAULT_MODEL = {"drone": "scout-drone-v1", "satellite": "scout-satellite-v1"}
BIN = ">=10"


def resolve_model(model: str) -> Path:
    """A model path (``models/NAME``, ``NAME.json``, ``NAME.safetensors``) or a shipped model's name."""
    path = Path(model)
    for candidate in (path, default_models_dir() / model):
        try:
            weights, _ = find_model_files(candidate)
            return weights.with_suffix("")
        except Exception:  # any failure: try the next reading of the name
            continue
    find_model_files(path)  # raises the one-line ModelError naming what is missing
    return path


def _found_by(truth: gpd.GeoDataFrame, plots: gpd.GeoDataFrame, column: str) -> dict[str, list[int]]:
    """[found, truth] plots >= 10 m² per value of ``column`` (stage or context), by scout's matching rule."""
    out: dict[str, list[int]] = {}
    for value, sub in truth.groupby(column):
        counts = match_plots(sub.reset_index(drop=True), plots)["plots"]
        out[str(value)] = [sum(counts[c][BIN]["found"] for c in CLASSES), sum(counts[c][BIN]["truth"] for c in CLASSES)]
    return out


def flagged_where(scene: Scene, plots: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> dict[str, float]:
    """m² of predicted plots outside every truth plot, by what the scene shows there (landcover)."""
    with rasterio.open(scene.landcover_path) as src:
        cover = src.read(1)
        shapes = [g for g in plots.to_crs(src.crs).geometry if g is not None and not g.is_empty]
        if not shapes:
            return {}
        flagged = features.rasterize(shapes, out_shape=cover.shape, transform=src.transform, dtype="uint8").astype(bool)
        if len(truth):
            flagged &= ~features.rasterize(list(truth.to_crs(src.crs).geometry), out_shape=cover.shape, transform=src.transform, dtype="uint8").astype(bool)
        pixel = abs(src.transform.a * src.transform.e)
    counts = np.bincount(cover[flagged], minlength=len(COVER))
    return {COVER[i]: float(n * pixel) for i, n in enumerate(counts) if n}


def lookalikes_flagged(scene: Scene, plots: gpd.GeoDataFrame) -> dict[str, list[int]]:
    """[flagged, total] look-alike plots per kind: flagged when predicted plots cover a quarter of it."""
    looks = gpd.read_file(scene.truth_path, layer="lookalikes", engine="pyogrio")
    out: dict[str, list[int]] = {}
    pred = shapely.union_all(plots.to_crs(looks.crs).geometry.values) if len(plots) else shapely.Polygon()
    for kind, geom in zip(looks["kind"], looks.geometry):
        hit = shapely.area(shapely.intersection(geom, pred)) >= 0.25 * geom.area
        k = out.setdefault(str(kind), [0, 0])
        k[0] += int(hit)
        k[1] += 1
    return out


def _merge(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add ``part``'s numbers (or lists of counts) into ``total``, key by key."""
    for key, value in part.items():
        if isinstance(value, list):
            cur = total.setdefault(key, [0] * len(value))
            total[key] = [a + b for a, b in zip(cur, value)]
        else:
            total[key] = total.get(key, 0.0) + value


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def scene_interval(per_scene: Sequence[dict[str, Any]], num: str, den: str, n: int = 2000) -> list[float] | None:
    """5th-95th percentile of the pooled ratio over scenes drawn with replacement (seeded).

    Plots in one scene share its light and camera, so scenes, not plots, are the independent draws:
    two models whose scores differ by less than this width are not told apart by these seeds.
    """
    a = np.array([s[num] for s in per_scene], float)
    b = np.array([s[den] for s in per_scene], float)
    if not len(a) or not b.sum():
        return None
    idx = np.random.default_rng(0).integers(len(a), size=(n, len(a)))
    den_s = b[idx].sum(1)
    ratios = a[idx].sum(1)[den_s > 0] / den_s[den_s > 0]
    return [round(float(np.percentile(ratios, 5)), 3), round(float(np.percentile(ratios, 95)), 3)]


def evaluate_model(model: str, kind: str, seeds: Sequence[int], out: Path, size_px: int | None = None) -> dict[str, Any]:
    """Detect and score ``model`` on independent ``kind`` scenes ``seeds``; the summary dict (also written as JSON).

    ``size_px``: scenes of that side instead of their drawn size (quick checks; not cached).
    """
    from scout.detection import detect

    model_path = resolve_model(model)
    name = model_path.name
    runs = out / "runs" / name
    (out / "metrics").mkdir(parents=True, exist_ok=True)
    per_run, per_scene = [], []
    by_stage: dict[str, Any] = {}
    by_context: dict[str, Any] = {}
    where: dict[str, Any] = {}
    looks: dict[str, Any] = {}
    for seed in seeds:
        t0 = time.perf_counter()
        scene = cached_scene(out / "scenes", seed, kind, **({"size_px": size_px} if size_px else {}))
        run = runs / f"{kind}-{seed:04d}"
        detect([scene.image_path], run, model=model_path, overwrite=True)
        metrics = evaluate_run(run, scene.truth_path, out / "metrics" / f"{name}-{kind}-{seed:04d}.json", overwrite=True)
        per_run.append(metrics)
        plots = gpd.read_file(run / PLOTS_GPKG, layer="plots", engine="pyogrio")[["class", "geometry"]]
        truth = gpd.read_file(scene.truth_path, layer="truth", engine="pyogrio").to_crs(plots.crs)
        _merge(by_stage, _found_by(truth, plots, "stage"))
        _merge(by_context, _found_by(truth, plots, "context"))
        _merge(where, flagged_where(scene, plots, truth))
        _merge(looks, lookalikes_flagged(scene, plots))
        p = metrics["plots"]
        per_scene.append({
            "seed": seed, "gsd_m": round(scene.params["gsd_m"], 3), "size_px": scene.params["size_px"],
            "truth": sum(p[c][BIN]["truth"] for c in CLASSES), "found": sum(p[c][BIN]["found"] for c in CLASSES),
            "predicted": sum(p[c][BIN]["predicted"] for c in CLASSES), "correct": sum(p[c][BIN]["correct"] for c in CLASSES),
            "false_alarm_fraction": metrics["false_alarm_fraction"],
        })
        log.info("%s seed %d: found %d/%d, correct %d/%d, false-alarm area %.3f%% (%.0f s)", kind, seed, per_scene[-1]["found"], per_scene[-1]["truth"], per_scene[-1]["correct"],
                 per_scene[-1]["predicted"], 100 * (metrics["false_alarm_fraction"] or 0), time.perf_counter() - t0)
    pooled = pool(per_run)
    pp = pooled["plots"]
    tot = {k: sum(pp[c][BIN][k] for c in CLASSES) for k in ("truth", "found", "predicted", "correct")}
    outside = sum(where.values())
    summary = {
        "model": str(model_path), "kind": kind, "seeds": [int(s) for s in seeds], "generator_version": GENERATOR_VERSION,
        "recall_ge10": {**{c: pp[c][BIN]["recall"] for c in CLASSES}, "both": _ratio(tot["found"], tot["truth"])},
        "interval_90_over_scenes": {"recall": scene_interval(per_scene, "found", "truth"), "precision": scene_interval(per_scene, "correct", "predicted")},
        "precision_ge10": {**{c: pp[c][BIN]["precision"] for c in CLASSES}, "both": _ratio(tot["correct"], tot["predicted"])},
        "counts_ge10": {**{c: {k: pp[c][BIN][k] for k in ("truth", "found", "predicted", "correct")} for c in CLASSES}, "both": tot},
        "false_alarm_fraction": pooled["false_alarm_fraction"], "false_alarm_area_m2": pooled["false_alarm_area_m2"], "aoi_area_m2": pooled["aoi_area_m2"],
        "confused_with_other_class": pooled["confusion"], "pixel_iou": pooled["pixel_iou"],
        "recall_by_stage": {k: {"found": f, "truth": t, "recall": _ratio(f, t)} for k, (f, t) in sorted(by_stage.items())},
        "recall_by_context": {k: {"found": f, "truth": t, "recall": _ratio(f, t)} for k, (f, t) in sorted(by_context.items())},
        "flagged_outside_truth_by_cover": {k: {"m2": round(v, 1), "share": _ratio(v, outside)} for k, v in sorted(where.items(), key=lambda kv: -kv[1])},
        "lookalikes_flagged": {k: {"flagged": f, "total": t} for k, (f, t) in sorted(looks.items())},
        "per_scene": per_scene,
    }
    path = out / f"{name}-{kind}.json"
    path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    summary["written"] = str(path)
    return summary


def format_summary(s: dict[str, Any]) -> str:
    def f(v: float | None) -> str:
        return "  -  " if v is None else f"{v:5.3f}"

    c = s["counts_ge10"]
    lines = [
        f"{Path(s['model']).name} on {len(s['seeds'])} independent {s['kind']} scenes (seeds {s['seeds'][0]}..{s['seeds'][-1]}, generator v{s['generator_version']}); plots >= 10 m2:",
        f"{'class':9} {'truth':>5} {'found':>5} {'recall':>6} {'pred':>5} {'correct':>7} {'prec':>6}",
    ]
    for k in (*CLASSES, "both"):
        lines.append(f"{k:9} {c[k]['truth']:5d} {c[k]['found']:5d} {f(s['recall_ge10'][k]):>6} {c[k]['predicted']:5d} {c[k]['correct']:7d} {f(s['precision_ge10'][k]):>6}")
    iv = s["interval_90_over_scenes"]
    lines.append(f"90% interval over scenes (bootstrap): recall {iv['recall']}, precision {iv['precision']}")
    lines.append(f"false-alarm area: {100 * (s['false_alarm_fraction'] or 0):.3f}% of {s['aoi_area_m2'] / 1e4:.2f} ha")
    lines.append("recall by stage: " + ", ".join(f"{k} {v['found']}/{v['truth']}" for k, v in s["recall_by_stage"].items()))
    lines.append("recall by context: " + ", ".join(f"{k} {v['found']}/{v['truth']}" for k, v in s["recall_by_context"].items()))
    top = list(s["flagged_outside_truth_by_cover"].items())[:6]
    lines.append("flagged outside truth, on: " + (", ".join(f"{k} {100 * (v['share'] or 0):.0f}%" for k, v in top) or "nothing"))
    lines.append("look-alike plots flagged: " + ", ".join(f"{k} {v['flagged']}/{v['total']}" for k, v in s["lookalikes_flagged"].items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model path or shipped name (default: scout-drone-v1 / scout-satellite-v1)")
    ap.add_argument("--kind", choices=["drone", "satellite"], default="drone")
    ap.add_argument("--seeds", help="scene seeds, e.g. 0-19 (default: drone 0-19, satellite 0-9)")
    ap.add_argument("--size", type=int, help="scenes of this side in pixels (a quick check; the scores above are on drawn sizes)")
    ap.add_argument("--out", type=Path, default=Path("runs/independent"), help="scenes (cached), runs and metrics (default runs/independent)")
    ap.add_argument("--write-card", action="store_true", help="keep recall and precision in the model card (metrics.independent)")
    ap.add_argument("-v", "--verbose", action="store_true", help="scout's own progress and logs too")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("scout").setLevel(logging.ERROR)
        logging.getLogger("independent_scenes").setLevel(logging.WARNING)
    from scout.errors import ScoutError

    try:
        seeds = parse_seeds(args.seeds or DEFAULT_SEEDS[args.kind])
        model = args.model or DEFAULT_MODEL[args.kind]
        print(f"seeds: {args.seeds or DEFAULT_SEEDS[args.kind]} ({len(seeds)} {args.kind} scenes), model: {model}", file=sys.stderr)
        summary = evaluate_model(model, args.kind, seeds, args.out, args.size)
    except (ScoutError, ValueError) as exc:
        print(f"eval_independent: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    print(f"written: {summary['written']}")
    if args.write_card:
        from scout.model.files import store_card_metrics
        from scout.model.registry import default_models_dir

        keep = ("generator_version", "seeds", "recall_ge10", "precision_ge10", "interval_90_over_scenes", "false_alarm_fraction")
        path = model if Path(model).exists() or Path(model + ".json").exists() else default_models_dir() / model
        print(f"card: {store_card_metrics(path, 'independent', {k: summary[k] for k in keep})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
