"""scripts/bench.py's accounting of a run's CPU by thread (a benchmark, never a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from conftest import UTM, X0, Y0, painted_scene, unet_model, write_raster
from scout.inference import cpu_count

BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads per-thread CPU from /proc")
def test_cpu_by_thread_accounts_for_the_whole_run(tmp_path):
    image = write_raster(tmp_path / "flight.tif", painted_scene(1024, 1024, [("poppy", 200, 200, 400, 400)]))
    aoi = tmp_path / "aoi.geojson"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(X0, Y0 - 40, X0 + 30, Y0)], crs=UTM).to_file(aoi)
    model = unet_model(tmp_path / "models" / "unet")
    out = subprocess.run(
        [sys.executable, str(BENCH), "threads", "--model", str(model), "--raster", str(image), "--aoi", str(aoi), "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    cpu = res["cpu_s"]
    if cpu_count() > 1:  # tiles run on scout-infer threads; on one core, in the calling thread
        assert cpu["model (tiles side by side)"] > 0
    assert cpu["main (imports, plan, blend, COG, vectorize, write)"] > 0
    assert sum(cpu.values()) == pytest.approx(res["total_cpu_s"], abs=0.05 * len(cpu))  # every CPU second is in some group
    assert (tmp_path / "run" / "run.json").is_file()


def test_frames_case_accounts_for_a_photo_run(tmp_path, monkeypatch):
    sys.path.insert(0, str(BENCH.parent))
    import bench

    monkeypatch.setattr(bench, "FRAME_CAMERA", (480, 320, 320.0))  # small photos over a small scene: the accounting, not the speed
    monkeypatch.setattr(bench, "FRAMES_PER_STRIP", 3)
    monkeypatch.setattr(bench, "FRAME_AGL_M", 20.0)
    monkeypatch.setattr(bench, "SCENE_PX", 256)
    model = unet_model(tmp_path / "models" / "unet")
    res = bench.frames_case(tmp_path, model, 5, lambda msg: None)
    assert res["photos"] == res["used"] == 5 and res["photos_per_s"] > 0
    assert sum(res["share_of_detect"].values()) == pytest.approx(1.0, abs=0.002)
    assert set(res["frame_timings"]) == {"metadata_s", "placing_s", "yaw_check_s"}
    assert res["photo_mp_at_model_gsd"] == pytest.approx((20 * 480 / 320 / 0.1) * (20 * 320 / 320 / 0.1) / 1e6, rel=0.01)
    assert "raw photos (5 x 480x320" in bench.frames_row(res)[0]
