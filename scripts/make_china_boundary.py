"""Write scout/data/china_mainland.geojson: where Chinese map apps shift coordinates to GCJ-02.

Source: Natural Earth 1:10m Admin 0 countries v4.1.0 (public domain), as generalized in QGIS's
``resources/data/world_map.gpkg`` (Debian package qgis-common, layer ``countries``).  Feature
``China`` is mainland China with Hainan; Hong Kong, Macao and Taiwan are separate features and
are left out (Google and Apple do not shift them).  Coordinates are rounded to 1e-4 degrees (~10 m).

    .venv/bin/python scripts/make_china_boundary.py [/usr/share/qgis/resources/data/world_map.gpkg]
"""

import json
import sys
from pathlib import Path

import pyogrio
import shapely

source = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/qgis/resources/data/world_map.gpkg"
countries = pyogrio.read_dataframe(source, layer="countries", where="NAME = 'China'")
geometry = shapely.geometry.mapping(countries.geometry.iloc[0])


def rounded(coords):
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], 4), round(coords[1], 4)]
    return [rounded(c) for c in coords]


collection = {
    "type": "FeatureCollection",
    "features": [{"type": "Feature", "properties": {"name": "China (mainland)", "source": "Natural Earth 1:10m Admin 0 v4.1.0 via QGIS world_map.gpkg"},
                  "geometry": {"type": geometry["type"], "coordinates": rounded(geometry["coordinates"])}}],
}
out = Path(__file__).resolve().parents[1] / "scout" / "data" / "china_mainland.geojson"
out.write_text(json.dumps(collection, separators=(",", ":")), encoding="utf-8")
print(out, out.stat().st_size)
