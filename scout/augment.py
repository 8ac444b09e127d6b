"""Domain randomisation for training patches: looks beyond any one generator or camera.

A model trained on one renderer learns that renderer's colours, light and sharpness as the cue.
Every training patch is therefore redrawn with a random camera and day: geometry (any rotation,
flips), exposure, white balance, gamma, saturation, hue, haze, cloud and building shadows,
vignetting, blur, sensor noise and JPEG compression (8-bit camera imagery only).  GSD jitter is
done on read (:class:`scout.train.PatchSampler`), so resampling is the detector's own.

Patches are (N, bands, p, p) float arrays in 0-1 (8-bit / 255, or reflectance); labels (N, p, p)
uint8 with ``IGNORE`` where the loss must not look (rotated-in corners stay ignored).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

IGNORE = 255


@dataclass(frozen=True)
class Augmentation:
    """Ranges and chances of each change (drawn per patch).  ``strength`` 0 keeps only flips and
    90-degree turns (what validation and the old training did)."""

    strength: float = 1.0
    rotate_any_p: float = 0.5
    gain: tuple[float, float] = (0.7, 1.4)
    white_balance_sd: float = 0.05
    gamma: tuple[float, float] = (0.8, 1.25)
    saturation: tuple[float, float] = (0.75, 1.3)
    hue_sd_deg: float = 4.0
    haze_p: float = 0.35
    haze: tuple[float, float] = (0.05, 0.3)
    shadow_p: float = 0.3
    vignette_p: float = 0.3
    blur_p: float = 0.4
    blur_px: tuple[float, float] = (0.3, 1.6)
    noise_sd: tuple[float, float] = (0.0, 0.03)
    jpeg_p: float = 0.5
    jpeg_quality: tuple[int, int] = (30, 95)


def augment(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, bands: Sequence[str], camera: bool, how: Augmentation = Augmentation()) -> tuple[np.ndarray, np.ndarray]:
    """A randomly redrawn copy of patches ``x`` (N, B, p, p; 0-1) and labels ``y`` (N, p, p)."""
    x, y = x.astype(np.float32, copy=True), y.copy()
    rgb = [list(bands).index(b) for b in ("red", "green", "blue")] if {"red", "green", "blue"} <= set(bands) else []
    for n in range(len(x)):
        x[n], y[n] = _geometry(rng, x[n], y[n], how)
        if how.strength > 0:
            x[n] = _photometry(rng, x[n], rgb, camera, how)
    return x, y


def _geometry(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, how: Augmentation) -> tuple[np.ndarray, np.ndarray]:
    k = int(rng.integers(4))
    x, y = np.rot90(x, k, axes=(1, 2)), np.rot90(y, k)
    if rng.random() < 0.5:
        x, y = x[:, :, ::-1], y[:, ::-1]
    if how.strength > 0 and rng.random() < how.rotate_any_p:
        x, y = rotate(x, y, rng.uniform(0, 90))
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def rotate(x: np.ndarray, y: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate a patch about its centre; imagery is mirrored into the corners, labels there ignored."""
    a = math.radians(degrees)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]], dtype=torch.float32)[None]
    grid = F.affine_grid(theta, [1, 1, *y.shape], align_corners=False)
    xr = F.grid_sample(torch.from_numpy(np.ascontiguousarray(x))[None], grid, mode="bilinear", padding_mode="reflection", align_corners=False)[0]
    lab = torch.from_numpy(np.ascontiguousarray(y).astype(np.float32))[None, None]
    inside = F.grid_sample(torch.ones_like(lab), grid, mode="nearest", padding_mode="zeros", align_corners=False)[0, 0] > 0.5
    yr = F.grid_sample(lab, grid, mode="nearest", padding_mode="border", align_corners=False)[0, 0]
    yr[~inside] = IGNORE
    return xr.numpy(), yr.numpy().astype(np.uint8)


def _photometry(rng: np.random.Generator, x: np.ndarray, rgb: list[int], camera: bool, how: Augmentation) -> np.ndarray:
    s = how.strength
    b, p = x.shape[0], x.shape[1]
    gain = math.exp(s * rng.uniform(math.log(how.gain[0]), math.log(how.gain[1])))
    wb = np.exp(rng.normal(0, s * how.white_balance_sd, b)).astype(np.float32)
    x = x * (gain * wb)[:, None, None]
    if rgb:
        x[rgb] = _saturation_hue(x[rgb], 1 + s * (rng.uniform(*how.saturation) - 1), s * rng.normal(0, how.hue_sd_deg))
    if rng.random() < s * how.haze_p:
        h = rng.uniform(*how.haze)
        air = np.full(b, rng.uniform(0.55, 0.85), np.float32) * np.exp(rng.normal(0, 0.05, b)).astype(np.float32)
        if rgb:
            air[rgb[2]] *= 1.1  # haze is bluish
        x = x * (1 - h) + h * air[:, None, None] * (1 if camera else 0.35)
    if rng.random() < s * how.shadow_p:
        x = x * (1 - _shadow_mask(rng, p) * rng.uniform(0.3, 0.65))[None]
    if rng.random() < s * how.vignette_p:
        yy, xx = np.mgrid[0:p, 0:p] / p - 0.5
        c = rng.uniform(-0.3, 0.3, 2)
        x = x * (1 - rng.uniform(0.1, 0.35) * ((xx - c[0]) ** 2 + (yy - c[1]) ** 2) * 2)[None].astype(np.float32)
    x = np.clip(x, 0, 1) ** math.exp(s * rng.uniform(math.log(how.gamma[0]), math.log(how.gamma[1])))
    if rng.random() < s * how.blur_p:
        sig = rng.uniform(*how.blur_px)
        x = ndimage.gaussian_filter(x, (0, sig, sig))
    sd = s * rng.uniform(*how.noise_sd)
    if sd > 0:
        x = x + rng.normal(0, sd, x.shape).astype(np.float32) * (0.5 + np.sqrt(np.clip(x, 0, 1)))  # signal-dependent
    x = np.clip(x, 0, 1).astype(np.float32)
    if camera and len(rgb) == 3 and b == 3 and rng.random() < s * how.jpeg_p:
        x = jpeg(x, int(rng.integers(how.jpeg_quality[0], how.jpeg_quality[1] + 1)), rgb)
    return x


def _saturation_hue(rgb: np.ndarray, saturation: float, hue_deg: float) -> np.ndarray:
    """Scale chroma around each pixel's grey and turn it by ``hue_deg`` (in an opponent-colour plane)."""
    grey = rgb.mean(0, keepdims=True)
    c = rgb - grey
    # opponent axes: (r - g), (r + g - 2b)
    u = (c[0] - c[1]) / math.sqrt(2)
    v = (c[0] + c[1] - 2 * c[2]) / math.sqrt(6)
    a = math.radians(hue_deg)
    u, v = saturation * (u * math.cos(a) - v * math.sin(a)), saturation * (u * math.sin(a) + v * math.cos(a))
    r = grey[0] + u / math.sqrt(2) + v / math.sqrt(6)
    g = grey[0] - u / math.sqrt(2) + v / math.sqrt(6)
    bl = grey[0] - 2 * v / math.sqrt(6)
    return np.stack([r, g, bl])


def _shadow_mask(rng: np.random.Generator, p: int) -> np.ndarray:
    """A soft-edged blob of shade (a cloud, a building's or tree's shadow) covering part of a patch."""
    small = ndimage.gaussian_filter(rng.standard_normal((8, 8)), 1.2)
    up = F.interpolate(torch.from_numpy(small.astype(np.float32))[None, None], size=(p, p), mode="bicubic", align_corners=False)[0, 0].numpy()
    m = (up > np.quantile(up, rng.uniform(0.4, 0.85))).astype(np.float32)
    return ndimage.gaussian_filter(m, rng.uniform(1, 6))


def jpeg(x: np.ndarray, quality: int, rgb: list[int]) -> np.ndarray:
    """Round-trip an RGB patch (3, p, p; 0-1) through JPEG at ``quality`` (8x8 blocks, chroma loss)."""
    u8 = np.round(x[rgb] * 255).astype(np.uint8).transpose(1, 2, 0)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = x.copy()
    out[rgb] = np.asarray(Image.open(buf).convert("RGB"), np.float32).transpose(2, 0, 1) / 255
    return out
