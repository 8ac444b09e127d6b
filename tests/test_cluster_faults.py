"""A dask cluster failing under a run (issue 17, case 4): a real scheduler and workers on loopback,
killed with SIGKILL once the run has checkpointed its first block.

A lost scheduler or the loss of every worker ends the run in one line, exit 2, that says how to
finish it (``--resume``, which then gives the uninterrupted run's outputs); a lost worker is
survived, and said in the log.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import linear_model, painted_scene, write_raster
from dask_cluster import Cluster, assert_same_run
from scout.cli import _register, cli
from scout.detection import executor

_register()

RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def flight(tmp_path_factory) -> dict[str, Path]:
    """A 120 m flight in ~80 blocks (the model is the fast linear one: blocks are many, not slow), and its in-process run."""
    d = tmp_path_factory.mktemp("faults")
    image = write_raster(d / "flight.tif", painted_scene(2400, 2400, [("poppy", 380, 150, 520, 1050), ("cannabis", 1500, 420, 2000, 900)]))
    model = linear_model(d / "linear")
    reference = d / "reference"
    assert CliRunner().invoke(cli, detect_args(image, reference, model, "-q")).exit_code == 0
    return {"image": image, "model": model, "reference": reference}


def detect_args(image: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return ["detect", str(image), "--out", str(out), "--model", str(model), "--block-tiles", "2", *extra]


def first_checkpoint(out: Path, running) -> None:
    """Wait until the run has checkpointed a block: it is under way, with most blocks still to run."""
    staged = out.parent / f".{out.name}.partial" / "blocks"
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not any(staged.glob("block-*.npz")):
        assert running(), "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no block was checkpointed"
        time.sleep(0.01)


def kill_mid_run(flight: dict[str, Path], work: Path, *victims: str, quiet: bool = True) -> tuple[int, str, Path]:
    """``scout detect`` in a process of its own (its real stderr) on a fresh cluster whose ``victims``
    are killed once the first block is checkpointed: (exit code, stderr, run folder)."""
    cluster = Cluster(work)
    out = work / "run"
    try:
        args = detect_args(flight["image"], out, flight["model"], "--scheduler", cluster.address, *(["-q"] if quiet else []))
        proc = subprocess.Popen([sys.executable, "-m", "scout.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first_checkpoint(out, lambda: proc.poll() is None)
        cluster.kill(*victims)
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        cluster.stop()
    return proc.returncode, stderr, out


def resume_in_process(flight: dict[str, Path], out: Path) -> None:
    result = CliRunner().invoke(cli, detect_args(flight["image"], out, flight["model"], "--resume", "-q"))
    assert result.exit_code == 0, result.output
    assert_same_run(flight["reference"], out)


def assert_one_line_with_the_resume_hint(stderr: str, out: Path) -> None:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("scout: error: ") and "--resume" in lines[0] and f".{out.name}.partial" in lines[0], lines[0]


def test_scheduler_killed_mid_run_is_one_line_and_resume_finishes_it(flight, tmp_path):
    code, stderr, out = kill_mid_run(flight, tmp_path, "scheduler")
    assert code == 2, stderr
    assert_one_line_with_the_resume_hint(stderr, out)
    resume_in_process(flight, out)


def test_every_worker_killed_mid_run_is_one_line_and_resume_finishes_it(flight, tmp_path, monkeypatch):
    monkeypatch.setattr(executor, "WORKER_WAIT_S", 2)  # how long a run waits for a worker to come back
    cluster = Cluster(tmp_path)
    out = tmp_path / "run"
    result = []
    try:
        args = detect_args(flight["image"], out, flight["model"], "--scheduler", cluster.address, "-q")
        run = threading.Thread(target=lambda: result.append(CliRunner().invoke(cli, args)), daemon=True)
        run.start()
        first_checkpoint(out, run.is_alive)
        cluster.kill("worker0", "worker1")
        run.join(RUN_TIMEOUT_S)
        assert not run.is_alive(), "the run still waits for workers that are gone"
    finally:
        cluster.stop()
    assert result[0].exit_code == 2, result[0].output
    assert_one_line_with_the_resume_hint(result[0].output, out)
    resume_in_process(flight, out)


def test_a_lost_worker_is_survived_and_said_in_the_log(flight, tmp_path):
    code, stderr, out = kill_mid_run(flight, tmp_path, "worker0", quiet=False)
    assert code == 0, stderr
    log = stderr.replace(str(tmp_path), "RUN")  # the test's own folder name says "lost"
    assert any("worker" in ln and "lost" in ln for ln in log.splitlines()), stderr
    assert "Traceback" not in stderr
    assert_same_run(flight["reference"], out)
