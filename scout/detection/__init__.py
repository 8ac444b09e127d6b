"""A detection run, one module per step (see ARCHITECTURE.md):

- :mod:`~scout.detection.settings`: what a user sets (:class:`DetectSettings`), filled in from the model card;
- :mod:`~scout.detection.checks`: imagery against the model card (model, bands, GSD, value scale);
- :mod:`~scout.detection.plan`: AOIs, grid at model GSD, tiles and blocks (:func:`plan_run`);
- :mod:`~scout.detection.blocks`: one block read, inferred and blended (what a worker runs);
- :mod:`~scout.detection.executor`: where blocks run: in-process, a local pool, a dask cluster;
- :mod:`~scout.detection.plots`: plots from traced probability, with the attribute contract;
- :mod:`~scout.detection.checkpoints` and :mod:`~scout.detection.staging`: finished blocks kept for
  ``--resume``, the hidden staging folder, the lock, the rename into place;
- :mod:`~scout.detection.record`: ``run.json`` and the run's summary;
- :mod:`~scout.detection.run`: :func:`detect`, the steps above in order.

Names import on first use, so ``from scout.detection.plots import plot_shapes`` (calibration)
does not load the run's machinery.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scout.detection.plan import PlannedRun, plan_run
    from scout.detection.plots import build_plots, plot_id
    from scout.detection.record import RunSummary
    from scout.detection.run import detect
    from scout.detection.settings import DetectSettings

_LAZY = {
    "DetectSettings": "scout.detection.settings",
    "PlannedRun": "scout.detection.plan",
    "plan_run": "scout.detection.plan",
    "build_plots": "scout.detection.plots",
    "plot_id": "scout.detection.plots",
    "RunSummary": "scout.detection.record",
    "detect": "scout.detection.run",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scout.detection' has no attribute {name!r}")


__all__ = ["DetectSettings", "PlannedRun", "RunSummary", "build_plots", "detect", "plan_run", "plot_id"]
