"""Plots -> survey tasks: which plots to visit, grouped by walking distance, in priority order.

Priority of one plot (higher is visited first when not everything fits)::

    p = 100 × w_class × c × area / (area + 1000 m²) × h_track

- ``w_class``: class weight, default poppy 1.0, cannabis 0.8;
- ``c``: the plot's confidence (mean probability, 0–1), taken as 1.0 once a plot is ``confirmed``;
- ``area``: plot area in m²; the factor is 0.5 at 1000 m² and saturates for large plots;
- ``h_track``: history from ``scout track`` when the plots layer has ``track_status``:
  regrowth 1.5, recurring 1.25, new (or no history) 1.0, known_false_alarm 0.1 — such plots are
  left out unless asked for.

A task is one plot, or a cluster of plots each within ``cluster_m`` metres (edge to edge, single
linkage) of another plot of the cluster, of at most ``max_plots`` plots: single linkage chains on
through a dense village or valley (370 plots in one task on the bench scene, a 62 h stop that
no team could take), so a larger cluster is cut in halves across its longer side until each part
is small enough.  A task's priority is the sum over its plots.  Task ids are
``T001``, ``T002``… in priority order (short enough for handheld GPS waypoint names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from shapely import STRtree

from scout.io import typed_frame
from scout.schema import TASK_FIELDS
from scout.survey.inputs import WGS84, read_run

HISTORY_WEIGHTS: dict[str, float] = {"regrowth": 1.5, "recurring": 1.25, "new": 1.0, "known_false_alarm": 0.1}
AREA_HALF_M2 = 1000.0


@dataclass(frozen=True)
class TaskSettings:
    """Which plots become tasks and how they are grouped (distances in metres)."""

    cluster_m: float = 100.0
    max_plots: int = 12  # 2 h on site at 10 min a plot: a task fits in a day among others
    min_confidence: float = 0.0
    statuses: tuple[str, ...] = ("unreviewed", "confirmed")
    known_false_alarms: bool = False
    class_weights: dict[str, float] = field(default_factory=lambda: {"poppy": 1.0, "cannabis": 0.8})


def select_plots(plots: gpd.GeoDataFrame, settings: TaskSettings) -> gpd.GeoDataFrame:
    """The plots worth a visit: review status, confidence and (when present) track history filters."""
    keep = plots["review_status"].isin(settings.statuses) & (plots["confidence"] >= settings.min_confidence)
    if "track_status" in plots.columns and not settings.known_false_alarms:
        keep &= plots["track_status"] != "known_false_alarm"
    return plots[keep & plots.geometry.notna() & ~plots.geometry.is_empty]


def plot_priority(plots: pd.DataFrame, settings: TaskSettings) -> np.ndarray:
    """Priority of each plot by the formula in this module's docstring (unitless, ≥ 0)."""
    weight = plots["class"].map(settings.class_weights).fillna(1.0).to_numpy(float)
    confidence = np.where(plots["review_status"] == "confirmed", 1.0, plots["confidence"].to_numpy(float))
    area = plots["area_m2"].to_numpy(float)
    history = np.ones(len(plots))
    if "track_status" in plots.columns:
        history = plots["track_status"].map(HISTORY_WEIGHTS).fillna(1.0).to_numpy(float)
    return 100.0 * weight * confidence * area / (area + AREA_HALF_M2) * history


def cluster_plots(geometries: gpd.GeoSeries, cluster_m: float) -> np.ndarray:
    """Cluster label per geometry: connected groups within ``cluster_m`` metres edge to edge."""
    n = len(geometries)
    if n == 0:
        return np.zeros(0, dtype=int)
    geoms = geometries.to_numpy()
    left, right = STRtree(geoms).query(geoms, predicate="dwithin", distance=max(cluster_m, 0.0))
    graph = coo_array((np.ones(len(left)), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def split_cluster(xy: np.ndarray, max_plots: int) -> np.ndarray:
    """Part label per point: the points cut in halves across the longer side of their extent,
    again and again, until no part has more than ``max_plots``; parts stay compact."""
    labels = np.zeros(len(xy), dtype=int)
    todo, n_parts = [np.arange(len(xy))], 0
    while todo:
        idx = todo.pop()
        if len(idx) <= max(1, max_plots):
            labels[idx] = n_parts
            n_parts += 1
            continue
        axis = int(np.argmax(np.ptp(xy[idx], axis=0)))
        ordered = idx[np.argsort(xy[idx, axis], kind="stable")]
        todo += [ordered[len(ordered) // 2 :], ordered[: len(ordered) // 2]]
    return labels


def task_groups(geometries: gpd.GeoSeries, settings: TaskSettings) -> np.ndarray:
    """Task label per plot: walking-distance clusters, the large ones split (module docstring)."""
    clusters = cluster_plots(geometries, settings.cluster_m)
    points = geometries.representative_point()
    xy = np.column_stack([points.x.to_numpy(), points.y.to_numpy()])
    labels = clusters.copy()
    next_label = int(clusters.max(initial=-1)) + 1
    for cluster in np.flatnonzero(np.bincount(clusters) > settings.max_plots):
        members = np.flatnonzero(clusters == cluster)
        labels[members] = next_label + split_cluster(xy[members], settings.max_plots)
        next_label = int(labels[members].max()) + 1
    return labels


def tasks_from_plots(plots: gpd.GeoDataFrame, settings: TaskSettings) -> gpd.GeoDataFrame:
    """One task (a point in the plots' metric CRS) per plot or cluster of plots, ids in priority order.

    Routing fields (team, day, sequence, leg_m, eta) are zero/empty and status is ``open`` until
    :func:`scout.survey.routing.plan_routes` fills them.
    """
    if plots.empty:
        return typed_frame(None, TASK_FIELDS, plots.crs)
    plots = plots.assign(_priority=plot_priority(plots, settings), _cluster=task_groups(plots.geometry, settings))
    rows = []
    for _, group in plots.groupby("_cluster", sort=False):
        area = group["area_m2"].to_numpy(float)
        by_class = group.groupby("class")["area_m2"].sum().sort_values(ascending=False, kind="stable")
        rows.append(
            {
                "plot_ids": ",".join(sorted(group["plot_id"].astype(str))),
                "priority": round(float(group["_priority"].sum()), 2),
                "class": str(by_class.index[0]),
                "classes": ",".join(map(str, by_class.index)),
                "confidence": float(np.average(group["confidence"], weights=area if area.sum() > 0 else None)),
                "area_m2": float(area.sum()),
                "geometry": group.geometry.union_all().centroid,
            }
        )
    tasks = gpd.GeoDataFrame(rows, geometry="geometry", crs=plots.crs)
    tasks = tasks.sort_values(["priority", "plot_ids"], ascending=[False, True], kind="stable").reset_index(drop=True)
    width = max(3, len(str(len(tasks))))
    lonlat = tasks.geometry.to_crs(WGS84)
    tasks = tasks.assign(
        task_id=[f"T{i + 1:0{width}d}" for i in range(len(tasks))],
        team=0,
        day=0,
        sequence=0,
        lon=lonlat.x.round(7),
        lat=lonlat.y.round(7),
        leg_m=0.0,
        eta="",
        status="open",
    )
    return typed_frame(tasks, TASK_FIELDS, plots.crs)


def make_tasks(run_dir: str | os.PathLike, settings: TaskSettings) -> gpd.GeoDataFrame:
    """Tasks for a run folder's plots, in the run's metric CRS (see :func:`tasks_from_plots`)."""
    run = read_run(run_dir)
    return tasks_from_plots(select_plots(run.plots, settings), settings)
