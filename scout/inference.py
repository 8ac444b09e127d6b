"""Run a model over tiles: device choice, normalization from the card, batched softmax."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

import numpy as np
import torch

from scout.model import LoadedModel, load_model
from scout.model.card import ModelCard

log = logging.getLogger(__name__)


def pick_device(requested: str | None = None) -> str:
    """``cuda`` when present (or asked for), else ``cpu``."""
    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            log.warning("CUDA asked for but not available; running on CPU")
            return "cpu"
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def configure_threads(threads: int | None = None) -> int:
    """Intra-op threads for CPU inference: all cores by default, one inter-op thread."""
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(max(1, threads))
    return torch.get_num_threads()


@lru_cache(maxsize=4)
def cached_model(path: str, device: str) -> LoadedModel:
    """One loaded model per process (workers call this for every block)."""
    model = load_model(path, device=device)
    if device == "cpu":
        model.net.to(memory_format=torch.channels_last)
    return model


def normalize(raw: np.ndarray, card: ModelCard, dtype: str) -> np.ndarray:
    """Digital numbers (B, h, w) -> network input, per the card: ``(dn / scale - mean) / std``."""
    scale = card.scale_for(dtype)
    mean = np.asarray(card.normalization["mean"], np.float32)[:, None, None]
    std = np.asarray(card.normalization["std"], np.float32)[:, None, None]
    return ((raw / np.float32(scale)) - mean) / std


def predict(model: LoadedModel, batch: np.ndarray, device: str) -> np.ndarray:
    """(N, B, t, t) normalized input -> (N, C_fg, t, t) foreground probabilities (softmax, background dropped)."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).to(device)
    if device == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        probs = torch.softmax(model.net(x).float(), dim=1)[:, 1:]
    return probs.cpu().numpy()
