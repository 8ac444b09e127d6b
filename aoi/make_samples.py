"""Write the sample township AOIs in this folder (see README.md): three townships of a made-up
county around the demo scene, in the formats and encodings county offices send.

    .venv/bin/python aoi/make_samples.py

Deterministic: boundaries are hand-placed corner points, with seeded meanders (midpoint
displacement) between them, except the straight farm track that crosses the demo scene.
Shared boundaries are drawn once, so the townships meet without gaps or overlaps.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
UTM = "EPSG:32647"  # WGS 84 / UTM 47N: the demo scene's CRS
TRACK_X = 335051.2  # the farm track between Xinzhai and Laozhai: the demo scene's middle (seed 7 at 2048 px)

# boundary lines, UTM 47N metres (the county lies around 97.41 E, 20.79 N)
LINES = {
    "north_w": [(331900, 2302800), (332800, 2303150), (333900, 2302900), (334700, 2303000)],
    "north_e": [(334700, 2303000), (335800, 2303300), (336900, 2302950), (338200, 2303100)],
    "east": [(338200, 2303100), (338700, 2301800), (338450, 2300400), (338900, 2299200), (339000, 2298500)],
    # Xinzhai | Laozhai: a stream, then the farm track, then the stream again down to the river
    "divide": [(334700, 2303000), (334950, 2302100), (335180, 2301300), (TRACK_X, 2300400), (TRACK_X, 2299600), (334880, 2299000), (335020, 2298300)],
    "river_w": [(331500, 2298100), (332600, 2298500), (333800, 2298200), (335020, 2298300)],
    "river_e": [(335020, 2298300), (336200, 2298650), (337400, 2298200), (339000, 2298500)],
    "south": [(339000, 2298500), (338600, 2297100), (337300, 2296300), (336000, 2296600), (334700, 2295900), (333300, 2296200), (332100, 2295800), (331500, 2296900)],
    "west_s": [(331500, 2296900), (331500, 2298100)],
    "west_n": [(331500, 2298100), (331200, 2299600), (331700, 2301100), (331900, 2302800)],
}
STRAIGHT = {((TRACK_X, 2300400), (TRACK_X, 2299600))}

TOWNSHIPS = [  # name, English name, ring as (line, reversed)
    ("新寨乡", "Xinzhai Township", [("north_w", False), ("divide", False), ("river_w", True), ("west_n", False)]),
    ("老寨乡", "Laozhai Township", [("north_e", False), ("east", False), ("river_e", True), ("divide", True)]),
    ("南河镇", "Nanhe Town", [("river_w", False), ("river_e", False), ("south", False), ("west_s", False)]),
]


def meander(p: tuple[float, float], q: tuple[float, float], rng: np.random.Generator, step_m: float = 40.0) -> list[tuple[float, float]]:
    """Points from ``p`` to (not including) ``q``: midpoint displacement, a tenth of a segment at most."""
    if (p, q) in STRAIGHT or (q, p) in STRAIGHT:
        return [p]
    (x0, y0), (x1, y1) = p, q
    length = float(np.hypot(x1 - x0, y1 - y0))
    if length <= step_m:
        return [p]
    t = rng.uniform(-0.1, 0.1) * length
    mid = ((x0 + x1) / 2 - t * (y1 - y0) / length, (y0 + y1) / 2 + t * (x1 - x0) / length)
    return meander(p, mid, rng, step_m) + meander(mid, q, rng, step_m)


def dense(name: str) -> list[tuple[float, float]]:
    corners = LINES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    points = [pt for p, q in zip(corners, corners[1:]) for pt in meander(p, q, rng)]
    return [(round(x, 2), round(y, 2)) for x, y in [*points, corners[-1]]]


def townships() -> gpd.GeoDataFrame:
    lines = {name: dense(name) for name in LINES}
    rings = []
    for _, _, parts in TOWNSHIPS:
        ring: list[tuple[float, float]] = []
        for name, backwards in parts:
            ring += (lines[name][::-1] if backwards else lines[name])[:-1]
        rings.append(shapely.Polygon(ring))
    frame = gpd.GeoDataFrame({"name": [t[0] for t in TOWNSHIPS], "name_en": [t[1] for t in TOWNSHIPS]}, geometry=rings, crs=UTM)
    assert frame.is_valid.all() and abs(frame.union_all().area - frame.area.sum()) < 1.0, "townships overlap or are invalid"
    return frame


def main() -> None:
    frame = townships()
    frame.to_crs("EPSG:4326").to_file(HERE / "townships.geojson", driver="GeoJSON", engine="pyogrio")
    # China's geodetic datum, as county land offices keep their boundaries
    frame.to_crs("EPSG:4490").to_file(HERE / "townships.gpkg", layer="townships", driver="GPKG", engine="pyogrio", dataset_options={"VERSION": "1.2"})
    frame.to_crs("EPSG:4326").to_file(HERE / "townships.kml", driver="KML", engine="pyogrio", dataset_options={"NameField": "name"})
    # a Shapefile from a Chinese Windows desktop GIS: CGCS2000 / 3-degree Gauss-Kruger CM 96E, text in GBK, no .cpg
    shp = HERE / "townships_gbk.shp"
    frame.to_crs("EPSG:4541").to_file(shp, driver="ESRI Shapefile", engine="pyogrio", encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0  # no language driver id either: GDAL then reads the text as Latin-1
    dbf.write_bytes(bytes(data))


if __name__ == "__main__":
    main()
