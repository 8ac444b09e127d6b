"""Every vector input (AOI, truth, labels, depots, roads) is read one way: any format GDAL reads,
a CSV of lon/lat points, the right layer of a multi-layer file, or a one-line refusal."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import gpxpy.gpx
import pytest
from pyproj import CRS
from shapely.geometry import LineString, Point, box

from scout.aoi import read_aoi
from scout.errors import AOIError, InputError
from scout.io import read_vector
from scout.labels import read_class_polygons
from scout.survey.inputs import read_depots, read_roads

UTM = CRS.from_epsg(32647)
DEPOTS = ((97.4140, 20.7910), (97.4150, 20.7920))  # teams 1, 2


def test_depots_from_a_csv_of_lon_lat_match_a_geojson(tmp_path: Path):
    csv = tmp_path / "depots.csv"
    csv.write_text("team,Longitude,Latitude,name\n2,97.4150,20.7920,school\n1,97.4140,20.7910,clinic\n")
    points = gpd.GeoDataFrame({"team": [2, 1]}, geometry=[Point(DEPOTS[1]), Point(DEPOTS[0])], crs=4326)
    points.to_file(tmp_path / "depots.geojson", engine="pyogrio")
    assert read_depots(csv) == read_depots(tmp_path / "depots.geojson") == DEPOTS


def test_depots_csv_saved_by_excel_in_gbk(tmp_path: Path):
    csv = tmp_path / "depots.csv"
    csv.write_bytes("team,lon,lat,name\n1,97.4140,20.7910,勐腊镇卫生院\n2,97.4150,20.7920,易武乡\n".encode("gbk"))
    assert read_depots(csv) == DEPOTS
    assert read_vector(csv, "depots", "Point")["name"].tolist() == ["勐腊镇卫生院", "易武乡"]


def test_gpx_gives_waypoints_as_depots_and_tracks_as_roads(tmp_path: Path):
    gpx = gpxpy.gpx.GPX()
    gpx.waypoints += [gpxpy.gpx.GPXWaypoint(lat, lon, name=f"team {i + 1}") for i, (lon, lat) in enumerate(DEPOTS)]
    track, segment = gpxpy.gpx.GPXTrack(), gpxpy.gpx.GPXTrackSegment()
    segment.points += [gpxpy.gpx.GPXTrackPoint(lat, lon) for lon, lat in DEPOTS]
    track.segments.append(segment)
    gpx.tracks.append(track)  # the routes layer, which comes first, stays empty
    path = tmp_path / "walked.gpx"
    path.write_text(gpx.to_xml())
    assert [c for p in read_depots(path) for c in p] == pytest.approx([c for p in DEPOTS for c in p])
    roads = read_roads(path, UTM)
    assert len(roads) == 1 and roads.iloc[0].length == pytest.approx(152, abs=1)  # 0.001° east and north at 20.8° N


def test_polygon_layer_is_found_behind_a_points_layer(tmp_path: Path):
    path = tmp_path / "survey.gpkg"
    gpd.GeoDataFrame({"class": ["poppy"]}, geometry=[Point(500_000, 2_300_000)], crs=UTM).to_file(path, layer="a_points", engine="pyogrio")
    square = box(500_000, 2_300_000, 500_010, 2_300_010)
    gpd.GeoDataFrame({"class": ["Poppy "], "name": ["x"]}, geometry=[square], crs=UTM).to_file(path, layer="plots", engine="pyogrio")
    truth = read_class_polygons(path, "truth plots", prefer_layer="truth")
    assert truth["class"].tolist() == ["poppy"] and truth.geometry.iloc[0].area == pytest.approx(100)
    assert read_aoi(path, UTM)["aoi"].tolist() == ["x"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("team,x,y\n1,2,3\n", "holds a table without geometries, not depots (a CSV needs lon and lat columns"),
        ("team,wkt\n1,POINT (500000 2300000)\n", "depots have no CRS (a CSV has one only as lon and lat columns"),
        ("not,a\n\x00\x01", "holds a table without geometries"),
    ],
)
def test_unusable_csv_is_refused_in_one_line(tmp_path: Path, text: str, words: str):
    path = tmp_path / "depots.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_depots(path)
    assert words in str(err.value) and str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_missing_and_unreadable_files_name_the_file_and_what_it_was_for(tmp_path: Path):
    with pytest.raises(AOIError, match=r"nowhere\.gpkg: no such file \(AOI polygons\)"):
        read_aoi(tmp_path / "nowhere.gpkg", UTM)
    junk = tmp_path / "roads.shp"
    junk.write_bytes(b"\x00" * 200)
    with pytest.raises(InputError, match=r"roads\.shp: cannot read roads \("):
        read_vector(junk, "roads", "LineString")
    lines = tmp_path / "lines.geojson"
    gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])], crs=4326).to_file(lines, engine="pyogrio")
    with pytest.raises(InputError, match="depots must be points"):
        read_depots(lines)


def test_aoi_without_a_name_is_numbered(tmp_path: Path):
    squares = [box(500_000 + 20 * i, 2_300_000, 500_010 + 20 * i, 2_300_010) for i in range(3)]
    path = tmp_path / "townships.gpkg"
    gpd.GeoDataFrame({"township": [None, " ", "勐腊镇"]}, geometry=squares, crs=UTM).to_file(path, engine="pyogrio")
    assert read_aoi(path, UTM)["aoi"].tolist() == ["aoi-1", "aoi-2", "勐腊镇"]


@pytest.mark.parametrize(("names", "encoding"), [(["勐腊镇", "易武乡"], "GBK"), (["Ñuñoa", "São Paulo"], "ISO-8859-1")])
def test_shapefile_without_cpg_keeps_its_names(tmp_path: Path, names: list[str], encoding: str):
    """Without a .cpg GDAL reads a Shapefile as Latin-1: right for Latin-1, mojibake for GBK from Chinese Windows."""
    squares = [box(500_000 + 20 * i, 2_300_000, 500_010 + 20 * i, 2_300_010) for i in range(2)]
    path = tmp_path / "townships.shp"
    gpd.GeoDataFrame({"township": names}, geometry=squares, crs=UTM).to_file(path, engine="pyogrio", encoding=encoding)
    path.with_suffix(".cpg").unlink()
    assert read_aoi(path, UTM)["aoi"].tolist() == names
