#!/usr/bin/env python
"""Route quality of ``scout tasks`` on a synthetic instance (straight-line distances).

Plans a seeded instance of clustered tasks three ways and prints total route length ratios:

- Scout's default solve (guided local search for the default time limit, or ``--time-limit``);
- the same OR-Tools model with guided local search run ten times longer;
- greedy nearest-neighbour order: each team-day in turn goes from where it is to the nearest
  unvisited task that still lets it get home within the work day.

    .venv/bin/python scripts/bench_routes.py [--tasks 200] [--teams 4] [--days 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely

from scout.io import typed_frame
from scout.schema import TASK_FIELDS
from scout.survey.routing import RouteSettings, depot_points, plan_routes, service_minutes, straight_distances

CRS = "EPSG:32647"
X0, Y0 = 500_000.0, 2_440_000.0


def synthetic_tasks(n: int, seed: int, extent_m: float = 12_000.0) -> gpd.GeoDataFrame:
    """Tasks in village-sized clusters over an ``extent_m`` square around (X0, Y0), seeded."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-extent_m / 2, extent_m / 2, (max(3, n // 12), 2))
    xy = centres[rng.integers(len(centres), size=n)] + rng.normal(0, 600, (n, 2))
    frame = gpd.GeoDataFrame(
        {
            "task_id": [f"T{i + 1:03d}" for i in range(n)],
            "plot_ids": [f"p{i}" for i in range(n)],
            "priority": rng.uniform(5, 80, n).round(2),
            "area_m2": rng.uniform(300, 5000, n),
            "class": "poppy",
            "confidence": 0.8,
            **{"team": 0, "day": 0, "sequence": 0, "leg_m": 0.0, "eta": "", "lon": 0.0, "lat": 0.0, "status": "open"},
        },
        geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]),
        crs=CRS,
    )
    return typed_frame(frame, TASK_FIELDS, CRS)


def nearest_neighbour(tasks: gpd.GeoDataFrame, settings: RouteSettings) -> tuple[float, int]:
    """Total length (m) and number of tasks visited by greedy nearest-neighbour team-days."""
    teams = settings.teams
    xy = np.vstack([shapely.get_coordinates(depot_points(settings, tasks.crs).geometry), shapely.get_coordinates(tasks.geometry)])
    dist = straight_distances(xy, settings.detour)
    seconds = dist / (settings.speed_kmh / 3.6)
    service = np.r_[np.zeros(teams), service_minutes(tasks, settings) * 60]
    day_s = settings.day_hours * 3600
    left, total = set(range(teams, len(xy))), 0.0
    for _day in range(settings.days):
        for team in range(teams):
            here, clock = team, 0.0
            while True:
                fits = [j for j in left if clock + seconds[here, j] + service[j] + seconds[j, team] <= day_s]
                if not fits:
                    break
                nxt = min(fits, key=lambda j: dist[here, j])
                clock += seconds[here, nxt] + service[nxt]
                total += dist[here, nxt]
                left.discard(nxt)
                here = nxt
            total += dist[here, team]
    return total, len(xy) - teams - len(left)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed-kmh", type=float, default=10.0, help="travel speed (tracks by motorbike and on foot)")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds for Scout's solve [default: Scout's default]")
    args = parser.parse_args()

    tasks = synthetic_tasks(args.tasks, args.seed)
    depot = gpd.GeoSeries.from_xy([X0], [Y0], crs=CRS).to_crs(4326).iloc[0]
    base = RouteSettings(
        teams=args.teams, days=args.days, speed_kmh=args.speed_kmh, depots=((depot.x, depot.y),), time_limit_s=args.time_limit
    )
    limit = base.time_limit(len(tasks))
    results = {}
    for name, seconds in (("scout", limit), ("gls_10x", 10 * limit)):
        settings = RouteSettings(**{**base.__dict__, "time_limit_s": seconds})
        start = time.perf_counter()
        plan = plan_routes(tasks, settings)
        results[name] = (float(plan.routes["distance_m"].sum()), int(plan.routes["stops"].sum()))
        print(f"{name:8s} {seconds:6.1f} s  {results[name][0] / 1000:8.2f} km  {results[name][1]} tasks  "
              f"{len(plan.routes)} team-days, longest {plan.routes['duration_min'].max() / 60:.1f} h  ({time.perf_counter() - start:.1f} s)")
    results["nn"] = nearest_neighbour(tasks, base)
    print(f"{'nn':8s} {'':8s}  {results['nn'][0] / 1000:8.2f} km  {results['nn'][1]} tasks")
    if len({count for _, count in results.values()}) > 1:
        print("warning: the plans visit different numbers of tasks; length ratios are not like for like")
    print(f"instance: {args.tasks} tasks, {args.teams} teams x {args.days} days of {base.day_hours:g} h at {args.speed_kmh:g} km/h, seed {args.seed}")
    print(f"ratio scout / gls_10x = {results['scout'][0] / results['gls_10x'][0]:.4f}")
    print(f"ratio scout / nearest_neighbour = {results['scout'][0] / results['nn'][0]:.4f}")


if __name__ == "__main__":
    main()
