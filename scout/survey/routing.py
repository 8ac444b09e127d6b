"""Team routes over survey tasks: OR-Tools vehicle routing over precomputed integer matrices.

The model: every team-day is one vehicle ``(team t, day d)`` that starts and ends at team t's
depot, with a time dimension whose capacity is the work day (travel plus time on site).  The
objective is the total distance in metres.  Each task is a disjunction whose penalty (far above
any route's cost, times 1 + its priority) keeps it in whenever it fits; what does not fit drops
out lowest priority first and is reported unreachable with the reason, instead of the solve
failing.  Days of one depot are interchangeable, so after the solve the day routes of the teams
that share a depot are dealt out in falling priority, round-robin: team 1 day 1, team 2 day 1,
…, team 1 day 2 — all teams work on day 1 and the campaign takes as few days as the routes allow.
When everything fits with teams to spare, a second solve (half the time limit again) puts a soft
bound on each route's duration at the mean working time per team (1 per second beyond it), so
the day's work is shared instead of one team walking all day while others wait.
(Fixed costs per day and a cost on the longest route were tried: they slowed guided local search
to about 7 % above its ten-times-longer result; see scripts/bench_routes.py.)

Distances, in metres in the tasks' metric CRS: straight line × detour factor, or, with a road
layer, along the network (lines join where they cross or touch; a task or depot reaches its
nearest network vertex in a straight line × detour factor).  Travel time = distance / speed.
Time on site at a task, in minutes = ``service_base_min`` × plots + ``service_min_per_ha`` × area
in hectares (defaults 10 and 30: a 0.2 ha single plot takes 16 minutes).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from pyproj import CRS, Geod
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import KDTree
from scipy.spatial.distance import cdist
from shapely.geometry import LineString

from scout.errors import InputError
from scout.io import typed_frame
from scout.schema import ROUTE_FIELDS, TASK_FIELDS
from scout.survey.inputs import WGS84

log = logging.getLogger(__name__)

UNREACHABLE = "unreachable"
PLANNED = "planned"


@dataclass(frozen=True)
class RouteSettings:
    """How teams travel and work.  Depots are (lon, lat) in WGS84 degrees: one shared, or one per team."""

    teams: int = 1
    depots: tuple[tuple[float, float], ...] = ()
    day_hours: float = 8.0
    days: int = 5
    speed_kmh: float = 4.0
    detour: float = 1.4
    service_base_min: float = 10.0
    service_min_per_ha: float = 30.0
    day_start: str = "08:00"
    time_limit_s: float | None = None  # None: 2 s + 0.1 s per task, at most 60 s (half again to share out spare teams)
    max_depot_km: float = 50.0

    def __post_init__(self) -> None:
        if self.teams < 1 or self.days < 1:
            raise InputError("--teams and --days must be at least 1")
        if not 0 < self.day_hours <= 24:
            raise InputError(f"--day-hours {self.day_hours} must be in (0, 24]")
        if self.speed_kmh <= 0 or self.detour < 1:
            raise InputError("--speed-kmh must be > 0 and --detour at least 1")
        if len(self.depots) not in (1, self.teams):
            raise InputError(f"{len(self.depots)} depots for {self.teams} teams: give one shared depot or one per team")
        try:
            datetime.strptime(self.day_start, "%H:%M")
        except ValueError:
            raise InputError(f"day start {self.day_start!r} is not HH:MM") from None

    def time_limit(self, tasks: int) -> float:
        """Solver time limit in seconds."""
        return self.time_limit_s if self.time_limit_s is not None else min(60.0, 2.0 + 0.1 * tasks)


@dataclass(frozen=True)
class RoutePlan:
    """Planned tasks (``TASK_FIELDS``, points) and routes (``ROUTE_FIELDS``, lines), both in the tasks' CRS."""

    tasks: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    depots: gpd.GeoDataFrame  # team (1-based), geometry
    unreachable: pd.DataFrame  # task_id, plot_ids, reason
    notes: tuple[str, ...]


# --- distances -------------------------------------------------------------------------------


def straight_distances(xy: np.ndarray, detour: float) -> np.ndarray:
    """Metres between all pairs of points (n, 2) in a metric CRS: straight line × ``detour``."""
    return cdist(xy, xy) * detour


class RoadNetwork:
    """Undirected graph of road and track lines in a metric CRS.

    Lines are noded first, so they join wherever they cross or touch (hand-drawn tracks rarely
    share vertices; the price is that a bridge joins the road below it); vertices within
    ``snap_m`` metres merge.  Segments are split to at most ``densify_m`` metres, so a point's
    nearest vertex is at most ``densify_m / 2`` along the road from its nearest point on it.
    """

    def __init__(self, lines: Sequence[shapely.Geometry] | gpd.GeoSeries, snap_m: float = 0.5, densify_m: float = 25.0) -> None:
        noded = shapely.get_parts(shapely.node(shapely.GeometryCollection(list(lines))))
        noded = shapely.segmentize(noded, densify_m)
        coords, line = shapely.get_coordinates(noded, return_index=True)
        if len(coords) < 2:
            raise InputError("the road layer has no line with two vertices")
        keys = np.round(coords / snap_m).astype(np.int64)
        _, first, node = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        node = node.ravel()
        self.xy = coords[first]
        seg = np.flatnonzero(line[:-1] == line[1:])
        a, b = node[seg], node[seg + 1]
        length = np.hypot(*(coords[seg + 1] - coords[seg]).T)
        a, b = np.minimum(a, b), np.maximum(a, b)
        keep = a != b
        a, b, length = a[keep], b[keep], length[keep]
        order = np.lexsort((length, b, a))  # shortest first among parallel edges
        a, b, length = a[order], b[order], length[order]
        first_of_pair = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
        n = len(self.xy)
        self.graph = csr_array((length[first_of_pair], (a[first_of_pair], b[first_of_pair])), shape=(n, n))
        self._tree = KDTree(self.xy)

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest network vertex of each point and the straight distance to it (metres)."""
        access, node = self._tree.query(xy)
        return node, access

    def distances(self, nodes: np.ndarray, chunk: int = 32) -> np.ndarray:
        """Shortest network distances (metres) between ``nodes``; ``inf`` where not connected."""
        unique, inverse = np.unique(nodes, return_inverse=True)
        among = np.empty((len(unique), len(unique)))
        for start in range(0, len(unique), chunk):  # bounded memory: chunk × all vertices
            rows = dijkstra(self.graph, directed=False, indices=unique[start : start + chunk])
            among[start : start + chunk] = rows[:, unique]
        return among[np.ix_(inverse, inverse)]

    def paths(self, legs: Sequence[tuple[int, int]], chunk: int = 32) -> list[np.ndarray]:
        """Vertex coordinates (k, 2) along the shortest path of each (from, to) vertex pair."""
        sources = np.unique([a for a, _ in legs]).astype(int)
        out: list[np.ndarray] = [np.empty((0, 2))] * len(legs)
        for start in range(0, len(sources), chunk):
            batch = sources[start : start + chunk]
            _, pred = dijkstra(self.graph, directed=False, indices=batch, return_predecessors=True)
            row = {int(s): i for i, s in enumerate(batch)}
            for k, (a, b) in enumerate(legs):
                if a in row:
                    walk = [b]
                    while walk[-1] != a:
                        walk.append(int(pred[row[a], walk[-1]]))
                    out[k] = self.xy[walk[::-1]]
        return out


# --- the solver (pure) -----------------------------------------------------------------------


@dataclass(frozen=True)
class VrpProblem:
    """Integer matrices over nodes: nodes 0..teams-1 are the teams' depots, the rest are tasks."""

    distance_m: np.ndarray  # (n, n) metres
    transit_s: np.ndarray  # (n, n) seconds: travel i -> j plus time on site at i
    teams: int
    days: int
    day_s: int  # work-day capacity, seconds
    penalty: np.ndarray  # (n - teams,) cost of leaving each task out
    allowed: np.ndarray  # (n - teams, teams) bool: teams that can reach each task
    target_s: int = 0  # when > 0, each second a route lasts beyond this costs 1 (as a metre does)

    def duration_s(self, team: int, stops: list[int]) -> int:
        """Seconds from leaving team's depot to coming back, visiting ``stops`` (task indices) in order."""
        path = [team, *(self.teams + s for s in stops), team]
        return int(sum(self.transit_s[a, b] for a, b in zip(path, path[1:])))


@dataclass(frozen=True)
class VrpSolution:
    routes: dict[tuple[int, int], list[int]]  # (team, day), 0-based -> task indices (0-based) in visit order
    dropped: list[int]
    objective: int


def solve_vrp(
    problem: VrpProblem, time_limit_s: float, first_solution: str = "PATH_CHEAPEST_ARC", metaheuristic: str = "GUIDED_LOCAL_SEARCH"
) -> VrpSolution:
    """Solve with OR-Tools: a ``first_solution`` strategy, then ``metaheuristic`` until ``time_limit_s``."""
    teams, days = problem.teams, problem.days
    n = len(problem.distance_m)
    depots = [t for t in range(teams) for _ in range(days)]  # vehicle v = t * days + d
    manager = pywrapcp.RoutingIndexManager(n, len(depots), depots, depots)
    model = pywrapcp.RoutingModel(manager)
    cost = model.RegisterTransitMatrix(problem.distance_m.astype(np.int64).tolist())
    model.SetArcCostEvaluatorOfAllVehicles(cost)
    transit = model.RegisterTransitMatrix(problem.transit_s.astype(np.int64).tolist())
    model.AddDimension(transit, 0, int(problem.day_s), True, "time")
    if problem.target_s:
        for v in range(len(depots)):
            model.GetDimensionOrDie("time").SetCumulVarSoftUpperBound(model.End(v), int(problem.target_s), 1)
    for task in range(n - teams):
        index = manager.NodeToIndex(teams + task)
        model.AddDisjunction([index], int(problem.penalty[task]))
        if not problem.allowed[task].all():
            vehicles = [t * days + d for t in np.flatnonzero(problem.allowed[task]) for d in range(days)]
            model.SetAllowedVehiclesForIndex([int(v) for v in vehicles], index)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic)
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    solution = model.SolveWithParameters(params)
    if solution is None:
        raise InputError(f"OR-Tools found no route plan in {time_limit_s:g} s; raise --time-limit")
    routes: dict[tuple[int, int], list[int]] = {}
    visited: set[int] = set()
    for v in range(len(depots)):
        index, stops = solution.Value(model.NextVar(model.Start(v))), []
        while not model.IsEnd(index):
            stops.append(manager.IndexToNode(index) - teams)
            index = solution.Value(model.NextVar(index))
        if stops:
            routes[(v // days, v % days)] = stops
            visited.update(stops)
    dropped = [t for t in range(n - teams) if t not in visited]
    return VrpSolution(routes, dropped, int(solution.ObjectiveValue()))


# --- planning over tasks ---------------------------------------------------------------------


def service_minutes(tasks: pd.DataFrame, settings: RouteSettings) -> np.ndarray:
    """Time on site per task, minutes: base × plots + per-hectare time × area (see module docstring)."""
    plots = tasks["plot_ids"].astype(str).str.count(",").to_numpy() + 1
    return settings.service_base_min * plots + settings.service_min_per_ha * tasks["area_m2"].to_numpy(float) / 10_000


def depot_points(settings: RouteSettings, crs) -> gpd.GeoDataFrame:
    """One depot point per team (team numbers from 1) in ``crs``, with the ``lon``, ``lat`` given
    (a point far outside a UTM zone projects to infinity, and one at a pole loses its longitude)."""
    lonlat = settings.depots * settings.teams if len(settings.depots) == 1 else settings.depots
    lon, lat = [p[0] for p in lonlat], [p[1] for p in lonlat]
    points = gpd.GeoSeries.from_xy(lon, lat, crs=WGS84).to_crs(crs)
    return gpd.GeoDataFrame({"team": np.arange(1, settings.teams + 1), "lon": lon, "lat": lat}, geometry=points.values, crs=crs)


def check_depots(depots: gpd.GeoDataFrame, areas: gpd.GeoSeries, max_km: float, source: str) -> None:
    """Refuse a depot more than ``max_km`` from every area of interest (a typo or swapped lon/lat),
    or one the run's CRS cannot place (a UTM zone holds a few hundred km around it), with its
    geodesic distance: a projected one is meaningless, or infinite, that far out."""
    if areas.empty:
        return
    union = areas.union_all()
    union_lonlat = None
    for team, lon, lat, point in depots[["team", "lon", "lat", "geometry"]].itertuples(index=False):
        if np.isfinite([point.x, point.y]).all():
            near = gpd.GeoSeries([shapely.ops.nearest_points(union, point)[0]], crs=depots.crs).to_crs(WGS84).iloc[0]
        else:
            if union_lonlat is None:
                union_lonlat = gpd.GeoSeries([union], crs=depots.crs).to_crs(WGS84).iloc[0]
            near = shapely.ops.nearest_points(union_lonlat, shapely.Point(lon, lat))[0]
        km = _GEOD.inv(lon, lat, near.x, near.y)[2] / 1000
        where = f"depot of team {team} ({lon:.5f},{lat:.5f}) is {km:,.1f} km from every AOI of {source}"
        if km > max_km:
            raise InputError(f"{where} (limit {max_km:g} km); check it is LON,LAT")
        if not np.isfinite([point.x, point.y]).all():
            raise InputError(f"{where}, outside what the run's map projection ({depots.crs.to_string()}) can place; give a depot nearer the plots")


_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class _Legs:
    """Distances (metres) and transit times (seconds) between depots and tasks, and how to draw legs."""

    xy: np.ndarray  # (n, 2) depots then tasks, metric CRS
    dist: np.ndarray  # (n, n) metres, inf where not connected
    transit: np.ndarray  # (n, n) seconds: travel plus time on site at the origin
    network: RoadNetwork | None
    nodes: np.ndarray | None  # network vertex of each point

    @classmethod
    def build(cls, xy: np.ndarray, service_s: np.ndarray, settings: RouteSettings, roads: gpd.GeoSeries | None) -> _Legs:
        if roads is None:
            network, nodes, dist = None, None, straight_distances(xy, settings.detour)
        else:
            network = RoadNetwork(roads)
            nodes, access = network.snap(xy)
            dist = network.distances(nodes) + settings.detour * (access[:, None] + access[None, :])
            np.fill_diagonal(dist, 0.0)
        return cls(xy, dist, dist / (settings.speed_kmh / 3.6) + service_s[:, None], network, nodes)

    def lines(self, paths: list[list[int]]) -> list[LineString]:
        """One line per path of point indices; along the network's shortest paths when there is one."""
        if self.network is None or self.nodes is None:
            return [LineString(self.xy[path]) for path in paths]
        legs = [(int(self.nodes[a]), int(self.nodes[b])) for path in paths for a, b in zip(path, path[1:])]
        pieces = iter(self.network.paths(legs))
        lines = []
        for path in paths:
            coords = [self.xy[path[0]]]
            for b in path[1:]:
                coords.extend([*next(pieces), self.xy[b]])
            lines.append(LineString(np.asarray(coords)).simplify(0.5))  # drop the densified straight runs
        return lines


def plan_routes(tasks: gpd.GeoDataFrame, settings: RouteSettings, roads: gpd.GeoSeries | None = None) -> RoutePlan:
    """Split ``tasks`` (points) among teams and days and order each team's visits.

    Distances are measured in the tasks' CRS when it is projected (metres), else in the UTM zone
    of the depots; the plan comes back in that CRS.

    Every task comes back either ``planned`` (team, day, sequence, leg_m, eta set) or
    ``unreachable`` with its reason in ``RoutePlan.unreachable``.
    """
    if not CRS.from_user_input(tasks.crs).is_projected:  # never measure in degrees
        tasks = tasks.to_crs(depot_points(settings, WGS84).estimate_utm_crs())
    depots = depot_points(settings, tasks.crs)
    teams, days = settings.teams, settings.days
    day_s = int(settings.day_hours * 3600)
    xy = np.vstack([shapely.get_coordinates(depots.geometry), shapely.get_coordinates(tasks.geometry)])
    legs = _Legs.build(xy, np.r_[np.zeros(teams), service_minutes(tasks, settings) * 60], settings, roads)

    priority = tasks["priority"].to_numpy(float)
    reasons: dict[int, str] = {}
    allowed = np.isfinite(legs.dist[teams:, :teams])  # (task, team)
    round_trip = legs.transit[:teams, teams:].T + legs.transit[teams:, :teams]  # (task, team) seconds
    for task in range(len(tasks)):
        if not allowed[task].any():
            reasons[task] = "not connected by the road network to any team's depot"
        elif not (round_trip[task][allowed[task]] <= day_s).any():
            hours = round_trip[task][allowed[task]].min() / 3600
            reasons[task] = f"the round trip from the nearest depot takes {hours:.1f} h, more than the {settings.day_hours:g} h work day"
    keep = np.array([t for t in range(len(tasks)) if t not in reasons], dtype=int)

    routes: dict[tuple[int, int], list[int]] = {}
    if len(keep):
        nodes = np.r_[np.arange(teams), teams + keep]
        dist, transit = legs.dist[np.ix_(nodes, nodes)], legs.transit[np.ix_(nodes, nodes)]
        connected = np.isfinite(dist)  # a team only visits tasks connected to its depot
        route_bound = int(teams * days * (settings.speed_kmh / 3.6 * day_s + len(nodes)))  # no plan travels farther
        problem = VrpProblem(
            distance_m=np.where(connected, np.round(dist), route_bound).astype(np.int64),
            transit_s=np.where(connected, np.round(transit), day_s + 1).astype(np.int64),
            teams=teams,
            days=days,
            day_s=day_s,
            penalty=(route_bound * (1 + priority[keep])).astype(np.int64),
            allowed=allowed[keep] & (round_trip[keep] <= day_s),
        )
        limit = settings.time_limit(len(keep))
        log.info("routing %d tasks for %d team(s) × %d day(s), %g s", len(keep), teams, days, limit)
        solution = solve_vrp(problem, limit)
        if solution.routes and len({t for t, _ in deal_days(solution.routes, priority[keep], xy[:teams])}) < teams:
            # it all fits with teams to spare: ask each route to end near the mean working time, so all teams share it
            total_s = sum(problem.duration_s(t, stops) for (t, _), stops in solution.routes.items())
            shared = solve_vrp(replace(problem, target_s=math.ceil(total_s / teams)), limit / 2)
            if len(shared.dropped) <= len(solution.dropped):
                solution = shared
        routes = {key: [int(keep[i]) for i in stops] for key, stops in solution.routes.items()}
        for i in solution.dropped:
            reasons[int(keep[i])] = (
                f"does not fit in {teams} team(s) × {days} day(s) of {settings.day_hours:g} h; add --days or --teams"
            )
    routes = deal_days(routes, priority, xy[:teams])
    return _assemble(tasks, depots, routes, reasons, legs, settings)


def deal_days(routes: dict[tuple[int, int], list[int]], priority: np.ndarray, depot_xy: np.ndarray) -> dict[tuple[int, int], list[int]]:
    """Deal the day routes of teams that share a depot round-robin in falling priority.

    ``routes`` maps 0-based (team, day) to task indices; the result has the same routes under new
    keys: team 1 day 1, team 2 day 1, …, team 1 day 2, … within each group of teams whose depots
    coincide (each route starts and ends at that depot, so any of them can walk it).
    """
    groups: dict[tuple[float, float], list[int]] = {}
    for team, (x, y) in enumerate(depot_xy):
        groups.setdefault((float(x), float(y)), []).append(team)
    out = {}
    for teams in groups.values():
        pooled = sorted((stops for (t, _), stops in routes.items() if t in teams), key=lambda s: (-priority[s].sum(), s))
        out.update({(teams[k % len(teams)], k // len(teams)): stops for k, stops in enumerate(pooled)})
    return out


def _assemble(
    tasks: gpd.GeoDataFrame,
    depots: gpd.GeoDataFrame,
    routes: dict[tuple[int, int], list[int]],
    reasons: dict[int, str],
    legs: _Legs,
    settings: RouteSettings,
) -> RoutePlan:
    """Write routes (task indices per 0-based team and day) and reasons into task and route frames."""
    teams = settings.teams
    start = datetime.strptime(settings.day_start, "%H:%M")
    out = tasks.copy()
    out["status"] = PLANNED
    rows, paths = [], []
    for (team, day), stops in sorted(routes.items()):
        path = [team, *(teams + s for s in stops), team]
        leg_m = [legs.dist[a, b] for a, b in zip(path, path[1:])]
        clock = np.cumsum([legs.transit[a, b] for a, b in zip(path, path[1:])])
        for seq, (task, leg, arrival) in enumerate(zip(stops, leg_m, clock), start=1):
            eta = (start + timedelta(seconds=float(arrival))).strftime("%H:%M")
            out.loc[out.index[task], ["team", "day", "sequence", "leg_m", "eta"]] = [team + 1, day + 1, seq, round(float(leg), 1), eta]
        rows.append({"team": team + 1, "day": day + 1, "distance_m": round(float(sum(leg_m)), 1),
                     "duration_min": round(float(clock[-1]) / 60, 1), "stops": len(stops)})
        paths.append(path)
    for task in reasons:
        out.loc[out.index[task], ["team", "day", "sequence", "leg_m", "eta", "status"]] = [0, 0, 0, 0.0, "", UNREACHABLE]
    unreachable = pd.DataFrame(
        [(out["task_id"].iloc[t], out["plot_ids"].iloc[t], r) for t, r in sorted(reasons.items())],
        columns=["task_id", "plot_ids", "reason"],
    )
    routes_gdf = gpd.GeoDataFrame(rows, geometry=legs.lines(paths), crs=tasks.crs) if rows else None
    notes = []
    idle = sorted(set(range(1, teams + 1)) - {r["team"] for r in rows})
    if idle:
        notes.append(f"{len(idle)} of {teams} team(s) have no tasks: team(s) {', '.join(map(str, idle))}")
    if reasons:
        notes.append(f"{len(reasons)} of {len(tasks)} task(s) unreachable within the limits (see unreachable.csv)")
    for note in notes:
        log.warning(note)
    tasks_out = typed_frame(out, TASK_FIELDS, tasks.crs)
    return RoutePlan(tasks_out, typed_frame(routes_gdf, ROUTE_FIELDS, tasks.crs), depots, unreachable, tuple(notes))
