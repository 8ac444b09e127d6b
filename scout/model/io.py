"""Save and load models safely: safetensors weights + JSON card, checksummed."""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from scout.errors import ModelError
from scout.io import atomic_path, sha256_file, write_json
from scout.model.card import ModelCard
from scout.model.nets import build_network, receptive_field_px

log = logging.getLogger(__name__)

PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"}


@dataclass
class LoadedModel:
    card: ModelCard
    net: torch.nn.Module
    weights_path: Path


def find_model_files(path: str | Path) -> tuple[Path, Path]:
    """Resolve ``models/NAME``, ``NAME.safetensors`` or ``NAME.json`` to (weights, card)."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelError(
            f"{path}: pickle/torch.save model files are refused (they can run code when loaded); "
            "convert it to safetensors with a card JSON"
        )
    stem = path.with_suffix("") if path.suffix.lower() in {".safetensors", ".json"} else path
    weights, card = stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")
    if not weights.exists():
        raise ModelError(f"{path}: model weights not found (expected {weights})")
    if not card.exists():
        raise ModelError(f"{path}: model card not found (expected {card}); a model never travels without its card")
    return weights, card


def _check_safetensors_header(path: Path) -> None:
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


def load_model(path: str | Path, device: str | torch.device = "cpu", verify: bool = True) -> LoadedModel:
    """Load weights and card, checking the weights' sha256 against the card."""
    weights, card_path = find_model_files(path)
    card = ModelCard.read(card_path)
    _check_safetensors_header(weights)
    if verify:
        digest = sha256_file(weights)
        if card.sha256 and digest != card.sha256:
            raise ModelError(f"{weights}: sha256 {digest[:12]}… does not match its card ({card.sha256[:12]}…); wrong or corrupted weights")
        if not card.sha256:
            raise ModelError(f"{card_path}: card has no sha256 of the weights")
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{weights}: cannot read safetensors ({exc})") from None
    try:
        net = build_network(card.architecture, len(card.bands), len(card.classes))
        net.load_state_dict(state, strict=True)
    except (ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"{weights}: weights do not fit the card's architecture/bands/classes ({first})") from None
    net.eval().to(device)
    return LoadedModel(card=card, net=net, weights_path=weights)


def save_model(net: torch.nn.Module, card: ModelCard, path: str | Path) -> ModelCard:
    """Write ``path.safetensors`` and ``path.json`` (atomically); return the card with its sha256."""
    stem = Path(path)
    if stem.suffix in {".safetensors", ".json"}:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = stem.with_name(stem.name + ".safetensors")
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt", "name": card.name, "version": card.version})
        digest = sha256_file(tmp)
    card = replace(card, sha256=digest, receptive_field_px=card.receptive_field_px or receptive_field_px(card.architecture))
    write_json(stem.with_name(stem.name + ".json"), card.to_dict())
    log.info("saved model %s (%s)", stem, digest[:12])
    return card
