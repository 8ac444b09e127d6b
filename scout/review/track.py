"""Follow plots across flights of one area: which are new, which come back, which regrew.

Each plot of the new run is matched to the old plot it overlaps best (both runs in one metric
CRS); it inherits that plot's latest decision and is marked, in ``track_status``:

- ``new``: no old plot overlaps it enough;
- ``regrowth``: the old plot was marked ``eradicated``;
- ``known_false_alarm``: the old plot was marked ``false_alarm``;
- ``recurring``: the old plot was confirmed or not reviewed.

An old plot's "latest decision" is its ``review_status``, or, while unreviewed, the decision
it inherited itself from an earlier run (its ``prev_status``), so history survives flights
that nobody reviewed.  The new run's own ``review_status`` is left as it is.
"""

from __future__ import annotations

import logging
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from scout import schema
from scout.errors import RunFolderError
from scout.io import typed_frame
from scout.review.verify import DRONE_STATUSES, MIN_COVER, TOLERANCE_M, VERIFY_FIELDS, covered_area, verify_plots
from scout.runfolder import check_plots, detected, open_run, read_plots, rewrite_plots
from scout.schema import TRACK_FIELDS

log = logging.getLogger(__name__)

MIN_OVERLAP = 0.3
"""Least intersection / area of the smaller plot for two plots to be the same field."""


def match_plots(new: gpd.GeoSeries, old: gpd.GeoSeries, min_overlap: float = MIN_OVERLAP) -> pd.DataFrame:
    """Best old match of each new plot: columns ``new``, ``old`` (positions), ``iou``, ``overlap``.

    Both series must share a metric CRS.  Candidates intersect (STRtree); a pair counts when
    intersection / smaller area >= ``min_overlap`` (a regrown patch inside an old field
    still matches); among those the largest IoU wins.  New plots without a match are absent.
    """
    new_idx, old_idx = old.sindex.query(new.values, predicate="intersects")
    if len(new_idx) == 0:
        return pd.DataFrame({"new": pd.Series([], dtype=int), "old": pd.Series([], dtype=int), "iou": pd.Series([], dtype=float), "overlap": pd.Series([], dtype=float)})
    a_new, a_old = shapely.area(new.values[new_idx]), shapely.area(old.values[old_idx])
    inter = shapely.area(shapely.intersection(new.values[new_idx], old.values[old_idx]))
    smaller = np.minimum(a_new, a_old)
    pairs = pd.DataFrame({
        "new": new_idx,
        "old": old_idx,
        "iou": inter / np.maximum(a_new + a_old - inter, 1e-12),
        "overlap": np.where(smaller > 0, inter / np.maximum(smaller, 1e-12), 0.0),
    })
    pairs = pairs[pairs["overlap"] >= min_overlap]
    return pairs.sort_values(["new", "iou"], ascending=[True, False]).drop_duplicates("new").reset_index(drop=True)


def _latest_decisions(old: pd.DataFrame) -> pd.DataFrame:
    """Per old plot: its own decision when reviewed, else the one it inherited (if any)."""
    own = old["review_status"] != "unreviewed"
    inherited = old["prev_status"].isin(schema.REVIEW_STATUSES) if "prev_status" in old else pd.Series(False, index=old.index)
    use_prev = ~own & inherited
    out = pd.DataFrame(index=old.index)
    for field, prev in (("review_status", "prev_status"), ("reviewed_by", "prev_reviewed_by"), ("reviewed_at", "prev_reviewed_at"), ("note", "prev_note")):
        out[prev] = old[field].where(~use_prev, old.get(prev, ""))
    return out


def carry_history(new: gpd.GeoDataFrame, old: gpd.GeoDataFrame, crs: CRS, min_overlap: float = MIN_OVERLAP) -> gpd.GeoDataFrame:
    """``new`` with TRACK_FIELDS set from its matches in ``old`` (replacing any earlier ones),
    both measured in ``crs`` (metric)."""
    new = new.drop(columns=[c for c in TRACK_FIELDS if c in new.columns])
    matches = match_plots(new.geometry.to_crs(crs), old.geometry.to_crs(crs), min_overlap)
    history = _latest_decisions(old.reset_index(drop=True))
    track = pd.DataFrame({name: ("" if t == "str" else 0.0) for name, t in TRACK_FIELDS.items()}, index=range(len(new)))
    track["track_status"] = "new"
    rows = matches["new"].to_numpy()
    previous = history.iloc[matches["old"].to_numpy()]
    for name in ("prev_status", "prev_reviewed_by", "prev_reviewed_at", "prev_note"):
        track.loc[rows, name] = previous[name].to_numpy()
    track.loc[rows, "prev_plot_id"] = old["plot_id"].to_numpy()[matches["old"].to_numpy()]
    track.loc[rows, "track_overlap"] = matches["overlap"].round(3).to_numpy()
    status = {"eradicated": "regrowth", "false_alarm": "known_false_alarm"}
    track.loc[rows, "track_status"] = [status.get(s, "recurring") for s in previous["prev_status"]]
    out = new.reset_index(drop=True).copy()
    for name in TRACK_FIELDS:
        out[name] = track[name].to_numpy()
    columns = [c for c in new.columns if c != new.geometry.name] + list(TRACK_FIELDS)
    return typed_frame(out, {c: (TRACK_FIELDS.get(c) or schema.PLOT_FIELDS.get(c) or ("str" if out[c].dtype == object else str(out[c].dtype))) for c in columns}, new.crs)


def track_runs(old_run: str | os.PathLike, new_run: str | os.PathLike, min_overlap: float = MIN_OVERLAP) -> dict[str, int]:
    """Mark NEW_RUN's plots against OLD_RUN's; rewrite NEW_RUN/plots.gpkg atomically; counts by status."""
    old_folder, new_folder = open_run(old_run), open_run(new_run)
    if old_folder.path.resolve() == new_folder.path.resolve():
        raise RunFolderError(f"{new_folder.path}: old and new run are the same folder")
    old = read_plots(old_folder)
    check_plots(old, old_folder.plots_gpkg)
    new = read_plots(new_folder)
    tracked = carry_history(new, old, new_folder.metric_crs(new), min_overlap)
    rewrite_plots(new_folder, tracked)  # the plots form gains its History tab
    counts = {s: int((tracked["track_status"] == s).sum()) for s in schema.TRACK_STATUSES}
    log.info("tracked %d plots of %s against %d of %s", len(tracked), new_folder.path, len(old), old_folder.path)
    return counts


def verify_runs(sat_run: str | os.PathLike, drone_run: str | os.PathLike, tolerance_m: float = TOLERANCE_M, min_cover: float = MIN_COVER) -> dict[str, int]:
    """Mark SAT_RUN's plots confirmed / cleared / not_covered by DRONE_RUN (see :mod:`scout.review.verify`);
    rewrite SAT_RUN/plots.gpkg atomically; counts by status."""
    sat_folder, drone_folder = open_run(sat_run), open_run(drone_run)
    if sat_folder.path.resolve() == drone_folder.path.resolve():
        raise RunFolderError(f"{drone_folder.path}: satellite and drone run are the same folder")
    sat = read_plots(sat_folder)
    drone = detected(read_plots(drone_folder))
    drone = drone[drone["review_status"] != "false_alarm"]  # reviewed on the drone imagery: it was not there
    crs = sat_folder.metric_crs(sat)
    covered = covered_area(drone_folder, crs)
    checked = verify_plots(sat.geometry.to_crs(crs), drone.to_crs(crs), covered, tolerance_m, min_cover)
    out = sat.drop(columns=[c for c in VERIFY_FIELDS if c in sat.columns]).reset_index(drop=True)
    for name in ("drone_status", "drone_plot_ids", "drone_coverage"):
        out[name] = checked[name].to_numpy()
    out["drone_run"] = drone_folder.path.resolve().name
    columns = [c for c in out.columns if c != out.geometry.name]
    fields = {c: (VERIFY_FIELDS.get(c) or TRACK_FIELDS.get(c) or schema.PLOT_FIELDS.get(c) or ("str" if out[c].dtype == object else str(out[c].dtype))) for c in columns}
    rewrite_plots(sat_folder, typed_frame(out, fields, sat.crs))  # the plots form gains its Drone tab
    counts = {s: int((checked["drone_status"] == s).sum()) for s in DRONE_STATUSES}
    log.info("checked %d satellite plots of %s against %d drone plots of %s", len(sat), sat_folder.path, len(drone), drone_folder.path)
    return counts
