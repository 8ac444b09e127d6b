"""Progress on stderr (done / total, rate, ETA), silenced by ``--quiet``.

Library code wraps long loops in :func:`track`; whether anything is shown follows the
``scout`` logger: at INFO or below progress is drawn, above it (``--quiet``) nothing.  On a
terminal it is a redrawn bar; into a log file (a cluster job, cron) it is a log line every 30 s
("tiles: 120/298 [00:37<00:55, 3.20tile/s]"), not carriage returns.  A step with nothing to
count shows its elapsed time instead (:func:`working`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

log = logging.getLogger(__name__)

LOG_EVERY_S = 30.0
"""Seconds between progress lines in a log file."""


_CURSOR_MOVES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _LogLines(io.TextIOBase):
    """Where tqdm writes when stderr is not a terminal: each status becomes one log line."""

    def write(self, text: str) -> int:
        status = _CURSOR_MOVES.sub("", text).strip("\r\n ")  # a bar inside another (a footprint's strips in the images) moves the cursor
        if status and not status.split(": ", 1)[-1].startswith("0/"):  # not the bar's opening 0/N
            log.info("%s", status)
        return len(text)


def _output() -> dict:
    if sys.stderr.isatty():
        return {"file": sys.stderr, "mininterval": 1.0, "dynamic_ncols": True}
    return {"file": _LogLines(), "mininterval": LOG_EVERY_S, "bar_format": "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]"}


def enabled() -> bool:
    return logging.getLogger("scout").isEnabledFor(logging.INFO)


def track(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    """Iterate ``items`` with a progress bar on stderr when progress is enabled."""
    if not enabled():
        yield from items
        return
    yield from tqdm(items, total=total, desc=desc, unit=unit, leave=False, **_output())


def bar(total: int, desc: str = "", unit: str = "it", initial: int = 0) -> tqdm:
    """A manual progress bar (``.update(n)``); disabled when progress is off.  ``initial`` is
    done before it starts (a resumed run's tiles): counted, but not in the rate or ETA."""
    return tqdm(total=total, desc=desc, unit=unit, leave=False, initial=initial, disable=not enabled(), **_output())


@contextlib.contextmanager
def working(desc: str) -> Iterator[None]:
    """A step with nothing to count (GDAL writing a COG: rasterio does not expose its progress)
    shows how long it has run, so a long one is seen to be alive: a line redrawn every second on
    a terminal, a log line at the start and every :data:`LOG_EVERY_S` s into a log file; nothing
    when quiet."""
    if not enabled():
        yield
        return
    tty = sys.stderr.isatty()
    width = shutil.get_terminal_size().columns - 1  # a longer line would wrap, and \r redraw only its last row
    t0, stop = time.monotonic(), threading.Event()

    def show() -> None:
        elapsed = tqdm.format_interval(time.monotonic() - t0)
        if tty:
            line = f"{desc[: max(0, width - len(elapsed) - 2)]}: {elapsed}"  # the time stays when the name is cut
            sys.stderr.write("\r" + line.ljust(width))  # spaces, not ANSI codes: any console
            sys.stderr.flush()
        else:
            log.info("%s: %s so far", desc, elapsed)

    def beat() -> None:
        while not stop.wait(1.0 if tty else LOG_EVERY_S):
            show()

    if tty:
        show()
    else:
        log.info("%s ...", desc)
    thread = threading.Thread(target=beat, name="scout-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if tty:
            sys.stderr.write("\r" + " " * width + "\r")
            sys.stderr.flush()
