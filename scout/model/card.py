"""The model card: everything needed to run a model correctly, stored beside its weights."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scout.errors import ModelError

# Spectral band names Scout understands; imagery band descriptions are matched to these.
BAND_NAMES = ("red", "green", "blue", "nir", "alpha")


@dataclass(frozen=True)
class ModelCard:
    """Metadata that travels with a model's weights.

    ``gsd_m`` is the native ground sampling distance in metres per pixel; imagery is
    resampled to it on read.  ``normalization`` maps raw digital numbers to network
    input: ``x = (dn / scale[dtype] - mean[band]) / std[band]``.
    """

    name: str
    version: str
    classes: tuple[str, ...]  # output channels, index 0 is "background"
    bands: tuple[str, ...]  # input bands, in input order
    gsd_m: float
    tile_size: int
    normalization: dict[str, Any]
    architecture: dict[str, Any]
    sha256: str = ""
    sensor: str = "drone"  # "drone" | "satellite"
    receptive_field_px: int = 0
    max_gsd_ratio: float = 4.0  # imagery coarser than gsd_m * this is refused
    description: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    throughput_mp_s: float | None = None
    # calibrated detection defaults (scout.calibrate): "thresholds" and "min_confidence"
    # per class, "min_area_m2"; detect uses them where the user sets nothing
    detection: dict[str, Any] = field(default_factory=dict)
    # what the training imagery looked like (scout.domain.fit): a run compares its imagery to it
    domain: dict[str, Any] = field(default_factory=dict)

    @property
    def foreground(self) -> tuple[str, ...]:
        return tuple(c for c in self.classes if c != "background")

    def scale_for(self, dtype: str) -> float:
        scale = self.normalization.get("scale", {})
        if dtype in scale:
            return float(scale[dtype])
        if "default" in scale:
            return float(scale["default"])
        raise ModelError(f"model {self.name}: card has no normalization scale for {dtype} imagery")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["classes"] = list(self.classes)
        d["bands"] = list(self.bands)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "card") -> ModelCard:
        required = ["name", "version", "classes", "bands", "gsd_m", "tile_size", "normalization", "architecture"]
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelError(f"{source}: model card lacks {', '.join(missing)}")
        _check_fields(data, source)
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["classes"] = tuple(data["classes"])
        kwargs["bands"] = tuple(b.lower() for b in data["bands"])
        card = cls(**kwargs)
        if card.classes[0] != "background" or len(card.classes) < 2:
            raise ModelError(f"{source}: classes must start with 'background', got {list(card.classes)}")
        norm = card.normalization
        for key in ("mean", "std"):
            if len(norm.get(key, [])) != len(card.bands):
                raise ModelError(f"{source}: normalization {key} has {len(norm.get(key, []))} values for {len(card.bands)} bands")
        return card

    @classmethod
    def read(cls, path: str | Path) -> ModelCard:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"{path}: model card not found (a model is NAME.safetensors plus NAME.json)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelError(f"{path}: model card is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ModelError(f"{path}: model card must be a JSON object")
        return cls.from_dict(data, source=str(path))


def _is_number(v: Any, lo: float, hi: float) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi


def _check_fields(data: dict[str, Any], source: str) -> None:
    """Types and ranges of every field a run depends on: a card that lies is refused here, by name,
    not deep inside a run with an error about something else."""

    def bad(what: str) -> ModelError:
        return ModelError(f"{source}: {what}")

    for key, types in (("name", str), ("version", str | int), ("sha256", str)):
        value = data.get(key, "")
        if isinstance(value, bool) or not isinstance(value, types) or (key == "name" and not value):
            raise bad(f"{key} must be text, got {value!r}")
    for key in ("classes", "bands"):
        value = data[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise bad(f"{key} must be a list of names, got {value!r}")
    checks = {  # key: (low, high, whole number)
        "gsd_m": (1e-3, 1e3, False),
        "tile_size": (32, 8192, True),
        "receptive_field_px": (0, 8192, True),
        "max_gsd_ratio": (1.0, 1e3, False),
    }
    for key, (lo, hi, whole) in checks.items():
        if key in data and not (_is_number(data[key], lo, hi) and (not whole or float(data[key]).is_integer())):
            raise bad(f"{key} must be a {'whole ' if whole else ''}number from {lo:g} to {hi:g}, got {data[key]!r}")
    if data.get("receptive_field_px", 0) >= data["tile_size"]:
        raise bad(f"receptive_field_px {data['receptive_field_px']} must be smaller than tile_size {data['tile_size']}")
    if not isinstance(data["architecture"], dict) or not isinstance(data["architecture"].get("name"), str):
        raise bad(f"architecture must be an object with a 'name', got {data['architecture']!r}")
    detection = data.get("detection", {})
    if not isinstance(detection, dict):
        raise bad(f"detection must be an object, got {detection!r}")
    for key in ("thresholds", "min_confidence"):
        values = detection.get(key, {})
        if not isinstance(values, dict) or not all(_is_number(v, 0.0, 1.0) for v in values.values()):
            raise bad(f"detection {key} must map class names to probabilities 0-1, got {values!r}")
    if "min_area_m2" in detection and not _is_number(detection["min_area_m2"], 0.0, 1e6):
        raise bad(f"detection min_area_m2 must be a number of m² from 0, got {detection['min_area_m2']!r}")
    norm = data["normalization"]
    if not isinstance(norm, dict) or not isinstance(norm.get("scale", {}), dict):
        raise bad(f"normalization must be an object with mean, std and scale, got {norm!r}")
    for key in ("mean", "std"):
        if not isinstance(norm.get(key), list) or not all(_is_number(v, -1e6, 1e6) for v in norm[key]):
            raise bad(f"normalization {key} must be a list of numbers, got {norm.get(key)!r}")
    if not all(v > 0 for v in norm["std"]) or not all(_is_number(v, 1e-9, 1e9) and v > 0 for v in norm.get("scale", {}).values()):
        raise bad("normalization std and scale must be positive")
