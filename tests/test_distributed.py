"""Distributed detection: a real ``dask scheduler`` and two ``dask worker`` processes on loopback.

Workers read the imagery themselves and send back blended blocks; the run folder must be
identical to the in-process run (same plot ids and geometries, same probability pixels).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import torch
from click.testing import CliRunner

from conftest import linear_model, painted_scene, write_raster
from dask_cluster import Cluster, assert_same_run
from scout.cli import _register, cli
from scout.detection import executor
from scout.inference import backend, cpu_count, worker_threads
from scout.model import ModelCard, build_network, save_model

_register()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask"))  # workers boot while the reference runs in-process
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    """A 60 m x 60 m flight with plots across tile and block borders."""
    img = painted_scene(1200, 1200, [("poppy", 380, 150, 520, 1050), ("cannabis", 150, 420, 1000, 500), ("poppy", 900, 900, 1100, 1150)])
    return write_raster(tmp_path_factory.mktemp("scene") / "flight.tif", img)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """The linear test model (exact output) and a small random U-Net (real receptive field, float sums)."""
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    arch = {"name": "unet", "base_channels": 8, "depth": 2}
    card = ModelCard(name="unet", version="test", classes=("background", "poppy", "cannabis"), bands=("red", "green", "blue"), gsd_m=0.1,
                     tile_size=128, normalization={"scale": {"uint8": 255.0}, "mean": [0.4] * 3, "std": [0.2] * 3}, architecture=arch)
    save_model(build_network(arch, 3, 3).eval(), card, d / "unet")
    return {"linear": linear_model(d / "linear-rgb"), "unet": d / "unet"}


def detect_cli(image: Path, out: Path, model: Path, *extra: str) -> Path:
    result = CliRunner().invoke(cli, ["detect", str(image), "--out", str(out), "--model", str(model), "--block-tiles", "2", "-q", *extra])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def reference(cluster, scene, models, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("ref")
    return {name: detect_cli(scene, out / name, model) for name, model in models.items()}


def test_existing_cluster_gives_the_in_process_result(cluster, scene, models, reference, tmp_path):
    run = detect_cli(scene, tmp_path / "run", models["linear"], "--scheduler", cluster.address)
    assert_same_run(reference["linear"], run)
    assert len(gpd.read_file(run / "plots.gpkg", layer="plots")) == 4  # the cannabis strip cuts the long poppy strip in two


@pytest.mark.skipif(backend("cpu") != "onnxruntime", reason="needs onnx + onnxruntime: torch's CPU sums change with the thread count")
def test_cluster_unet_is_bit_identical_with_onnxruntime(cluster, scene, models, reference, tmp_path):
    # in-process inference uses every core; each worker here runs one thread
    assert_same_run(reference["unet"], detect_cli(scene, tmp_path / "run", models["unet"], "--scheduler", cluster.address))


def test_workers_share_the_host_cores(cluster, scene, models, tmp_path):
    from scout.inference import _dask_host_task_threads, inference_threads

    detect_cli(scene, tmp_path / "run", models["linear"], "--scheduler", cluster.address)
    with cluster.client() as client:
        assert client.submit(_dask_host_task_threads, pure=False).result() == 2  # two 1-thread workers on 127.0.0.1
        threads = client.run(inference_threads)
    assert sorted(threads.values()) == [worker_threads(cpu_count(), 2)] * 2


def test_local_worker_pool_gives_the_in_process_result_quietly(scene, models, reference, tmp_path):
    # a real process: distributed logs through its own loggers, which CliRunner would not see;
    # dask's default dashboard port is taken, as by another run on the same host
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "scout.cli", "-q", "detect", str(scene), "--out", str(run), "--model", str(models["linear"]), "--block-tiles", "2", "--workers", "2"]
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):  # already taken: as good
            stack.enter_context(socket.create_server(("127.0.0.1", 8787)))
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_same_run(reference["linear"], run)
    summary, *rest = result.stderr.splitlines()
    assert result.stdout == "" and "plots" in summary and all(r.startswith("warning: ") for r in rest), result.stderr  # the summary and its warnings, no dask chatter


@pytest.mark.slow
def test_unreachable_scheduler_is_one_line_exit_2(scene, models, tmp_path):
    # slow: the client retries for its whole connect timeout
    result = CliRunner().invoke(cli, ["detect", str(scene), "--out", str(tmp_path / "run"), "--model", str(models["linear"]), "--scheduler", "tcp://127.0.0.1:1", "-q"])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "tcp://127.0.0.1:1" in result.output
    assert not (tmp_path / "run").exists()


def test_scheduler_without_workers_is_one_line_exit_2(scene, models, tmp_path, monkeypatch):
    empty = Cluster(tmp_path, workers=0)
    try:
        monkeypatch.setattr(executor, "WORKER_WAIT_S", 1)  # the wait for late workers, not the outcome
        result = CliRunner().invoke(cli, ["detect", str(scene), "--out", str(tmp_path / "run"), "--model", str(models["linear"]),
                                          "--scheduler", empty.scheduler, "-q"])
    finally:
        empty.stop()
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"scout: error: {empty.scheduler}: the dask scheduler has no workers; start some with 'dask worker {empty.scheduler}'"
    assert not (tmp_path / "run").exists() and not (tmp_path / ".run.partial").exists()
