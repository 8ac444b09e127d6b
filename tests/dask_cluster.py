"""A real dask cluster for tests (a ``dask scheduler`` and ``dask worker`` processes on loopback), and the
check that a run made on it equals the in-process run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio

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

    def client(self):
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

    def kill(self, *which: str) -> None:
        """``kill -9`` the "scheduler" or "worker0", "worker1"... with everything in its session (a worker's nanny too)."""
        for name in which:
            proc = self.procs[0 if name == "scheduler" else 1 + int(name.removeprefix("worker"))]
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


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
