#!/usr/bin/env python
"""How well do overlapping photos' georeferences agree?  Feature matches between every pair of
overlapping photos (OpenCV SIFT) are placed on the ground through each photo's own homography
(scout.frames); the distance between the two placements of one ground point is the
consistency error, in metres.

    pip install -e '.[measure]'      # opencv-python-headless
    python scripts/frames_consistency.py FOLDER [FOLDER ...] [--reduce 4] [--min-overlap 0.2] [--as-recorded]

Per pair: matches kept (fundamental-matrix RANSAC, so hills and trees are not forced onto a
plane), the median distance, the shift common to all matches (GPS, yaw), and the median
distance left once that shift is removed (lens, height, tilt).  Trees and roofs stand above the
ground the homography assumes, so their points differ by parallax, not error: medians are reported.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from scout.frames import geometry as g
from scout.frames.flight import place_flight

REDUCE_FLAGS = {1: 0, 2: 16, 4: 32, 8: 64}  # cv2.IMREAD_REDUCED_GRAYSCALE_N


def features(path: str, reduce: int, cv2):
    flags = (REDUCE_FLAGS[reduce] or cv2.IMREAD_GRAYSCALE) | cv2.IMREAD_IGNORE_ORIENTATION  # stored pixels, as scout places them
    image = cv2.imread(path, flags)
    keypoints, descriptors = cv2.SIFT_create(4000).detectAndCompute(image, None)
    corner_xy = (np.float32([k.pt for k in keypoints]) + 0.5) * reduce  # OpenCV: pixel centres at integers
    return keypoints, descriptors, corner_xy


def pair_errors(a, b, fa, fb, cv2) -> dict | None:
    (_, da, xa), (_, db, xb) = fa, fb
    if da is None or db is None or len(da) < 8 or len(db) < 8:
        return None
    matches = [m for m, n in cv2.BFMatcher().knnMatch(da, db, k=2) if m.distance < 0.75 * n.distance]
    if len(matches) < 12:
        return None
    pa, pb = xa[[m.queryIdx for m in matches]], xb[[m.trainIdx for m in matches]]
    _, inliers = cv2.findFundamentalMat(pa, pb, cv2.FM_RANSAC, 1.5 * max(1, REDUCE), 0.999)
    if inliers is None or inliers.sum() < 12:
        return None
    keep = inliers.ravel() > 0
    ga, gb = g.apply(a.homography, pa[keep]), g.apply(b.homography, pb[keep])
    d = gb - ga
    shift = np.median(d, axis=0)
    stated = np.hypot(a.position_error_m(ga), b.position_error_m(gb))  # 2DRMS of the difference of two placements
    return {
        "a": a.name, "b": b.name, "matches": int(keep.sum()),
        "median_m": round(float(np.median(np.hypot(*d.T))), 2),
        "p90_m": round(float(np.percentile(np.hypot(*d.T), 90)), 2),
        "shift_m": [round(float(v), 2) for v in shift],
        "after_shift_median_m": round(float(np.median(np.hypot(*(d - shift).T))), 2),
        "within_stated": round(float(np.mean(np.hypot(*d.T) <= stated)), 3),
        "stated_median_m": round(float(np.median(stated)), 2),
    }


REDUCE = 4


def main(argv: list[str] | None = None) -> int:
    global REDUCE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--reduce", type=int, default=4, choices=sorted(REDUCE_FLAGS), help="decode photos at 1/N for features")
    ap.add_argument("--min-overlap", type=float, default=0.2, help="pairs whose footprints share this share of the smaller one")
    ap.add_argument("--as-recorded", action="store_true", help="no yaw check: every photo as its metadata says")
    ap.add_argument("--json", type=Path, help="write every pair's numbers here")
    args = ap.parse_args(argv)
    try:
        import cv2
    except ImportError:
        sys.exit("needs OpenCV: pip install -e '.[measure]'")
    REDUCE = args.reduce
    everything = []
    for folder in args.folders:
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".tif", ".tiff"))
        frames = place_flight(paths, check_yaw=not args.as_recorded).used
        feats = {f.name: features(f.meta.path, args.reduce, cv2) for f in frames}
        rows = []
        for a, b in itertools.combinations(frames, 2):
            fa, fb = a.footprint, b.footprint
            if fa.intersection(fb).area < args.min_overlap * min(fa.area, fb.area):
                continue
            row = pair_errors(a, b, feats[a.name], feats[b.name], cv2)
            if row:
                rows.append(row)
                print(f"{folder.name} {row['a']} {row['b']}: {row['matches']} matches, median {row['median_m']} m "
                      f"(p90 {row['p90_m']}), common shift {row['shift_m']} m, {row['after_shift_median_m']} m after it; "
                      f"{row['within_stated'] * 100:.0f}% within the stated error ({row['stated_median_m']} m)")
        if rows:
            med = [r["median_m"] for r in rows]
            after = [r["after_shift_median_m"] for r in rows]
            print(f"== {folder.name}: {len(frames)} photos placed, {len(rows)} overlapping pairs matched: consistency error median "
                  f"{np.median(med):.2f} m (pairs' medians: min {min(med):.2f}, p90 {np.percentile(med, 90):.2f}, max {max(med):.2f}); "
                  f"after each pair's common shift: median {np.median(after):.2f} m; mean GSD {np.mean([f.gsd_m for f in frames]) * 100:.1f} cm; "
                  f"matches within the stated position_error_m of both photos: {np.average([r['within_stated'] for r in rows], weights=[r['matches'] for r in rows]) * 100:.0f}%")
        everything.extend({"folder": folder.name, **r} for r in rows)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
