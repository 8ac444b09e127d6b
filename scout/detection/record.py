"""The record of a run (``run.json``): inputs with checksums, model, every parameter, library
versions, counts and timings; and the one-line summary read back from it."""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely

import scout
from scout.detection.checkpoints import plan_fingerprint
from scout.detection.plan import PlannedRun
from scout.detection.settings import PLOT_PARAMETERS
from scout.detection.trust import assess, statement
from scout.errors import OutputError
from scout.inference import backend
from scout.io import sha256_file
from scout.lang import Lang, label, resolve_lang, text
from scout.runfolder import read_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    out_dir: Path
    model: str
    plots_by_class: dict[str, int]
    flagged_area_m2: float
    aoi_area_m2: float
    tiles: int
    megapixels: float
    seconds: float
    trust: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    lang: Lang = "en"

    @property
    def n_plots(self) -> int:
        return sum(self.plots_by_class.values())

    @classmethod
    def from_run_folder(cls, out_dir: Path) -> RunSummary:
        """The summary of a finished run, from its run.json."""
        return cls.from_run(read_record(out_dir), out_dir)

    @classmethod
    def from_run(cls, run: dict, out_dir: Path) -> RunSummary:
        """From the run.json record, so a fresh run and a re-read one report the same rounded numbers."""
        return cls(
            out_dir=out_dir,
            model=run["model"]["name"],
            plots_by_class=run["counts"]["plots_by_class"],
            flagged_area_m2=run["areas_m2"]["flagged"],
            aoi_area_m2=run["areas_m2"]["aoi"],
            tiles=run["counts"]["tiles"],
            megapixels=run["counts"]["megapixels"],
            seconds=run["timings"]["total_s"],
            trust=run.get("trust", {}),
            warnings=tuple(run.get("warnings", ())),
            lang=resolve_lang(None, run),
        )

    def line(self) -> str:
        """In the run's language (``run.json`` ``lang``), as its warnings are."""
        lang = self.lang
        per = ", ".join(text("detect_per_class", lang, n=n, cls=label(c, lang)) for c, n in self.plots_by_class.items())
        flagged_share = self.trust.get("flagged_share")  # of the imaged AOI
        share = text("detect_share", lang, share=flagged_share) if flagged_share is not None else ""
        line = text(
            "detect_summary", lang, plots=self.n_plots, per=per, flagged=self.flagged_area_m2, aoi_ha=self.aoi_area_m2 / 1e4, share=share,
            trust=statement(self.trust, lang), tiles=self.tiles, mp=self.megapixels, s=self.seconds, out=self.out_dir,
        )
        return "\n".join([line, *(text("warning", lang, w=w) for w in self.warnings)])


@dataclass(frozen=True)
class RunOutcome:
    """What a run produced and how, beside its plan, for :func:`run_record`."""

    plots: gpd.GeoDataFrame
    aoi_area_m2: float
    image_sha256: dict[str, str]
    timings: dict[str, float]
    started: dt.datetime
    resumed_blocks: int
    descriptors: np.ndarray  # the imagery's windows (scout.domain), for the trust signal
    imaged_area_m2: float = 0.0  # the AOIs where there is imagery (a flight over part of a township)


def run_record(planned: PlannedRun, out_dir: Path, aoi: str | os.PathLike | None, outcome: RunOutcome) -> dict[str, Any]:
    """The ``run.json`` of a finished run."""
    plan, card, settings, grid = planned.plan, planned.card, planned.settings, planned.plan.grid
    classes, plots = card.foreground, outcome.plots
    by_class = {c: int((plots["class"] == c).sum()) for c in classes}
    photos = {"frames": planned.flight.record(out_dir.resolve())} if planned.flight else {}
    flagged = round(float(plots["area_m2"].sum()) if len(plots) else 0.0, 2)
    lang = resolve_lang(settings.lang)  # what later commands speak unless told otherwise; the warnings speak it too
    judged = assess(card, flagged, outcome.imaged_area_m2 or outcome.aoi_area_m2, outcome.descriptors, lang)  # a share of what was seen
    return {
        "scout_version": scout.__version__,
        "complete": True,
        "lang": lang,
        "fingerprint": plan_fingerprint(plan),
        "resumed_blocks": outcome.resumed_blocks,
        "started": outcome.started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "work_crs": grid.crs.to_string(),
        "inputs": {
            "images": [
                {
                    "path": i.path,
                    "relpath": os.path.relpath(i.path, out_dir.resolve()),
                    "size_bytes": i.size_bytes,
                    "sha256": outcome.image_sha256[i.path],
                    "crs": i.crs.to_string(),
                    "gsd_m": round(i.gsd_m, 5),
                    "bands": list(i.band_names),
                    "band_indexes": list(idx),
                    "acquired": i.acquired,
                }
                for i, idx in zip(plan.images, plan.indexes)
            ],
            "aoi": None if aoi is None else {"path": str(Path(aoi).resolve()), "sha256": sha256_file(aoi), "layer": settings.aoi_layer, "name_field": settings.aoi_name_field},
        },
        "model": {"name": card.name, "version": card.version, "sha256": card.sha256, "path": str(Path(plan.model_path).resolve()), "gsd_m": card.gsd_m, "bands": list(card.bands)},
        "parameters": {
            **{k: v for k, v in asdict(settings).items() if k not in ("scheduler",)},
            "thresholds": {c: settings.threshold(c) for c in classes},
            "tile_size": plan.spec.size,
            "overlap": plan.spec.overlap,
            "device": plan.device,
        },
        "grid": {"width": grid.width, "height": grid.height, "transform": list(grid.transform)},
        "counts": {
            "blocks": len(planned.blocks), "tiles": planned.n_tiles, "plots": sum(by_class.values()), "plots_by_class": by_class,
            "megapixels": round(planned.n_tiles * plan.spec.size**2 / 1e6, 2),
        },
        "areas_m2": {"flagged": flagged, "aoi": round(outcome.aoi_area_m2, 1), "imaged": round(outcome.imaged_area_m2, 1)},
        "trust": judged["trust"],
        "warnings": [*(planned.flight.warnings if planned.flight else ()), *judged["warnings"]],
        "timings": {k: round(v, 3) for k, v in outcome.timings.items()},
        "versions": versions(plan.device),
        **photos,
    }


def versions(device: str) -> dict[str, Any]:
    """Python, the inference backend and the geospatial libraries a run used."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "backend": backend(device),
        "torch": installed("torch"),  # read from metadata: a CPU run on ONNX Runtime never imports torch
        "onnxruntime": installed("onnxruntime"),
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "geopandas": installed("geopandas"),
        "shapely": shapely.__version__,
        "rio_cogeo": installed("rio-cogeo"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def already_complete(out_dir: Path, planned: PlannedRun) -> RunSummary:
    """``--resume`` on a finished run: reported, not redone, if it was made the same way."""
    try:
        run = read_record(out_dir)
    except (OSError, ValueError) as exc:
        raise OutputError(f"{out_dir}: unreadable run.json ({exc}); start the run again with --overwrite") from None
    if run.get("fingerprint") != plan_fingerprint(planned.plan):
        raise OutputError(f"{out_dir}: this finished run used other imagery, AOI, model or tiling; use --overwrite to replace it")
    settings = asdict(planned.settings)
    now = {"thresholds": {c: planned.settings.threshold(c) for c in planned.card.foreground}, **{k: settings[k] for k in PLOT_PARAMETERS}}
    before = run.get("parameters", {})
    changed = [k for k, v in now.items() if before.get(k) != v]
    if changed:
        raise OutputError(f"{out_dir}: this finished run used other {', '.join(changed)}; use --overwrite to redo it")
    log.info("%s: already complete, nothing redone", out_dir)
    return RunSummary.from_run_folder(out_dir)
