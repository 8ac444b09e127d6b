"""Save and load models safely: safetensors weights + JSON card, checksummed."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from scout.errors import ModelError
from scout.io import atomic_path, sha256_file, write_json
from scout.model.card import ModelCard
from scout.model.files import read_checked
from scout.model.nets import build_network, receptive_field_px

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    card: ModelCard
    net: torch.nn.Module
    weights_path: Path


def load_model(path: str | Path, device: str | torch.device = "cpu", verify: bool = True) -> LoadedModel:
    """Load weights and card, checking the weights' sha256 against the card."""
    card, weights = read_checked(path, verify)
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{weights}: cannot read safetensors ({exc})") from None
    misfit = ""
    try:
        net = build_network(card.architecture, len(card.bands), len(card.classes))
        misfit = tensor_misfit(state, net.state_dict())
        if not misfit:
            net.load_state_dict(state, strict=True)
    except (ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"{weights}: weights do not fit the card's architecture/bands/classes ({first})") from None
    if misfit:
        raise ModelError(f"{weights}: weights do not fit the card's architecture, {len(card.bands)} band(s) and {len(card.classes)} class(es): {misfit}")
    net.eval().to(device)
    return LoadedModel(card=card, net=net, weights_path=weights)


def tensor_misfit(found: dict[str, torch.Tensor], needed: dict[str, torch.Tensor]) -> str:
    """What keeps weights ``found`` from loading where ``needed`` are expected, in words naming the
    tensor and both shapes ("" when they fit): torch's own message ends at "Error(s) in loading
    state_dict for UNet:" in one line, the details on the lines after it."""

    def dims(t: torch.Tensor) -> str:
        return "x".join(map(str, t.shape)) or "a scalar"

    for name, tensor in needed.items():
        if name in found and found[name].shape != tensor.shape:
            return f"tensor {name} is {dims(found[name])} in the file, the card needs {dims(tensor)}"
    missing = [n for n in needed if n not in found]
    if missing:
        return f"the file lacks {len(missing)} tensor(s) the card needs ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})"
    extra = [n for n in found if n not in needed]
    if extra:
        return f"the file holds {len(extra)} tensor(s) the card has no place for ({', '.join(extra[:3])}{', ...' if len(extra) > 3 else ''})"
    return ""


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
