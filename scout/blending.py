"""Pure blending: weighted windows, tile accumulation, and seamless assembly of blocks.

Overlapping predictions are blended as Raster Vision does: accumulate ``score * weight``
and ``weight`` per pixel, then divide; never last-write-wins.  The weight ramps linearly
over the overlap at every tile edge, so a pixel near one tile's edge (where the network
saw padding) takes its value mostly from the neighbour that saw it whole.

Blocks overlap their neighbours by one tile overlap.  :class:`Assembler` cuts the grid
into cells at every block edge; a cell covered by one block is final as soon as that
block arrives, a shared strip or corner once all its blocks have arrived.  So the output
equals blending the whole raster at once (to one uint16 step, see :func:`pack`), in any
block order, with memory bounded by the blocks in flight and the strips waiting for a
neighbour.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from rasterio.windows import Window


def ramp(size: int, overlap: int) -> np.ndarray:
    """1-D weights of length ``size``: linear over ``overlap`` px at both ends, 1 inside, > 0 everywhere."""
    i = np.arange(size, dtype=np.float32) + 0.5
    if overlap <= 0:
        return np.ones(size, np.float32)
    return np.minimum(1.0, np.minimum(i, size - i) / overlap).astype(np.float32)


def weight_window(size: int, overlap: int) -> np.ndarray:
    """2-D tile weights (size x size), the outer product of two ramps."""
    r = ramp(size, overlap)
    return np.outer(r, r)


def accumulate(
    block_window: Window,
    tile_windows: Iterable[Window],
    tile_probs: np.ndarray,
    weights: np.ndarray,
    valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum weighted tile probabilities over a block.

    ``tile_probs``: (N, C, t, t); ``weights``: (t, t); ``valid``: (h, w) bool over the block
    (nodata, outside AOI -> False).  Returns (sums (C, h, w), weight sums (h, w)) with zero
    weight wherever the block is invalid.
    """
    h, w = int(block_window.height), int(block_window.width)
    sums = np.zeros((tile_probs.shape[1], h, w), np.float32)
    wsum = np.zeros((h, w), np.float32)
    for win, probs in zip(tile_windows, tile_probs):
        r = int(win.row_off - block_window.row_off)
        c = int(win.col_off - block_window.col_off)
        th, tw = probs.shape[1:]
        sums[:, r : r + th, c : c + tw] += probs * weights
        wsum[r : r + th, c : c + tw] += weights
    wsum *= valid
    sums *= valid
    return sums, wsum


def finalize(sums: np.ndarray, wsum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blended probabilities (C, h, w) float32 and the valid mask (weight > 0)."""
    valid = wsum > 0
    probs = np.zeros(sums.shape, np.float32)
    np.divide(sums, wsum, out=probs, where=valid)
    return probs, valid


P_STEPS = 65535  # a block's blended probability travels as uint16 steps of 1 / P_STEPS


def pack(sums: np.ndarray, wsum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A block's blend as it travels and is checkpointed: probabilities (C, h, w) uint16, weight sums float32.

    Not float16 sums: they are mostly subnormal (a background probability times an edge
    weight), and numpy converts those one value at a time, raising an FP underflow each:
    20x the time of this, and a uint16 step (1.5e-5) is finer than float16 near 1.
    """
    probs, _ = finalize(sums, wsum)
    np.multiply(probs, P_STEPS, out=probs)
    return np.rint(probs, out=probs).astype(np.uint16), wsum.astype(np.float32, copy=False)


def unpack(probs: np.ndarray, wsum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (C, h, w) float32 and the valid mask of a packed blend."""
    return np.multiply(probs, np.float32(1 / P_STEPS), dtype=np.float32), wsum > 0


@dataclass
class _Pending:
    parts: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # block id -> packed (probs, wsum)

    def total(self) -> tuple[np.ndarray, np.ndarray]:
        """Blend in block-id order, so the result does not depend on arrival order (to the bit)."""
        sums, wsum = None, None
        for i in sorted(self.parts):
            probs, w = self.parts[i]
            part = probs * (w * np.float32(1 / P_STEPS))  # float32: weighted probabilities
            sums, wsum = (part, w.copy()) if sums is None else (sums + part, wsum + w)
        assert sums is not None and wsum is not None, "a block is blended once it has parts"
        return finalize(sums, wsum)


@dataclass
class Assembler:
    """Collects packed block results in any order and emits each cell of the grid once it is final.

    ``emit(window, probs, valid)`` receives a final cell in grid pixels: blended
    probabilities (C, h, w) float32 and its valid mask.
    """

    windows: dict[int, Window]
    emit: Callable[[Window, np.ndarray, np.ndarray], None]
    _xcuts: list[int] = field(init=False)
    _ycuts: list[int] = field(init=False)
    _expected: dict[tuple[int, int], int] = field(init=False, default_factory=dict)
    _pending: dict[tuple[int, int], _Pending] = field(init=False, default_factory=dict)
    _done: set[int] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._xcuts = sorted({int(v) for w in self.windows.values() for v in (w.col_off, w.col_off + w.width)})
        self._ycuts = sorted({int(v) for w in self.windows.values() for v in (w.row_off, w.row_off + w.height)})
        for w in self.windows.values():
            for key in self._cells(w):
                self._expected[key] = self._expected.get(key, 0) + 1

    def _cells(self, w: Window) -> list[tuple[int, int]]:
        i0, i1 = bisect.bisect_left(self._ycuts, w.row_off), bisect.bisect_left(self._ycuts, w.row_off + w.height)
        j0, j1 = bisect.bisect_left(self._xcuts, w.col_off), bisect.bisect_left(self._xcuts, w.col_off + w.width)
        return [(i, j) for i in range(i0, i1) for j in range(j0, j1)]

    def cell_window(self, key: tuple[int, int]) -> Window:
        i, j = key
        return Window(self._xcuts[j], self._ycuts[i], self._xcuts[j + 1] - self._xcuts[j], self._ycuts[i + 1] - self._ycuts[i])

    def add(self, block_id: int, probs: np.ndarray, wsum: np.ndarray) -> None:
        """Add one block's :func:`pack`-ed blend over ``windows[block_id]``."""
        if block_id in self._done:
            raise ValueError(f"block {block_id} added twice")
        self._done.add(block_id)
        bw = self.windows[block_id]
        for key in self._cells(bw):
            cw = self.cell_window(key)
            r, c = int(cw.row_off - bw.row_off), int(cw.col_off - bw.col_off)
            s = probs[:, r : r + int(cw.height), c : c + int(cw.width)]
            ws = wsum[r : r + int(cw.height), c : c + int(cw.width)]
            if self._expected[key] == 1:
                self.emit(cw, *unpack(s, ws))
                continue
            pend = self._pending.setdefault(key, _Pending())
            pend.parts[block_id] = (s.copy(), ws.copy())
            if len(pend.parts) == self._expected[key]:
                del self._pending[key]
                self.emit(cw, *pend.total())

    @property
    def complete(self) -> bool:
        return len(self._done) == len(self.windows) and not self._pending
