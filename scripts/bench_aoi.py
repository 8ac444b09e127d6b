#!/usr/bin/env python
"""How an AOI of many small polygons (a cadastral layer) costs ``scout detect`` (issue 17, case 8).

On a synthetic drone scene, in one run, it times each step that handles the AOIs two ways on the
same parcels and prints the ratio old / new:

- the union of the parcels: GEOS's ``union_all`` against :func:`scout.areas.union`;
- the plots clipped to it: every plot tested against the prepared union and cut by it (as before)
  against :class:`scout.areas.Clipper`;
- each block's AOI: ``clip_by_rect`` of the whole union against ``Clipper.bounded``;

and ``scout detect`` with the parcels as AOI against ``scout detect`` without an AOI (the ratio is
what the AOI costs a run).  ``--layout apart`` scatters parcels that touch nothing (the issue's
case); ``tiled`` lays them edge to edge, as a real cadastre is, where a union has to merge them.

    .venv/bin/python scripts/bench_aoi.py [--parcels 20000] [--layout apart|tiled] [--skip-old-clip]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from scout import areas
from scout.detection import detect
from scout.synth import make_scene


def parcels(bounds: tuple[float, float, float, float], n: int, layout: str) -> np.ndarray:
    """``n`` squares over ``bounds``: 0.2 m ones on a lattice with gaps (apart), or squares that fill
    a part of the scene edge to edge (tiled)."""
    left, bottom, right, top = bounds
    side_n = int(np.ceil(np.sqrt(n)))
    if layout == "apart":
        step = min(right - left, top - bottom) / side_n
        size = min(0.2, step / 2)
    else:
        step = size = min(right - left, top - bottom) / side_n
    i, j = np.divmod(np.arange(n), side_n)
    x, y = left + j * step, top - (i + 1) * step
    return shapely.box(x, y, x + size, y + size)


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def old_clip(plots: np.ndarray, union: shapely.Geometry) -> np.ndarray:
    """Before issue 17: plots crossing the prepared union's edge cut by the whole union."""
    plots = plots.copy()
    shapely.prepare(union)
    crossing = ~shapely.contains_properly(union, plots)
    plots[crossing] = shapely.intersection(plots[crossing], union)
    return plots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parcels", type=int, default=20_000)
    ap.add_argument("--layout", choices=("apart", "tiled"), default="apart")
    ap.add_argument("--size", type=int, default=1024, help="scene size in px (5 cm)")
    ap.add_argument("--skip-old-clip", action="store_true", help="the old plot clip grows with plots x parcels: 1,600 s at 100,000")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    res: dict[str, Any] = {"parcels": a.parcels, "layout": a.layout}
    with tempfile.TemporaryDirectory(prefix="bench-aoi-") as tmp:
        work = Path(tmp)
        scene = make_scene(work / "scene", seed=3, size_px=a.size)
        polygons = parcels(scene.bounds, a.parcels, a.layout)

        new_union, res["union_new_s"] = timed(areas.union, polygons)
        old_union, res["union_old_s"] = timed(shapely.union_all, polygons)
        res["union_area_diff_m2"] = abs(new_union.area - old_union.area)

        rng = np.random.default_rng(0)
        left, bottom, right, top = scene.bounds
        cx, cy = rng.uniform(left, right, 200), rng.uniform(bottom, top, 200)
        plots = shapely.buffer(shapely.points(cx, cy), rng.uniform(1, 6, 200))  # 200 plots of 3-110 m²
        clipped, res["clip_new_s"] = timed(areas.Clipper(new_union).clip, plots)
        if not a.skip_old_clip:
            before, res["clip_old_s"] = timed(old_clip, plots, old_union)
            res["clip_area_diff_m2"] = float(abs(shapely.area(clipped) - shapely.area(before)).max())

        blocks = [(x, y, x + 25.6, y + 25.6) for x in np.arange(left, right, 25.6) for y in np.arange(bottom, top, 25.6)]
        clipper = areas.Clipper(new_union)
        _, res["blocks_new_s"] = timed(lambda: [clipper.bounded(*b) for b in blocks])
        _, res["blocks_old_s"] = timed(lambda: [shapely.clip_by_rect(old_union, *b) for b in blocks])

        aoi = work / "parcels.gpkg"
        gpd.GeoDataFrame({"name": [f"p{k}" for k in range(len(polygons))]}, geometry=polygons, crs=scene.crs).to_file(aoi)
        with_aoi = detect([scene.image_path], work / "with", aoi=aoi)
        without = detect([scene.image_path], work / "without")
        res.update(detect_with_aoi_s=with_aoi.seconds, detect_without_s=without.seconds, aoi_m2=with_aoi.aoi_area_m2, union_m2=new_union.area)

    for step in ("union", "clip", "blocks"):
        if f"{step}_old_s" in res:
            print(f"{step:7s} old {res[f'{step}_old_s']:8.2f} s   new {res[f'{step}_new_s']:8.2f} s   old/new {res[f'{step}_old_s'] / res[f'{step}_new_s']:8.1f}x")
    print(f"detect  with the AOI {res['detect_with_aoi_s']:.1f} s, without {res['detect_without_s']:.1f} s: {res['detect_with_aoi_s'] / res['detect_without_s']:.1f}x "
          f"({a.parcels:,} parcels, {a.layout}; run.json's AOI {res['aoi_m2']:.2f} m², their union {res['union_m2']:.2f} m²)")
    if a.json:
        a.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
