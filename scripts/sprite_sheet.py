#!/usr/bin/env python
"""Contact sheet of the plant-by-plant sprites (scout.synth.plantwise): look at what the model learns from.

    PYTHONPATH=$PWD .venv/bin/python scripts/sprite_sheet.py --out sheet.png
    PYTHONPATH=$PWD .venv/bin/python scripts/sprite_sheet.py --out poppy.png --kinds poppy --variants 6

One row per kind (per stage for poppy and cannabis): the first sprite at the fine GSD, the same
object at the coarse GSD (shown enlarged, nearest neighbour, so its pixels can be seen), then
more variants at the fine GSD.  Sprites are composited over a plain grey-brown ground so alpha
shows; RGB = bands red, green, blue through a simple tone curve.  The CPU seconds each row's
fine sprites took (median) go to stderr.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from scout.synth import plantwise

GROUND = np.array([0.09, 0.10, 0.11, 0.2], np.float32)


def to_rgb(refl: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(4, h, w) reflectance over the ground, to (h, w, 3) uint8 (gain 3, gamma 2.2)."""
    img = refl * alpha + GROUND[:, None, None] * (1 - alpha)
    rgb = np.clip(img[[2, 1, 0]] * 3.0, 0, 1) ** (1 / 2.2)
    return (rgb.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)


def fit(img: np.ndarray, cell: int) -> np.ndarray:
    """Centre ``img`` in a cell x cell tile (cropped if larger)."""
    out = np.full((cell, cell, 3), 40, np.uint8)
    h, w = img.shape[:2]
    sh, sw = min(h, cell), min(w, cell)
    y0, x0 = (h - sh) // 2, (w - sw) // 2
    oy, ox = (cell - sh) // 2, (cell - sw) // 2
    out[oy: oy + sh, ox: ox + sw] = img[y0: y0 + sh, x0: x0 + sw]
    return out


def rows_to_draw(kinds: list[str]) -> list[tuple[str, str | None]]:
    rows: list[tuple[str, str | None]] = []
    for k in kinds:
        stages = {"poppy": plantwise.POPPY_STAGES, "cannabis": getattr(plantwise, "CANNABIS_STAGES", ())}.get(k, ())
        rows += [(k, s) for s in stages] if stages else [(k, None)]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--kinds", nargs="*", default=list(plantwise.KINDS))
    ap.add_argument("--variants", type=int, default=4, help="sprites per row at the fine GSD")
    ap.add_argument("--fine", type=float, default=0.05, help="fine GSD, metres")
    ap.add_argument("--coarse", type=float, default=0.5, help="coarse GSD, metres")
    ap.add_argument("--area", type=float, default=60.0, help="object area, square metres")
    ap.add_argument("--cell", type=int, default=240, help="tile size, pixels")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = rows_to_draw(args.kinds)
    cols = args.variants + 1
    label_h = 14
    sheet = Image.new("RGB", (cols * args.cell, len(rows) * (args.cell + label_h)), (25, 25, 25))
    draw = ImageDraw.Draw(sheet)
    for r, (kind, stage) in enumerate(rows):
        y = r * (args.cell + label_h)
        cpu = []
        for c in range(args.variants):
            seed = (args.seed, r, c)
            t0 = time.process_time()
            s = plantwise.render(np.random.default_rng(seed), kind, args.fine, args.area, stage=stage)
            cpu.append(time.process_time() - t0)
            x = (c + (c > 0)) * args.cell
            sheet.paste(Image.fromarray(fit(to_rgb(s.reflectance, s.alpha), args.cell)), (x, y + label_h))
            name = f"{kind}{'/' + stage if stage else ''} {args.fine:g} m" if c == 0 else ""
            draw.text((x + 3, y + 1), name, fill=(230, 230, 230))
            if c == 0:
                coarse = plantwise.render(np.random.default_rng(seed), kind, args.coarse, args.area, stage=stage)
                big = to_rgb(coarse.reflectance, coarse.alpha)
                zoom = max(1, math.floor(args.coarse / args.fine))
                big = big.repeat(zoom, 0).repeat(zoom, 1)
                sheet.paste(Image.fromarray(fit(big, args.cell)), (args.cell, y + label_h))
                draw.text((args.cell + 3, y + 1), f"same at {args.coarse:g} m", fill=(230, 230, 230))
        print(f"{kind + ('/' + stage if stage else ''):22s} {args.area:g} m2 at {args.fine:g} m: {np.median(cpu):.2f} s CPU (median of {len(cpu)})", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)


if __name__ == "__main__":
    main()
