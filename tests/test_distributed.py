"""Distributed detection: a real ``dask scheduler`` and two ``dask worker`` processes on loopback.

Workers read the imagery themselves and send back blended blocks; the run folder must be
identical to the in-process run (same plot ids and geometries, same probability pixels).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import torch
from click.testing import CliRunner

from conftest import linear_model, painted_scene, write_raster
from scout import executor
from scout.cli import _register, cli
from scout.inference import backend, cpu_count, worker_threads
from scout.model import ModelCard, build_network, save_model

_register()

DASK = Path(sys.executable).with_name("dask")
START_TIMEOUT_S = 60


class Cluster:
    """A scheduler and 2 single-thread workers started as real processes; ``address`` waits for them."""

    def __init__(self, work: Path, workers: int = 2) -> None:
        self.work = work
        self.procs: list[subprocess.Popen] = []
        self._address: str | None = None
        sched_file = work / "scheduler.json"
        self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file), log="scheduler.log")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert self.procs[0].poll() is None, (work / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "dask scheduler did not start"
            time.sleep(0.1)
        self.scheduler = json.loads(sched_file.read_text())["address"]
        for k in range(workers):
            self._start("worker", self.scheduler, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                        "--local-directory", str(work / f"w{k}"), log=f"worker{k}.log")

    def _start(self, *args: str, log: str) -> None:
        with open(self.work / log, "wb") as out:
            self.procs.append(subprocess.Popen([str(DASK), *args], stdout=out, stderr=subprocess.STDOUT, cwd=self.work, start_new_session=True))

    def client(self):  # noqa: ANN201
        from distributed import Client

        return Client(self.scheduler, timeout="20s")

    @property
    def address(self) -> str:
        if self._address is None:
            with self.client() as client:
                client.wait_for_workers(2, timeout=START_TIMEOUT_S)
            self._address = self.scheduler
        return self._address

    def stop(self) -> None:
        """End the processes we started and everything in their sessions (a nanny's worker child)."""
        for proc in reversed(self.procs):
            if proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


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


def assert_same_run(a: Path, b: Path) -> None:
    pa, pb = (gpd.read_file(r / "plots.gpkg", layer="plots") for r in (a, b))
    assert list(pa["plot_id"]) == list(pb["plot_id"])
    assert all(g1.equals_exact(g2, 0) for g1, g2 in zip(pa.geometry, pb.geometry))
    with rasterio.open(a / "probability.tif") as sa, rasterio.open(b / "probability.tif") as sb:
        assert sa.shape == sb.shape and sa.transform == sb.transform
        np.testing.assert_array_equal(sa.read(), sb.read())
        np.testing.assert_array_equal(sa.dataset_mask(), sb.dataset_mask())
    ja, jb = (json.loads((r / "run.json").read_text()) for r in (a, b))
    assert ja["counts"] == jb["counts"] and ja["counts"]["blocks"] > 4


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
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1 and "plots" in result.stderr, result.stderr  # the summary, no dask chatter


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
