"""Shipped models: list them, and pick the one that fits an image's bands and GSD."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from scout.errors import ModelError
from scout.model.card import ModelCard

log = logging.getLogger(__name__)


def default_models_dir() -> Path:
    """``$SCOUT_MODELS_DIR``, else the checkout's ``models/`` folder."""
    env = os.environ.get("SCOUT_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True)
class ModelEntry:
    path: Path  # stem: NAME (NAME.safetensors + NAME.json beside it)
    card: ModelCard
    size_bytes: int


def list_models(models_dir: str | Path | None = None) -> list[ModelEntry]:
    """Every model (card + weights) in ``models_dir``, sorted by name; unreadable cards are skipped with a warning."""
    entries = []
    for card_path in sorted(Path(models_dir or default_models_dir()).glob("*.json")):
        weights = card_path.with_suffix(".safetensors")
        if not weights.exists() or card_path.name.endswith(".ckpt.json"):  # training checkpoints are not models
            continue
        try:
            card = ModelCard.read(card_path)
        except ModelError as exc:
            log.warning("skipping %s", exc)
            continue
        entries.append(ModelEntry(card_path.with_suffix(""), card, weights.stat().st_size))
    return entries


def models_in(models_dir: str | Path | None = None) -> list[ModelEntry]:
    """What ``scout models`` lists: :func:`list_models` of a folder that must exist (a warning when it holds none)."""
    folder = Path(models_dir or default_models_dir())
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such folder")
    entries = list_models(folder)
    if not entries:
        log.warning("%s: no models (NAME.safetensors + NAME.json)", folder)
    return entries


def fits(card: ModelCard, bands: list[str], gsd_m: float) -> str:
    """Why a model cannot run on imagery with ``bands`` at ``gsd_m`` metres per pixel ("" when it can)."""
    have = {b.lower() for b in bands if b}
    missing = [b for b in card.bands if b not in have]
    if missing:
        return f"needs band(s) {', '.join(missing)}"
    if gsd_m > card.gsd_m * card.max_gsd_ratio:
        return f"imagery at {gsd_m:.2f} m is coarser than its limit {card.gsd_m * card.max_gsd_ratio:.2f} m"
    return ""


def pick_model(bands: list[str], gsd_m: float, models_dir: str | Path | None = None) -> Path:
    """The shipped model for imagery with ``bands`` (names) at ``gsd_m`` metres per pixel.

    Among models whose bands the imagery has and which can see at its GSD, the one whose
    native GSD is nearest (on a log scale) wins; ties go to the model using more bands.
    """
    models_dir = Path(models_dir or default_models_dir())
    entries = list_models(models_dir)
    if not entries:
        raise ModelError(f"{models_dir}: no models found (NAME.safetensors + NAME.json); give one with --model")
    usable = [e for e in entries if not fits(e.card, bands, gsd_m)]
    if not usable:
        why = "; ".join(f"{e.card.name}: {fits(e.card, bands, gsd_m)}" for e in entries)
        raise ModelError(f"no shipped model fits imagery with bands [{', '.join(b or '?' for b in bands)}] at {gsd_m:.2f} m ({why}); give one with --model")
    best = min(usable, key=lambda e: (abs(math.log(gsd_m / e.card.gsd_m)), -len(e.card.bands), e.card.name))
    return best.path


def describe(entry: ModelEntry) -> str:
    """One line per model: name, sensor, bands, GSD, size, and held-out plot recall/precision when known."""
    c = entry.card
    line = (
        f"{entry.path}  {c.name} v{c.version}  {c.sensor}  bands {','.join(c.bands)}  {c.gsd_m:g} m  "
        f"{entry.size_bytes / 1e6:.1f} MB"
    )
    if c.throughput_mp_s:
        line += f"  {c.throughput_mp_s:g} MP/s"
    plots = (c.metrics or {}).get("plots", {})
    scores = [
        f"{cls} R {v['>=10']['recall']} P {v['>=10']['precision']}"
        for cls, v in plots.items()
        if ">=10" in v
    ]
    if scores:
        line += "  (>=10 m2: " + "; ".join(scores) + ")"
    return line
