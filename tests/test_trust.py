"""The run's trust signal: imagery against the model's training imagery, and an implausible flagged share."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scout import domain
from scout.detection.trust import FLAGGED_SHARE_WARN, assess
from scout.model import ModelCard, load_model, save_model
from tests.conftest import invoke, linear_model, painted_scene, write_raster

RGB = ("red", "green", "blue")


def grass_windows(n: int, seed: int = 0, noise: float = 0.02) -> np.ndarray:
    """Descriptors of grass-green windows (the painted scenes' background), slightly varied."""
    rng = np.random.default_rng(seed)
    base = np.array([70, 120, 50], np.float32)[:, None, None] / 255
    return np.stack([domain.describe(np.clip(base * rng.uniform(0.9, 1.1) + rng.normal(0, noise, (3, 128, 128)), 0, 1), RGB) for _ in range(n)])


def green_field_domain(n: int = 200) -> dict:
    """What a model that learned grass-green fields with a few small painted plots would record."""
    rng = np.random.default_rng(3)
    painted = []
    for _ in range(n // 2):
        r, c, k = int(rng.integers(0, 100)), int(rng.integers(0, 100)), int(rng.integers(0, 30))
        x = painted_scene(128, 128, [("poppy", r, c, r + k, c + k)] if k > 3 else []).astype(np.float32) / 255
        painted.append(domain.describe(np.clip(x * rng.uniform(0.95, 1.05), 0, 1), RGB))
    return domain.fit(np.concatenate([grass_windows(n // 2), np.stack(painted)]))


def card_with_domain(path: Path) -> Path:
    linear_model(path)
    loaded = load_model(path)
    save_model(loaded.net, replace(loaded.card, domain=green_field_domain()), path)
    return path


def test_assess_states_both_measures_and_warns_only_out_of_range():
    card = ModelCard(name="m", version="1", classes=("background", "poppy"), bands=RGB, gsd_m=0.1, tile_size=128,
                     normalization={"mean": [0, 0, 0], "std": [1, 1, 1]}, architecture={"name": "pixel_linear"}, domain=green_field_domain())
    near = grass_windows(3, seed=5)
    quiet = assess(card, 10.0, 10_000.0, near)
    assert quiet["warnings"] == [] and quiet["trust"]["flagged_share"] == 0.001 and quiet["trust"]["imagery"]["far_share"] == 0.0
    loud = assess(card, 1_700.0, 10_000.0, near)
    assert len(loud["warnings"]) == 1 and loud["warnings"][0].startswith("17% of the imaged AOI flagged")
    far = np.stack([domain.describe(np.full((3, 128, 128), 0.9, np.float32), RGB)] * 3)  # bright grey: roofs, concrete
    odd = assess(card, 0.0, 10_000.0, far)
    assert odd["trust"]["imagery"]["far_share"] == 1.0 and "unlike anything m learned" in odd["warnings"][0]
    unknown = assess(replace(card, domain={}), 0.0, 10_000.0, far)
    assert unknown["warnings"] == [] and unknown["trust"]["imagery"]["far_share"] is None
    zh = assess(card, 1_700.0, 10_000.0, far, lang="zh")
    assert zh["warnings"][0].startswith("本次影像中 100%") and zh["warnings"][1].startswith("已成像监测区域的 17%") and zh["trust"] == assess(card, 1_700.0, 10_000.0, far)["trust"]


def test_a_run_records_its_trust_and_the_summary_qgis_and_run_json_show_the_warnings(tmp_path):
    model = card_with_domain(tmp_path / "models" / "grass")
    familiar = write_raster(tmp_path / "field.tif", painted_scene(800, 800, [("poppy", 100, 100, 120, 120)]))
    r = invoke("detect", familiar, "--out", tmp_path / "ok", "--model", model)
    assert r.exit_code == 0, r.output
    run = json.loads((tmp_path / "ok" / "run.json").read_text())
    assert run["warnings"] == [] and run["trust"]["imagery"]["windows"] >= 4 and run["trust"]["imagery"]["far_share"] < 0.5
    assert run["trust"]["flagged_share"] < FLAGGED_SHARE_WARN

    # a flight painted red all over: flagged everywhere, and its colour is nothing the model learned
    red = write_raster(tmp_path / "red.tif", painted_scene(400, 400, [("poppy", 0, 0, 400, 400)]))
    r = invoke("detect", red, "--out", tmp_path / "loud", "--model", model)
    assert r.exit_code == 0, r.output
    run = json.loads((tmp_path / "loud" / "run.json").read_text())
    assert len(run["warnings"]) == 2 and any("of the imaged AOI flagged" in w for w in run["warnings"])
    from scout.detection import RunSummary

    line = RunSummary.from_run_folder(tmp_path / "loud").line()
    assert line.count("\nwarning: ") == 2 and "unlike training" in line.splitlines()[0]
    assert invoke("qgis", tmp_path / "loud").exit_code == 0
    with zipfile.ZipFile(tmp_path / "loud" / "project.qgz") as z:
        project = z.read(next(n for n in z.namelist() if n.endswith(".qgs"))).decode()
    assert "of the imaged AOI flagged" in project

    # a Chinese run says the same in Chinese: run.json's warnings, the summary, the QGIS legend
    r = invoke("detect", red, "--out", tmp_path / "zh", "--model", model, "--lang", "zh")
    assert r.exit_code == 0, r.output
    run = json.loads((tmp_path / "zh" / "run.json").read_text())
    assert run["lang"] == "zh" and len(run["warnings"]) == 2 and any(w.startswith("已成像监测区域的") for w in run["warnings"])
    line = RunSummary.from_run_folder(tmp_path / "zh").line()
    assert line.count("\n警告：") == 2 and "罂粟" in line.splitlines()[0] and "与训练影像不同" in line.splitlines()[0]
    assert invoke("qgis", tmp_path / "zh").exit_code == 0
    with zipfile.ZipFile(tmp_path / "zh" / "project.qgz") as z:
        assert "已成像监测区域的" in z.read(next(n for n in z.namelist() if n.endswith(".qgs"))).decode()

    # the same flight inside a township AOI a hundred times its size: the share is of the part imaged
    import geopandas as gpd
    import rasterio
    from shapely.geometry import box

    with rasterio.open(red) as src:
        left, bottom, right, top = src.bounds
        township = gpd.GeoDataFrame({"name": ["town"]}, geometry=[box(left - 400, bottom - 400, right + 400, top + 400)], crs=src.crs)
    township.to_file(tmp_path / "town.geojson")
    r = invoke("detect", red, "--out", tmp_path / "town", "--model", model, "--aoi", tmp_path / "town.geojson")
    assert r.exit_code == 0, r.output
    run = json.loads((tmp_path / "town" / "run.json").read_text())
    areas = run["areas_m2"]
    assert areas["aoi"] > 50 * areas["imaged"] and areas["imaged"] == pytest.approx((right - left) * (top - bottom), rel=0.03)  # the footprint is traced on a coarse mask
    assert run["trust"]["flagged_share"] == pytest.approx(areas["flagged"] / areas["imaged"], abs=1e-4)
    assert any("of the imaged AOI flagged" in w for w in run["warnings"])


def test_block_checkpoints_keep_the_descriptors(tmp_path):
    """Descriptors travel with the block checkpoints, so a resumed run states the same trust."""
    from scout.detection.blocks import BlockResult
    from scout.detection.checkpoints import load_checkpoints, save_checkpoint

    desc = np.random.default_rng(2).random((5, 11)).astype(np.float32)
    result = BlockResult(7, np.zeros((2, 4, 4), np.uint16), np.ones((4, 4), np.float32), 1, 0.0, 0.0, desc)
    save_checkpoint(tmp_path, result, "abc")
    found = load_checkpoints(tmp_path, {7: "abc"})
    with np.load(found[7]) as saved:
        assert np.array_equal(saved["descriptors"], desc)


@pytest.mark.parametrize("bands", [RGB, ("blue", "green", "red", "nir")])
def test_block_descriptors_match_describing_the_raw_windows(bands):
    from scout.detection.blocks import BlockInput, describe_block

    rng = np.random.default_rng(1)
    raw = rng.random((len(bands), 256, 256)).astype(np.float32)
    card = ModelCard(name="m", version="1", classes=("background", "poppy"), bands=bands, gsd_m=0.1, tile_size=128,
                     normalization={"mean": [0.3] * len(bands), "std": [0.2] * len(bands)}, architecture={"name": "pixel_linear"},
                     domain={"mean": [0.0]})
    normalized = (raw - 0.3) / 0.2
    valid = np.ones((256, 256), bool)
    valid[:128, :128] = False
    got = describe_block(card, BlockInput(normalized, valid, 0.0))
    want = np.stack([domain.describe(w, bands) for w in domain.windows(raw, valid)])
    assert got.shape == (3, want.shape[1]) and np.allclose(got, want, atol=1e-4)
