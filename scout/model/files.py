"""Find and check a model's files without torch: the card, and weights matching its sha256.

Kept free of torch so that CPU detection on ONNX Runtime never loads it (importing a CUDA
build of torch alone takes ~700 MB of RSS).
"""

from __future__ import annotations

import struct
from pathlib import Path

from scout.errors import ModelError
from scout.io import sha256_file, write_json
from scout.model.card import ModelCard

PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"}


def model_stem(path: str | Path) -> Path:
    """``models/NAME`` for ``models/NAME``, ``NAME.safetensors`` or ``NAME.json``: a model's name and place."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() in {".safetensors", ".json"} else path


def find_model_files(path: str | Path) -> tuple[Path, Path]:
    """Resolve ``models/NAME``, ``NAME.safetensors`` or ``NAME.json`` to (weights, card)."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelError(
            f"{path}: pickle/torch.save model files are refused (they can run code when loaded); "
            "convert it to safetensors with a card JSON"
        )
    stem = model_stem(path)
    weights, card = stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")
    if not weights.exists():
        raise ModelError(f"{path}: model weights not found (expected {weights})")
    if not card.exists():
        raise ModelError(f"{path}: model card not found (expected {card}); a model never travels without its card")
    return weights, card


def store_card_metrics(path: str | Path, key: str, metrics: dict) -> Path:
    """Keep ``metrics`` in the card's ``metrics[key]`` (its other metrics and the weights untouched), so the
    measures made outside training (real imagery, other generators) travel with the model."""
    import json

    _, card_path = find_model_files(path)
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card.setdefault("metrics", {})[key] = metrics
    write_json(card_path, card)
    return card_path


def check_safetensors_header(path: Path) -> None:
    """Refuse anything that is not a safetensors file before any parser touches it."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise ModelError(f"{path}: this is a pickle/torch.save file, not safetensors; refused without unpickling")
    if len(head) < 9 or head[8:9] != b"{":
        raise ModelError(f"{path}: not a safetensors file (bad header)")
    (n,) = struct.unpack("<Q", head[:8])
    if n > path.stat().st_size:
        raise ModelError(f"{path}: truncated safetensors file")


def read_checked(path: str | Path, verify: bool = True) -> tuple[ModelCard, Path]:
    """(card, weights path), the weights' header and sha256 checked against the card."""
    weights, card_path = find_model_files(path)
    card = ModelCard.read(card_path)
    check_safetensors_header(weights)
    if verify:
        if not card.sha256:
            raise ModelError(f"{card_path}: card has no sha256 of the weights")
        digest = sha256_file(weights)
        if digest != card.sha256:
            raise ModelError(f"{weights}: sha256 {digest[:12]}… does not match its card ({card.sha256[:12]}…); wrong or corrupted weights")
    return card, weights
