"""Progress on stderr (done / total, rate, ETA), silenced by ``--quiet``.

Library code wraps long loops in :func:`track`; whether anything is shown follows the
``scout`` logger: at INFO or below progress is drawn, above it (``--quiet``) nothing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def enabled() -> bool:
    return logging.getLogger("scout").isEnabledFor(logging.INFO)


def track(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    """Iterate ``items`` with a progress bar on stderr when progress is enabled."""
    if not enabled():
        yield from items
        return
    yield from tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=1.0, dynamic_ncols=True, leave=False)


def bar(total: int, desc: str = "", unit: str = "it") -> tqdm:
    """A manual progress bar (``.update(n)``); disabled when progress is off."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=1.0, dynamic_ncols=True, leave=False, disable=not enabled())
