"""Measure the cold start: a county's first flight is reviewed, the model is fine-tuned on its false
alarms, and the next flight of similar landscape is detected again.

The loop is the one a county runs, through the same library calls as the commands:

1. ``scout detect`` flight A with the base model (its shipped defaults);
2. every plot is marked ``false_alarm`` in ``plots.gpkg`` (flight A holds no poppy or cannabis), as an
   analyst does in QGIS, and ``scout review A --labels`` exports them;
3. ``scout train A --labels ... --init BASE`` fine-tunes (synthetic plots planted into flight A are its
   positives), timed on this machine;
4. ``scout calibrate TUNED A`` picks its own detection defaults (a copy keeps the inherited ones);
5. ``scout detect`` flight B (never trained on) with the base, the fine-tuned and the recalibrated model:
   false-alarm area before and after (goal: down >= 10x), and recall on held-out synthetic scenes before
   and after (goal: within 0.03).

    python scripts/cold_start.py --data REAL_DIR --sensor drone [--base models/scout-drone-v1] [--minutes 8]
        [--rehearsal-share 0.75] [--pair lakeshore-dji-0018] [--reuse tuned|calibrated] [--eval-scenes 20]

Pairs come from ``manifest.json`` (``coldstart_pairs``, written by ``scripts/prepare_real.py``).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from scout.calibrate import calibrate_model
from scout.detection import RunSummary, detect
from scout.evaluate import evaluate_scenes
from scout.review.decisions import review_run
from scout.runfolder import open_run, read_plots, rewrite_plots
from scout.train import TrainSettings, train

log = logging.getLogger("scout.cold_start")
EVAL_SEEDS = {"drone": range(9000, 9020), "satellite": range(9500, 9520)}  # the shipped models' held-out scenes


def flagged(run: Path) -> dict:
    s = RunSummary.from_run_folder(run)
    return {"flagged_m2": s.flagged_area_m2, "aoi_m2": s.aoi_area_m2, "flagged_pct": round(100 * s.flagged_area_m2 / max(s.aoi_area_m2, 1e-9), 4), "plots": s.n_plots}


def mark_all_false_alarms(run: Path) -> int:
    """Set review_status = false_alarm on every plot, as an analyst reviewing a clean flight would."""
    folder = open_run(run)
    plots = read_plots(folder)
    plots["review_status"] = "false_alarm"
    plots["reviewed_by"] = "cold-start script"
    rewrite_plots(folder, plots)
    return len(plots)


def recall(model: Path | str, sensor: str, work: Path, scenes: int) -> dict:
    """Recall and precision for plots >= 10 m² on held-out synthetic scenes, with the plot counts
    (one plot of 30 is 0.033 of recall: the counts say what a change can resolve)."""
    m = evaluate_scenes(model, sensor, EVAL_SEEDS[sensor][:scenes], work)
    return {c: {k: m["plots"][c][">=10"][k] for k in ("recall", "precision", "found", "truth")} for c in m["plots"]}


def run_pair(base: str, a: Path, b: Path, sensor: str, work: Path, settings: TrainSettings, reuse: str = "", scenes: int = 20) -> dict:
    out: dict = {"base": str(base), "fine_tune_on": a.name, "measure_on": b.name}
    run_a = work / "runs" / f"{a.stem}-base"
    detect([a], run_a, model=base, overwrite=True)
    out["before_on_A"] = flagged(run_a)
    n = mark_all_false_alarms(run_a)
    labels = work / f"{a.stem}-labels.gpkg"
    review_run(run_a, labels=labels, overwrite=True)
    tuned = work / f"tuned-{a.stem}"
    t0 = time.perf_counter()
    reused = bool(reuse) and Path(f"{tuned}.safetensors").exists()
    if reused:  # a later step changed: measure it again on the same fine-tune
        log.info("reusing %s", tuned)
    elif n:
        train([a], labels, tuned, replace(settings, name=tuned.name), init=base, overwrite=True)
    else:  # nothing flagged: a clean flight alone as background-only imagery
        train([], None, tuned, replace(settings, name=tuned.name), init=base, overwrite=True, negatives=[a])
    out["fine_tune_minutes"] = None if reused else round((time.perf_counter() - t0) / 60, 2)
    out["false_alarms_marked"] = n
    calibrated = work / f"calibrated-{a.stem}"
    t0 = time.perf_counter()
    reused = reused and reuse == "calibrated" and Path(f"{calibrated}.safetensors").exists()
    if reused:
        log.info("reusing %s", calibrated)
    else:
        for ext in (".safetensors", ".json"):
            shutil.copyfile(f"{tuned}{ext}", f"{calibrated}{ext}")
        calibrate_model(calibrated, [a], work=work / "calibration")
    out["calibrate_minutes"] = None if reused else round((time.perf_counter() - t0) / 60, 2)
    for name, model in (("base", base), ("tuned", tuned), ("calibrated", calibrated)):
        run_b = work / "runs" / f"{b.stem}-{name}"
        detect([b], run_b, model=model, overwrite=True)
        out[f"{name}_on_B"] = flagged(run_b)
        out[f"{name}_synthetic_recall"] = recall(model, sensor, work / f"eval-{name}", scenes)
    before = out["base_on_B"]["flagged_m2"]
    for name in ("tuned", "calibrated"):
        after = out[f"{name}_on_B"]["flagged_m2"]
        key = "" if name == "calibrated" else "_inherited_defaults"
        out[f"false_alarm_area_ratio{key}"] = round(before / after, 2) if after > 0 else (float("inf") if before > 0 else 1.0)
        out[f"recall_change{key}"] = {c: round(out[f"{name}_synthetic_recall"][c]["recall"] - out["base_synthetic_recall"][c]["recall"], 3) for c in out["base_synthetic_recall"]}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder made by scripts/prepare_real.py")
    ap.add_argument("--sensor", default="drone", choices=["drone", "satellite"])
    ap.add_argument("--base", help="model to fine-tune (default: the shipped one for the sensor)")
    ap.add_argument("--work", type=Path, default=Path("work/cold_start"))
    ap.add_argument("--minutes", type=float, default=8.0, help="fine-tuning budget per pair")
    ap.add_argument("--rehearsal-share", type=float, default=TrainSettings.rehearsal_share, help="share of patches from the rehearsal scenes (default %(default)s)")
    ap.add_argument("--pair", action="append", default=[], help="only the pair whose first image is this (repeatable; default: all)")
    ap.add_argument("--reuse", choices=["tuned", "calibrated"], default="",
                    help="keep the fine-tuned (and calibrated) models already in --work, to measure a later step again")
    ap.add_argument("--eval-scenes", type=int, default=20, help="held-out synthetic scenes recall is measured on (default %(default)s)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    base = args.base or f"models/scout-{args.sensor}-v1"
    manifest = json.loads((args.data / "manifest.json").read_text(encoding="utf-8"))
    settings = TrainSettings(epochs=30, steps_per_epoch=40, max_minutes=args.minutes, lr=5e-4, patience=30, rehearsal_scenes=12,
                             rehearsal_share=args.rehearsal_share, threads=args.threads, version="cold-start")
    results = []
    for a, b in manifest["coldstart_pairs"][args.sensor]:
        if args.pair and a not in args.pair:
            continue
        files = manifest["files"]
        r = run_pair(base, args.data / files[a]["file"], args.data / files[b]["file"], args.sensor, args.work / f"{a}--{b}", settings, args.reuse, args.eval_scenes)
        results.append(r)
        print(f"{a} -> {b}: flagged on B {r['base_on_B']['flagged_pct']:.3f} % -> {r['calibrated_on_B']['flagged_pct']:.3f} % "
              f"({r['false_alarm_area_ratio']}x less), recall change {r['recall_change']} (inherited defaults: {r['false_alarm_area_ratio_inherited_defaults']}x, "
              f"{r['recall_change_inherited_defaults']}), fine-tuning {r['fine_tune_minutes']} min + calibrating {r['calibrate_minutes']} min", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
