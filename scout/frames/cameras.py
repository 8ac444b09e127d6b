"""A small table of common drone cameras, for photos whose EXIF gives no focal-plane resolution.

Sensor widths are the long side of the active area in millimetres, from the makers'
specifications (1/2.3" = 6.17 mm, 1/2" = 6.4 mm, 1" = 13.2 mm, 4/3" = 17.3 mm, full frame = 35.9 mm).
A photo cut to a wider aspect (16:9 on a 4:3 sensor) keeps the sensor's full width, so the
photo's long side always spans ``sensor_width_mm``.  ``focal_mm`` is the lens's, used only when
the EXIF has none (fixed-lens cameras).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Camera:
    name: str
    sensor_width_mm: float
    focal_mm: float | None = None


CAMERAS: dict[str, Camera] = {c.name.lower(): c for c in (
    # DJI: EXIF Model -> camera (and the drone it flies on)
    Camera("FC300S", 6.17, 3.61),  # Phantom 3 Professional
    Camera("FC300X", 6.17, 3.61),  # Phantom 3 Advanced
    Camera("FC300C", 6.17, 3.61),  # Phantom 3 Standard
    Camera("FC330", 6.17, 3.61),  # Phantom 4
    Camera("FC6310", 13.2, 8.8),  # Phantom 4 Pro
    Camera("FC6310S", 13.2, 8.8),  # Phantom 4 Pro V2.0
    Camera("FC6310R", 13.2, 8.8),  # Phantom 4 RTK
    Camera("FC220", 6.17, 4.73),  # Mavic Pro
    Camera("FC3170", 6.4, 4.5),  # Mavic Air 2
    Camera("FC3411", 13.2, 8.38),  # Air 2S
    Camera("FC7303", 6.17, 4.49),  # Mini 2
    Camera("L1D-20c", 13.2, 10.26),  # Mavic 2 Pro
    Camera("M3E", 17.3, 12.29),  # Mavic 3 Enterprise (wide)
    Camera("M3T", 6.4, 4.4),  # Mavic 3 Thermal (wide)
    Camera("M3M", 17.3, 12.29),  # Mavic 3 Multispectral (RGB)
    Camera("ZenmuseP1", 35.9),  # Matrice 300/350 full-frame survey camera (interchangeable lenses)
    Camera("FC6520", 17.3),  # Zenmuse X5S (interchangeable lenses)
    # fixed-wing survey cameras
    Camera("Canon PowerShot ELPH 300 HS", 6.17, 4.3),  # senseFly swinglet CAM / early eBee
    Camera("senseFly S.O.D.A.", 13.2, 10.6),  # senseFly eBee
)}


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def lookup(make: str, model: str) -> Camera | None:
    """The camera for an EXIF Make/Model (the model alone, or with the make in front), or None."""
    for key in (_key(model), _key(f"{make} {model}")):
        if key in CAMERAS:
            return CAMERAS[key]
    return None
