"""Check photos' recorded yaw against their neighbours' pixels: catch a yaw 180° off.

A Phantom 3 flight in the test data records, on every strip flown back, a gimbal and aircraft
yaw 180° off the way the camera pointed (the photos of both strips show the ground the same way
up).  A nadir footprint turned 180° is the same rectangle, so nothing in the metadata shows it,
yet every plot in those photos would land mirrored through the photo's centre (up to the
footprint's diagonal away).  Overlapping photos settle it: placed right, their shared ground
looks alike; with either placed turned, it does not (two consecutive photos both turned still
disagree, by twice their baseline).  Each pair is scored for the four ways its two photos may be
turned (normalised cross-correlation of their overlap on a coarse ground grid), and each photo
takes the turn its pairs agree on best.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine

from scout.frames.warp import warp_to_grid

log = logging.getLogger(__name__)

MIN_SHARED = 0.25  # pairs whose footprints share this share of the smaller one are compared
MIN_PIXELS = 400  # fewer shared valid pixels on the coarse grid: no score
MAX_PIXELS = 20_000  # a larger shared area is compared on a coarser grid
MIN_GAIN = 0.15  # a photo is turned only when that raises its pairs' mean correlation by this much
MIN_AGREE = 0.3  # ... to at least this (photos placed right correlate 0.4-0.9 on the coarse grid)


@dataclass(frozen=True)
class Thumbnail:
    """A photo shrunk to a grey (h, w) array, and the map from stored pixels to its pixels."""

    pixels: np.ndarray
    from_stored: np.ndarray  # 3x3


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two equal-length samples (-1..1; 0 when either is flat)."""
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def pair_scores(placed: Sequence[np.ndarray], thumbs: Sequence[Thumbnail], area: shapely.Geometry, gsd_m: float) -> np.ndarray:
    """(2, 2) correlation of two photos' shared ``area`` on a ``gsd_m`` grid (coarser for a large area), for each photo as
    recorded (0) or turned (1).  ``placed``: for each photo, its two pixel->ground homographies
    (as recorded, turned), stacked (2, 3, 3).  NaN where too little is shared."""
    x0, y0, x1, y1 = area.bounds
    gsd_m = max(gsd_m, ((x1 - x0) * (y1 - y0) / MAX_PIXELS) ** 0.5)
    w, h = max(1, int((x1 - x0) / gsd_m)), max(1, int((y1 - y0) / gsd_m))
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    xy = np.column_stack(Affine(gsd_m, 0, x0, 0, -gsd_m, y1) * (cols.ravel(), rows.ravel()))
    samples = []
    for homographies, thumb in zip(placed, thumbs):
        per_turn = []
        for hom in homographies:
            data, valid = warp_to_grid(thumb.pixels[None].astype(np.float32), thumb.from_stored @ np.linalg.inv(hom), xy, (h, w))
            per_turn.append((data[0].ravel(), valid.ravel()))
        samples.append(per_turn)
    scores = np.full((2, 2), np.nan)
    for i, j in itertools.product(range(2), range(2)):
        (a, va), (b, vb) = samples[0][i], samples[1][j]
        both = va & vb
        if both.sum() >= MIN_PIXELS:
            scores[i, j] = ncc(a[both], b[both])
    return scores


def choose_turns(n: int, scores: dict[tuple[int, int], np.ndarray], min_gain: float = MIN_GAIN, min_agree: float = MIN_AGREE) -> list[bool]:
    """Which of ``n`` photos to turn, given pair scores ``{(i, j): (2, 2)}``.

    Turns spread from the most decisive pair to its neighbours (each photo takes the turn that
    best fits the photos already settled), so a whole strip, or a whole flight, recorded 180°
    off is found too.  Then each photo keeps its record unless turning it raises the mean
    score of its pairs by ``min_gain`` to at least ``min_agree``: weak evidence (water, or
    photos misplaced by more than the ground's texture) changes nothing."""
    links: dict[int, dict[int, np.ndarray]] = {}
    for (i, j), s in scores.items():
        if np.isfinite(s).any():
            s = np.nan_to_num(s, nan=-1.0)
            links.setdefault(i, {})[j] = s
            links.setdefault(j, {})[i] = s.T
    turned = [False] * n
    settled: set[int] = set()

    def fit(k: int, turn: bool, among: set[int] | None = None) -> float:
        values = [s[int(turn), int(turned[j])] for j, s in links.get(k, {}).items() if among is None or j in among]
        return float(np.mean(values)) if values else np.nan

    while len(settled) < len(links):
        frontier = [k for k in links if k not in settled and settled.intersection(links[k])]
        if frontier:  # the photo most tied to the settled ones
            k = max(frontier, key=lambda q: len(settled.intersection(links[q])))
            turned[k] = fit(k, True, settled) > fit(k, False, settled)
            settled.add(k)
            continue
        # a new group: seed it with its most decisive pair
        i, j = max(((i, j) for i in links if i not in settled for j in links[i]), key=lambda p: np.ptp(links[p[0]][p[1]]))
        ti, tj = np.unravel_index(np.argmax(links[i][j]), (2, 2))
        turned[i], turned[j] = bool(ti), bool(tj)
        settled.update((i, j))
    for _ in range(n):
        changed = False
        for k in links:
            keep = fit(k, turned[k])
            other = fit(k, not turned[k])
            turned_fit, recorded_fit = (other, keep) if not turned[k] else (keep, other)
            want = turned_fit - recorded_fit >= min_gain and turned_fit >= min_agree
            if want != turned[k]:
                turned[k], changed = want, True
        if not changed:
            break
    return turned


def overlapping_pairs(footprints: Sequence[shapely.Geometry], min_shared: float = MIN_SHARED) -> list[tuple[int, int, shapely.Geometry]]:
    """Pairs of footprints sharing ``min_shared`` of the smaller one, with the shared area."""
    tree = shapely.STRtree(footprints)
    left, right = tree.query(footprints, predicate="intersects")
    pairs = []
    for i, j in zip(left, right):
        if i < j:
            shared = footprints[i].intersection(footprints[j])
            if shared.area >= min_shared * min(footprints[i].area, footprints[j].area):
                pairs.append((int(i), int(j), shared))
    return pairs
