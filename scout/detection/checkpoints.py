"""Finished blocks kept on disk while a run lasts, so ``--resume`` recomputes only the rest.

A checkpoint is named by a key of what its block read (AOI, grid, model and the images under
it, with their size and time): a block is never reused after its inputs changed, and a
campaign with one flight copied again redoes only that flight's blocks.  The same inputs give
the run's fingerprint, which a finished run keeps in run.json.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from shapely import STRtree

from scout.detection.blocks import BlockResult, DetectPlan, block_box
from scout.errors import OutputError
from scout.io import atomic_path, sha256_file
from scout.model.files import find_model_files
from scout.tiling import Block

CHECKPOINTS = "blocks"
"""Folder of block checkpoints inside the staging folder."""
CHECKPOINT_FORMAT = "probs-uint16/wsum-float32/descriptors"  # what a block-*.npz holds (scout.blending.pack; scout.domain)
CHECKPOINT_BYTES_PER_CLASS = 2  # per block pixel and foreground class: uint16 probabilities, stored
OUTPUT_BYTES = 0.5  # per block pixel: deflated weight sums, staging raster, COG, plots (~0.45 on the bench)


def plan_fingerprint(plan: DetectPlan) -> str:
    """What a run's outputs depend on: imagery, bands, AOI, grid, tiling, model weights and the checkpoint format."""
    return hashlib.sha256("\n".join([plan_core(plan), *_image_stamps(plan)]).encode()).hexdigest()


def plan_core(plan: DetectPlan) -> str:
    """What every block result depends on, whatever images it reads."""
    h = hashlib.sha256(CHECKPOINT_FORMAT.encode())
    h.update(repr((plan.grid, plan.spec)).encode())
    h.update(plan.aoi_wkb)
    h.update(sha256_file(find_model_files(plan.model_path)[0]).encode())
    return h.hexdigest()


def _image_stamps(plan: DetectPlan) -> list[str]:
    """Per image: its file, bands and, for a raw photo, how it is placed (``--agl``, a DEM, a yaw turned)."""
    return [
        f"{info.path}|{info.size_bytes}|{os.stat(info.path).st_mtime_ns}|{idx}" + (f"|{info.frame.stamp}" if info.frame is not None else "")
        for info, idx in zip(plan.images, plan.indexes)
    ]


def block_keys(plan: DetectPlan, blocks: Sequence[Block]) -> dict[int, str]:
    """Per block, a key of what its result depends on: the plan's core and the images it reads.

    A campaign's checkpoints stay good when one flight is copied again (a cut-short or corrupt
    file fixed): ``--resume`` redoes only the blocks that flight touches.
    """
    core, stamps = plan_core(plan), _image_stamps(plan)
    boxes = [block_box(plan, b) for b in blocks]
    block_at, image_at = STRtree(list(plan.footprints)).query(boxes, predicate="intersects")
    reads: dict[int, list[int]] = {i: [] for i in range(len(blocks))}
    for b, i in zip(block_at.tolist(), image_at.tolist()):
        reads[b].append(i)
    return {
        blocks[b].block_id: hashlib.sha256("\n".join([core, *(stamps[i] for i in sorted(images))]).encode()).hexdigest()[:16]
        for b, images in reads.items()
    }


def load_checkpoints(folder: Path, keys: dict[int, str]) -> dict[int, Path]:
    """The finished blocks whose checkpoint was made from the imagery the run reads now."""
    found = {}
    for path in folder.glob("block-*-*.npz"):
        block_id, key = path.stem.split("-")[1:3]
        if keys.get(int(block_id)) == key:
            found[int(block_id)] = path
    return found


def save_checkpoint(folder: Path, result: BlockResult, key: str) -> None:
    """A block's packed blend as an .npz (``np.load`` reads it).  The weight sums are
    deflated: the same ramps over and over, they shrink to ~1% for 2 ms per MB, which
    halves a checkpoint; the probabilities shrink to ~35% only, for 12 ms per MB (a fifth
    of the model's time on the block), so they are stored as they are."""
    with atomic_path(folder / f"block-{result.block_id:06d}-{key}.npz") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as npz:
        for member, array in ((zipfile.ZipInfo("probs.npy"), result.probs), ("wsum.npy", result.wsum), ("descriptors.npy", result.descriptors)):  # a ZipInfo is stored
            with npz.open(member, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array, allow_pickle=False)


def check_free_space(out_dir: Path, kept: dict[int, Path], blocks: Sequence[Block], n_classes: int) -> None:
    """Refuse a run that cannot fit on its disk before it starts, not hours in: every block's
    checkpoint (but the ``kept`` ones) is kept until the outputs are written."""
    pixels = sum(int(b.window.width) * int(b.window.height) for b in blocks if b.block_id not in kept)
    need = pixels * (CHECKPOINT_BYTES_PER_CLASS * n_classes + OUTPUT_BYTES)
    free = shutil.disk_usage(out_dir.parent).free
    if free < need:
        raise OutputError(
            f"{out_dir.parent}: the run needs about {_size(need)} of free disk while it lasts (block checkpoints and outputs), "
            f"{_size(free)} is free; free some space or choose an --out on another disk"
        )


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e9 else f"{max(1, round(n_bytes / 1e6))} MB"
