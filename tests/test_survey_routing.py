"""Team routes with real OR-Tools solves on small instances, straight-line and road-network distances."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from scout.errors import InputError
from scout.io import typed_frame
from scout.schema import ROUTE_FIELDS, TASK_FIELDS
from scout.survey.routing import (
    RoadNetwork,
    RouteSettings,
    check_depots,
    deal_days,
    depot_points,
    plan_routes,
    service_minutes,
)

CRS = "EPSG:32647"
X0, Y0 = 500_000.0, 2_440_000.0
DEPOT = gpd.GeoSeries([Point(X0, Y0)], crs=CRS).to_crs(4326).iloc[0]


def tasks_at(xy: list[tuple[float, float]], area_m2: float = 1000.0, priority: list[float] | None = None) -> gpd.GeoDataFrame:
    """Open tasks at (x, y) metres from the depot, one plot each."""
    n = len(xy)
    frame = gpd.GeoDataFrame(
        {
            "task_id": [f"T{i + 1:03d}" for i in range(n)],
            "plot_ids": [f"p{i}" for i in range(n)],
            "priority": priority or [10.0] * n,
            "class": "poppy",
            "confidence": 0.8,
            "area_m2": area_m2,
            "status": "open",
            **{"team": 0, "day": 0, "sequence": 0, "leg_m": 0.0, "eta": "", "lon": 0.0, "lat": 0.0},
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy],
        crs=CRS,
    )
    return typed_frame(frame, TASK_FIELDS, CRS)


def settings(**kw) -> RouteSettings:
    return RouteSettings(**{"depots": ((DEPOT.x, DEPOT.y),), "time_limit_s": 0.5, **kw})


def scatter(n: int, seed: int = 0, extent_m: float = 4000.0) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return [tuple(p) for p in rng.uniform(-extent_m / 2, extent_m / 2, (n, 2))]


def test_every_task_visited_exactly_once_in_contiguous_sequences():
    tasks = tasks_at(scatter(30))
    plan = plan_routes(tasks, settings(teams=3, days=2))
    assert list(plan.tasks.columns) == [*TASK_FIELDS, "geometry"]
    assert list(plan.routes.columns) == [*ROUTE_FIELDS, "geometry"]
    assert sorted(plan.tasks["task_id"]) == sorted(tasks["task_id"])
    assert (plan.tasks["status"] == "planned").all() and plan.unreachable.empty
    for (team, day), stops in plan.tasks.groupby(["team", "day"]):
        assert sorted(stops["sequence"]) == list(range(1, len(stops) + 1))
        route = plan.routes[(plan.routes["team"] == team) & (plan.routes["day"] == day)].iloc[0]
        assert route["stops"] == len(stops)
        back = plan.depots.geometry.iloc[team - 1].distance(stops.sort_values("sequence").geometry.iloc[-1]) * 1.4
        assert route["distance_m"] == pytest.approx(stops["leg_m"].sum() + back, abs=1.0)
    assert plan.routes["stops"].sum() == 30
    dealt = [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)][: len(plan.routes)]  # one shared depot: round-robin
    assert sorted(zip(plan.routes["team"], plan.routes["day"])) == sorted(dealt)


def test_routes_of_a_shared_depot_are_dealt_round_robin_by_priority():
    priority = np.array([1.0, 5.0, 3.0, 4.0, 2.0])
    routes = {(0, 0): [0], (0, 1): [1], (0, 2): [2], (0, 3): [3], (2, 0): [4]}
    depots = np.array([[0.0, 0.0], [0.0, 0.0], [9.0, 9.0]])  # teams 0 and 1 share a depot
    dealt = deal_days(routes, priority, depots)
    assert dealt == {(0, 0): [1], (1, 0): [3], (0, 1): [2], (1, 1): [0], (2, 0): [4]}


def test_a_single_route_along_a_line_is_optimal():
    tasks = tasks_at([(x, 0.0) for x in (300.0, 1200.0, 600.0, 900.0, 1500.0)])
    plan = plan_routes(tasks, settings(detour=1.0))
    assert plan.routes.iloc[0]["distance_m"] == pytest.approx(3000.0, abs=2.0)
    last = plan.tasks.sort_values("sequence").iloc[-1]
    assert plan.tasks["leg_m"].sum() + (last.geometry.x - X0) == pytest.approx(3000.0, abs=2.0)


def test_day_limit_respected_and_what_does_not_fit_is_unreachable_lowest_priority_first():
    tasks = tasks_at(scatter(12, seed=1, extent_m=2000), area_m2=5000.0, priority=[float(12 - i) for i in range(12)])
    day = settings(teams=1, days=1, day_hours=3.0)
    plan = plan_routes(tasks, day)
    assert plan.routes["duration_min"].max() <= 180.0
    planned = plan.tasks[plan.tasks["status"] == "planned"]
    dropped = plan.tasks[plan.tasks["status"] == "unreachable"]
    assert len(planned) + len(dropped) == 12 and len(dropped) > 0
    assert set(plan.unreachable["task_id"]) == set(dropped["task_id"])
    assert plan.unreachable["reason"].str.contains("does not fit in 1 team").all()
    assert planned["priority"].mean() > dropped["priority"].mean()
    # the duration is travel plus time on site, ETAs fall inside the day
    travel_min = plan.routes.iloc[0]["distance_m"] / (4000 / 60)
    assert plan.routes.iloc[0]["duration_min"] == pytest.approx(travel_min + service_minutes(planned, day).sum(), abs=0.5)
    assert planned["eta"].max() < "11:00" and planned["eta"].min() > "08:00"
    assert (dropped[["team", "day", "sequence"]] == 0).all().all()


def test_multi_day_fills_days_in_priority_order():
    tasks = tasks_at(scatter(16, seed=2, extent_m=2000), area_m2=5000.0)
    plan = plan_routes(tasks, settings(teams=1, days=4, day_hours=3.0))
    assert (plan.tasks["status"] == "planned").all()
    days = plan.routes.sort_values("day")
    assert list(days["day"]) == list(range(1, len(days) + 1)) and len(days) > 1
    by_day = plan.tasks.groupby("day")["priority"].sum()
    assert list(by_day) == sorted(by_day, reverse=True)
    assert (plan.routes["duration_min"] <= 180.0).all()


def test_spare_teams_share_a_day_that_one_team_could_walk():
    tasks = tasks_at(scatter(10, seed=4, extent_m=2000))
    one = plan_routes(tasks, settings(teams=1, days=1))
    two = plan_routes(tasks, settings(teams=2, days=1))
    assert len(one.routes) == 1 and sorted(two.routes["team"]) == [1, 2]
    assert two.routes["duration_min"].max() < 0.75 * one.routes["duration_min"].max()


def test_more_teams_than_tasks_leaves_idle_teams_with_a_note():
    plan = plan_routes(tasks_at([(500.0, 0.0), (0.0, 700.0)]), settings(teams=5))
    assert (plan.tasks["status"] == "planned").all()
    assert len(plan.routes) <= 2
    assert any("have no tasks" in note for note in plan.notes)


def test_no_tasks_gives_empty_plan():
    plan = plan_routes(tasks_at([]), settings(teams=2))
    assert plan.tasks.empty and plan.routes.empty and plan.unreachable.empty
    assert list(plan.routes.columns) == [*ROUTE_FIELDS, "geometry"]


def test_round_trip_longer_than_a_day_is_unreachable_with_reason():
    plan = plan_routes(tasks_at([(500.0, 0.0), (30_000.0, 0.0)]), settings(day_hours=8.0))
    assert list(plan.tasks["status"]) == ["planned", "unreachable"]
    assert "round trip" in plan.unreachable.iloc[0]["reason"] and "8 h work day" in plan.unreachable.iloc[0]["reason"]


def test_teams_start_from_their_own_depots():
    east = gpd.GeoSeries([Point(X0 + 5000, Y0)], crs=CRS).to_crs(4326).iloc[0]
    tasks = tasks_at([(-300.0, 0.0), (-200.0, 100.0), (5200.0, 0.0), (5300.0, 100.0)])
    plan = plan_routes(tasks, settings(teams=2, depots=((DEPOT.x, DEPOT.y), (east.x, east.y))))
    assert set(plan.tasks.loc[plan.tasks["geometry"].x < X0 + 1000, "team"]) == {1}
    assert set(plan.tasks.loc[plan.tasks["geometry"].x > X0 + 1000, "team"]) == {2}
    start = plan.routes.set_index("team").geometry.map(lambda line: line.coords[0][0])
    assert start.loc[2] == pytest.approx(X0 + 5000, abs=0.01)


def grid_roads() -> gpd.GeoSeries:
    """An L-shaped road from the depot (east then north) and a separate track far to the west."""
    return gpd.GeoSeries(
        [
            LineString([(X0, Y0), (X0 + 1000, Y0)]),
            LineString([(X0 + 1000, Y0), (X0 + 1000, Y0 + 500), (X0 + 1000, Y0 + 1000)]),
            LineString([(X0 - 3000, Y0), (X0 - 3000, Y0 + 1000)]),  # not connected to the others
        ],
        crs=CRS,
    )


def test_road_network_distances_and_parallel_edges():
    network = RoadNetwork([*grid_roads(), LineString([(X0, Y0), (X0 + 1000, Y0 + 0.2)])])  # near-duplicate, snapped
    nodes, access = network.snap(np.array([[X0 - 5, Y0], [X0 + 1000, Y0 + 1000], [X0 - 3000, Y0]]))
    np.testing.assert_allclose(access, [5.0, 0.0, 0.0])
    d = network.distances(nodes)
    assert d[0, 1] == pytest.approx(2000.0, abs=0.5)
    assert np.isinf(d[0, 2]) and np.isinf(d[1, 2])
    path = network.paths([(int(nodes[0]), int(nodes[1]))])[0]
    assert len(path) == 2000 / 25 + 1  # split into 25 m segments
    assert tuple(path[-1]) == (X0 + 1000, Y0 + 1000) and (path == [X0 + 1000, Y0]).all(axis=1).any()


def test_road_distances_exceed_straight_and_disconnected_tasks_are_unreachable():
    tasks = tasks_at([(1000.0, 1000.0), (1000.0, 500.0), (-3000.0, 500.0)])
    plan = plan_routes(tasks, settings(detour=1.0), roads=grid_roads())
    by_id = plan.tasks.set_index("task_id")
    assert by_id.loc["T003", "status"] == "unreachable"
    assert "not connected by the road network" in plan.unreachable.set_index("task_id").loc["T003", "reason"]
    assert plan.routes.iloc[0]["distance_m"] == pytest.approx(4000.0, abs=1.0)  # out along the L and back
    straight = plan_routes(tasks.iloc[:2], settings(detour=1.0))
    assert plan.routes.iloc[0]["distance_m"] > straight.routes.iloc[0]["distance_m"] * 1.3
    line = plan.routes.geometry.iloc[0]
    assert Point(X0 + 1000, Y0).distance(line) < 0.01  # the drawn route follows the road's corner


def test_depot_far_from_every_aoi_is_refused():
    aoi = gpd.GeoSeries([Point(X0, Y0).buffer(2000)], crs=CRS)
    far = gpd.GeoSeries([Point(X0 + 80_000, Y0)], crs=CRS).to_crs(4326).iloc[0]
    depots = depot_points(settings(depots=((far.x, far.y),)), CRS)
    with pytest.raises(InputError, match=r"78\.0 km from every AOI of aoi\.gpkg"):
        check_depots(depots, aoi, 50.0, "aoi.gpkg")
    check_depots(depot_points(settings(), CRS), aoi, 50.0, "aoi.gpkg")


def test_bad_route_settings_are_input_errors():
    with pytest.raises(InputError, match="3 depots for 2 teams"):
        settings(teams=2, depots=((1.0, 1.0),) * 3)
    with pytest.raises(InputError, match="day-hours"):
        settings(day_hours=30)


def test_tasks_in_degrees_are_measured_in_metres():
    tasks = tasks_at([(1000.0, 0.0), (1000.0, 1000.0)])
    metric = plan_routes(tasks, settings(detour=1.0))
    degrees = plan_routes(tasks.to_crs(4326), settings(detour=1.0))
    assert degrees.tasks.crs.is_projected
    assert degrees.routes["distance_m"].sum() == pytest.approx(metric.routes["distance_m"].sum(), rel=1e-3)
