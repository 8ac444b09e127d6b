"""Model execution: backends agree, chunked CPU passes equal one pass, threads are shared out."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from scout import inference
from scout.errors import InputError
from scout.inference import backend, cached_model, predict, worker_threads
from scout.model import ModelCard, build_network, save_model

needs_ort = pytest.mark.skipif(backend("cpu") != "onnxruntime", reason="needs onnx + onnxruntime (pip install 'scout[onnx]')")


@pytest.fixture
def unet(tmp_path):
    torch.manual_seed(1)
    arch = {"name": "unet", "base_channels": 8, "depth": 2}
    card = ModelCard(name="unet", version="test", classes=("background", "poppy", "cannabis"), bands=("red", "green", "blue"), gsd_m=0.1,
                     tile_size=64, normalization={"scale": {"uint8": 255.0}, "mean": [0.4] * 3, "std": [0.2] * 3}, architecture=arch)
    path = tmp_path / "unet"
    save_model(build_network(arch, 3, 3).eval(), card, path)
    return str(path)


def tiles(n: int, side: int = 64) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, 3, side, side), dtype=np.float32)


@pytest.mark.parametrize("name", ["torch", pytest.param("onnxruntime", marks=needs_ort)])
def test_chunked_cpu_passes_equal_tile_by_tile(unet, name, monkeypatch):
    monkeypatch.setenv(inference.BACKEND_ENV, name)
    monkeypatch.setattr(inference, "CPU_CHUNK_PX", 2 * 64 * 64)  # chunks of 2 tiles: 5 tiles -> 2 + 2 + 1
    model = cached_model(unet, "cpu")
    x = tiles(5)
    probs = predict(model, x, "cpu")
    assert probs.shape == (5, 2, 64, 64) and probs.dtype == np.float32
    assert (probs >= 0).all() and (probs.sum(axis=1) <= 1 + 1e-6).all()
    single = np.concatenate([predict(model, x[i : i + 1], "cpu") for i in range(5)])
    np.testing.assert_allclose(probs, single, atol=1e-6)


@needs_ort
def test_onnxruntime_matches_torch_and_ignores_thread_count(unet, monkeypatch):
    monkeypatch.setattr(inference, "CPU_CHUNK_PX", 64 * 64)  # one tile per pass: the 3 tiles run side by side
    x = tiles(3)
    monkeypatch.setenv(inference.BACKEND_ENV, "torch")
    ref = predict(cached_model(unet, "cpu"), x, "cpu")
    monkeypatch.delenv(inference.BACKEND_ENV)
    outs = []
    try:
        for threads in (1, 2, 3, 2 * inference.MAX_TILES_AT_ONCE):
            inference.configure_threads(threads)  # 1, 2 or 3 tiles side by side; the most at once, 2 threads each
            outs.append(predict(cached_model(unet, "cpu"), x, "cpu"))
    finally:
        inference.configure_threads(None)
    assert np.abs(outs[0] - ref).max() < 1e-5
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    np.testing.assert_array_equal(outs[0], outs[3])


@needs_ort
def test_cpu_inference_with_a_cached_onnx_graph_never_imports_torch(unet, tmp_path):
    """The first run exports the ONNX graph into the cache; the next process runs from it
    without importing torch (~700 MB of RSS for a CUDA build)."""
    env = {**os.environ, inference.CACHE_ENV: str(tmp_path / "cache")}
    code = (
        "import sys, numpy as np; from scout.inference import cached_model, predict; "
        f"p = predict(cached_model({unet!r}, 'cpu'), np.ones((2, 3, 64, 64), np.float32), 'cpu'); "
        "print(p.shape, 'torch' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["(2,", "2,", "64,", "64)", "True"]  # exported with torch
    assert len(list((tmp_path / "cache" / "onnx").glob("unet-*.onnx"))) == 1
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert second.stdout.split() == ["(2,", "2,", "64,", "64)", "False"]


def test_backend_choice(monkeypatch):
    assert backend("cuda") == "torch"
    monkeypatch.setenv(inference.BACKEND_ENV, "torch")
    assert backend("cpu") == "torch"


@pytest.mark.parametrize(("cores", "host_threads", "expected"), [(16, 2, 8), (16, 3, 5), (2, 2, 1), (2, 4, 1), (8, 0, 8)])
def test_worker_threads_share_the_cores(cores, host_threads, expected):
    assert worker_threads(cores, host_threads) == expected


def test_normalize_follows_the_card():
    card = ModelCard(name="m", version="1", classes=("background", "poppy"), bands=("red", "nir"), gsd_m=0.5, tile_size=64,
                     normalization={"scale": {"uint16": 10000.0}, "mean": [0.1, 0.3], "std": [0.05, 0.2]}, architecture={"name": "pixel_linear"})
    raw = np.array([[[1000, 2000]], [[3000, 5000]]], np.uint16)
    out = inference.normalize(raw, card, "uint16")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[[0.0, 2.0]], [[0.0, 1.0]]], atol=1e-6)


def test_a_replaced_model_file_is_reloaded(unet):
    first = cached_model(unet, "cpu")
    assert cached_model(unet, "cpu") is first  # loaded once per process
    card = ModelCard.read(unet + ".json")
    torch.manual_seed(2)
    save_model(build_network(card.architecture, 3, 3).eval(), card, unet)  # retrained, same path
    second = cached_model(unet, "cpu")
    assert second is not first and second.card.sha256 != first.card.sha256


def test_allocation_failures_are_recognised():
    errors = []
    for allocate in (lambda: torch.empty(2**50), lambda: np.empty(2**60, np.uint8)):
        try:
            allocate()
        except Exception as exc:  # whatever the library raises
            errors.append(exc)
    assert len(errors) == 2 and all(inference.out_of_memory(e) for e in errors)
    assert not inference.out_of_memory(RuntimeError("shapes do not match"))


def test_device_names_are_checked_before_any_work():
    assert inference.pick_device("CPU") == "cpu"
    assert inference.pick_device("cuda:0") in ("cuda:0", "cpu")  # cpu, with a warning, where CUDA is absent
    for wrong in ("tpu", "cuda:x", "gpu0"):
        with pytest.raises(InputError, match=f"--device {wrong}: expected cpu, cuda, cuda:N"):
            inference.pick_device(wrong)


def test_a_tensor_of_the_wrong_shape_is_named_with_both_shapes(tmp_path):
    """Issue 17, case 6: the error stopped at 'Error(s) in loading state_dict for UNet:'."""
    from scout.errors import ModelError
    from scout.model import load_model

    arch = {"name": "unet", "base_channels": 8, "depth": 2}
    card = ModelCard(name="liar", version="test", classes=("background", "poppy", "cannabis"), bands=("red", "green", "blue"), gsd_m=0.1,
                     tile_size=64, normalization={"scale": {"uint8": 255.0}, "mean": [0.4] * 3, "std": [0.2] * 3}, architecture=arch)
    save_model(build_network(arch, 4, 3), card, tmp_path / "liar")  # weights for 4 bands under a card that says 3
    with pytest.raises(ModelError, match=r"liar\.safetensors: weights do not fit .*: tensor down\.0\.0\.weight is 8x4x3x3 in the file, the card needs 8x3x3x3") as err:
        load_model(tmp_path / "liar")
    assert "\n" not in str(err.value)


def test_missing_and_extra_tensors_are_named():
    """The other two ways weights do not fit a card (issue 17, case 6): too few tensors, or too many."""
    from scout.model.io import tensor_misfit

    needed = {f"t{i}": torch.zeros(2, 3) for i in range(5)}
    assert tensor_misfit(dict(needed), needed) == ""
    assert tensor_misfit({"t0": torch.zeros(2, 3)}, needed) == "the file lacks 4 tensor(s) the card needs (t1, t2, t3, ...)"
    assert tensor_misfit({**needed, "head.bias": torch.zeros(3)}, needed) == "the file holds 1 tensor(s) the card has no place for (head.bias)"
