"""Progress into a log file is lines, not a redrawn bar."""

from __future__ import annotations

import logging
import time

from scout import progress


def test_progress_into_a_log_file_is_one_line_per_status(caplog, monkeypatch):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)  # a line per update instead of every 30 s
    caplog.set_level(logging.INFO, logger="scout")
    with progress.bar(3, desc="tiles", unit="tile") as tiles:  # pytest's stderr is not a terminal
        for _ in range(3):
            tiles.update(1)
    lines = [r.getMessage() for r in caplog.records if r.name == "scout.progress"]
    assert [ln.split(" [")[0] for ln in lines] == ["tiles: 1/3", "tiles: 2/3", "tiles: 3/3"]
    assert all("tile/s]" in ln and "\r" not in ln for ln in lines)


def test_a_bar_inside_another_is_plain_lines_too(caplog, monkeypatch):
    """A footprint's strips inside the images bar: tqdm moved the cursor up, and log files read '[A' lines."""
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    caplog.set_level(logging.INFO, logger="scout")
    for _ in progress.track(range(2), total=2, desc="images"):
        list(progress.track(range(2), total=2, desc="footprint of a.tif"))
    lines = [r.getMessage().split(" [")[0] for r in caplog.records if r.name == "scout.progress"]
    strips = ["footprint of a.tif: 1/2", "footprint of a.tif: 2/2"]
    assert lines == [*strips, "images: 1/2", *strips, "images: 2/2"]


def test_quiet_shows_no_progress(caplog, monkeypatch):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    caplog.set_level(logging.ERROR, logger="scout")
    assert list(progress.track(range(3), total=3, desc="tiles")) == [0, 1, 2]
    assert not [r for r in caplog.records if r.name == "scout.progress"]


def test_a_resumed_run_starts_at_its_finished_tiles(caplog, monkeypatch):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    caplog.set_level(logging.INFO, logger="scout")
    with progress.bar(4, desc="tiles", unit="tile", initial=2) as tiles:
        tiles.update(1)
        tiles.update(1)
        # the resumed tiles are not in the rate, so the ETA is for what is left to run
        assert tiles.format_dict["n"] - tiles.format_dict["initial"] == 2
    lines = [r.getMessage().split(" [")[0] for r in caplog.records if r.name == "scout.progress"]
    assert lines == ["tiles: 2/4", "tiles: 3/4", "tiles: 4/4"]


def test_a_step_without_a_count_shows_it_is_alive(caplog, monkeypatch):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.05)
    caplog.set_level(logging.INFO, logger="scout")
    with progress.working("probability.tif: writing the COG"):
        time.sleep(0.3)
    lines = [r.getMessage() for r in caplog.records if r.name == "scout.progress"]
    assert lines[0] == "probability.tif: writing the COG ..."
    assert len(lines) >= 3 and all(ln.startswith("probability.tif: writing the COG: 00:0") and ln.endswith(" so far") for ln in lines[1:])
    n = len(lines)
    time.sleep(0.15)  # and it stops with the step
    assert len([r for r in caplog.records if r.name == "scout.progress"]) == n


def test_quiet_shows_no_step_either(caplog, monkeypatch):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.01)
    caplog.set_level(logging.ERROR, logger="scout")
    with progress.working("probability.tif: writing the COG"):
        time.sleep(0.05)
    assert not [r for r in caplog.records if r.name == "scout.progress"]
