"""Train a segmentation model from imagery and labelled polygons.

Labels are polygons with a ``class`` field: ``poppy`` and ``cannabis`` are plots,
``background`` polygons are hard negatives (false alarms marked in review; ``scout review
RUN --labels FILE`` writes them).  Background-only imagery (``negatives``: a flight known to be
clean, real imagery of any kind) is sampled at its own share, every valid pixel background.

No labelled real poppy or cannabis imagery exists here, so synthetic plots and look-alikes
(trees, lawns, banana, gardens: :mod:`scout.synth.plant`) are planted into a share of the
patches, real ones included, and every patch is redrawn with a random camera and day
(:mod:`scout.augment`).  A fine-tuning run with only false alarms or clean flights keeps its
recall this way: the planted plots are its positives.  Pixels not covered by any label polygon count as
background, but only inside the valid footprint of the labelled images: nodata and
pixels outside every image are ignored by the loss.  When only part of an image was
looked at, ``background_within_m`` narrows "background" to the surroundings of the
label polygons, so unreviewed plots elsewhere are not taught as background.

Patches are read from the imagery exactly as detection reads it (through the working
grid at the model's GSD, :func:`scout.imagery.read_block`), with scale jitter done by
reading at a slightly different GSD.  Patches are sampled with class balance: a share
centred on plots (each plot equally likely, so small plots are not drowned out by big
fields), a share on hard negatives (weighted by the square root of their area), the rest
anywhere in the footprint.  A fine-tune's rehearsal scenes give ``rehearsal_share`` of those
patches and the user's imagery the rest, whatever their areas.

Validation is split by location, never by tile: with four or more images whole images
are held out; with fewer, a strip of each image (``val_fraction`` of its width or height)
is held out, training patch centres keep half a patch away from it, and its labels never
reach a training patch.  Images and strip sides are picked so that training and validation
both hold plot labels where they can.  The user's imagery and the rehearsal scenes are split
apart, so a fine-tune always validates on part of the user's imagery.

Each epoch writes a checkpoint (``OUT.ckpt.safetensors`` + ``OUT.ckpt.json``: weights,
optimizer state, epoch, history) so ``--resume`` continues where a run stopped; the best
model so far on validation (mean IoU of the plot classes) is written to ``OUT`` with
its card.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import torch
import torch.nn.functional as F
from affine import Affine
from rasterio import features
from rasterio.windows import Window
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from scout import domain
from scout.aoi import polygonal
from scout.augment import Augmentation, augment
from scout.errors import InputError, ModelError, OutputError
from scout.imagery import Grid, ImageInfo, band_indexes, footprint, open_image, read_block, working_crs
from scout.inference import configure_threads, pick_device
from scout.inputs import expand_images
from scout.io import atomic_path, write_json
from scout.labels import LABEL_CLASSES, read_class_polygons, read_labels
from scout.model import ModelCard, build_network, load_model, receptive_field_px, save_model
from scout.model.files import model_stem
from scout.model.nets import keep_input_bands
from scout.progress import bar
from scout.schema import CLASSES, LOOKALIKES_LAYER, TRUTH_LAYER
from scout.synth.plant import SpriteBank, default_families, plant

log = logging.getLogger(__name__)

IGNORE = 255  # label value the loss skips (nodata, outside every image)
SENSOR_DEFAULTS = {  # sensor -> (bands, gsd_m)
    "drone": (("red", "green", "blue"), 0.1),
    "satellite": (("blue", "green", "red", "nir"), 0.5),
}


@dataclass(frozen=True)
class TrainSettings:
    """How to train.  Sizes in pixels at the model GSD (``gsd_m``, metres per pixel)."""

    name: str = "scout-model"
    version: str = "1"
    sensor: str = "drone"
    bands: tuple[str, ...] | None = None  # default: the sensor's (or the --init model's)
    drop_bands: tuple[str, ...] = ()  # bands left out (e.g. nir: an RGB model fine-tuned from an RGBN one)
    image_bands: tuple[int, ...] | None = None  # image band numbers for ``bands``, in order (--bands); default: by band name
    gsd_m: float | None = None  # default: the sensor's (or the --init model's)
    base_channels: int = 16
    depth: int = 2
    patch_px: int = 160
    architecture: str = "unet"  # unet | encoder_unet
    encoder: str | None = None  # encoder_unet: mobilenet_v3_small | mobilenet_v3_large | resnet18
    encoder_weights: str | None = None  # a torchvision state dict in safetensors (e.g. ImageNet weights the user converted)
    tile_size: int = 512  # written to the card: detection tile size
    batch_size: int = 12
    epochs: int = 40
    steps_per_epoch: int = 80
    max_minutes: float | None = None
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 8  # epochs without validation gain before stopping
    plot_share: float = 0.3  # share of patches centred on a plot
    negative_share: float = 0.25  # share centred on hard-negative polygons
    negative_image_share: float = 0.35  # share cut from background-only imagery (when given)
    plant_share: float = 0.5  # share of patches with synthetic plots / look-alikes planted (0: none)
    lookalikes_per_patch: float = 1.0  # mean look-alikes (trees, banana, lawn...) planted with the targets
    rehearsal_scenes: int = 0  # fine-tuning: synthetic scenes of the model's own kind kept in the mix (0: none)
    rehearsal_share: float = 0.75  # share of labelled patches cut from the rehearsal scenes (the rest: the user's imagery)
    plant_families: tuple[str, ...] = ("fields", "plantwise")  # rendering families to plant (those installed)
    sprites: int = 300  # sprites per bank; a fifth is re-rendered each epoch
    augmentation: float = 1.0  # domain randomisation strength (0: flips and 90-degree turns only)
    fg_weight: float = 1.5  # cross-entropy weight of the plot classes (background 1)
    dice_weight: float = 0.5
    scale_jitter: float = 0.5  # GSD read at gsd_m * U(1-j, 1+j)
    val_fraction: float = 0.2
    val_patches: int = 48
    cache_mb: float = 600  # images that fit are held in memory at the model GSD
    background_within_m: float | None = None  # None: every unlabelled valid pixel is background
    seed: int = 0
    device: str | None = None
    threads: int | None = None
    description: str = ""


@dataclass
class LabelledImage:
    """One image with its labels in the image's working CRS."""

    info: ImageInfo
    indexes: tuple[int, ...]
    grid_crs_wkt: str
    area: shapely.Geometry  # valid footprint (training or validation part), working CRS
    labels: gpd.GeoDataFrame  # polygons with integer "value" (0 background, 1.. classes)
    rehearsal: bool = False  # a synthetic scene kept in a fine-tune's mix, not the user's imagery

    def polygons(self, value: int) -> list[shapely.Geometry]:
        geoms = self.labels[self.labels["value"] == value].geometry.values
        # a 1 mm grid keeps GEOS clear of topology errors on nearly coincident edges
        sel = shapely.intersection(geoms, self.area, grid_size=1e-3)
        return [g for g in sel if not g.is_empty]


@dataclass(frozen=True)
class TrainResult:
    model_path: Path
    card: ModelCard
    epochs_run: int
    best_epoch: int
    best_score: float
    stopped: str  # "epochs" | "early_stop" | "time_budget"
    history: list[dict[str, Any]] = field(default_factory=list)


def prepare_images(
    images: Sequence[str | Path], labels: gpd.GeoDataFrame | None, bands: tuple[str, ...], background_within_m: float | None = None,
    image_bands: tuple[int, ...] | None = None, require_plots: bool = True,
) -> list[LabelledImage]:
    """Open each image, map its bands, and attach the labels that fall on it.

    ``background_within_m``: when set, only pixels within this many metres of a label
    polygon count (as background where unlabelled); the rest is ignored.  Use it when
    only part of an image was reviewed.  ``labels`` None: background-only imagery.
    """
    out = []
    for path in images:
        info = open_image(path)
        idx = band_indexes(info, bands, image_bands)
        crs = working_crs(info)
        area = footprint(info, crs)
        if labels is None:
            lab = gpd.GeoDataFrame({"value": np.zeros(0, int)}, geometry=[], crs=crs)
        else:
            lab = labels.to_crs(crs)
            lab["geometry"] = polygonal(lab.geometry.values)  # reprojection can twist rings
            lab = lab[lab.geometry.notna() & lab.intersects(area)]
        if background_within_m is not None and labels is not None:
            area = area.intersection(shapely.union_all(lab.geometry.buffer(background_within_m).values))
        out.append(LabelledImage(info, idx, crs.to_wkt(), area, lab))
    if require_plots and not any((im.labels["value"] > 0).any() for im in out):
        raise InputError("no poppy or cannabis label polygon overlaps any of the images")
    return out


def split_by_location(images: list[LabelledImage], val_fraction: float, margin_m: float) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """Hold out whole images (4 or more images, two of them with plot labels) or a strip of each image.

    Reviewed plots cluster where a team walked, so a fixed side would often validate on no plot
    at all; the held-out images or strip sides are picked so that both parts hold plot labels
    where they can.
    """
    labelled = [_has_plots(im, im.area) for im in images]
    if len(images) >= 4 and sum(labelled) >= 2:
        ranked = sorted(range(len(images)), key=lambda i: hashlib.sha1(Path(images[i].info.path).name.encode()).hexdigest())
        n_val = max(1, round(len(images) * val_fraction))
        first_labelled = next(i for i in ranked if labelled[i])
        val = ([first_labelled] + [i for i in ranked if i != first_labelled])[:n_val]
        if not any(labelled[i] for i in ranked if i not in val):  # keep one labelled image to train on
            val = [first_labelled] + [i for i in ranked if not labelled[i]][: n_val - 1]
        return [images[i] for i in ranked if i not in val], [images[i] for i in ranked if i in val]
    train_parts: list[LabelledImage] = []
    val_parts: list[LabelledImage] = []
    for im in images:
        strips = [_strip(im.area, side, val_fraction, margin_m) for side in STRIP_SIDES]
        ok = [(_has_plots(im, t), _has_plots(im, v)) for t, v in strips]
        best = next((k for k, (t, v) in enumerate(ok) if t and v), next((k for k, (t, _) in enumerate(ok) if t), 0))
        log.info("%s: validating on its %s %.0f%%", Path(im.info.path).name, STRIP_SIDES[best], val_fraction * 100)
        t, v = strips[best]
        train_parts.append(replace(im, area=im.area.intersection(t)))
        val_parts.append(replace(im, area=im.area.intersection(v)))
    return train_parts, val_parts


STRIP_SIDES = ("east", "west", "south", "north")


def _strip(area: shapely.Geometry, side: str, fraction: float, margin_m: float) -> tuple[shapely.Geometry, shapely.Geometry]:
    """(training part, validation strip) of ``area``'s bounds: the strip is ``fraction`` of the
    width or height on ``side``, and the training part keeps ``margin_m`` away from it."""
    minx, miny, maxx, maxy = area.bounds
    dx, dy = (maxx - minx) * fraction, (maxy - miny) * fraction
    return {
        "east": (shapely.box(minx, miny, maxx - dx - margin_m, maxy), shapely.box(maxx - dx, miny, maxx, maxy)),
        "west": (shapely.box(minx + dx + margin_m, miny, maxx, maxy), shapely.box(minx, miny, minx + dx, maxy)),
        "south": (shapely.box(minx, miny + dy + margin_m, maxx, maxy), shapely.box(minx, miny, maxx, miny + dy)),
        "north": (shapely.box(minx, miny, maxx, maxy - dy - margin_m), shapely.box(minx, maxy - dy, maxx, maxy)),
    }[side]


def _has_plots(im: LabelledImage, part: shapely.Geometry) -> bool:
    plots = im.labels.geometry.values[im.labels["value"].to_numpy() > 0]
    return bool(shapely.intersects(plots, im.area.intersection(part)).any())


def _random_point(rng: np.random.Generator, geom: shapely.Geometry) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(50):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(geom, x, y):
            return x, y
    p = geom.representative_point()
    return p.x, p.y


def _bounds(transform: Affine, width: int, height: int) -> tuple[float, float, float, float]:
    left, top = transform.c, transform.f
    return left, top + transform.e * height, left + transform.a * width, top


@dataclass(frozen=True)
class _Pool:
    """Images a patch is drawn from together: their plots, hard negatives and areas."""

    images: np.ndarray  # indexes into the sampler's images
    image_p: np.ndarray
    plots: list[tuple[int, shapely.Geometry]]
    negatives: list[tuple[int, shapely.Geometry]]
    negative_p: np.ndarray

    @staticmethod
    def of(sampler: PatchSampler, images: list[int]) -> _Pool:
        members = set(images)
        negatives = [(i, g) for i, g in sampler.negatives if i in members]
        # a large false-alarm field gets more patches than a small one, but not in proportion
        # to its area, so small look-alikes (tree crowns, flower beds) are still seen often
        weight = np.sqrt([max(g.area, 1e-6) for _, g in negatives])
        areas = np.array([sampler.images[i].area.area for i in images])
        return _Pool(
            np.array(images), areas / max(areas.sum(), 1e-9), [(i, g) for i, g in sampler.plots if i in members],
            negatives, weight / weight.sum() if len(weight) else weight,
        )


class PatchSampler:
    """Draws labelled patches (raw DNs, class indexes) from a set of images.

    ``backgrounds`` (background-only imagery) give ``settings.negative_image_share`` of the
    patches, or all of them where no labelled image is left.  Images that fit in
    ``settings.cache_mb`` are read once, whole, at the model GSD (through the same
    :func:`read_block` path detection uses) and patches are cut from memory; scale jitter then
    resamples the cut.  Larger images are read patch by patch.
    """

    def __init__(self, images: list[LabelledImage], settings: TrainSettings, gsd_m: float, backgrounds: Sequence[LabelledImage] = ()) -> None:
        labelled = [im for im in images if im.area.area > 0]
        self.n_labelled = len(labelled)
        self.images = labelled + [im for im in backgrounds if im.area.area > 0]
        if not self.images:
            raise InputError("no usable image area left to sample (images too small for the validation split?)")
        self.s, self.gsd_m = settings, gsd_m
        self.plots = [(i, g) for i, im in enumerate(self.images) for v in range(1, len(LABEL_CLASSES)) for g in im.polygons(v)]
        self.negatives = [(i, g) for i, im in enumerate(self.images) for g in im.polygons(0)]
        # A fine-tune's own imagery and its rehearsal scenes are drawn at fixed shares: by area,
        # a dozen rehearsal scenes left one reviewed flight one patch in 25, and its
        # false alarms were what the fine-tune was for.
        own = [i for i in range(self.n_labelled) if not self.images[i].rehearsal]
        rehearsed = [i for i in range(self.n_labelled) if self.images[i].rehearsal]
        self.pools = [_Pool.of(self, group) for group in (own, rehearsed) if group]
        areas = np.array([im.area.area for im in self.images])
        self.background_p = areas[self.n_labelled :] / max(areas[self.n_labelled :].sum(), 1e-9)
        self.cache: dict[int, tuple[np.ndarray, np.ndarray, Affine]] = {}
        budget = settings.cache_mb * 1e6
        for i, im in enumerate(self.images):
            minx, miny, maxx, maxy = im.area.bounds
            w, h = math.ceil((maxx - minx) / gsd_m), math.ceil((maxy - miny) / gsd_m)
            size = w * h * (len(im.indexes) * np.dtype(im.info.dtype).itemsize + 1)
            if size <= budget:
                budget -= size
                transform = Affine(gsd_m, 0, minx, 0, -gsd_m, maxy)
                data, lab = self._read_window(im, transform, w, h)
                self.cache[i] = (data.astype(im.info.dtype), lab, transform)

    def centre(self, rng: np.random.Generator) -> tuple[int, float, float]:
        """(image index, x, y) of a patch centre, in the image's working CRS."""
        n_bg = len(self.images) - self.n_labelled
        if n_bg and (not self.n_labelled or rng.random() < self.s.negative_image_share):
            i = self.n_labelled + int(rng.choice(n_bg, p=self.background_p))
            return (i, *_random_point(rng, self.images[i].area))
        pool = self.pools[-1] if len(self.pools) > 1 and rng.random() < self.s.rehearsal_share else self.pools[0]
        u = rng.random()
        if u < self.s.plot_share and pool.plots:
            i, g = pool.plots[int(rng.integers(len(pool.plots)))]
            x, y = _random_point(rng, g)
            # shift so the plot is not always in the middle of the patch
            half = self.s.patch_px * self.gsd_m * 0.35
            return i, x + rng.uniform(-half, half), y + rng.uniform(-half, half)
        if u < self.s.plot_share + self.s.negative_share and pool.negatives:
            i, g = pool.negatives[int(rng.choice(len(pool.negatives), p=pool.negative_p))]
            return (i, *_random_point(rng, g))
        i = int(pool.images[rng.choice(len(pool.images), p=pool.image_p)])
        return (i, *_random_point(rng, self.images[i].area))

    @staticmethod
    def _read_window(im: LabelledImage, transform: Affine, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw DNs (B, h, w) float32 and labels (h, w) on a grid at ``transform``."""
        grid = Grid(im.grid_crs_wkt, tuple(transform)[:6], width, height)
        data, valid = read_block(im.info, im.indexes, grid, Window(0, 0, width, height), gsd_m=transform.a)
        near = im.labels.iloc[im.labels.sindex.query(shapely.box(*_bounds(transform, width, height)))]
        # background polygons first, plots burned over them
        shapes = sorted(((g, int(v)) for g, v in zip(near.geometry, near["value"])), key=lambda s: s[1])
        lab = np.zeros((height, width), np.uint8)
        if shapes:
            lab = features.rasterize(shapes, out_shape=(height, width), transform=transform, fill=0, dtype="uint8")
        inside = features.rasterize([(im.area, 1)], out_shape=(height, width), transform=transform, fill=0, dtype="uint8").astype(bool)
        lab[~(valid & inside)] = IGNORE
        return data, lab

    def read(self, i: int, x: float, y: float, gsd_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Patch centred on (x, y) at ``gsd_m``: raw DNs (B, p, p) float32, labels (p, p) uint8."""
        p = self.s.patch_px
        if i not in self.cache:
            transform = Affine(gsd_m, 0, x - p * gsd_m / 2, 0, -gsd_m, y + p * gsd_m / 2)
            return self._read_window(self.images[i], transform, p, p)
        data, lab, t = self.cache[i]
        n = max(1, round(p * gsd_m / self.gsd_m))  # cached pixels covering the patch
        c0 = round((x - t.c) / t.a - n / 2)
        r0 = round((y - t.f) / t.e - n / 2)
        img = np.zeros((data.shape[0], n, n), np.float32)
        out = np.full((n, n), IGNORE, np.uint8)
        rs, cs = slice(max(r0, 0), min(r0 + n, lab.shape[0])), slice(max(c0, 0), min(c0 + n, lab.shape[1]))
        if rs.stop > rs.start and cs.stop > cs.start:
            dst = (slice(rs.start - r0, rs.stop - r0), slice(cs.start - c0, cs.stop - c0))
            img[:, dst[0], dst[1]] = data[:, rs, cs]
            out[dst] = lab[rs, cs]
        if n != p:
            img = F.interpolate(torch.from_numpy(img)[None], size=(p, p), mode="bilinear", antialias=True, align_corners=False)[0].numpy()
            out = F.interpolate(torch.from_numpy(out)[None, None], size=(p, p), mode="nearest")[0, 0].numpy()
        return img, out

    def batch(self, rng: np.random.Generator, n: int, jitter: bool) -> tuple[np.ndarray, np.ndarray, str]:
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        dtypes: set[str] = set()
        tries = 0
        while len(xs) < n:
            i, x, y = self.centre(rng)
            gsd = self.gsd_m * (rng.uniform(1 - self.s.scale_jitter, 1 + self.s.scale_jitter) if jitter else 1.0)
            data, lab = self.read(i, x, y, gsd)
            tries += 1
            # prefer patches mostly on usable pixels; take what there is when the area is narrow
            if (lab == IGNORE).mean() > (0.7 if tries < 20 * n else 0.999):
                if tries > 100 * n:
                    raise InputError("cannot cut patches with labelled pixels from the images (all nodata or outside labels?)")
                continue
            xs.append(data)
            ys.append(lab)
            dtypes.add(self.images[i].info.dtype)
        if len(dtypes) > 1:
            raise InputError(f"training images mix pixel types {sorted(dtypes)}; train one model per sensor kind")
        return np.stack(xs), np.stack(ys), dtypes.pop()


def _losses(logits: torch.Tensor, target: torch.Tensor, class_weight: torch.Tensor, dice_weight: float) -> torch.Tensor:
    """Weighted cross-entropy plus soft Dice on the plot classes (robust to rare classes)."""
    ce = F.cross_entropy(logits, target, weight=class_weight, ignore_index=IGNORE)
    valid = (target != IGNORE).unsqueeze(1)
    prob = torch.softmax(logits, 1)
    onehot = F.one_hot(target.clamp(max=logits.shape[1] - 1), logits.shape[1]).permute(0, 3, 1, 2).float()
    prob, onehot = prob * valid, onehot * valid
    inter = (prob * onehot).sum((0, 2, 3))[1:]
    denom = (prob + onehot).sum((0, 2, 3))[1:]
    dice = 1 - (2 * inter + 1) / (denom + 1)
    return ce + dice_weight * dice.mean()


def confusion(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> np.ndarray:
    """Pixel confusion matrix [truth, pred], skipping ``IGNORE`` pixels."""
    ok = truth != IGNORE
    return np.bincount(truth[ok].astype(int) * n_classes + pred[ok].astype(int), minlength=n_classes**2).reshape(n_classes, n_classes)


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """Intersection over union per class from a confusion matrix; NaN where a class is absent."""
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / denom, np.nan)


def _normalization(sampler: PatchSampler, rng: np.random.Generator, scale: float) -> dict[str, list[float]]:
    """Per-band mean and std of ``dn / scale`` over a sample of training patches."""
    x, y, _ = sampler.batch(rng, 16, jitter=False)
    ok = y != IGNORE
    v = x.transpose(1, 0, 2, 3)[:, ok] / scale
    return {"mean": [round(float(m), 5) for m in v.mean(1)], "std": [round(float(s), 5) for s in np.maximum(v.std(1), 1e-3)]}


def _ckpt_paths(out: Path) -> tuple[Path, Path]:
    return out.with_name(out.name + ".ckpt.safetensors"), out.with_name(out.name + ".ckpt.json")


def _save_checkpoint(out: Path, net: torch.nn.Module, opt: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    weights, meta = _ckpt_paths(out)
    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    osd = opt.state_dict()
    for pid, st in osd["state"].items():
        for k, v in st.items():
            tensors[f"opt.{pid}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(v)).detach().cpu().contiguous()
    with atomic_path(weights) as tmp:
        save_file(tensors, str(tmp))
    write_json(meta, {**state, "param_groups": osd["param_groups"]})


def _load_checkpoint(out: Path, net: torch.nn.Module, opt: torch.optim.Optimizer) -> dict[str, Any]:
    weights, meta = _ckpt_paths(out)
    if not weights.exists() or not meta.exists():
        raise InputError(f"{out}: nothing to resume (no {weights.name} / {meta.name})")
    try:
        tensors = load_file(str(weights))
        state = json.loads(meta.read_text())
    except (SafetensorError, OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{weights}: cannot read checkpoint ({exc})") from None
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, pid, key = k.split(".", 2)
            opt_state.setdefault(int(pid), {})[key] = v
    opt.load_state_dict({"state": opt_state, "param_groups": state.pop("param_groups")})
    return state


def architecture(settings: TrainSettings) -> dict[str, Any]:
    """The card's ``architecture`` entry for a new model."""
    if settings.architecture == "encoder_unet":
        return {"name": "encoder_unet", "encoder": settings.encoder or "mobilenet_v3_small"}
    if settings.architecture != "unet":
        raise InputError(f"unknown architecture {settings.architecture!r} (known: unet, encoder_unet)")
    return {"name": "unet", "base_channels": settings.base_channels, "depth": settings.depth}


def _base_card(settings: TrainSettings, init: ModelCard | None, bands: tuple[str, ...], gsd_m: float, norm: dict[str, Any]) -> ModelCard:
    arch = dict(init.architecture) if init else architecture(settings)
    return ModelCard(
        name=settings.name,
        version=settings.version,
        classes=LABEL_CLASSES,
        bands=bands,
        gsd_m=gsd_m,
        tile_size=settings.tile_size,
        normalization=norm,
        architecture=arch,
        sensor=settings.sensor,
        receptive_field_px=receptive_field_px(arch),
        description=settings.description or (init.description if init else ""),
        # a fine-tuned model keeps the calibrated defaults it started from until it is calibrated itself
        detection={**init.detection, "inherited_from": f"{init.name} {init.version}"} if init and init.detection else {},
    )


REHEARSAL_SEEDS = range(70000, 70000 + 1000)  # seeds no shipped model was trained, calibrated or evaluated on
REHEARSAL_SCENE_PX = 768


def rehearsal_scenes(sensor: str, gsd_m: float, n: int, cache: Path) -> tuple[list[Path], Path]:
    """``n`` synthetic scenes of the model's kind and one label file, made once into ``cache``.

    A fine-tune on a county's first reviewed flight sees only its false alarms and planted sprites,
    and forgets the targets it learned: the satellite cold start lost 0.24 of its recall on held-out
    scenes in 5 minutes.  Scenes of the generator the model learned, kept in the mix, hold it there."""
    from scout.synth import make_scene

    cache = cache / f"{sensor}-{gsd_m:g}m"
    images, frames = [], []
    for seed in REHEARSAL_SEEDS[:n]:
        image, truth = cache / f"{sensor}-{seed:04d}.tif", cache / f"{sensor}-{seed:04d}-truth.gpkg"
        if not (image.exists() and truth.exists()):  # deterministic by seed: made once, reused by every fine-tune
            scene = make_scene(cache, seed, kind=sensor, size_px=REHEARSAL_SCENE_PX, gsd_m=gsd_m)
            image, truth = scene.image_path, scene.truth_path
        images.append(image)
        frames += [read_class_polygons(truth, "rehearsal scene truth", prefer_layer=layer) for layer in (TRUTH_LAYER, LOOKALIKES_LAYER)]
    labels = cache / f"labels-{n}.gpkg"
    if not labels.exists():
        from scout.io import write_gpkg_layer

        write_gpkg_layer(gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs), labels, "labels")
    return images, labels


def train(
    images: Sequence[str | Path],
    labels: str | Path | None,
    out: str | Path,
    settings: TrainSettings | None = None,
    init: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    negatives: Sequence[str | Path] = (),
) -> TrainResult:
    """Train (or fine-tune from ``init``) and write the best model to ``out`` (.safetensors + .json).

    ``images`` are labelled by ``labels``; ``negatives`` are background-only imagery.  With
    synthetic plots planted (``settings.plant_share`` > 0) labels may hold only background
    polygons, or be left out.  An existing model at ``out`` is replaced only with ``overwrite``
    (or continued with ``resume``)."""
    s = settings or TrainSettings()
    out = model_stem(out)
    images = expand_images(images) if images else []
    negatives = expand_images(negatives) if negatives else []
    existing = [p for p in (out.with_name(out.name + ".safetensors"), *_ckpt_paths(out)) if p.exists()]
    if existing and not (resume or overwrite):
        raise OutputError(f"{existing[0]}: exists; use --overwrite to replace that model, or --resume to continue its training")
    if not images and not negatives:
        raise InputError("no training images given")
    if images and labels is None:
        raise InputError("labelled images need --labels (background-only imagery goes to --negatives)")
    planting = s.plant_share > 0
    if s.sensor not in SENSOR_DEFAULTS:
        raise InputError(f"unknown sensor {s.sensor!r} (known: {', '.join(SENSOR_DEFAULTS)})")
    init_model = load_model(init) if init else None
    init_card = init_model.card if init_model else None
    if init_card:  # a fine-tune keeps the model's kind (its card said drone for a satellite model: calibrated on drone scenes)
        s = replace(s, sensor=init_card.sensor)
    if init_card and tuple(init_card.classes) != LABEL_CLASSES:
        raise ModelError(f"{init}: model classes {list(init_card.classes)} differ from {list(LABEL_CLASSES)}")
    bands = tuple(s.bands or (init_card.bands if init_card else SENSOR_DEFAULTS[s.sensor][0]))
    if s.drop_bands:
        if unknown := [b for b in s.drop_bands if b not in bands]:
            raise InputError(f"cannot drop band(s) {', '.join(unknown)}: the model's bands are {', '.join(bands)}")
        bands = tuple(b for b in bands if b not in s.drop_bands)
        if not bands:
            raise InputError("no band left to train on")
    gsd_m = s.gsd_m or (init_card.gsd_m if init_card else SENSOR_DEFAULTS[s.sensor][1])
    if init_card and (not set(bands) <= set(init_card.bands) or abs(gsd_m - init_card.gsd_m) > 1e-9):
        raise ModelError(f"{init}: fine-tuning keeps the model's bands {list(init_card.bands)} (or fewer: --drop-band) and GSD {init_card.gsd_m} m")

    device = pick_device(s.device)
    configure_threads(s.threads)
    rng = np.random.default_rng(s.seed)
    torch.manual_seed(s.seed)
    all_images = []
    if images and labels is not None:  # labelled images without labels were refused above
        plots_elsewhere = planting or bool(s.rehearsal_scenes and init_card is not None)  # planted or rehearsed
        label_gdf = read_labels(labels, require_plots=not plots_elsewhere)
        all_images = prepare_images(images, label_gdf, bands, s.background_within_m, s.image_bands, require_plots=not plots_elsewhere)
    backgrounds = prepare_images(negatives, None, bands, image_bands=s.image_bands, require_plots=False)
    rehearsal: list = []
    if s.rehearsal_scenes and init_card is not None and init_card.sensor in ("drone", "satellite"):
        r_images, r_labels = rehearsal_scenes(init_card.sensor, gsd_m, s.rehearsal_scenes, out.parent / ".scout-rehearsal")
        rehearsal = [replace(im, rehearsal=True) for im in prepare_images(r_images, read_labels(r_labels), bands, require_plots=False)]
        theirs = {im.info.dtype for im in all_images + backgrounds}
        if theirs and rehearsal[0].info.dtype not in theirs:
            log.warning("no rehearsal: the synthetic %s scenes are %s, the training imagery %s", init_card.sensor, rehearsal[0].info.dtype, "/".join(sorted(theirs)))
            rehearsal = []
        else:
            log.info("rehearsing %d synthetic %s scenes (%s) so the fine-tune keeps what %s learned", len(rehearsal), init_card.sensor, r_images[0].parent, init_card.name)
    own_images, all_images = all_images, all_images + rehearsal
    if not all_images and not planting:
        raise InputError("background-only imagery has no poppy or cannabis to learn from: give labelled images, or plant synthetic plots (--plant-share > 0)")
    # patch centres lie in the training area, so half a patch keeps validation pixels out of
    # training patches (labels outside the area are ignored in any case)
    margin = s.patch_px * gsd_m / 2
    # the user's imagery and the rehearsal scenes are split apart, so that a fine-tune is always
    # validated on part of the user's imagery: the epoch kept is the one quiet on its false alarms
    train_images: list[LabelledImage] = []
    val_images: list[LabelledImage] = []
    for group in (own_images, rehearsal):
        if group:
            t, v = split_by_location(group, s.val_fraction, margin_m=margin)
            train_images, val_images = train_images + t, val_images + v
    train_bg, val_bg = split_by_location(backgrounds, s.val_fraction, margin_m=margin) if backgrounds else ([], [])
    sampler = PatchSampler(train_images, s, gsd_m, train_bg)
    val_sampler = PatchSampler(val_images, replace(s, negative_share=0.0), gsd_m, val_bg)
    log.info(
        "training on %d labelled image(s) (%d plots, %d hard negatives) and %d background-only; validating on %d location(s)",
        sampler.n_labelled, len(sampler.plots), len(sampler.negatives), len(sampler.images) - sampler.n_labelled, len(val_sampler.images),
    )
    dtypes = {im.info.dtype for im in all_images + backgrounds}
    if len(dtypes) > 1:
        raise InputError(f"training images mix pixel types {sorted(dtypes)}; train one model per sensor kind")
    dtype = dtypes.pop()
    scale = {"uint8": 255.0, "uint16": 10000.0}.get(dtype, 1.0)
    norm = dict(init_card.normalization) if init_card else {"scale": {"uint8": 255, "uint16": 10000}, **_normalization(sampler, rng, scale)}
    if init_model and init_card and bands != init_card.bands:  # fine-tune on fewer bands: keep those bands' filters
        keep = [init_card.bands.index(b) for b in bands]
        keep_input_bands(init_model.net, keep, len(init_card.bands))
        norm.update({k: [list(norm[k])[i] for i in keep] for k in ("mean", "std")})
        log.info("fine-tuning %s on bands %s (without %s)", init_card.name, ", ".join(bands), ", ".join(b for b in init_card.bands if b not in bands))
    card = _base_card(s, init_card, bands, gsd_m, norm)
    net = init_model.net if init_model else build_network(card.architecture, len(bands), len(LABEL_CLASSES))
    if s.encoder_weights and not init_model and not resume:
        from scout.model.nets import load_encoder_weights

        try:
            missing = load_encoder_weights(net, s.encoder_weights, bands)
        except (ValueError, OSError, SafetensorError) as exc:
            raise ModelError(f"{s.encoder_weights}: {exc}") from None
        log.info("encoder weights from %s (%d encoder tensors not in the file)", Path(s.encoder_weights).name, len(missing))
    net = net.to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    bank = _sprite_bank(s, gsd_m, rng) if planting else None
    loop = _Loop(s, net, opt, sampler, _Inputs(card, dtype), device, bank)
    vrng = np.random.default_rng(s.seed + 7919)
    vx, vy, _ = val_sampler.batch(vrng, s.val_patches, jitter=False)
    vx = loop.plant(vrng, vx / card.scale_for(dtype), vy, min_targets=1)  # validation holds planted plots in real surroundings too
    vx_t = loop.inputs(vx, scaled=True)
    card = replace(card, domain=training_domain(loop, np.random.default_rng(s.seed + 104729)))
    # with no plot pixel to validate on, an epoch "scored" 0 when it painted a false plot
    # there and NaN when it did not: the worse model won.  Then the last epoch is kept.
    scored = bool(((vy > 0) & (vy != IGNORE)).any())
    if not scored:
        log.warning(
            "validation (%s) holds no poppy or cannabis labels: no score to pick the best epoch by or stop early on; "
            "the last epoch's model is kept. Label plots there for a measured model",
            "the held-out images" if len(val_images) < len(all_images) else f"a {s.val_fraction:.0%} strip of each image",
        )

    state: dict[str, Any] = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "history": [], "elapsed_s": 0.0}
    if resume:
        state = _load_checkpoint(out, net, opt)
        log.info("resumed %s at epoch %d (best %.3f at epoch %d)", out.name, state["epoch"], state["best_score"], state["best_epoch"])
    t0, elapsed0 = time.perf_counter(), state["elapsed_s"]
    deadline = t0 + s.max_minutes * 60 if s.max_minutes else math.inf  # per invocation
    stopped = "epochs"
    while state["epoch"] < s.epochs:
        epoch = state["epoch"] + 1
        loss, finished = loop.epoch(epoch, deadline)
        iou = evaluate_patches(net, vx_t, vy, device)
        score = float(np.nanmean(iou[1:])) if scored else math.nan
        row = {"epoch": epoch, "loss": round(loss, 4), "val_iou": {c: round(float(v), 4) for c, v in zip(LABEL_CLASSES, iou)}, "val_score": round(score, 4)}
        state["history"].append(row)
        log.info("epoch %d: loss %.3f, validation IoU %s", epoch, loss, ", ".join(f"{c} {v:.3f}" for c, v in row["val_iou"].items()))
        state["epoch"] = epoch
        if score > state["best_score"] or not scored:
            state["best_score"], state["best_epoch"] = score, epoch
            training = {
                "images": [Path(im.info.path).name for im in own_images],
                "rehearsal_scenes": len(rehearsal),
                "labels": Path(labels).name if labels else None,
                "negatives": [Path(im.info.path).name for im in backgrounds],
                "planted_families": sorted(bank.families) if bank else [],
                "init": str(init) if init else None,
                "settings": {k: v for k, v in asdict(s).items() if k not in ("device", "threads")},
                "best_epoch": epoch,
                "validation": row,
                "label_rule": "unlabelled pixels inside image footprints are background"
                + (f" within {s.background_within_m} m of a label" if s.background_within_m is not None else "")
                + "; nodata ignored",
            }
            if init_card is not None:  # provenance survives fine-tuning in place (out == init)
                init_images = init_card.training.get("images")
                training["init"] = f"{init} ({init_card.name} version {init_card.version})"
                training["init_training"] = {**init_card.training, "images": f"{len(init_images)} image(s)" if isinstance(init_images, list) else init_images}
            card = save_model(net, replace(card, training=training), out)
        state["elapsed_s"] = elapsed0 + time.perf_counter() - t0
        _save_checkpoint(out, net, opt, state)
        if not finished:
            stopped = "time_budget"
            break
        if scored and epoch - state["best_epoch"] >= s.patience:
            stopped = "early_stop"
            break
    final = ModelCard.read(out.with_name(out.name + ".json"))
    return TrainResult(out, final, state["epoch"], state["best_epoch"], state["best_score"], stopped, state["history"])


@dataclass(frozen=True)
class _Inputs:
    """Raw DNs -> network input per the card: ``(dn / scale - mean) / std``."""

    card: ModelCard
    dtype: str

    def __call__(self, x: np.ndarray, scaled: bool = False) -> torch.Tensor:
        x = x if scaled else x / self.card.scale_for(self.dtype)
        mean = np.asarray(self.card.normalization["mean"], np.float32)[None, :, None, None]
        std = np.asarray(self.card.normalization["std"], np.float32)[None, :, None, None]
        return torch.from_numpy(((x - mean) / std).astype(np.float32))


def training_domain(loop: _Loop, rng: np.random.Generator, windows: int = 400) -> dict[str, Any]:
    """The card's ``domain``: colour and texture of the imagery the model learns from (patches as
    sampled and planted, before the random camera of augmentation), for the run's trust signal."""
    if loop.s.patch_px < domain.WINDOW_PX:
        return {}  # patches smaller than a window (tiny test runs): no domain
    descs: list[np.ndarray] = []
    scale = loop.inputs.card.scale_for(loop.inputs.dtype)
    for _ in range(4 * windows):
        x, y, _ = loop.sampler.batch(rng, loop.s.batch_size, jitter=False)
        x = loop.plant(rng, x / scale, y)
        for xi, yi in zip(x, y):
            descs += [domain.describe(w, loop.bands) for w in domain.windows(xi, yi != IGNORE)]
        if len(descs) >= windows:
            break
    return domain.fit(np.stack(descs[:windows])) if len(descs) >= 40 else {}


def _sprite_bank(s: TrainSettings, gsd_m: float, rng: np.random.Generator) -> SpriteBank:
    cap = 2 * (s.patch_px * gsd_m) ** 2  # an object twice a patch's area is as good as a bigger one
    families = {k: v for k, v in default_families(max_area_m2=cap).items() if k in s.plant_families}
    if not families:
        raise InputError(f"no rendering family to plant from among {list(s.plant_families)} (known: {', '.join(default_families())})")
    log.info("rendering %d sprites (%s) at %.3g m", s.sprites, ", ".join(families), gsd_m)
    return SpriteBank(families, gsd_m, s.sprites, rng)


def planting_counts(rng: np.random.Generator, lookalikes_per_patch: float, min_targets: int = 0) -> tuple[int, int]:
    """Targets and look-alikes to plant in one patch: a target or two, none in a fifth of patches
    (so that a planted look-alike is not a sign of a target nearby), and Poisson look-alikes."""
    targets = max(min_targets, int(rng.random() < 0.8) * (1 + int(rng.poisson(0.4))))
    return targets, int(rng.poisson(lookalikes_per_patch))


class _Loop:
    """One optimisation epoch: sample, plant, augment, step, with a cosine learning-rate schedule."""

    def __init__(self, s: TrainSettings, net: torch.nn.Module, opt: torch.optim.Optimizer, sampler: PatchSampler, inputs: _Inputs, device: str, bank: SpriteBank | None = None) -> None:
        self.s, self.net, self.opt, self.sampler, self.inputs, self.device, self.bank = s, net, opt, sampler, inputs, device, bank
        self.class_weight = torch.tensor([1.0] + [s.fg_weight] * len(CLASSES), device=device)
        self.bands = tuple(inputs.card.bands)
        self.camera = inputs.dtype == "uint8"

    def plant(self, rng: np.random.Generator, x: np.ndarray, y: np.ndarray, min_targets: int = 0) -> np.ndarray:
        """Plant sprites into a share of patches ``x`` (0-1, changed in place) and labels ``y``: a
        target or two (none in a fifth of them, ``min_targets`` at least) and look-alikes."""
        if self.bank is None:
            return x
        for n in range(len(x)):
            if rng.random() < self.s.plant_share:
                targets, lookalikes = planting_counts(rng, self.s.lookalikes_per_patch, min_targets)
                plant(x[n], y[n], self.bank.draw(rng, targets, lookalikes), self.bands, self.camera, rng)
        return x

    def lr_at(self, step: int) -> float:
        total = max(self.s.epochs * self.s.steps_per_epoch, 1)
        warm = min(1.0, (step + 1) / 50)
        return self.s.lr * warm * 0.5 * (1 + math.cos(math.pi * min(step / total, 1.0)))

    def epoch(self, epoch: int, deadline: float) -> tuple[float, bool]:
        """Run one epoch; (mean loss, whether it ran to its end before ``deadline``)."""
        s = self.s
        rng = np.random.default_rng([s.seed, epoch])  # resumable: each epoch has its own stream
        self.net.train()
        losses: list[float] = []
        pbar = bar(s.steps_per_epoch, desc=f"epoch {epoch}/{s.epochs}", unit="batch")
        finished = True
        if self.bank is not None and epoch > 1:
            self.bank.refresh(rng)
        for step in range(s.steps_per_epoch):
            x, y, _ = self.sampler.batch(rng, s.batch_size, jitter=True)
            x = self.plant(rng, x / self.inputs.card.scale_for(self.inputs.dtype), y)
            x, y = augment(rng, x, y, self.bands, self.camera, Augmentation(strength=s.augmentation))
            xt = self.inputs(x, scaled=True).to(self.device).contiguous(memory_format=torch.channels_last)
            yt = torch.from_numpy(y.astype(np.int64)).to(self.device)
            for g in self.opt.param_groups:
                g["lr"] = self.lr_at((epoch - 1) * s.steps_per_epoch + step)
            loss = _losses(self.net(xt), yt, self.class_weight, s.dice_weight)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            losses.append(loss.item())
            pbar.update(1)
            pbar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            if time.perf_counter() > deadline:
                finished = False
                break
        pbar.close()
        return float(np.mean(losses)), finished


@torch.no_grad()
def evaluate_patches(net: torch.nn.Module, x: torch.Tensor, y: np.ndarray, device: str, batch: int = 16) -> np.ndarray:
    """Pixel IoU per class of ``net`` on normalized patches ``x`` with labels ``y``."""
    net.eval()
    n_classes = len(LABEL_CLASSES)
    cm = np.zeros((n_classes, n_classes), np.int64)
    for i in range(0, len(x), batch):
        xb = x[i : i + batch].to(device).contiguous(memory_format=torch.channels_last)
        pred = net(xb).argmax(1).cpu().numpy()
        cm += confusion(pred, y[i : i + batch], n_classes)
    return iou_per_class(cm)
