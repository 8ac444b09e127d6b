"""Segmentation models: network definitions, the model card, safe save and load.

A model never travels without its card: weights live in ``NAME.safetensors`` and the
card in ``NAME.json`` beside them.  Pickle files are refused without being opened by
``pickle``.
"""

from scout.model.card import ModelCard
from scout.model.io import LoadedModel, find_model_files, load_model, save_model
from scout.model.nets import build_network, receptive_field_px

__all__ = [
    "LoadedModel",
    "ModelCard",
    "build_network",
    "find_model_files",
    "load_model",
    "receptive_field_px",
    "save_model",
]
