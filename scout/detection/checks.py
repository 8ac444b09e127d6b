"""Imagery against the model card, before any tile is read: which model, which bands, and
whether the pixels are on a scale and at a resolution the model can read.

A wrong answer here is silent nonsense later (a 16-bit RGB export read as reflectance up to
6.5, satellite pixels upsampled for a drone model), so each is refused in one line that says
how to fix it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scout.errors import ImageryError, ModelError
from scout.imagery import ImageInfo, band_indexes, sample_pixels
from scout.model.card import ModelCard

log = logging.getLogger(__name__)


def resolve_model(model: str | os.PathLike | None, infos: Sequence[ImageInfo]) -> Path:
    """The model asked for, or the shipped model fitting the imagery's bands and GSD."""
    if model is not None:
        return Path(model)
    from scout.model.registry import pick_model

    try:
        path = pick_model(list(infos[0].band_names), min(i.gsd_m for i in infos))
    except ModelError as exc:  # name the image: in a folder it may be a stray raster (labels, a DEM)
        raise ModelError(f"{infos[0].path}: {exc}") from None
    log.info("model: %s (picked for %s imagery at %.2f m)", Path(path).name, "/".join(b for b in infos[0].band_names if b), infos[0].gsd_m)
    return Path(path)


def check_image(info: ImageInfo, card: ModelCard, bands: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The image's band numbers in the model's band order (``bands`` overrides the names), once
    its GSD and, for 16-bit imagery, its value scale are checked against ``card``."""
    check_gsd(info, card)
    indexes = band_indexes(info, card.bands, bands)
    check_radiometry(info, indexes, card)
    return indexes


def check_gsd(info: ImageInfo, card: ModelCard) -> None:
    """Imagery much coarser than the model was trained on is refused, not upsampled."""
    if info.gsd_m > card.gsd_m * card.max_gsd_ratio:
        raise ImageryError(
            f"{info.path}: imagery at {info.gsd_m:.2f} m/px is too coarse for model {card.name} "
            f"(trained at {card.gsd_m:.2f} m/px; plots it finds are only a few pixels wide there); "
            "upsampling cannot add that detail — use imagery finer than "
            f"{card.gsd_m * card.max_gsd_ratio:.2f} m/px or a model made for this resolution"
        )


def check_radiometry(info: ImageInfo, indexes: tuple[int, ...], card: ModelCard) -> None:
    """16-bit imagery must be on the card's scale (reflectance × 10,000 for the shipped models):
    a 16-bit RGB export (0-65,535) would be read as reflectance up to 6.5 and give silent nonsense."""
    if info.dtype not in ("uint16", "int16"):
        return
    values = sample_pixels(info, indexes)
    scale = card.scale_for(info.dtype)
    if values.size and (p99 := float(np.percentile(values, 99))) > 2 * scale:
        raise ImageryError(
            f"{info.path}: {info.dtype} values reach {p99:,.0f} (99th percentile), over twice the {scale:,g} that model {card.name} "
            f"takes as full scale; a 16-bit RGB export? Convert it to 8 bit (gdal_translate -ot Byte -scale) or give a model for this data"
        )
