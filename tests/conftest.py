"""Fixtures: tiny real GeoTIFFs, vector files and models written to a temp dir."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from click.testing import CliRunner
from rasterio.enums import ColorInterp
from shapely.geometry import box

from scout.model import ModelCard, build_network, save_model

UTM = "EPSG:32647"  # northern Thailand / Myanmar / Yunnan
X0, Y0 = 600_000.0, 2_200_000.0


@pytest.fixture(autouse=True, scope="session")
def _onnx_cache(tmp_path_factory) -> None:
    """Exported ONNX graphs go to a folder of this test session, never the user's cache."""
    os.environ["SCOUT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


BACKGROUND_RGB = (70, 120, 50)  # grass-green
POPPY_RGB = (230, 40, 40)  # painted red: the linear test model calls it poppy
CANNABIS_RGB = (30, 40, 220)  # painted blue: cannabis


def write_raster(
    path: Path,
    data: np.ndarray,
    crs: str = UTM,
    transform: Affine | None = None,
    nodata: float | None = None,
    descriptions: tuple[str, ...] | None = None,
    alpha: bool = False,
) -> Path:
    """Write (bands, h, w) ``data`` as a tiled GeoTIFF; the last band is alpha when ``alpha``."""
    count, height, width = data.shape
    transform = transform or Affine(0.05, 0, X0, 0, -0.05, Y0)
    extra = {"alpha": "YES", "photometric": "RGB"} if alpha else {}
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=count, dtype=data.dtype, crs=crs,
        transform=transform, nodata=nodata, tiled=True, blockxsize=256, blockysize=256, **extra,
    ) as dst:
        dst.write(data)
        if descriptions:
            dst.descriptions = descriptions
        if alpha:
            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
    return path


def painted_scene(height: int, width: int, plots: list[tuple[str, int, int, int, int]], bands: int = 3, dtype=np.uint8, scale: float = 1.0) -> np.ndarray:
    """A green field with painted rectangles ``(class, row0, col0, row1, col1)`` in image pixels."""
    colour = {"background": BACKGROUND_RGB, "poppy": POPPY_RGB, "cannabis": CANNABIS_RGB}
    img = np.empty((bands, height, width), np.float32)
    for b in range(3):
        img[b] = colour["background"][b]
    for cls, r0, c0, r1, c1 in plots:
        for b in range(3):
            img[b, r0:r1, c0:c1] = colour[cls][b]
    if bands > 3:
        img[3:] = 100.0
    return (img * scale).astype(dtype)


def linear_model(path: Path, bands: tuple[str, ...] = ("red", "green", "blue"), gsd_m: float = 0.1, tile_size: int = 128) -> Path:
    """A per-pixel linear model with hand-set weights: red -> poppy, blue -> cannabis.

    Its output is known exactly, so detection results can be asserted to the pixel.
    """
    card = ModelCard(
        name=path.name, version="test", classes=("background", "poppy", "cannabis"), bands=bands, gsd_m=gsd_m,
        tile_size=tile_size, normalization={"scale": {"uint8": 255.0, "uint16": 2550.0}, "mean": [0.0] * len(bands), "std": [1.0] * len(bands)},
        architecture={"name": "pixel_linear"}, description="test model",
    )
    net = build_network(card.architecture, len(bands), 3)
    w = torch.zeros(3, len(bands), 1, 1)
    b = torch.zeros(3)
    r, g, bl = bands.index("red"), bands.index("green"), bands.index("blue")
    w[1, r], w[1, g], b[1] = 20.0, -20.0, -6.0  # poppy: red >> green
    w[2, bl], w[2, r], b[2] = 20.0, -20.0, -6.0  # cannabis: blue >> red
    with torch.no_grad():
        net.weight.copy_(w)
        net.bias.copy_(b)
    save_model(net, card, path)
    return path


@pytest.fixture
def rgb_model(tmp_path: Path) -> Path:
    return linear_model(tmp_path / "models" / "linear-rgb")


@pytest.fixture
def sat_model(tmp_path: Path) -> Path:
    return linear_model(tmp_path / "models" / "linear-sat", bands=("blue", "green", "red", "nir"), gsd_m=0.5)


def unet_model(path: Path, seed: int = 0, base_channels: int = 8, depth: int = 2, tile_size: int = 128) -> Path:
    """A small randomly initialised U-Net (seeded): real convolutions at real speed, arbitrary output."""
    torch.manual_seed(seed)
    card = ModelCard(
        name=path.name, version="test", classes=("background", "poppy", "cannabis"), bands=("red", "green", "blue"), gsd_m=0.1,
        tile_size=tile_size, normalization={"scale": {"uint8": 255.0}, "mean": [0.4, 0.45, 0.3], "std": [0.2, 0.2, 0.2]},
        architecture={"name": "unet", "base_channels": base_channels, "depth": depth}, description="random test model",
    )
    net = build_network(card.architecture, 3, 3)
    save_model(net, card, path)
    return path


def known_plots(path: Path, canvas: Path) -> Path:
    """A labels file in WGS 84 over ``canvas``: a confirmed 3 m x 2 m poppy plot and a false alarm."""
    with rasterio.open(canvas) as src:
        b, crs = src.bounds, src.crs
    poppy, false_alarm = box(b.left + 5, b.bottom + 5, b.left + 8, b.bottom + 7), box(b.left + 15, b.bottom + 15, b.left + 18, b.bottom + 18)
    labels = gpd.GeoDataFrame({"class": ["poppy", "background"]}, geometry=[poppy, false_alarm], crs=crs)
    labels.to_crs("EPSG:4326").to_file(path, layer="labels")
    return path


def invoke(*args):
    """``scout ARGS -q`` through click's test runner."""
    from scout.cli import _register, cli

    _register()
    return CliRunner().invoke(cli, [str(a) for a in args] + ["-q"])


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and its sha256: what must not change."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, Path]:
    """A 10 m x 10 m flight with one poppy plot, the linear model, and a finished run to protect."""
    d = tmp_path_factory.mktemp("base")
    image = write_raster(d / "flight.tif", painted_scene(200, 200, [("poppy", 40, 40, 120, 120)]))
    model = linear_model(d / "models" / "lin")
    run = d / "reference-run"
    result = invoke("detect", image, "--out", run, "--model", model)
    assert result.exit_code == 0, result.output
    return {"dir": d, "image": image, "model": model, "run": run}


def can_make_unreplaceable(probe_dir: Path) -> bool:
    """Root ignores permissions: there a folder is made immutable (chattr +i), where the file system allows it."""
    if os.geteuid() != 0:
        return True
    probe = probe_dir / "immutable-probe"
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode == 0
    except OSError:
        return False
    subprocess.run(["chattr", "-i", str(probe)], capture_output=True)
    probe.rmdir()
    return ok


@contextlib.contextmanager
def unreplaceable(folder: Path) -> Iterator[None]:
    """``folder`` cannot be renamed or deleted while inside: immutable as root, its parent read-only otherwise."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True, capture_output=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True, capture_output=True)
    else:
        mode = folder.parent.stat().st_mode
        folder.parent.chmod(0o555)
        try:
            yield
        finally:
            folder.parent.chmod(mode)
