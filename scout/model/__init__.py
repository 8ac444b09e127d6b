"""Segmentation models: network definitions, the model card, safe save and load.

A model never travels without its card: weights live in ``NAME.safetensors`` and the
card in ``NAME.json`` beside them.  Pickle files are refused without being opened by
``pickle``.

The card and file checks import without torch; the names that need it (networks, load,
save) import it on first use, so CPU detection on ONNX Runtime never loads torch.
"""

from importlib import import_module
from typing import Any

from scout.model.card import ModelCard
from scout.model.files import find_model_files

_LAZY = {
    "LoadedModel": "scout.model.io",
    "load_model": "scout.model.io",
    "save_model": "scout.model.io",
    "build_network": "scout.model.nets",
    "receptive_field_px": "scout.model.nets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scout.model' has no attribute {name!r}")


__all__ = ["LoadedModel", "ModelCard", "build_network", "find_model_files", "load_model", "receptive_field_px", "save_model"]
