"""Plots -> tasks: filters, priority formula, clustering by walking distance, task ids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from scout.io import typed_frame
from scout.schema import PLOT_FIELDS, TASK_FIELDS
from scout.survey.tasks import TaskSettings, cluster_plots, plot_priority, select_plots, split_cluster, tasks_from_plots

CRS = "EPSG:32647"  # UTM 47N, northern Myanmar / Laos
X0, Y0 = 500_000.0, 2_440_000.0


def plots_frame(rows: list[dict], crs: str = CRS) -> gpd.GeoDataFrame:
    """Plots with the full PLOT_FIELDS schema; each row gives x, y (metres from X0, Y0), side_m and overrides."""
    if not rows:
        return typed_frame(None, PLOT_FIELDS, crs)
    records, geoms = [], []
    for i, row in enumerate(rows):
        side = row.get("side_m", 40.0)
        x, y = X0 + row["x"], Y0 + row["y"]
        geoms.append(box(x - side / 2, y - side / 2, x + side / 2, y + side / 2))
        record = {name: "" for name, t in PLOT_FIELDS.items() if t == "str"}
        record.update(plot_id=f"p{i:04d}", confidence=0.8, max_confidence=0.9, area_m2=side * side, review_status="unreviewed")
        record["class"] = "poppy"
        record.update({k: v for k, v in row.items() if k not in ("x", "y", "side_m")})
        records.append(record)
    frame = gpd.GeoDataFrame(records, geometry=geoms, crs=crs)
    ll = frame.geometry.centroid.to_crs(4326)
    return frame.assign(centroid_lon=ll.x, centroid_lat=ll.y)


def test_select_plots_filters_status_confidence_and_known_false_alarms():
    plots = plots_frame(
        [
            {"x": 0, "y": 0},
            {"x": 500, "y": 0, "review_status": "false_alarm"},
            {"x": 1000, "y": 0, "confidence": 0.3},
            {"x": 1500, "y": 0, "review_status": "confirmed"},
            {"x": 2000, "y": 0, "track_status": "known_false_alarm"},
        ]
    ).assign(track_status=lambda f: f["track_status"].fillna("new"))
    kept = select_plots(plots, TaskSettings(min_confidence=0.5))
    assert list(kept["plot_id"]) == ["p0000", "p0003"]
    with_known = select_plots(plots, TaskSettings(min_confidence=0.5, known_false_alarms=True))
    assert list(with_known["plot_id"]) == ["p0000", "p0003", "p0004"]
    only_confirmed = select_plots(plots, TaskSettings(statuses=("confirmed",)))
    assert list(only_confirmed["plot_id"]) == ["p0003"]


def test_priority_follows_the_documented_formula():
    side = 1000**0.5  # 1000 m²: the area factor is exactly 0.5
    plots = plots_frame(
        [
            {"x": 0, "y": 0, "side_m": side, "confidence": 0.9},
            {"x": 500, "y": 0, "side_m": side, "confidence": 0.9, "class": "cannabis"},
            {"x": 1000, "y": 0, "side_m": side, "confidence": 0.6, "review_status": "confirmed"},
        ]
    )
    np.testing.assert_allclose(plot_priority(plots, TaskSettings()), [45.0, 36.0, 50.0])


def test_history_orders_regrowth_recurring_new_known_false_alarm():
    plots = plots_frame([{"x": 500 * i, "y": 0, "track_status": s} for i, s in enumerate(["new", "recurring", "regrowth", "known_false_alarm"])])
    p = plot_priority(plots, TaskSettings())
    assert p[2] > p[1] > p[0] > p[3]
    tasks = tasks_from_plots(plots, TaskSettings(known_false_alarms=True))
    assert list(tasks["plot_ids"]) == ["p0002", "p0001", "p0000", "p0003"]  # T001 = regrowth


def test_plots_within_walking_distance_form_one_task():
    plots = plots_frame(
        [
            {"x": 0, "y": 0},
            {"x": 90, "y": 0},  # 50 m gap edge to edge from the first
            {"x": 180, "y": 0, "class": "cannabis", "side_m": 60},  # 40 m gap: chains on
            {"x": 2000, "y": 0},
        ]
    )
    assert len(set(cluster_plots(plots.geometry, 10.0))) == 4
    labels = cluster_plots(plots.geometry, 60.0)
    assert labels[0] == labels[1] == labels[2] != labels[3]
    tasks = tasks_from_plots(plots, TaskSettings(cluster_m=60))
    assert len(tasks) == 2
    big = tasks.iloc[0]
    assert big["plot_ids"] == "p0000,p0001,p0002"
    assert big["area_m2"] == pytest.approx(1600 + 1600 + 3600)
    assert big["class"] == "cannabis"  # most area
    assert big["priority"] == pytest.approx(plot_priority(plots, TaskSettings())[:3].sum(), abs=0.01)


def test_a_chain_of_plots_through_a_village_becomes_tasks_a_team_can_take():
    # 30 courtyard plots 10 m apart edge to edge: one walking-distance cluster, 5 h on site
    plots = plots_frame([{"x": 50 * i, "y": 0} for i in range(30)])
    assert len(set(cluster_plots(plots.geometry, 100.0))) == 1
    tasks = tasks_from_plots(plots, TaskSettings())
    members = [sorted(int(p[1:]) for p in ids.split(",")) for ids in tasks["plot_ids"]]
    assert sorted(i for m in members for i in m) == list(range(30))  # every plot in exactly one task
    assert all(len(m) <= 12 for m in members) and len(members) == 4
    assert all(m == list(range(m[0], m[-1] + 1)) for m in members)  # each task a stretch of the chain
    assert len(tasks_from_plots(plots, TaskSettings(max_plots=30))) == 1


def test_split_cluster_cuts_across_the_longer_side_into_compact_parts():
    gx, gy = np.meshgrid(np.arange(10.0), np.arange(10.0))
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    labels = split_cluster(xy, 25)
    assert sorted(np.bincount(labels)) == [25, 25, 25, 25]
    for part in range(4):  # the four 5 x 5 quadrants
        pts = xy[labels == part]
        assert np.ptp(pts[:, 0]) == np.ptp(pts[:, 1]) == 4.0
    assert (split_cluster(xy, 100) == 0).all() and len(set(split_cluster(xy, 1))) == 100


def test_tasks_have_the_contract_fields_ids_and_wgs84_coordinates():
    plots = plots_frame([{"x": 0, "y": 0, "confidence": 0.6}, {"x": 1000, "y": 500, "confidence": 0.95}])
    tasks = tasks_from_plots(plots, TaskSettings())
    assert list(tasks.columns) == [*TASK_FIELDS, "geometry"]
    assert list(tasks["task_id"]) == ["T001", "T002"]
    assert tasks.iloc[0]["plot_ids"] == "p0001"  # the more confident plot first
    ll = tasks.geometry.to_crs(4326)
    np.testing.assert_allclose(tasks["lon"], ll.x, atol=1e-6)
    np.testing.assert_allclose(tasks["lat"], ll.y, atol=1e-6)
    assert (tasks["status"] == "open").all()


def test_no_plots_gives_an_empty_typed_task_layer():
    tasks = tasks_from_plots(plots_frame([]), TaskSettings())
    assert len(tasks) == 0
    assert list(tasks.columns) == [*TASK_FIELDS, "geometry"]
    assert str(tasks["team"].dtype) == "int64"
