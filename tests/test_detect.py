"""End to end: real GeoTIFFs, real vector files, the real pipeline, a model with known output."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from rio_cogeo.cogeo import cog_validate

from conftest import UTM, X0, Y0, painted_scene, unet_model, write_raster
from scout import progress, schema
from scout.detection import DetectSettings, detect, plan_run
from scout.detection.blocks import overlap_slices
from scout.errors import ImageryError


def read_plots(run: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(run / "plots.gpkg", layer="plots")


def test_run_folder_follows_the_contract(tmp_path, rgb_model):
    img = painted_scene(800, 900, [("poppy", 100, 100, 200, 300), ("cannabis", 500, 500, 560, 800)])
    image = write_raster(tmp_path / "flight.tif", img)
    summary = detect([image], tmp_path / "run", model=rgb_model)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == sorted([schema.PLOTS_GPKG, schema.PLOTS_GEOJSON, schema.PROBABILITY_TIF, schema.RUN_JSON])
    plots = read_plots(run)
    assert list(plots.columns) == [*schema.PLOT_FIELDS, "geometry"]
    assert sorted(plots["class"]) == ["cannabis", "poppy"]
    by_class = plots.set_index("class")
    assert by_class.loc["poppy", "area_m2"] == pytest.approx(100 * 200 * 0.05**2, rel=0.03)  # 5 m x 10 m
    assert by_class.loc["cannabis", "area_m2"] == pytest.approx(60 * 300 * 0.05**2, rel=0.03)
    assert (plots["confidence"] > 0.9).all() and (plots["max_confidence"] >= plots["confidence"]).all()
    assert set(plots["review_status"]) == {"unreviewed"} and set(plots["source"]) == {"flight.tif"}
    assert summary.plots_by_class == {"poppy": 1, "cannabis": 1}
    # GeoJSON: RFC 7946, lon/lat
    gj = json.loads((run / "plots.geojson").read_text())
    lon, lat = gj["features"][0]["geometry"]["coordinates"][0][0]
    assert 98 < lon < 101 and 19 < lat < 21 and "crs" not in gj
    # probability COG with mask and class band names
    assert cog_validate(str(run / "probability.tif"))[0]
    with rasterio.open(run / "probability.tif") as src:
        assert src.descriptions == ("poppy", "cannabis") and src.dtypes[0] == "uint8"
        assert src.res == (0.1, 0.1)
    meta = json.loads((run / "run.json").read_text())
    assert meta["complete"] and meta["model"]["sha256"]
    assert meta["inputs"]["images"][0]["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()  # hashed beside the blocks
    assert meta["counts"]["plots"] == 2
    for layer in ("tiles", "aoi"):
        assert len(gpd.read_file(run / "plots.gpkg", layer=layer)) > 0


def test_plot_across_tile_and_block_borders_is_one_polygon(tmp_path, rgb_model):
    # tiles of 128 px at 0.1 m, stride 112, 2 tiles per block: block borders every 224 px
    # (= 448 image px at 0.05 m). This strip crosses several tile and block borders in x and y.
    img = painted_scene(1200, 1200, [("poppy", 380, 150, 520, 1050), ("poppy", 150, 420, 1000, 500)])
    image = write_raster(tmp_path / "a.tif", img)
    detect([image], tmp_path / "run", model=rgb_model, settings=DetectSettings(block_tiles=2))
    plots = read_plots(tmp_path / "run")
    assert len(plots) == 1
    geom = plots.geometry.iloc[0]
    assert geom.geom_type == "Polygon"
    expected = (140 * 900 + 850 * 80 - 140 * 80) * 0.05**2
    assert plots["area_m2"].iloc[0] == pytest.approx(expected, rel=0.03)
    with rasterio.open(tmp_path / "run/probability.tif") as src:  # no seams: identical inside the plot
        p = src.read(1, window=((50, 90), (30, 200)))
    assert (p == p[0, 0]).all()


def test_same_inputs_same_plot_ids_and_geometries(tmp_path, rgb_model):
    img = painted_scene(600, 600, [("poppy", 10, 10, 100, 100), ("cannabis", 300, 300, 400, 420), ("poppy", 450, 50, 470, 500)])
    image = write_raster(tmp_path / "a.tif", img)
    detect([image], tmp_path / "r1", model=rgb_model)
    detect([image], tmp_path / "r2", model=rgb_model, settings=DetectSettings(block_tiles=1, batch_size=3))
    a, b = read_plots(tmp_path / "r1"), read_plots(tmp_path / "r2")
    assert list(a["plot_id"]) == list(b["plot_id"]) and len(a) == 3
    assert all(g1.equals(g2) for g1, g2 in zip(a.geometry, b.geometry))


def test_geographic_imagery_gets_true_metric_areas(tmp_path, rgb_model):
    # EPSG:4326 at ~5 cm: 1e-6 deg x 4.5e-7 deg near 20 N
    lat0 = 20.0
    dx = 0.05 / (111_320 * np.cos(np.radians(lat0)))
    dy = 0.05 / 110_574
    img = painted_scene(600, 600, [("poppy", 100, 100, 300, 300)])
    image = write_raster(tmp_path / "geo.tif", img, crs="EPSG:4326", transform=Affine(dx, 0, 100.0, 0, -dy, lat0))
    detect([image], tmp_path / "run", model=rgb_model)
    plots = read_plots(tmp_path / "run")
    assert len(plots) == 1 and plots.crs.to_epsg() in range(32601, 32661)
    assert plots["area_m2"].iloc[0] == pytest.approx(100.0, rel=0.05)  # 10 m x 10 m


def test_nodata_and_alpha_never_produce_plots(tmp_path, rgb_model):
    img = painted_scene(600, 600, [("poppy", 0, 0, 600, 200)])  # red everywhere in the left third
    alpha = np.full((1, 600, 600), 255, np.uint8)
    alpha[0, :, :300] = 0  # ... but that part is outside the flight
    image = write_raster(tmp_path / "rgba.tif", np.concatenate([img, alpha]), alpha=True)
    detect([image], tmp_path / "run", model=rgb_model)
    assert len(read_plots(tmp_path / "run")) == 0
    # nodata value: red painted, but declared nodata on all bands
    img2 = painted_scene(600, 600, [("poppy", 100, 100, 300, 300)])
    img2[:, 100:300, 100:300] = 0
    image2 = write_raster(tmp_path / "nd.tif", img2, nodata=0)
    detect([image2], tmp_path / "run2", model=rgb_model)
    assert len(read_plots(tmp_path / "run2")) == 0


def test_satellite_uint16_four_bands_at_other_gsd(tmp_path, sat_model):
    # 0.3 m satellite scene read at the model's 0.5 m; bands blue, green, red, nir (uint16, x10)
    rgb = painted_scene(400, 400, [("cannabis", 100, 100, 180, 200)], bands=4, dtype=np.uint16, scale=10)
    bgrn = rgb[[2, 1, 0, 3]]
    image = write_raster(tmp_path / "sat.tif", bgrn, transform=Affine(0.3, 0, X0, 0, -0.3, Y0),
                         descriptions=("blue", "green", "red", "nir"))
    detect([image], tmp_path / "run", model=sat_model)
    plots = read_plots(tmp_path / "run")
    assert plots["class"].tolist() == ["cannabis"]
    assert plots["area_m2"].iloc[0] == pytest.approx(80 * 100 * 0.09, rel=0.06)


def test_16_bit_rgb_export_is_refused_not_read_as_reflectance(tmp_path, sat_model):
    full_range = painted_scene(400, 400, [("cannabis", 100, 100, 180, 200)], bands=4, dtype=np.uint16, scale=257)  # 0-65,535
    image = write_raster(tmp_path / "rgb16.tif", full_range[[2, 1, 0, 3]], transform=Affine(0.3, 0, X0, 0, -0.3, Y0),
                         descriptions=("blue", "green", "red", "nir"))
    with pytest.raises(ImageryError, match=r"rgb16\.tif: uint16 values reach [\d,]+ \(99th percentile\), over twice the 2,550"):
        detect([image], tmp_path / "run", model=sat_model)
    assert not (tmp_path / "run").exists()


def test_aoi_in_other_crs_and_formats_clips_and_names(tmp_path, rgb_model):
    img = painted_scene(800, 800, [("poppy", 100, 100, 200, 700)])  # 30 m long strip at y rows 100-200
    image = write_raster(tmp_path / "a.tif", img)
    # AOI: the left half of the image, written in WGS84 GeoJSON, Shapefile and KML
    left = shapely.box(X0, Y0 - 40, X0 + 20, Y0)
    gdf = gpd.GeoDataFrame({"township": ["Left"]}, geometry=[left], crs=UTM).to_crs("EPSG:4326")
    for name, driver in (("aoi.geojson", "GeoJSON"), ("aoi.shp", "ESRI Shapefile"), ("aoi.kml", "KML")):
        path = tmp_path / name
        gdf.to_file(path, driver=driver)
        run = tmp_path / f"run-{name}"
        detect([image], run, aoi=path, model=rgb_model, settings=DetectSettings(aoi_name_field="township" if driver != "KML" else None))
        plots = read_plots(run)
        assert len(plots) == 1
        assert plots["area_m2"].iloc[0] == pytest.approx(5 * 15, rel=0.05)  # clipped at x = 20 m
        if driver != "KML":
            assert plots["aoi"].iloc[0] == "Left"


def test_planning_a_campaign_shows_its_images_done(tmp_path, rgb_model, caplog, monkeypatch):
    # each image's footprint reads its mask: hundreds of flights are minutes before the first tile
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    caplog.set_level(logging.INFO, logger="scout")
    images = [write_raster(tmp_path / f"{k}.tif", painted_scene(200, 200, [])) for k in range(3)]
    plan_run(images, model=rgb_model)
    lines = [r.getMessage().split(" [")[0] for r in caplog.records if r.name == "scout.progress"]
    assert lines == ["images: 1/3", "images: 2/3", "images: 3/3"]


def test_plan_run_writes_nothing_and_plans_only_tiles_touching_the_aoi(tmp_path, rgb_model):
    image = write_raster(tmp_path / "a.tif", painted_scene(800, 800, []))
    aoi = tmp_path / "aoi.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0 - 10, X0 + 10, Y0)], crs=UTM).to_file(aoi)  # the top-left eighth by side
    before = sorted(tmp_path.iterdir())
    whole = plan_run([image], model=rgb_model)
    clipped = plan_run([image], aoi, rgb_model)
    assert sorted(tmp_path.iterdir()) == before
    n_whole, n_clipped = (sum(len(b.tiles) for b in p.blocks) for p in (whole, clipped))
    assert 0 < n_clipped < n_whole
    grid = clipped.plan.grid
    for tile in (t for b in clipped.blocks for t in b.tiles):
        x, y = grid.affine * (tile.window.col_off, tile.window.row_off)
        assert x < X0 + 10 and y > Y0 - 10  # every tile starts inside the AOI's bounds
    assert clipped.settings.thresholds == whole.settings.thresholds


def test_empty_result_writes_valid_empty_layers(tmp_path, rgb_model):
    image = write_raster(tmp_path / "a.tif", painted_scene(300, 300, []))
    summary = detect([image], tmp_path / "run", model=rgb_model)
    assert summary.n_plots == 0
    plots = read_plots(tmp_path / "run")
    assert len(plots) == 0 and list(plots.columns) == [*schema.PLOT_FIELDS, "geometry"]
    assert json.loads((tmp_path / "run/plots.geojson").read_text())["features"] == []


def test_overlapping_flights_report_a_plot_once_from_the_sharper_image(tmp_path, rgb_model):
    # flight A: 5 cm, x 0-40 m; flight B: 8 cm, x 25-65 m. A poppy plot at x 28-36 m
    # lies in both; B also shows it shifted (misregistered) by 1 m, which must not make a second plot.
    a = painted_scene(600, 800, [("poppy", 100, 560, 200, 720)])
    write_raster(tmp_path / "a.tif", a)
    b = painted_scene(375, 500, [("poppy", 62, 50, 125, 150), ("cannabis", 250, 300, 300, 400)])
    t_b = Affine(0.08, 0, X0 + 25 - 0.08 * 0, 0, -0.08, Y0 + 1.0)
    write_raster(tmp_path / "b.tif", b, transform=t_b)
    folder_list = tmp_path / "flights.txt"
    folder_list.write_text("a.tif\nb.tif\n")
    from scout.inputs import expand_images

    summary = detect(expand_images((str(folder_list),)), tmp_path / "run", model=rgb_model)
    plots = read_plots(tmp_path / "run")
    assert summary.plots_by_class == {"poppy": 1, "cannabis": 1}
    poppy = plots[plots["class"] == "poppy"].iloc[0]
    assert poppy["source"] == "a.tif;b.tif"  # sharper first, both kept
    assert poppy["area_m2"] == pytest.approx(5 * 8, rel=0.05)  # from A's pixels, not B's shifted copy
    assert plots[plots["class"] == "cannabis"].iloc[0]["source"] == "b.tif"
    meta = json.loads((tmp_path / "run/run.json").read_text())
    assert [Path(i["path"]).name for i in meta["inputs"]["images"]] == ["a.tif", "b.tif"]


def test_many_small_flights_are_read_where_they_lie_with_the_whole_block_result(tmp_path):
    """Each image is read over its part of a block only; the block's input stays what reading
    every image over the whole block gives (nodata, alpha, another CRS included): to the bit
    where an image lies on the grid, within one DN of the average's rounding where it does not."""
    from scout.detection.blocks import read_input
    from scout.imagery import read_block
    from scout.inference import normalize

    rng = np.random.default_rng(5)
    paths = []
    for k, (dx, dy) in enumerate([(0, 0), (9.013, 1.027), (3, 8), (12.31, 10.077), (20, 3)]):  # some off the grid
        img = painted_scene(200, 240, [("poppy", 40, 40, 120, 140)])
        img = np.clip(img.astype(int) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)
        alpha = np.full((1, 200, 240), 255, np.uint8)
        alpha[:, :30, :50] = 0  # a corner outside the flight boundary
        paths.append(write_raster(tmp_path / f"f{k}.tif", np.concatenate([img, alpha]), alpha=True,
                                  transform=Affine(0.05, 0, X0 + dx, 0, -0.05, Y0 - dy)))
    from rasterio.warp import transform as warp_xy

    (lon,), (lat,) = warp_xy(UTM, "EPSG:4326", [X0 + 6], [Y0 - 4])
    deg = 0.06 / 111_000  # ~6 cm pixels
    other = write_raster(tmp_path / "wgs84.tif", painted_scene(150, 200, []), crs="EPSG:4326",
                         transform=Affine(deg, 0, lon, 0, -deg, lat))  # warped: read through a WarpedVRT
    model = unet_model(tmp_path / "unet")  # its normalization maps DN 0 (outside every image) to non-zero input
    planned = plan_run([*paths, other], None, model, DetectSettings(block_tiles=1))
    plan, card = planned.plan, planned.card
    assert len(planned.blocks) > 4 and len(plan.images) == 6
    partial = on_grid = 0
    for block in planned.blocks:
        got = read_input(plan, block)
        want, have = None, None
        for info, idx in zip(plan.images, plan.indexes):
            raw, valid = read_block(info, idx, plan.grid, block.window, gsd_m=card.gsd_m)
            if want is None:
                want, have = normalize(raw, card, info.dtype), valid
            else:
                take = valid & ~have
                np.copyto(want, normalize(raw, card, info.dtype), where=take[None])
                have |= take
        assert np.array_equal(got.valid, have)
        dn = np.abs(got.data - want) * 0.2 * 255  # the model's std 0.2, scale 255: back to DN
        assert dn.max() <= 1.0001 and (dn > 0.01).mean() < 0.005
        partial += not have.all()
        on_grid += np.array_equal(got.data, want)
    assert partial >= 2 and on_grid >= 2  # blocks where images meet (read in parts); blocks read to the bit


def test_each_plot_is_named_after_the_aoi_holding_most_of_it():
    from scout.detection.plots import aoi_names

    aois = gpd.GeoDataFrame({"aoi": ["A", "B", "C"]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10), shapely.box(0, 0, 5, 10)], crs=UTM)
    plots = gpd.GeoSeries([shapely.box(6, 2, 8, 4), shapely.box(1, 2, 3, 4), shapely.box(9, 2, 13, 4), shapely.box(30, 2, 32, 4), shapely.box(4, 6, 11, 8)], crs=UTM)
    # inside A; inside A and C (first in file order); mostly in B; in none; across C, A and B (most in A)
    assert list(aoi_names(plots, aois)) == ["A", "A", "B", "", "A"]


def test_overlap_slices_are_one_pixel_generous_and_clipped():
    t = Affine(0.1, 0, 1000.0, 0, -0.1, 2000.0)  # a 100 x 80 px window: x 1000-1008 m, y 1990-2000 m
    rows, cols = overlap_slices((1002.05, 1995.0, 1003.0, 1999.0), t, 100, 80)
    assert (rows, cols) == (slice(9, 51), slice(19, 31))
    assert overlap_slices((900.0, 1900.0, 2000.0, 3000.0), t, 100, 80) == (slice(0, 100), slice(0, 80))


def test_vrt_input(tmp_path, rgb_model):
    image = write_raster(tmp_path / "a.tif", painted_scene(400, 400, [("poppy", 50, 50, 150, 150)]))
    with rasterio.open(image) as src:
        bands = "".join(
            f'<VRTRasterBand dataType="Byte" band="{b}"><Description>{name}</Description><SimpleSource><SourceFilename relativeToVRT="1">a.tif</SourceFilename>'
            f"<SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>"
            for b, name in zip((1, 2, 3), ("red", "green", "blue"))
        )
        vrt = (f'<VRTDataset rasterXSize="{src.width}" rasterYSize="{src.height}"><SRS>{src.crs.to_wkt()}</SRS>'
               f"<GeoTransform>{', '.join(map(str, src.transform.to_gdal()))}</GeoTransform>{bands}</VRTDataset>")
    (tmp_path / "mosaic.vrt").write_text(vrt)
    summary = detect([tmp_path / "mosaic.vrt"], tmp_path / "run", model=rgb_model)
    assert summary.plots_by_class["poppy"] == 1
