"""Plant synthetic plots and look-alikes into real imagery, harmonised with it.

A model that only ever sees targets inside synthetic scenes can learn "synthetic scene" as the
cue, and then flags real trees and lawns while missing targets drawn another way.  Planting
sprites (:class:`scout.synth.sprite.Sprite`) into real canvases gives every synthetic plot real
surroundings; planting look-alikes (trees, lawns, banana, gardens) the same way keeps "pasted" from
being the cue.  Each sprite is matched to its canvas: the canvas's exposure and white balance
(estimated from its vegetation, or from the whole canvas), local light, sharpness and sensor
noise, with a soft edge and a cast shadow.  Blur, noise and JPEG over the whole patch come after,
from the training augmentation.

Canvases are (bands, H, W) float arrays in 0-1: 8-bit camera imagery divided by 255 (``camera``:
gamma-encoded, so sprites go through a tone curve) or reflectance (uint16 / 10,000).  All of this
is pure array work, so it runs on training patches as well as on whole images
(:func:`scout.synth.scene.plant_scene`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from scout.synth.sprite import TARGETS, Sprite

BAND_INDEX = {"blue": 0, "green": 1, "red": 2, "nir": 3}  # sprite reflectance bands
VEGETATION = np.array([0.045, 0.095, 0.07, 0.32], np.float32)  # reference green vegetation (blue, green, red, NIR)
SCENE = np.array([0.07, 0.095, 0.10, 0.25], np.float32)  # a mixed rural scene, where a canvas shows little vegetation
GAMMA = 2.2
IGNORE = 255


def sensor_gain(pixels: np.ndarray, bands: Sequence[str], camera: bool, cast: float = 0.15) -> np.ndarray:
    """Per-band gain from reflectance to the canvas's linear values, so a sprite gets the canvas's
    exposure and part of its colour cast.

    Exposure: the canvas's vegetation (green over red and blue) against reference vegetation, else
    its median against a mixed scene.  Colour: cameras white-balance, so most of a canvas's colour
    is its content (a dry pasture is brown, not a brown-tinted camera); only ``cast`` (a power,
    0: none, 1: all) of its colour difference from the reference is carried over.
    ``pixels``: (bands, ...) valid pixels."""
    idx = [BAND_INDEX[b] for b in bands]
    flat = pixels.reshape(len(bands), -1)
    flat = np.power(np.clip(flat, 1e-4, 1), GAMMA) if camera else flat
    if flat.shape[1] == 0:
        return np.ones(len(bands), np.float32)
    ref = SCENE[idx]
    if {"red", "green", "blue"} <= set(bands):
        r, g, b = (flat[list(bands).index(k)] for k in ("red", "green", "blue"))
        veg = (g > 1.04 * r) & (g > 1.04 * b)
        if veg.sum() > 0.03 * flat.shape[1]:
            flat, ref = flat[:, veg], VEGETATION[idx]
    ratio = np.median(flat, axis=1) / ref
    exposure = float(np.exp(np.log(np.maximum(ratio, 1e-6)).mean()))
    colour = (ratio / exposure) ** cast
    return (exposure * colour).astype(np.float32)


def to_sensor(reflectance: np.ndarray, gain: np.ndarray, camera: bool) -> np.ndarray:
    """Sprite reflectance (model bands) to canvas values: gain, then the camera's tone curve."""
    lin = reflectance * gain[:, None, None]
    return np.power(np.clip(lin, 0, 1), 1 / GAMMA) if camera else lin


def noise_level(canvas: np.ndarray) -> float:
    """Sensor noise (std, canvas units) from the median absolute difference of neighbouring
    pixels: flat areas dominate the median, so texture barely counts."""
    d = np.abs(np.diff(canvas[:, ::2, :], axis=2))
    return float(np.median(d) / 0.6745 / math.sqrt(2)) if d.size else 0.0


def _resize(s: Sprite, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sprite arrays at ``scale`` times their size (area-averaged reflectance when shrinking)."""
    if abs(scale - 1) < 0.02:
        return s.reflectance, s.alpha, s.footprint
    h, w = s.alpha.shape
    size = (max(2, round(h * scale)), max(2, round(w * scale)))
    t = torch.from_numpy(np.concatenate([s.reflectance, s.alpha[None], s.footprint[None].astype(np.float32)]))[None]
    out = F.interpolate(t, size=size, mode="bilinear", antialias=scale < 1, align_corners=False)[0].numpy()
    return out[:4], np.clip(out[4], 0, 1), out[5] > 0.5


@dataclass(frozen=True)
class Planting:
    """How sprites meet a canvas (ranges drawn per sprite)."""

    scale: tuple[float, float] = (0.75, 1.35)  # apparent size jitter
    light: float = 0.5  # exponent on local / global brightness (0: ignore shade)
    gain_jitter: float = 0.15  # log-normal sd of exposure error per sprite
    colour_jitter: float = 0.05  # log-normal sd per band
    feather_px: tuple[float, float] = (0.3, 1.3)
    blur_px: tuple[float, float] = (0.0, 1.0)
    noise: tuple[float, float] = (0.3, 0.8)  # times the canvas noise level (an upper bound: texture counts too)
    shadow_p: float = 0.75
    shadow_min_height_m: float = 1.5  # lower crops (poppy, lawns, vegetables) shade within their plot, not beside it
    shadow_darkness: tuple[float, float] = (0.35, 0.65)
    sun_elevation_deg: tuple[float, float] = (25.0, 70.0)
    prefer_ground: float = 0.7  # chance the best of three positions (most ground-like) is taken


def plant(
    canvas: np.ndarray,
    labels: np.ndarray | None,
    sprites: Sequence[Sprite],
    bands: Sequence[str],
    camera: bool,
    rng: np.random.Generator,
    class_index: dict[str, int] | None = None,
    how: Planting = Planting(),
) -> list[tuple[Sprite, tuple[slice, slice], np.ndarray]]:
    """Plant ``sprites`` into ``canvas`` (bands, H, W; 0-1, changed in place) and their labels into
    ``labels`` (H, W; target class index over the footprint, 0 under look-alikes; ``IGNORE`` kept).

    Returns, per sprite planted, (sprite, window in the canvas, footprint inside the window)."""
    class_index = class_index or {c: i + 1 for i, c in enumerate(TARGETS)}
    idx = [BAND_INDEX[b] for b in bands]
    H, W = canvas.shape[1:]
    ok = labels != IGNORE if labels is not None else np.ones((H, W), bool)
    gain = sensor_gain(canvas[:, ok], bands, camera)
    sigma_n = min(noise_level(canvas), 0.02)
    brightness = canvas.mean(0)
    mean_b = float(brightness.mean()) + 1e-6
    az = rng.uniform(0, 2 * math.pi)  # one sun for the whole canvas
    k_shadow = 1 / math.tan(math.radians(rng.uniform(*how.sun_elevation_deg)))
    planted = []
    for s in sprites:
        scale = rng.uniform(*how.scale)
        refl, alpha, foot = _resize(s, scale)
        k = int(rng.integers(4))
        refl, alpha, foot = np.rot90(refl, k, (1, 2)), np.rot90(alpha, k), np.rot90(foot, k)
        shadow = s.height_m >= how.shadow_min_height_m and rng.random() < how.shadow_p
        off = s.height_m * k_shadow * scale / max(s.gsd_m, 1e-3) if shadow else 0.0  # pixels
        pad = int(math.ceil(off)) + 2  # room for the cast shadow and the feathered edge
        refl = np.pad(refl, ((0, 0), (pad, pad), (pad, pad)))
        alpha, foot = np.pad(alpha, pad), np.pad(foot, pad)
        h, w = alpha.shape
        r0, c0 = _position(rng, canvas, ok, bands, h, w, how.prefer_ground)
        rs, cs = slice(max(r0, 0), min(r0 + h, H)), slice(max(c0, 0), min(c0 + w, W))
        if rs.stop <= rs.start or cs.stop <= cs.start:
            continue
        sub = (slice(rs.start - r0, rs.stop - r0), slice(cs.start - c0, cs.stop - c0))
        local = float(brightness[rs, cs].mean()) / mean_b
        g = gain * math.exp(rng.normal(0, how.gain_jitter)) * np.exp(rng.normal(0, how.colour_jitter, len(idx))).astype(np.float32)
        g = g * float(np.clip(local, 0.4, 2.0)) ** how.light
        value = to_sensor(refl[idx], g, camera)
        blur = rng.uniform(*how.blur_px)
        if blur > 0.15:
            value = ndimage.gaussian_filter(value, (0, blur, blur))
        a = ndimage.gaussian_filter(alpha.astype(np.float32), rng.uniform(*how.feather_px))
        value = value + rng.normal(0, sigma_n * rng.uniform(*how.noise) + 1e-4, value.shape)
        view = canvas[:, rs, cs]
        if shadow:  # away from the sun (azimuth clockwise from the canvas's up)
            shade = ndimage.shift(a, (math.cos(az) * off, -math.sin(az) * off), order=1, mode="constant")
            shade = np.clip(shade - a, 0, 1)[sub] * rng.uniform(*how.shadow_darkness)
            tint = np.array([0.8 if b == "blue" else 1.0 for b in bands], np.float32)[:, None, None]
            view *= 1 - shade[None] * tint
        aw = a[sub][None]
        view[:] = np.clip(view * (1 - aw) + value[:, sub[0], sub[1]] * aw, 0, 1)
        if labels is not None:
            lab = labels[rs, cs]
            keep = lab != IGNORE
            if s.kind in TARGETS:
                lab[foot[sub] & keep] = class_index[s.kind]
            else:
                lab[(a[sub] > 0.5) & keep] = 0
        planted.append((s, (rs, cs), foot[sub]))
    return planted


def _position(rng: np.random.Generator, canvas: np.ndarray, ok: np.ndarray, bands: Sequence[str], h: int, w: int, prefer: float) -> tuple[int, int]:
    """Top-left (row, col) for an ``h`` x ``w`` sprite whose centre lies on a valid canvas pixel;
    with chance ``prefer`` the most ground-like of three tries (vegetation and soil: green over
    blue, or NIR over red), since plots are rarely on roofs or in water."""
    rows, cols = np.nonzero(ok[::4, ::4])
    if not len(rows):
        return -h, -w  # nothing valid: the sprite lands outside and is skipped
    pick = rng.integers(len(rows), size=3)
    tries = [(int(rows[k]) * 4 - h // 2, int(cols[k]) * 4 - w // 2) for k in pick]
    if rng.random() >= prefer:
        return tries[0]
    a, b = ("nir", "red") if "nir" in bands else ("green", "blue") if "blue" in bands else (None, None)
    if a is None or b is None:
        return tries[0]
    ia, ib = list(bands).index(a), list(bands).index(b)

    def score(t: tuple[int, int]) -> float:
        r, c = t
        win = canvas[:, max(r, 0): r + h, max(c, 0): c + w]
        return float((win[ia] - win[ib]).mean()) if win.size else -1.0

    return max(tries, key=score)


RenderFn = Callable[[np.random.Generator, str, float], Sprite]


class SpriteBank:
    """Sprites rendered once at a GSD by one or more families, drawn at random for planting.

    ``families``: name -> (render(rng, kind, gsd_m), kinds).  Part of the bank is re-rendered
    with :meth:`refresh` (e.g. each epoch) so a long training run sees ever new ones."""

    def __init__(self, families: dict[str, tuple[RenderFn, Sequence[str]]], gsd_m: float, size: int, rng: np.random.Generator, target_share: float = 0.5) -> None:
        self.families, self.gsd_m, self.target_share = families, gsd_m, target_share
        self.sprites: list[Sprite] = [self._render(rng) for _ in range(size)]

    def _render(self, rng: np.random.Generator) -> Sprite:
        return self.render(rng, bool(rng.random() < self.target_share))

    def render(self, rng: np.random.Generator, target: bool) -> Sprite:
        """A new target (poppy or cannabis) or look-alike sprite from a family drawn at random."""
        name = list(self.families)[int(rng.integers(len(self.families)))]
        fn, kinds = self.families[name]
        pool = [k for k in kinds if (k in TARGETS) == target] or list(kinds)
        return fn(rng, str(pool[int(rng.integers(len(pool)))]), self.gsd_m)

    def refresh(self, rng: np.random.Generator, share: float = 0.2) -> None:
        for i in rng.choice(len(self.sprites), size=max(1, int(len(self.sprites) * share)), replace=False):
            self.sprites[i] = self._render(rng)

    def draw(self, rng: np.random.Generator, targets: int, lookalikes: int) -> list[Sprite]:
        """``targets`` target sprites and ``lookalikes`` others, in random order (as many as the bank has of each kind)."""
        pools = ([s for s in self.sprites if s.is_target], [s for s in self.sprites if not s.is_target])
        out = [pool[int(i)] for pool, n in zip(pools, (targets, lookalikes)) if pool for i in rng.integers(len(pool), size=n)]
        return [out[int(i)] for i in rng.permutation(len(out))]


def default_families(max_area_m2: float | None = None) -> dict[str, tuple[RenderFn, Sequence[str]]]:
    """Every rendering family Scout has: noise-field painting (``fields``) and plant-by-plant
    drawing (``plantwise``), at growth stages a drone can tell.  ``max_area_m2`` caps an object's
    area (a training patch of 19 m shows at most ~370 m² of a field; larger ones only cost time)."""
    from scout.synth import plantwise, render

    def fields(rng: np.random.Generator, kind: str, gsd_m: float) -> Sprite:
        area = render.sprite_area(rng, kind)
        return render.render_sprite(rng, kind, gsd_m, min(area, max_area_m2) if max_area_m2 else area)

    def plantwise_detectable(rng: np.random.Generator, kind: str, gsd_m: float) -> Sprite:
        stages = DETECTABLE_STAGES.get(kind)
        stage = str(rng.choice(list(stages), p=list(stages.values()))) if stages else None
        lo, hi = plantwise.AREA_M2[kind]
        hi = min(hi, max(max_area_m2 or hi, lo * 1.5))
        area = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        return plantwise.render(rng, kind, gsd_m, area, stage=stage)

    return {"fields": (fields, render.SPRITE_KINDS), "plantwise": (plantwise_detectable, plantwise.KINDS)}


# growth stages a drone at 2-10 cm can tell (a seedling plot is tilled soil, a senescent one straw):
# labelling those as targets would teach that bare soil and stubble are poppy
DETECTABLE_STAGES = {"poppy": {"vegetative": 0.25, "bud": 0.15, "flowering": 0.4, "capsule": 0.2}, "cannabis": {"young": 0.1, "vegetative": 0.5, "flowering": 0.4}}

