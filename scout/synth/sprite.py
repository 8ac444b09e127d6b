"""One object to plant into a canvas (a real flight, or a synthetic scene): a target plot or a look-alike.

Sprites are rendered as surface reflectance at a given GSD by a *rendering family* (a way of
drawing things: :mod:`scout.synth.render`'s noise-field textures, :mod:`scout.synth.plantwise`'s
plant-by-plant drawing), and planted by :mod:`scout.synth.plant`, which harmonises them with the
canvas (light, colour, blur, noise, shadow).  Targets and look-alikes travel the same path, so
being pasted is never the cue that tells a target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGETS = ("poppy", "cannabis")


@dataclass(frozen=True)
class Sprite:
    """An object rendered at ``gsd_m`` metres per pixel.

    ``reflectance``: (4, h, w) float32 surface reflectance, bands blue, green, red, NIR, 0-1.
    ``alpha``: (h, w) float32 0-1, how much of each pixel the object covers (soft edges).
    ``footprint``: (h, w) bool, the plot's extent: for a target, exactly the pixels to label
    (soil between plants included); for a look-alike, where it lies.
    ``kind``: "poppy" | "cannabis" | a look-alike ("tree", "shrub", "banana", "lawn", ...).
    ``height_m``: canopy height in metres, for the cast shadow.
    """

    reflectance: np.ndarray
    alpha: np.ndarray
    footprint: np.ndarray
    kind: str
    height_m: float
    gsd_m: float

    @property
    def is_target(self) -> bool:
        return self.kind in TARGETS

    def __post_init__(self) -> None:
        h, w = self.alpha.shape
        if self.reflectance.shape != (4, h, w) or self.footprint.shape != (h, w):
            raise ValueError(f"sprite arrays disagree: reflectance {self.reflectance.shape}, alpha {self.alpha.shape}, footprint {self.footprint.shape}")
