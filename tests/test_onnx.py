"""ONNX export: same outputs as torch, Deepness metadata."""

from __future__ import annotations

import json

import pytest

from scout.errors import OutputError
from scout.model import ModelCard, build_network, save_model

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from scout.model.onnx import export_onnx  # noqa: E402  # after the importorskips: skipped, not failed, without onnx


@pytest.fixture
def model(tmp_path):
    arch = {"name": "unet", "base_channels": 4, "depth": 2}
    card = ModelCard(
        name="tiny", version="2", classes=("background", "poppy", "cannabis"), bands=("blue", "green", "red", "nir"),
        gsd_m=0.5, tile_size=64, sensor="satellite", architecture=arch,
        normalization={"scale": {"uint8": 255, "uint16": 10000}, "mean": [0.05, 0.08, 0.07, 0.3], "std": [0.02, 0.03, 0.04, 0.1]},
    )
    save_model(build_network(arch, 4, 3), card, tmp_path / "tiny")
    return tmp_path / "tiny"


def test_export_matches_torch_and_carries_deepness_metadata(model, tmp_path):
    out = export_onnx(model, tmp_path / "tiny.onnx")  # raises if torch and ONNX differ by > 1e-4
    with pytest.raises(OutputError, match="tiny.onnx: exists; pass --overwrite"):
        export_onnx(model, out)
    assert export_onnx(model, out, overwrite=True) == out
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(out)).metadata_props}
    assert meta["model_type"] == "Segmentor"
    assert meta["class_names"] == {"0": "background", "1": "poppy", "2": "cannabis"}
    assert meta["resolution"] == 50.0  # cm per pixel
    assert meta["tile_size"] == 64
    # Deepness feeds dn/255: mean and std are rescaled so uint16 reflectance*10000 reaches the net unchanged
    card = ModelCard.read(model.with_suffix(".json"))
    dn = 1234.0
    ours = (dn / 10000 - card.normalization["mean"][3]) / card.normalization["std"][3]
    theirs = (dn / 255 - meta["standardization_mean"][3]) / meta["standardization_std"][3]
    assert theirs == pytest.approx(ours, rel=1e-6)


def test_export_of_pickle_is_refused(tmp_path):
    from scout.errors import ModelError

    bad = tmp_path / "m.pt"
    bad.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelError, match="pickle"):
        export_onnx(bad, tmp_path / "m.onnx")


def test_drone_metadata_keeps_uint8_standardization():
    from scout.model.onnx import deepness_metadata

    card = ModelCard(
        name="d", version="1", classes=("background", "poppy", "cannabis"), bands=("red", "green", "blue"), gsd_m=0.1, tile_size=512,
        normalization={"scale": {"uint8": 255}, "mean": [0.4, 0.4, 0.3], "std": [0.2, 0.2, 0.1]}, architecture={"name": "unet", "depth": 2},
        receptive_field_px=54,
    )
    meta = {k: json.loads(v) for k, v in deepness_metadata(card).items()}
    assert meta["standardization_mean"] == pytest.approx([0.4, 0.4, 0.3])
    assert meta["resolution"] == 10.0 and meta["tiles_overlap"] == 11  # 54 px of 512, in percent
