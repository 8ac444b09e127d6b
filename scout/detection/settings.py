"""What a user can set for a detection run, and how the model card fills in the rest."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from scout.errors import InputError
from scout.frames.georef import FrameSettings
from scout.model.card import ModelCard


@dataclass(frozen=True)
class DetectSettings:
    """Detection parameters.  ``thresholds``: probability (0-1) a pixel must reach, per class
    or ``"*"`` for all; ``min_confidence``: mean probability a plot must reach, likewise;
    ``min_area_m2``: smaller plots are dropped.  What is left unset comes from the model
    card's calibrated ``detection`` defaults (:meth:`for_model`), else 0.5 / 0 / 1 m².
    ``tile_size`` in pixels at model GSD (default: the card's); ``block_tiles``: tiles per
    block side (memory ~ block area).  Raw drone photos: ``agl_m`` height above ground for
    every photo (metres; else the photo's XMP), ``dem`` a DEM for the ground's height (with the
    photos' GPS altitude), ``max_off_nadir_deg`` steeper photos are skipped."""

    thresholds: dict[str, float] = field(default_factory=dict)
    min_confidence: dict[str, float] = field(default_factory=dict)
    min_area_m2: float | None = None
    simplify_px: float = 0.5
    tile_size: int | None = None
    block_tiles: int = 3
    batch_size: int | None = None  # tiles per forward pass; default from BATCH_PIXELS
    device: str | None = None
    threads: int | None = None
    bands: tuple[int, ...] | None = None
    aoi_name_field: str | None = None
    aoi_layer: str | None = None
    workers: int = 1
    scheduler: str | None = None
    lang: str | None = None  # zh | en for what people read later (sheets, QGIS forms); run.json "lang" (scout.lang)
    agl_m: float | None = None
    dem: str | None = None
    max_off_nadir_deg: float = 15.0

    def frame_settings(self) -> FrameSettings:
        """How raw photos are placed (:mod:`scout.frames`)."""
        return FrameSettings(agl_m=self.agl_m, max_off_nadir_deg=self.max_off_nadir_deg)

    def threshold(self, cls: str) -> float:
        return float(self.thresholds.get(cls, self.thresholds.get("*", 0.5)))

    def plot_confidence(self, cls: str) -> float:
        return float(self.min_confidence.get(cls, self.min_confidence.get("*", 0.0)))

    def for_model(self, card: ModelCard) -> DetectSettings:
        """These settings with every class's values filled in: the user's first, then the
        model card's calibrated defaults, then 0.5 / 0 / 1 m²."""
        cal = card.detection or {}
        for given in (self.thresholds, self.min_confidence):
            unknown = sorted(set(given) - {"*", *card.foreground})
            if unknown:
                raise InputError(f"model {card.name} has no class {', '.join(unknown)}; its classes are {', '.join(card.foreground)}")

        def per_class(user: dict[str, float], calibrated: dict[str, float], fallback: float) -> dict[str, float]:
            return {c: float(user.get(c, user.get("*", calibrated.get(c, fallback)))) for c in card.foreground}

        return replace(
            self,
            thresholds=per_class(self.thresholds, cal.get("thresholds", {}), 0.5),
            min_confidence=per_class(self.min_confidence, cal.get("min_confidence", {}), 0.0),
            min_area_m2=float(self.min_area_m2 if self.min_area_m2 is not None else cal.get("min_area_m2", 1.0)),
        )


PLOT_PARAMETERS = ("min_confidence", "min_area_m2", "simplify_px", "aoi_name_field")
"""Settings that shape the plots but not the block results (with the thresholds)."""
