import numpy as np
from rasterio.windows import Window

from scout.vectorize import Fragments, label_classes, merge_fragments, trace_window


def test_label_picks_most_probable_class_over_threshold():
    probs = np.array([[[200, 100, 0]], [[50, 180, 0]]], np.uint8)  # 2 classes, 1 x 3 px
    labels = label_classes(probs, np.ones((1, 3), bool), np.array([128, 200], np.uint8))
    assert labels.tolist() == [[1, 0, 0]]  # px 1: class 2 is top but under its threshold


def _split_trace(probs: np.ndarray, cut_rows: list[int], cut_cols: list[int]) -> Fragments:
    fr = Fragments()
    thr = np.array([128, 128], np.uint8)
    rows = [0, *cut_rows, probs.shape[1]]
    cols = [0, *cut_cols, probs.shape[2]]
    wid = 0
    for r0, r1 in zip(rows[:-1], rows[1:]):
        for c0, c1 in zip(cols[:-1], cols[1:]):
            win = Window(c0, r0, c1 - c0, r1 - r0)
            trace_window(fr, probs[:, r0:r1, c0:c1], np.ones((r1 - r0, c1 - c0), bool), win, thr, wid)
            wid += 1
    return fr


def test_plot_split_by_window_borders_merges_into_one_with_pooled_stats():
    probs = np.zeros((2, 40, 40), np.uint8)
    probs[0, 5:30, 8:35] = 200  # one poppy plot, an L shape crossing both cuts
    probs[0, 5:12, 8:20] = 250
    probs[0, 20:30, 8:20] = 0
    whole = merge_fragments(_split_trace(probs, [], []))
    split = merge_fragments(_split_trace(probs, [10, 17], [15, 22]))
    assert len(whole.geoms) == len(split.geoms) == 1
    assert split.geoms[0].equals(whole.geoms[0])
    assert split.pixels[0] == whole.pixels[0] == int((probs[0] >= 128).sum())
    assert np.isclose(split.confidence[0], whole.confidence[0]) and split.max_confidence[0] == 250 / 255


def test_diagonal_touch_across_a_border_stays_two_plots_and_classes_never_merge():
    probs = np.zeros((2, 20, 20), np.uint8)
    probs[0, 0:10, 0:10] = 255  # two poppy squares touching only at a corner (10, 10)
    probs[0, 10:20, 10:20] = 255
    probs[1, 0:10, 10:20] = 255  # a cannabis square sharing an edge with a poppy square
    merged = merge_fragments(_split_trace(probs, [10], [10]))
    assert sorted(merged.class_idx.tolist()) == [0, 0, 1]


def test_no_pixels_no_plots():
    merged = merge_fragments(Fragments())
    assert len(merged.geoms) == 0 and merged.confidence.dtype == float
