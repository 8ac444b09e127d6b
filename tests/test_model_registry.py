"""Picking the shipped model that fits an image's bands and GSD; listing models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio
from click.testing import CliRunner

from scout.cli import cli
from scout.commands import model_cmds
from scout.detection import detect
from scout.errors import ModelError
from scout.model import ModelCard, build_network, save_model
from scout.model.registry import list_models, pick_model


def _model(folder, name, bands, gsd, sensor):
    arch = {"name": "pixel_linear"}
    card = ModelCard(
        name=name, version="1", classes=("background", "poppy", "cannabis"), bands=bands, gsd_m=gsd, tile_size=64,
        normalization={"scale": {"uint8": 255, "uint16": 10000}, "mean": [0.0] * len(bands), "std": [1.0] * len(bands)},
        architecture=arch, sensor=sensor,
    )
    save_model(build_network(arch, len(bands), 3), card, folder / name)


@pytest.fixture
def models(tmp_path):
    _model(tmp_path, "drone", ("red", "green", "blue"), 0.1, "drone")
    _model(tmp_path, "sat", ("blue", "green", "red", "nir"), 0.5, "satellite")
    (tmp_path / "orphan.json").write_text("{}")  # a card without weights is not a model
    return tmp_path


@pytest.mark.parametrize(
    ("bands", "gsd", "expected"),
    [
        (["red", "green", "blue"], 0.05, "drone"),
        (["red", "green", "blue", "alpha"], 0.3, "drone"),  # no NIR: only the drone model can run
        (["blue", "green", "red", "nir"], 0.5, "sat"),
        (["blue", "green", "red", "nir"], 0.3, "sat"),  # both could run; 0.5 m is nearer on a log scale
        (["blue", "green", "red", "nir"], 0.12, "drone"),
    ],
)
def test_pick_model_nearest_gsd_with_needed_bands(models, bands, gsd, expected):
    assert pick_model(bands, gsd, models).name == expected


@pytest.mark.parametrize(
    ("bands", "gsd", "expected"),
    [
        (["red", "green", "blue"], 1.2, "sat-rgb"),  # satellite imagery without NIR
        (["blue", "green", "red", "nir"], 1.0, "sat"),  # both satellite models can run: the one using more bands
        (["red", "green", "blue"], 0.05, "drone"),
    ],
)
def test_rgb_satellite_model_takes_imagery_without_nir(models, bands, gsd, expected):
    _model(models, "sat-rgb", ("red", "green", "blue"), 0.5, "satellite")
    assert pick_model(bands, gsd, models).name == expected


def test_pick_model_refuses_when_nothing_fits(models, tmp_path):
    with pytest.raises(ModelError, match="no shipped model fits.*coarser"):
        pick_model(["red", "green", "blue"], 3.0, models)
    with pytest.raises(ModelError, match="no models found"):
        pick_model(["red", "green", "blue"], 0.1, tmp_path / "none")


def test_models_env_var_and_listing(models, monkeypatch):
    monkeypatch.setenv("SCOUT_MODELS_DIR", str(models))
    assert [e.card.name for e in list_models()] == ["drone", "sat"]
    model_cmds.register(cli)
    r = CliRunner().invoke(cli, ["models"])
    assert r.exit_code == 0 and "drone v1" in r.output and "bands blue,green,red,nir" in r.output
    r = CliRunner().invoke(cli, ["models", "--dir", str(models / "missing")])
    assert r.exit_code == 2 and "missing: no such folder" in r.output


def test_shipped_models_take_rgb_satellite_imagery(tmp_path):
    """A real 1 m WorldView crop exported as RGB (no NIR) runs on the shipped RGB satellite model."""
    real = Path(__file__).parent / "data" / "real" / "worldview-rotterdam-1m-128.tif"
    rgb = tmp_path / "rgb-export.tif"
    with rasterio.open(real) as src:
        profile = {**src.profile, "count": 3}
        with rasterio.open(rgb, "w", **profile) as dst:
            dst.write(src.read([3, 2, 1]))
            dst.descriptions = ("red", "green", "blue")
    detect([rgb], tmp_path / "run")
    model = json.loads((tmp_path / "run" / "run.json").read_text())["model"]
    assert model["name"] == "scout-satellite-rgb-v1" and model["bands"] == ["red", "green", "blue"]
