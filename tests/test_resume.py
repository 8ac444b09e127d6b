"""kill -9 halfway, then --resume: finished blocks are reused and the outputs equal an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from conftest import painted_scene, unet_model, write_raster
from scout.detection import DetectSettings, detect
from scout.errors import OutputError
from scout.runfolder import write_record

SCOUT = [sys.executable, "-m", "scout.cli"]


def detect_cmd(image: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [*SCOUT, "detect", str(image), "--model", str(model), "--out", str(out), "--block-tiles", "1", "--threshold", "0.4", "-q", *extra]


def test_kill_then_resume_matches_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(3)
    img = painted_scene(900, 900, [("poppy", 100, 100, 400, 500), ("cannabis", 500, 400, 800, 850)])
    img = np.clip(img.astype(int) + rng.integers(-30, 30, img.shape), 0, 255).astype(np.uint8)
    image = write_raster(tmp_path / "flight.tif", img)
    model = unet_model(tmp_path / "unet")
    # torch eager on one thread: slow enough that the kill reliably lands halfway
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SCOUT_BACKEND": "torch"}

    subprocess.run(detect_cmd(image, model, tmp_path / "whole"), check=True, env=env)

    out = tmp_path / "run"
    proc = subprocess.Popen(detect_cmd(image, model, out), env=env)
    checkpoints = tmp_path / ".run.partial" / "blocks"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(checkpoints.glob("block-*.npz"))) < 3 and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "run finished before it could be killed; make the scene bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # nothing that looks complete
    n_done = len(list(checkpoints.glob("block-*.npz")))  # not the hidden temp file of a block being written

    # without --resume an existing partial run is not silently reused, but a fresh run is fine;
    # with --resume the finished blocks are reused
    subprocess.run(detect_cmd(image, model, out, "--resume"), check=True, env=env)
    meta = json.loads((out / "run.json").read_text())
    assert meta["complete"] and meta["resumed_blocks"] >= n_done >= 3
    assert meta["resumed_blocks"] < meta["counts"]["blocks"]
    assert not (out / "blocks").exists() and not (tmp_path / ".run.partial").exists()

    with rasterio.open(tmp_path / "whole/probability.tif") as a, rasterio.open(out / "probability.tif") as b:
        assert np.array_equal(a.read(), b.read()) and np.array_equal(a.dataset_mask(), b.dataset_mask())
    pa = gpd.read_file(tmp_path / "whole/plots.gpkg", layer="plots")
    pb = gpd.read_file(out / "plots.gpkg", layer="plots")
    assert list(pa["plot_id"]) == list(pb["plot_id"])
    assert all(g1.equals(g2) for g1, g2 in zip(pa.geometry, pb.geometry))

    # resuming a complete run reports it and changes nothing
    before = (out / "run.json").read_bytes()
    subprocess.run(detect_cmd(image, model, out, "--resume"), check=True, env=env)
    assert (out / "run.json").read_bytes() == before


def test_resume_refuses_other_inputs(tmp_path):
    image = write_raster(tmp_path / "a.tif", painted_scene(300, 300, []))
    other = write_raster(tmp_path / "b.tif", painted_scene(300, 300, [("poppy", 0, 0, 50, 50)]))
    model = unet_model(tmp_path / "unet")
    staging = tmp_path / ".run.partial"
    staging.mkdir()
    (staging / "blocks").mkdir()
    write_record(staging, {"complete": False, "core": "something else", "out_dir": str(tmp_path / "run")})  # an interrupted run's record
    result = subprocess.run(detect_cmd(other, model, tmp_path / "run", "--resume"), capture_output=True, text=True)
    assert result.returncode == 2 and "another AOI, model, tiling" in result.stderr and "Traceback" not in result.stderr
    assert image.exists()


def test_resume_of_a_finished_run_checks_it_was_made_the_same_way(tmp_path):
    image = write_raster(tmp_path / "a.tif", painted_scene(300, 300, [("poppy", 40, 40, 200, 220)]))
    other = write_raster(tmp_path / "b.tif", painted_scene(300, 300, [("poppy", 0, 0, 50, 50)]))
    model = unet_model(tmp_path / "unet")
    out = tmp_path / "run"
    first = detect([image], out, model=model, settings=DetectSettings(thresholds={"*": 0.4}))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    again = detect([image], out, model=model, settings=DetectSettings(thresholds={"*": 0.4}), resume=True)
    assert again.line() == first.line()
    with pytest.raises(OutputError, match="other imagery"):
        detect([other], out, model=model, settings=DetectSettings(thresholds={"*": 0.4}), resume=True)
    with pytest.raises(OutputError, match="other thresholds, min_area_m2"):
        detect([image], out, model=model, settings=DetectSettings(thresholds={"*": 0.6}, min_area_m2=5), resume=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("says", ["errno", "gdal"])
def test_disk_full_midway_keeps_finished_blocks_for_resume(tmp_path, monkeypatch, says):
    import errno

    from rasterio.errors import RasterioIOError

    import scout.io
    from scout.detection import checkpoints

    image = write_raster(tmp_path / "a.tif", painted_scene(600, 600, [("poppy", 40, 40, 300, 320), ("cannabis", 350, 300, 560, 580)]))
    model = unet_model(tmp_path / "unet")
    settings = DetectSettings(thresholds={"*": 0.4}, block_tiles=1)
    whole = detect([image], tmp_path / "whole", model=model, settings=settings)

    real_save, saved = checkpoints.save_checkpoint, []

    def save_until_the_disk_fills(folder, result, key):
        if len(saved) == 2 and says == "errno":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "block.npz"))
        if len(saved) == 2:  # GDAL's own words; the free space it leaves is what tells
            monkeypatch.setattr(scout.io, "LOW_DISK_BYTES", shutil.disk_usage(folder).free + (1 << 30))
            raise RasterioIOError("Write failed. See previous exception for details.")
        real_save(folder, result, key)
        saved.append(result.block_id)

    monkeypatch.setattr(checkpoints, "save_checkpoint", save_until_the_disk_fills)
    out = tmp_path / "run"
    with pytest.raises(OutputError, match=r"disk full; finished blocks are kept in .*run again with --resume"):
        detect([image], out, model=model, settings=settings)
    assert not out.exists() and len(list((tmp_path / ".run.partial" / "blocks").glob("block-*.npz"))) == 2
    # the failed run's reader thread is gone before the error leaves: left running, it traced into the resumed run's warnings
    assert not [t.name for t in threading.enumerate() if t.name.startswith(("scout-read", "scout-finish"))]

    monkeypatch.setattr(checkpoints, "save_checkpoint", real_save)
    monkeypatch.setattr(scout.io, "LOW_DISK_BYTES", 0)
    resumed = detect([image], out, model=model, settings=settings, resume=True)
    assert json.loads((out / "run.json").read_text())["resumed_blocks"] == 2
    assert resumed.n_plots == whole.n_plots > 0
    with rasterio.open(tmp_path / "whole/probability.tif") as a, rasterio.open(out / "probability.tif") as b:
        assert np.array_equal(a.read(), b.read())


def test_gdal_disk_full_is_recognised(tmp_path, monkeypatch):
    import errno

    from rasterio.errors import RasterioIOError

    import scout.io
    from scout.io import disk_full

    assert disk_full(RasterioIOError("/data/.run.partial/probability.tif: Write error: No space left on device"), tmp_path)
    assert disk_full(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)), tmp_path)
    assert not disk_full(RasterioIOError("TIFFReadEncodedTile() failed"), tmp_path)
    assert not disk_full(OSError(errno.EACCES, os.strerror(errno.EACCES)), tmp_path)
    # GDAL's exception says only "Write failed" (libtiff prints the reason to stderr): the free space decides
    gdal = RasterioIOError("Write failed. See previous exception for details.")
    assert not disk_full(gdal, tmp_path)
    monkeypatch.setattr(scout.io, "LOW_DISK_BYTES", shutil.disk_usage(tmp_path).free + (1 << 30))
    assert disk_full(gdal, tmp_path)
    assert not disk_full(KeyboardInterrupt(), tmp_path)


@pytest.mark.skipif(not Path("/dev/full").exists() or not Path("/proc/self/maps").exists(), reason="Linux: /dev/full, /proc")
@pytest.mark.parametrize("quiet", [False, True])
def test_libtiff_writes_to_a_full_disk_fail_without_printing_past_the_one_line_error(quiet):
    """A full disk made libtiff print "_tiffWriteProc: No space left on device." above
    Scout's one-line error; the write must still fail (a fresh process: libtiff's handler is global)."""
    code = f"""
import numpy as np, rasterio
from scout.quiet import quiet_libtiff
if {quiet}:
    quiet_libtiff()
try:
    with rasterio.open("/dev/full", "w", driver="GTiff", width=512, height=512, count=1, dtype="uint8", tiled=True, compress="deflate") as dst:
        dst.write(np.random.default_rng(0).integers(0, 255, (1, 512, 512), dtype=np.uint8))
except rasterio.errors.RasterioIOError:
    print("write failed")
"""
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout == "write failed\n", done.stderr
    assert ("No space left on device" in done.stderr) is not quiet, done.stderr


def test_a_gdal_write_that_fills_the_disk_keeps_the_old_file(tmp_path, monkeypatch):
    from rasterio.errors import RasterioIOError

    import scout.io
    from scout.errors import DiskFullError
    from scout.io import atomic_path

    target = write_raster(tmp_path / "scene.tif", painted_scene(64, 64, []))
    before = target.read_bytes()
    monkeypatch.setattr(scout.io, "LOW_DISK_BYTES", shutil.disk_usage(tmp_path).free + (1 << 30))
    with pytest.raises(DiskFullError, match=r"scene.tif: disk full while writing it; free some space and run again"):
        with atomic_path(target) as tmp:
            write_raster(tmp, painted_scene(64, 64, [("poppy", 0, 0, 30, 30)]))  # half-written, as far as anyone knows
            raise RasterioIOError("Write failed. See previous exception for details.")
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["scene.tif"]


def test_run_that_cannot_fit_on_its_disk_is_refused_before_it_starts(tmp_path, monkeypatch):
    import shutil

    from scout.detection import checkpoints

    image = write_raster(tmp_path / "a.tif", painted_scene(300, 300, []))
    model = unet_model(tmp_path / "unet")
    free = shutil.disk_usage(tmp_path).free
    monkeypatch.setattr(checkpoints, "OUTPUT_BYTES", float(free))  # a byte count a pixel that no disk could hold
    with pytest.raises(OutputError, match=r"needs about .* GB of free disk .* is free; free some space or choose an --out on another disk"):
        detect([image], tmp_path / "run", model=model)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "unet.json", "unet.safetensors"]


def test_a_corrupt_flight_in_a_campaign_keeps_the_other_blocks_for_resume(tmp_path):
    """One flight of a campaign has a corrupt tile: the run stops naming it and keeps what is
    finished; once the flight is copied again, --resume redoes only the blocks that read it."""
    from affine import Affine

    from conftest import X0, Y0
    from scout.errors import ImageryError

    rng = np.random.default_rng(5)
    north = painted_scene(600, 900, [("poppy", 100, 100, 400, 500)])
    south = painted_scene(600, 900, [("cannabis", 100, 300, 400, 800)])
    north, south = (np.clip(a.astype(int) + rng.integers(-30, 30, a.shape), 0, 255).astype(np.uint8) for a in (north, south))
    image_a = write_raster(tmp_path / "flight-a.tif", north)
    good_b = tmp_path / "good" / "flight-b.tif"
    good_b.parent.mkdir()
    with rasterio.open(good_b, "w", driver="GTiff", width=900, height=600, count=3, dtype="uint8", crs="EPSG:32647",
                       transform=Affine(0.05, 0, X0, 0, -0.05, Y0 - 30), tiled=True, blockxsize=128, blockysize=128, compress="deflate") as dst:
        dst.write(south)
    with rasterio.open(good_b) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_3_2", "TIFF", bidx=1))
    raw = bytearray(good_b.read_bytes())
    raw[offset + 2 : offset + 40] = bytes(range(38))  # its deflate stream no longer decodes
    image_b = tmp_path / "flight-b.tif"
    image_b.write_bytes(bytes(raw))
    model = unet_model(tmp_path / "unet")
    settings = DetectSettings(thresholds={"*": 0.4}, block_tiles=1)
    whole = detect([image_a, good_b], tmp_path / "whole", model=model, settings=settings)

    out = tmp_path / "run"
    with pytest.raises(ImageryError, match=r"flight-b.tif: read failed .*IReadBlock failed.*; (\d+) finished block\(s\) are kept in .*--resume redoes only the blocks it touches"):
        detect([image_a, image_b], out, model=model, settings=settings)
    kept = len(list((tmp_path / ".run.partial" / "blocks").glob("block-*.npz")))
    assert kept > 0 and not out.exists()

    image_b.write_bytes(good_b.read_bytes())  # copied again
    resumed = detect([image_a, image_b], out, model=model, settings=settings, resume=True)
    run = json.loads((out / "run.json").read_text())
    assert 0 < run["resumed_blocks"] < kept  # the finished blocks that read flight-b were redone
    with rasterio.open(tmp_path / "whole/probability.tif") as a, rasterio.open(out / "probability.tif") as b:
        assert np.array_equal(a.read(), b.read()) and np.array_equal(a.dataset_mask(), b.dataset_mask())
    assert resumed.n_plots == whole.n_plots > 0


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    rng = np.random.default_rng(4)
    img = np.clip(painted_scene(900, 900, [("poppy", 100, 100, 400, 500)]).astype(int) + rng.integers(-30, 30, (3, 900, 900)), 0, 255)
    image = write_raster(tmp_path / "flight.tif", img.astype(np.uint8))
    model = unet_model(tmp_path / "unet")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SCOUT_BACKEND": "torch"}
    out = tmp_path / "run"
    first = subprocess.Popen(detect_cmd(image, model, out), env=env)
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / ".run.partial" / "blocks").glob("block-*.npz")) and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, "the first run finished before the second started; make the scene bigger"
    first.send_signal(signal.SIGSTOP)  # halfway, for as long as the second one takes
    try:
        # a --resume started while the first still runs would have written into its staging folder
        with pytest.raises(OutputError, match=rf"run: another scout detect \(process {first.pid}\) is writing this run"):
            detect([image], out, model=model, settings=DetectSettings(thresholds={"*": 0.4}, block_tiles=1), resume=True)
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0
    assert json.loads((out / "run.json").read_text())["complete"] is True
    assert not list(tmp_path.glob(".run.*"))  # neither the staging folder nor the lock is left
