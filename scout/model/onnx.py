"""Export a Scout model to ONNX with the metadata the QGIS Deepness plugin reads.

The exported graph takes normalized input (N, bands, tile, tile) and returns class
probabilities (softmax) (N, classes, tile, tile), as Deepness' ``Segmentor`` expects.
Deepness feeds ``dn / 255`` and then applies ``standardization_mean`` / ``_std``; for
models whose card scales another way (uint16 reflectance * 10000) the mean and std are
rewritten so that the same input reaches the network:
``(dn/255 - m')/s'`` with ``m' = m * scale/255``, ``s' = s * scale/255``.

``onnx`` (and ``onnxruntime`` for the check) are optional: ``pip install scout[onnx]``.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scout.errors import ModelError, OutputError
from scout.io import atomic_path, check_new_file
from scout.model.card import ModelCard
from scout.model.io import load_model

log = logging.getLogger(__name__)

OPSET = 17


class _WithSoftmax(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)


def deepness_metadata(card: ModelCard) -> dict[str, str]:
    """Deepness metadata (JSON-encoded values) for a card; resolution in cm per pixel."""
    scale = card.scale_for("uint16" if card.sensor == "satellite" else "uint8")
    k = scale / 255.0
    mean = [m * k for m in card.normalization["mean"]]
    std = [s * k for s in card.normalization["std"]]
    overlap_pct = int(np.ceil(100 * card.receptive_field_px / card.tile_size))
    meta: dict[str, Any] = {
        "model_type": "Segmentor",
        "class_names": {str(i): c for i, c in enumerate(card.classes)},
        "resolution": round(card.gsd_m * 100, 4),
        "tile_size": card.tile_size,
        "tiles_overlap": min(overlap_pct, 50),
        "standardization_mean": mean,
        "standardization_std": std,
        "seg_thresh": 0.5,
        "seg_small_segment": 7,
        "scout_name": card.name,
        "scout_version": card.version,
        "scout_bands": list(card.bands),
        "scout_sha256": card.sha256,
    }
    return {key: json.dumps(value) for key, value in meta.items()}


def export_onnx(model: str | Path, out: str | Path, opset: int = OPSET, check: bool = True, overwrite: bool = False) -> Path:
    """Write ``out`` (.onnx) from a Scout model; with ``check`` compare to torch on random input (max abs diff <= 1e-4)."""
    try:
        import onnx
    except ImportError:
        raise ModelError("ONNX export needs the 'onnx' package: pip install 'scout[onnx]'") from None
    loaded = load_model(model)
    card = loaded.card
    wrapped = _WithSoftmax(loaded.net).eval()
    t = card.tile_size
    example = torch.randn(1, len(card.bands), t, t)
    out = Path(out)
    if not out.parent.exists():
        raise OutputError(f"{out.parent}: folder does not exist")
    check_new_file(out, overwrite)
    with atomic_path(out) as tmp, warnings.catch_warnings():
        # the TorchScript exporter needs only `onnx`; the newer one would add onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapped,
            (example,),
            str(tmp),
            input_names=["input"],
            output_names=["probabilities"],
            dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
        proto = onnx.load(str(tmp))
        proto.doc_string = card.description
        for key, value in deepness_metadata(card).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        if check:
            diff = max_difference(tmp, wrapped, len(card.bands), t)
            if diff > 1e-4:
                raise ModelError(f"{out}: ONNX output differs from torch by {diff:.2e} (> 1e-4); not written")
            log.info("ONNX matches torch: max |diff| %.2e", diff)
    return out


def max_difference(onnx_path: str | Path, wrapped: torch.nn.Module, bands: int, tile: int, batch: int = 2, seed: int = 0) -> float:
    """Largest absolute difference between ONNX Runtime and torch outputs on random input."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelError("checking the ONNX export needs 'onnxruntime': pip install 'scout[onnx]'") from None
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((batch, bands, tile, tile)).astype(np.float32))
    with torch.inference_mode():
        ref = wrapped(x).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.numpy()})[0]
    return float(np.abs(got - ref).max())
