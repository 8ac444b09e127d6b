"""False alarms on real imagery with no poppy or cannabis in it: the measure that matters most.

Every pixel of these images is background, so everything a model flags there is a false alarm.
Per image this runs ``scout detect`` with the model's shipped defaults (calibrated thresholds and
confidence floors) and reports the share of the image flagged and the false plots per hectare,
then prints them beside the model card's held-out synthetic metrics, so no model is judged on
its own generator alone.

    python scripts/eval_real.py --data REAL_DIR [--role heldout] [--sensor drone] [--model M] [--json out.json]

``REAL_DIR`` is a folder made by ``scripts/prepare_real.py`` (its ``manifest.json`` gives each
file's role and sensor); ``--images`` measures any other background-only rasters instead.
Goals (issue 16): flagged <= 0.1 % of the AOI and <= 0.5 false plots per hectare.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

from scout.detection import DetectSettings, detect
from scout.errors import ScoutError
from scout.model import ModelCard, find_model_files
from scout.model.files import store_card_metrics
from scout.model.registry import default_models_dir
from scout.runfolder import read_record

GOAL_FLAGGED_PCT = 0.1
GOAL_PLOTS_PER_HA = 0.5


def measure(image: Path, model: str | None, settings: DetectSettings, work: Path) -> dict:
    """Detect on one background-only image; flagged share (%) and false plots per hectare."""
    out = work / image.stem
    s = detect([image], out, model=model, settings=settings, overwrite=True)
    ha = s.aoi_area_m2 / 1e4
    return {
        "image": image.name,
        "model": s.model,
        "aoi_ha": round(ha, 3),
        "flagged_pct": round(100 * s.flagged_area_m2 / max(s.aoi_area_m2, 1e-9), 4),
        "plots": s.n_plots,
        "plots_by_class": s.plots_by_class,
        "plots_per_ha": round(s.n_plots / max(ha, 1e-9), 3),
        "warnings": _warnings(out),
    }


def _warnings(run: Path) -> list[str]:
    try:
        return list(read_record(run).get("warnings", []))
    except (OSError, ValueError):
        return []


def _model_path(model: str | None, name: str) -> str | Path:
    """``model`` where it is a path, else the shipped model called ``name``."""
    return model if model and (Path(model).exists() or Path(model + ".json").exists()) else default_models_dir() / name


def _card(model: str | None, name: str) -> ModelCard:
    return ModelCard.read(find_model_files(_model_path(model, name))[1])


def pick_images(data: Path, role: str, sensor: str) -> list[Path]:
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    return [data / f["file"] for f in manifest["files"].values() if f["sensor"] == sensor and (role == "all" or f["role"] == role)]


def synthetic_table(card: ModelCard) -> list[str]:
    """The card's held-out synthetic plot metrics (plots >= 10 m²), one line per class."""
    plots = (card.metrics or {}).get("plots", {})
    lines = []
    for cls, by_size in plots.items():
        m = by_size.get(">=10", {})
        if m:
            lines.append(f"  {cls:9s} recall {m.get('recall', float('nan')):.2f}  precision {m.get('precision', float('nan')):.2f}  (plots >= 10 m², {m.get('truth')} planted)")
    independent = (card.metrics or {}).get("independent", {})
    for cls, recall in independent.get("recall_ge10", {}).items():
        lines.append(f"  {cls:9s} recall {recall:.2f}  precision {independent['precision_ge10'][cls]:.2f}  (scripts/independent_scenes.py, plots >= 10 m²)")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="folder made by scripts/prepare_real.py")
    ap.add_argument("--images", type=Path, nargs="*", default=[], help="background-only rasters (instead of --data)")
    ap.add_argument("--role", default="heldout", choices=["heldout", "train", "coldstart", "all"])
    ap.add_argument("--sensor", default="drone", choices=["drone", "satellite"])
    ap.add_argument("--model", help="model path or shipped name (default: the one scout detect picks)")
    ap.add_argument("--json", type=Path, help="write the per-image results here")
    ap.add_argument("--threshold", type=float, help="pixel threshold for every class (default: the card's)")
    ap.add_argument("--write-card", action="store_true", help="store the results in the model card's metrics ('real'), beside the synthetic ones")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    images = list(args.images) or pick_images(args.data, args.role, args.sensor)
    settings = DetectSettings(thresholds={"*": args.threshold} if args.threshold is not None else {})
    rows = []
    with tempfile.TemporaryDirectory(prefix="scout-eval-real-") as tmp:
        for image in images:
            try:
                rows.append(measure(image, args.model, settings, Path(tmp)))
            except ScoutError as exc:
                rows.append({"image": image.name, "error": str(exc)})
            r = rows[-1]
            if "error" in r:
                print(f"{r['image']:32s} refused: {r['error']}", file=sys.stderr)
            else:
                print(f"{r['image']:32s} {r['aoi_ha']:7.2f} ha  flagged {r['flagged_pct']:7.3f} %  {r['plots']:4d} plots  {r['plots_per_ha']:6.2f} /ha", file=sys.stderr)
    ok = [r for r in rows if "error" not in r]
    if ok:
        total_ha = sum(r["aoi_ha"] for r in ok)
        flagged = sum(r["flagged_pct"] * r["aoi_ha"] for r in ok) / max(total_ha, 1e-9)
        plots = sum(r["plots"] for r in ok)
        worst = max(ok, key=lambda r: r["flagged_pct"])
        print(f"\n{len(ok)} real images, {total_ha:.1f} ha: flagged {flagged:.3f} % (goal <= {GOAL_FLAGGED_PCT}), "
              f"{plots / max(total_ha, 1e-9):.2f} false plots/ha (goal <= {GOAL_PLOTS_PER_HA}); worst {worst['image']} {worst['flagged_pct']:.3f} %")
        card = _card(args.model, ok[0]["model"])
        if args.write_card and args.threshold is None:
            real = {"role": args.role, "images": ok, "refused": [r for r in rows if "error" in r], "area_ha": round(total_ha, 2),
                    "flagged_pct": round(flagged, 4), "plots_per_ha": round(plots / max(total_ha, 1e-9), 3)}
            store_card_metrics(_model_path(args.model, ok[0]["model"]), "real", real)
        print(f"held-out synthetic scenes ({card.name} {card.version}, from its card):")
        print("\n".join(synthetic_table(card)) or "  (the card holds no held-out metrics)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
