"""Probabilities -> plot polygons, merged across tile, cell and block borders.

Each finalized window is labelled (per pixel: the most probable foreground class, if
over its threshold), its 4-connected components traced with ``rasterio.features.shapes``
in *global grid pixel coordinates* (integers, so pieces from neighbouring windows share
edges exactly) with their probability sums.  :func:`merge_fragments` joins pieces that
share an edge across windows and combines their statistics, so a plot split by any
border comes out as one polygon with the same confidence as if it had been traced whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from affine import Affine
from rasterio.features import shapes
from rasterio.windows import Window
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import shape


@dataclass
class Fragments:
    """Pieces of plots in grid pixel coordinates, with per-piece probability statistics (0-255)."""

    geoms: list[shapely.Geometry] = field(default_factory=list)
    class_idx: list[int] = field(default_factory=list)  # 0-based foreground class
    prob_sum: list[float] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    prob_max: list[int] = field(default_factory=list)
    window_id: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.geoms)


def label_classes(probs_u8: np.ndarray, valid: np.ndarray, thresholds_u8: np.ndarray) -> np.ndarray:
    """Per pixel 1 + index of the most probable foreground class when it reaches its threshold, else 0.

    A running maximum over classes (ties: the first class, as argmax): 3.5x faster than
    argmax over the class axis, which strides across planes."""
    best = np.zeros(probs_u8.shape[1:], np.uint8)
    top = probs_u8[0].copy()
    for k in range(1, probs_u8.shape[0]):
        best[probs_u8[k] > top] = k
        np.maximum(top, probs_u8[k], out=top)
    passed = (top >= thresholds_u8[best]) & (top > 0) & valid
    return np.where(passed, best + 1, 0).astype(np.uint8)


def trace_window(
    fragments: Fragments,
    probs_u8: np.ndarray,
    valid: np.ndarray,
    window: Window,
    thresholds_u8: np.ndarray,
    window_id: int,
) -> None:
    """Append the plot pieces of one window (``probs_u8``: (C, h, w) uint8) to ``fragments``."""
    labels = label_classes(probs_u8, valid, thresholds_u8)
    if not labels.any():
        return
    ids = np.zeros(labels.shape, np.int32)  # components of every class, numbered on from each other
    stats = [(-1, 0.0, 0, 0)]  # per id: class, probability sum, pixel count, max probability
    for k in range(probs_u8.shape[0]):
        comp, n = ndimage.label(labels == k + 1)
        if n == 0:
            continue
        # statistics over the labelled pixels only: plots are sparse, whole-window passes are not
        inside = comp > 0
        cid, values = comp[inside], probs_u8[k][inside]
        sums = np.bincount(cid, weights=values, minlength=n + 1)
        counts = np.bincount(cid, minlength=n + 1)
        maxima = np.zeros(n + 1, np.uint8)
        np.maximum.at(maxima, cid, values)
        ids[inside] = cid + (len(stats) - 1)
        stats.extend((k, float(sums[i]), int(counts[i]), int(maxima[i])) for i in range(1, n + 1))
    # one polygonization for all classes, over the rows and columns holding plots (it scans
    # every pixel it is given, however sparse the plots)
    rows, cols = np.flatnonzero(labels.any(axis=1)), np.flatnonzero(labels.any(axis=0))
    ids = ids[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    to_grid = Affine.translation(int(window.col_off) + int(cols[0]), int(window.row_off) + int(rows[0]))
    for geom, value in shapes(ids, mask=ids > 0, transform=to_grid):
        k, prob_sum, count, prob_max = stats[int(value)]
        fragments.geoms.append(shape(geom))
        fragments.class_idx.append(k)
        fragments.prob_sum.append(prob_sum)
        fragments.count.append(count)
        fragments.prob_max.append(prob_max)
        fragments.window_id.append(window_id)


@dataclass(frozen=True)
class PlotPixels:
    """Merged plots in grid pixel coordinates with their statistics (probabilities 0-1)."""

    geoms: np.ndarray
    class_idx: np.ndarray
    confidence: np.ndarray
    max_confidence: np.ndarray
    pixels: np.ndarray


def merge_fragments(fr: Fragments) -> PlotPixels:
    """Union pieces of one class that share an edge across windows; pool their statistics."""
    n = len(fr)
    if n == 0:
        empty = np.array([], dtype=float)
        return PlotPixels(np.array([], dtype=object), np.array([], dtype=int), empty, empty, np.array([], dtype=int))
    geoms = np.array(fr.geoms, dtype=object)
    cls = np.asarray(fr.class_idx)
    win = np.asarray(fr.window_id)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = (a < b) & (cls[a] == cls[b]) & (win[a] != win[b])
    a, b = a[keep], b[keep]
    if len(a):
        shared = shapely.length(shapely.intersection(geoms[a], geoms[b]))
        a, b = a[shared > 0], b[shared > 0]  # an edge, not a corner: 4-connectivity, as within a window
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    n_groups, group = connected_components(graph, directed=False)
    sums = np.bincount(group, weights=np.asarray(fr.prob_sum), minlength=n_groups)
    counts = np.bincount(group, weights=np.asarray(fr.count), minlength=n_groups)
    maxima = np.zeros(n_groups)
    np.maximum.at(maxima, group, np.asarray(fr.prob_max, dtype=float))
    out_geoms = np.empty(n_groups, dtype=object)
    out_cls = np.zeros(n_groups, dtype=int)
    order = np.argsort(group, kind="stable")
    for g, members in enumerate(np.split(order, np.cumsum(np.bincount(group, minlength=n_groups))[:-1])):
        out_geoms[g] = geoms[members[0]] if len(members) == 1 else shapely.union_all(geoms[members])
        out_cls[g] = cls[members[0]]
    return PlotPixels(out_geoms, out_cls, sums / counts / 255.0, maxima / 255.0, counts.astype(int))


def to_crs_coords(geoms: np.ndarray, transform: Affine) -> np.ndarray:
    """Grid pixel coordinates -> working-CRS coordinates."""
    t = transform
    return shapely.transform(
        geoms, lambda xy: np.column_stack([t.a * xy[:, 0] + t.b * xy[:, 1] + t.c, t.d * xy[:, 0] + t.e * xy[:, 1] + t.f])
    )
