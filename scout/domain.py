"""How far imagery lies from what a model learned: the run's trust signal.

A model out of its depth does not say so: it flags tree crowns and lawns with high confidence.
So every run measures its imagery against the model's training imagery, on the same footing:
windows of ``WINDOW_PX`` pixels at the model's GSD, each described by a few colour and texture
statistics (per band mean and spread, fine and coarse texture, greenness).  The card stores the
training windows' mean and covariance and the quantiles of their own Mahalanobis distances
(:func:`fit`); a run reports the share of its windows farther than the training's 99th percentile
(:func:`compare`).  Cheap (a few numpy reductions per window), backend-free (it looks at the
input, not the network), and honest about what it is: a colour-and-texture check, not a proof.

Arrays are (bands, h, w) in 0-1 (8-bit / 255, reflectance), bands in the model's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

WINDOW_PX = 128
VERSION = "scout.domain/1"
FAR_QUANTILE = "p99"


def describe(x: np.ndarray, bands: Sequence[str]) -> np.ndarray:
    """Descriptor of one window (bands, h, w): per band mean and std, per band mean absolute
    gradient at 1 px, luminance gradient at 4 px, and greenness (2g - r - b) or NDVI."""
    x = x.astype(np.float32)
    mean = x.mean((1, 2))
    std = x.std((1, 2))
    grad = (np.abs(np.diff(x, axis=1)).mean((1, 2)) + np.abs(np.diff(x, axis=2)).mean((1, 2))) / 2
    lum = x.mean(0)
    h, w = (lum.shape[0] // 4) * 4, (lum.shape[1] // 4) * 4
    coarse = lum[:h, :w].reshape(h // 4, 4, w // 4, 4).mean((1, 3))
    grad4 = (np.abs(np.diff(coarse, axis=0)).mean() + np.abs(np.diff(coarse, axis=1)).mean()) / 2 if coarse.size > 1 else 0.0
    b = list(bands)
    if "nir" in b and "red" in b:
        nir, red = x[b.index("nir")], x[b.index("red")]
        green = float(((nir - red) / (nir + red + 1e-3)).mean())
    elif {"red", "green", "blue"} <= set(b):
        green = float((2 * x[b.index("green")] - x[b.index("red")] - x[b.index("blue")]).mean())
    else:
        green = 0.0
    return np.concatenate([mean, std, grad, [grad4, green]]).astype(np.float32)


def windows(x: np.ndarray, valid: np.ndarray | None = None, min_valid: float = 0.9) -> list[np.ndarray]:
    """Non-overlapping ``WINDOW_PX`` windows of (bands, H, W) that are at least ``min_valid`` valid;
    their invalid pixels (nodata, outside the AOI) take the window's valid mean, so they add no
    edges or spread of their own."""
    out = []
    H, W = x.shape[1:]
    for r in range(0, H - WINDOW_PX + 1, WINDOW_PX):
        for c in range(0, W - WINDOW_PX + 1, WINDOW_PX):
            w = x[:, r : r + WINDOW_PX, c : c + WINDOW_PX]
            if valid is None:
                out.append(w)
                continue
            v = valid[r : r + WINDOW_PX, c : c + WINDOW_PX]
            if v.mean() >= min_valid:
                out.append(w if v.all() else np.where(v[None], w, w[:, v].mean(1)[:, None, None]))
    return out


def fit(descriptors: np.ndarray) -> dict[str, Any]:
    """The card's ``domain`` entry from training windows' descriptors (n, d), n >= 2 d."""
    d = np.asarray(descriptors, np.float64)
    if d.ndim != 2 or len(d) < 2 * d.shape[1]:
        raise ValueError(f"need at least {2 * d.shape[1]} training windows to fit the domain, got {len(d)}")
    mean = d.mean(0)
    cov = np.cov(d, rowvar=False)
    cov = cov + np.eye(len(mean)) * 1e-3 * np.trace(cov) / len(mean)  # shrinkage: no direction is free
    dist = _mahalanobis(d, mean, np.linalg.inv(cov))
    q = {f"p{p}": round(float(np.percentile(dist, p)), 4) for p in (50, 95, 99)}
    return {"version": VERSION, "window_px": WINDOW_PX, "windows": int(len(d)), "mean": mean.round(6).tolist(), "cov": cov.round(8).tolist(), "distance": q}


def _mahalanobis(d: np.ndarray, mean: np.ndarray, inv: np.ndarray) -> np.ndarray:
    z = d - mean
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", z, inv, z), 0))


def distances(descriptors: np.ndarray, domain: dict[str, Any]) -> np.ndarray:
    """Mahalanobis distance of each descriptor (n, d) from the training windows."""
    inv = np.linalg.inv(np.asarray(domain["cov"], np.float64))
    return _mahalanobis(np.asarray(descriptors, np.float64).reshape(-1, len(domain["mean"])), np.asarray(domain["mean"]), inv)


def compare(descriptors: np.ndarray, domain: dict[str, Any]) -> dict[str, Any]:
    """Run-level summary: windows measured, median distance (as a multiple of the training
    median), and the share of windows beyond the training's 99th percentile."""
    if not len(descriptors):
        return {"windows": 0, "median_ratio": None, "far_share": None}
    dist = distances(descriptors, domain)
    q = domain["distance"]
    return {
        "windows": int(len(dist)),
        "median_ratio": round(float(np.median(dist) / max(q["p50"], 1e-9)), 3),
        "far_share": round(float((dist > q[FAR_QUANTILE]).mean()), 4),
    }
