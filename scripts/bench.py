#!/usr/bin/env python
"""Benchmark ``scout detect`` against model-only time and two straightforward baselines.

    .venv/bin/python scripts/bench.py --size 4000 --json bench-4000.json   # quick (minutes)
    .venv/bin/python scripts/bench.py --json bench.json                    # 20,000 x 20,000 px
    .venv/bin/python scripts/bench.py --only-frames --frames 200           # raw drone photos only

In one run on one machine it measures, on a synthetic RGB orthomosaic at 5 cm (a
``scout.synth`` scene tiled block by block into a deflate GeoTIFF, never held in memory)
with an AOI triangle covering half of it:

- end-to-end ``scout detect`` throughput in megapixels per second at model GSD (AOI
  pixels at model GSD / seconds), its peak RSS, and the peak RSS on a raster twice as large
  (2N x N px, same AOI share);
- model-only time: the same number of tiles of the same size pushed through
  ``scout.inference.predict`` from memory; the ratio end-to-end / model-only, each detect
  run followed at once by its model-only run, ``--repeat`` times (the median pair is reported);
- reading-only time: the run's blocks read and normalized and nothing else, and so the
  least that ratio can be where the model alone fills every core;
- where the CPU of one more ``scout detect`` goes, by thread (model, reading, finishing, main,
  hashing, native): what is left beyond the model, as a share of the model's CPU in that run;
- the same ratio on a copy of the mosaic with averaged internal overviews, which Scout reads
  at the model's GSD instead of averaging the full-resolution pixels;
- the speed-up of ``--workers 2`` over one process;
- raw drone photos (``--frames N``, default 200): a synthetic flight of 20 MP photos (5472 x 3648,
  a 1" camera's 8.8 mm lens, 80 m up: 2.2 cm) rendered over the mosaic with DJI-style EXIF/XMP,
  then ``scout detect`` on the folder: photos per second, each photo's ground at model GSD in
  megapixels, and where the time goes (photo metadata and placement, with the yaw check;
  reading and warping the photos; the model), with model-only on the same tiles;
- the same model through (a) a naive read-everything-then-tile loop and (b) torchgeo's
  ``GridGeoSampler`` + ``DataLoader`` (run in ``.bench-venv/``, a separate venv, so torchgeo
  never enters Scout's dependencies), as time ratios to Scout.

Each measured run is a subprocess; peak RSS is the largest sum of RSS over its process
tree, polled every 0.1 s; CPU seconds are user + system time of the tree.  On a shared
machine wall times also count other people's work: compare the CPU ratios there.  Sub-commands ``model-only``, ``reading``,
``threads``, ``naive`` and ``torchgeo`` are those subprocesses.  The model is the shipped drone model when ``models/`` has one, else a
randomly initialised U-Net of the shipped architecture (its speed is what matters).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = ROOT / ".bench-venv"
BENCH_PIP = ["torch==2.14.1", "torchvision==0.29.1", "torchgeo==0.8.1", "requests"]
SCENE_PX = 2048  # the synthetic scene tiled into the mosaic
GSD_M = 0.05  # mosaic GSD: a drone flight read at the model's (coarser) GSD
ORIGIN = (400_000.0, 2_300_000.0)  # EPSG:32647, northern Thailand


# ---------------------------------------------------------------- inputs


def bench_model(work: Path) -> tuple[Path, str]:
    """The shipped RGB drone model, else a random U-Net of the shipped shape saved with save_model."""
    from scout.model.registry import list_models

    shipped = [e for e in list_models() if set(e.card.bands) <= {"red", "green", "blue"}]
    if shipped:
        return shipped[0].path, f"shipped {shipped[0].card.name}"
    import torch

    from scout.model import ModelCard, build_network, save_model

    path = work / "models" / "random-unet"
    arch = {"name": "unet", "base_channels": 16, "depth": 2}
    if not path.with_suffix(".json").exists():
        torch.manual_seed(0)
        card = ModelCard(
            name="random-unet", version="bench", classes=("background", "poppy", "cannabis"), bands=("red", "green", "blue"),
            gsd_m=0.1, tile_size=512, normalization={"scale": {"uint8": 255.0}, "mean": [0.4, 0.45, 0.3], "std": [0.2, 0.2, 0.2]},
            architecture=arch, description="random weights: for timing only",
        )
        save_model(build_network(arch, 3, 3).eval(), card, path)
    return path, "random U-Net (base 16, depth 2; no shipped model in models/)"


def make_mosaic(path: Path, width: int, height: int, work: Path) -> Path:
    """A ``width`` x ``height`` px RGB GeoTIFF at 5 cm (tiled, deflate), written window by window."""
    if path.exists():
        return path
    import numpy as np
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    from scout.synth import make_scene

    scene = make_scene(work / "scene", seed=11, size_px=SCENE_PX, gsd_m=GSD_M)
    with rasterio.open(scene.image_path) as src:
        tile = src.read()
    tmp = path.with_name(path.name + ".partial")
    profile = dict(driver="GTiff", width=width, height=height, count=3, dtype="uint8", crs="EPSG:32647",
                   transform=Affine(GSD_M, 0, ORIGIN[0], 0, -GSD_M, ORIGIN[1]), tiled=True, blockxsize=512, blockysize=512,
                   compress="deflate", BIGTIFF="IF_SAFER", photometric="RGB")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.descriptions = ("red", "green", "blue")
        for row in range(0, height, SCENE_PX):
            for col in range(0, width, SCENE_PX):
                h, w = min(SCENE_PX, height - row), min(SCENE_PX, width - col)
                dst.write(np.ascontiguousarray(tile[:, :h, :w]), window=Window(col, row, w, h))
    os.replace(tmp, path)
    return path


def add_overviews(raster: Path, path: Path) -> Path:
    """A copy of ``raster`` with averaged internal overviews (``gdaladdo -r average 2 4 8 16``),
    as a drone operator can export it: Scout then reads at the model's GSD from an overview."""
    if path.exists():
        return path
    import shutil

    import rasterio
    from rasterio.enums import Resampling

    tmp = path.with_name(path.name + ".partial")
    shutil.copyfile(raster, tmp)
    with rasterio.Env(COMPRESS_OVERVIEW="DEFLATE", GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(tmp, "r+") as ds:
        ds.build_overviews([2, 4, 8, 16], Resampling.average)
    os.replace(tmp, path)
    return path


def make_aoi(raster: Path, path: Path) -> Path:
    """A triangle over the raster's lower-left half (half its area), as a GeoPackage."""
    import geopandas as gpd
    import rasterio
    import shapely

    with rasterio.open(raster) as src:
        left, bottom, right, top = src.bounds
        crs = src.crs
    tri = shapely.Polygon([(left, top), (left, bottom), (right, bottom)])
    gpd.GeoDataFrame({"name": ["half"]}, geometry=[tri], crs=crs).to_file(path, driver="GPKG")
    return path


# ---------------------------------------------------------------- measuring


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``cmd``: wall seconds, CPU seconds (user + sys of the tree), peak RSS (MB) summed over its
    process tree, return code, output.  CPU seconds matter on a shared machine, where wall time
    also counts other people's work."""
    import resource

    import psutil

    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    reader.start()
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [ps, *ps.children(recursive=True)])
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    reader.join(timeout=5)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    return {"cmd": " ".join(cmd), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(peak / 2**20), "rc": proc.returncode, "output": "".join(out)[-4000:]}


def scout_detect(raster: Path, aoi: Path, model: Path, out: Path, *extra: str) -> dict:
    cmd = [sys.executable, "-m", "scout.cli", "detect", str(raster), "--aoi", str(aoi), "--model", str(model), "--out", str(out), "--overwrite", "-q", *extra]
    m = measure(cmd)
    if m["rc"] != 0:
        raise SystemExit(f"scout detect failed ({m['rc']}):\n{m['output']}")
    from scout.detection.plan import auto_batch_size

    run = json.loads((out / "run.json").read_text())
    gsd = run["model"]["gsd_m"]
    tile_px = run["parameters"]["tile_size"]
    m.update(
        detect_s=run["timings"]["total_s"], timings=run["timings"], tiles=run["counts"]["tiles"], tile_px=tile_px,
        batch=run["parameters"]["batch_size"] or auto_batch_size(tile_px), tile_mp=run["counts"]["megapixels"], aoi_mp=round(run["areas_m2"]["aoi"] / gsd**2 / 1e6, 2),
    )
    m["mp_s"] = round(m["aoi_mp"] / m["wall_s"], 3)
    m["mp_per_cpu_s"] = round(m["aoi_mp"] / m["cpu_s"], 3)
    return m


def paired(raster: Path, aoi: Path, model: Path, out: Path, repeat: int, log: Callable[[str], None]) -> tuple[dict, dict, dict, list[dict]]:
    """``scout detect`` and, right after it, the model alone on as many tiles, ``repeat`` times.

    Other people's work on a shared machine moves both times by a quarter from one minute to
    the next, so each ratio is taken within a back-to-back pair; returns the pair with the
    median ratio (detect, model-only, its ratios) and the ratios of all pairs."""
    pairs = []
    for k in range(repeat):
        log(f"  scout detect {raster.name} ({k + 1}/{repeat}) ...")
        e2e = scout_detect(raster, aoi, model, out)
        log(f"  model only ({k + 1}/{repeat}) ...")
        mo = measure([sys.executable, __file__, "model-only", "--tiles", str(e2e["tiles"]), "--model", str(model),
                      "--tile-px", str(e2e["tile_px"]), "--batch", str(e2e["batch"])])
        mo.update(_json_tail(mo))
        pairs.append((e2e, mo, {
            "detect_total": round(e2e["detect_s"] / mo["seconds"], 3),  # detect() / the predict loop, wall
            "wall": round(e2e["wall_s"] / mo["seconds"], 3),  # the whole command (imports included) / the predict loop
            "cpu": round(e2e["cpu_s"] / mo["cpu_s"], 3),  # CPU of both processes
        }))
    pairs.sort(key=lambda p: p[2]["detect_total"])
    e2e, mo, ratio = pairs[(len(pairs) - 1) // 2]
    return e2e, mo, ratio, [p[2] for p in pairs]


FRAME_CAMERA = (5472, 3648, 3648.0)  # 20 MP, focal in pixels: a Phantom 4 RTK's 8.8 mm lens on a 13.2 mm wide sensor
FRAME_AGL_M = 80.0
FRAMES_PER_STRIP = 20


def make_flight(work: Path, n_frames: int) -> Path:
    """A folder of ``n_frames`` synthetic 20 MP photos over a bench mosaic (kept and reused)."""
    from scout.synth.flight import SynthCamera, lawnmower, render_flight

    folder = work / f"flight-{n_frames}"
    if len(list(folder.glob("DJI_*.JPG"))) == n_frames:
        return folder
    camera = SynthCamera(*FRAME_CAMERA)
    across, along = FRAME_AGL_M * camera.width / camera.focal_px, FRAME_AGL_M * camera.height / camera.focal_px
    strips = -(-n_frames // FRAMES_PER_STRIP)
    width_m, height_m = across + across * 0.3 * (strips - 1), along + along * 0.2 * (FRAMES_PER_STRIP - 1)
    mosaic = make_mosaic(work / f"mosaic-frames-{n_frames}.tif", int(width_m / GSD_M) + 1, int(height_m / GSD_M) + 1, work)
    bounds = (ORIGIN[0], ORIGIN[1] - height_m, ORIGIN[0] + width_m, ORIGIN[1])
    poses = lawnmower(bounds, FRAME_AGL_M, camera, overlap=(0.8, 0.7))[:n_frames]
    render_flight(mosaic, folder, FRAME_AGL_M, camera, poses)
    return folder


def frames_case(work: Path, model: Path, n_frames: int, log: Callable[[str], None]) -> dict:
    """``scout detect`` on a folder of raw photos, and the model alone on the same tiles."""
    log(f"rendering {n_frames} synthetic 20 MP photos (once; kept in {work}) ...")
    folder = make_flight(work, n_frames)
    log(f"scout detect on {n_frames} photos ...")
    out = work / "run-frames"
    m = measure([sys.executable, "-m", "scout.cli", "detect", str(folder), "--model", str(model), "--out", str(out), "--overwrite", "-q"])
    if m["rc"] != 0:
        raise SystemExit(f"scout detect on photos failed ({m['rc']}):\n{m['output']}")
    run = json.loads((out / "run.json").read_text())
    from scout.detection.plan import auto_batch_size

    tile_px = run["parameters"]["tile_size"]
    mo = measure([sys.executable, __file__, "model-only", "--tiles", str(run["counts"]["tiles"]), "--model", str(model),
                  "--tile-px", str(tile_px), "--batch", str(run["parameters"]["batch_size"] or auto_batch_size(tile_px))])
    mo.update(_json_tail(mo))
    t, f = run["timings"], run["frames"]
    placing = sum(f["timings"].values())
    gsd = run["model"]["gsd_m"]
    areas = [abs(r["gsd_m"] or 0) ** 2 * r["meta"]["width"] * r["meta"]["height"] for r in f["records"] if r["status"] == "used"]
    return {
        "photos": f["photos"], "used": f["used"], "photo_px": list(FRAME_CAMERA[:2]), "agl_m": FRAME_AGL_M, "scout": m, "model_only": mo,
        "photos_per_s": round(f["photos"] / m["wall_s"], 3), "photos_per_cpu_s": round(f["photos"] / m["cpu_s"], 3),
        "photo_mp_at_model_gsd": round(float(sum(areas) / len(areas)) / gsd**2 / 1e6, 3) if areas else None,
        "timings": t, "frame_timings": f["timings"],
        # detect()'s wall time: photos' metadata and placement (before any block), then blocks (reading and the model in
        # threads of their own, so their sums overlap), then the COG and plots
        "share_of_detect": {"metadata_and_placing": round(placing / t["total_s"], 3), "blocks": round(t["blocks_s"] / t["total_s"], 3),
                            "rest": round(1 - (placing + t["blocks_s"]) / t["total_s"], 3)},
        "reading_vs_model": {"reading_and_warping_s": t["read_s"], "model_s": t["infer_s"], "model_only_s": round(mo["seconds"], 3)},
        "ratio_detect_to_model_only": round(t["total_s"] / mo["seconds"], 3),
    }


# ---------------------------------------------------------------- sub-commands (run as subprocesses)


def cmd_model_only(a: argparse.Namespace) -> None:
    """Push ``--tiles`` random tiles through predict in batches, from memory; print JSON seconds."""
    import numpy as np

    from scout.inference import backend, cached_model, configure_threads, predict

    configure_threads(None)
    model = cached_model(str(a.model), "cpu")
    rng = np.random.default_rng(0)
    tiles = rng.standard_normal((a.batch, len(model.card.bands), a.tile_px, a.tile_px), dtype=np.float32)
    predict(model, tiles[:1], "cpu")  # warm-up (ONNX export, session) left out: this is the model's own time
    t0, c0 = time.perf_counter(), time.process_time()
    done = 0
    while done < a.tiles:
        n = min(a.batch, a.tiles - done)
        predict(model, tiles[:n], "cpu")
        done += n
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "tiles": done, "backend": backend("cpu")}))


def cmd_reading(a: argparse.Namespace) -> None:
    """Read and normalize every block of the run's plan as ``scout detect`` does, and nothing
    else; print JSON seconds.  Decoding the imagery is work no pipeline can skip, so
    (model + reading) / model bounds the end-to-end / model-only ratio from below on a
    machine whose cores the model already fills."""
    from scout.detection.blocks import read_input
    from scout.detection.plan import plan_run

    planned = plan_run([a.raster], a.aoi, a.model)
    t0, c0 = time.perf_counter(), time.process_time()
    for block in planned.blocks:
        read_input(planned.plan, block)
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "blocks": len(planned.blocks)}))


def cmd_naive(a: argparse.Namespace) -> None:
    """Read the whole raster at model GSD, tile it, predict tiles touching the AOI, blend, write."""
    import geopandas as gpd
    import numpy as np
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.features import geometry_mask

    from scout.blending import weight_window
    from scout.inference import cached_model, configure_threads, normalize, predict

    t0 = time.perf_counter()
    configure_threads(None)
    model = cached_model(str(a.model), "cpu")
    card = model.card
    with rasterio.open(a.raster) as src:
        scale = src.res[0] / card.gsd_m
        h, w = round(src.height * scale), round(src.width * scale)
        image = src.read(out_shape=(src.count, h, w), resampling=Resampling.average)
        transform = src.transform * src.transform.scale(src.width / w, src.height / h)
        profile = dict(driver="GTiff", width=w, height=h, count=2, dtype="uint8", crs=src.crs, transform=transform, tiled=True, compress="deflate")
    aoi = gpd.read_file(a.aoi).to_crs(profile["crs"])
    inside = geometry_mask(aoi.geometry, out_shape=(h, w), transform=transform, invert=True, all_touched=True)
    size, stride = a.tile_px, a.tile_px - a.overlap
    weights = weight_window(size, a.overlap)
    sums = np.zeros((2, h, w), np.float32)
    wsum = np.zeros((h, w), np.float32)
    windows = [(r, c) for r in range(0, max(1, h - a.overlap), stride) for c in range(0, max(1, w - a.overlap), stride)]
    windows = [(r, c) for r, c in windows if inside[r : r + size, c : c + size].any()]
    for k in range(0, len(windows), a.batch):
        batch = []
        for r, c in windows[k : k + a.batch]:
            chip = np.zeros((image.shape[0], size, size), np.float32)
            part = image[:, r : r + size, c : c + size]
            chip[:, : part.shape[1], : part.shape[2]] = part
            batch.append(normalize(chip, card, "uint8"))
        probs = predict(model, np.stack(batch), "cpu")
        for (r, c), p in zip(windows[k : k + a.batch], probs):
            ph, pw = min(size, h - r), min(size, w - c)
            sums[:, r : r + ph, c : c + pw] += p[:, :ph, :pw] * weights[:ph, :pw]
            wsum[r : r + ph, c : c + pw] += weights[:ph, :pw]
    probs = np.divide(sums, wsum, out=np.zeros_like(sums), where=wsum > 0) * inside
    with rasterio.open(a.out, "w", **profile) as dst:
        dst.write(np.rint(probs * 255).astype(np.uint8))
    print(json.dumps({"seconds": time.perf_counter() - t0, "tiles": len(windows)}))


def cmd_torchgeo(a: argparse.Namespace) -> None:
    """torchgeo's GridGeoSampler + DataLoader over the raster and AOI, the same model and predict steps.

    Runs in ``.bench-venv`` (torchgeo's own environment); imports only the network definition
    from Scout.  Predictions are not stitched or written (in the baseline's favour)."""
    import geopandas as gpd
    import torch
    from safetensors.torch import load_file
    from torch.utils.data import DataLoader
    from torchgeo.datasets import RasterDataset, stack_samples
    from torchgeo.samplers import GridGeoSampler

    sys.path.insert(0, str(ROOT))
    from scout.model.nets import build_network

    t0 = time.perf_counter()
    card = json.loads(Path(str(a.model) + ".json").read_text())
    net = build_network(card["architecture"], len(card["bands"]), len(card["classes"]))
    net.load_state_dict(load_file(str(a.model) + ".safetensors"))
    net.eval().to(memory_format=torch.channels_last)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    norm = card["normalization"]
    mean = torch.tensor(norm["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(norm["std"]).view(1, -1, 1, 1)
    scale = float(norm["scale"]["uint8"])

    class Mosaic(RasterDataset):
        filename_glob = Path(a.raster).name
        is_image = True

    ds = Mosaic(paths=str(Path(a.raster).parent), res=card["gsd_m"])
    roi = gpd.read_file(a.aoi).to_crs(ds.crs).geometry.iloc[0]
    sampler = GridGeoSampler(ds, size=a.tile_px, stride=a.tile_px - a.overlap, roi=roi)
    loader = DataLoader(ds, sampler=sampler, batch_size=a.batch, collate_fn=stack_samples, num_workers=a.loader_workers)
    n = 0
    with torch.inference_mode():
        for batch in loader:
            x = ((batch["image"].float() / scale - mean) / std).contiguous(memory_format=torch.channels_last)
            torch.softmax(net(x), dim=1)[:, 1:].numpy()
            n += x.shape[0]
    print(json.dumps({"seconds": time.perf_counter() - t0, "tiles": n}))


THREAD_GROUPS = {  # thread name prefix -> what it does in scout detect
    "scout-infer": "model (tiles side by side)",
    "scout-read": "reading (decode, resample, normalize)",
    "scout-finish": "finishing (checkpoint, staging write, trace)",
    "MainThread": "main (imports, plan, blend, COG, vectorize, write)",
    "scout-hash": "hashing inputs",
    "bench-sampler": "bench sampler",
}


def cmd_threads(a: argparse.Namespace) -> None:
    """``scout.detection.detect`` in this process, its threads' CPU seconds sampled from /proc every
    0.2 s and grouped by what they do; threads without a Python name (ONNX Runtime's kernel threads
    on a many-core host, GDAL's compression threads) are "native"; print JSON."""
    import resource

    from scout.detection import detect

    tick = os.sysconf("SC_CLK_TCK")
    cpu: dict[int, float] = {}
    names: dict[int, str] = {}
    stop = threading.Event()

    def sample() -> None:
        for tid in os.listdir("/proc/self/task"):
            try:
                fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended since listdir
            cpu[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
        names.update((t.native_id, t.name) for t in threading.enumerate() if t.native_id)

    def sampler() -> None:
        while not stop.wait(0.2):
            sample()

    threading.Thread(target=sampler, daemon=True, name="bench-sampler").start()
    detect([a.raster], a.out, aoi=a.aoi, model=a.model, overwrite=True)
    stop.set()
    sample()
    groups: dict[str, float] = {}
    for tid, seconds in cpu.items():
        name = names.get(tid)
        group = "native" if name is None else next((g for prefix, g in THREAD_GROUPS.items() if name.startswith(prefix)), "other Python threads")
        groups[group] = groups.get(group, 0.0) + seconds
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    groups["not attributed (threads that ended between samples)"] = max(0.0, total - sum(groups.values()))
    print(json.dumps({"cpu_s": {k: round(v, 2) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])}, "total_cpu_s": round(total, 2)}))


def _json_tail(m: dict) -> dict:
    if m["rc"] != 0:
        raise RuntimeError(m["output"][-2000:])
    return json.loads(m["output"].strip().splitlines()[-1])


# ---------------------------------------------------------------- the benchmark


def ensure_bench_venv() -> tuple[Path | None, str]:
    """``.bench-venv/bin/python`` with torchgeo, built when missing; (None, reason) when it cannot be."""
    py = BENCH_VENV / "bin" / "python"
    check = [str(py), "-c", "import torchgeo, geopandas, safetensors"]
    if py.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return py, "ready"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True, capture_output=True, timeout=300)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *BENCH_PIP], check=True, capture_output=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"cannot build {BENCH_VENV.name} ({type(exc).__name__}: {str(exc)[:200]})"
    ok = subprocess.run(check, capture_output=True, text=True)
    return (py, "built") if ok.returncode == 0 else (None, f"torchgeo does not import in {BENCH_VENV.name}: {ok.stderr.strip().splitlines()[-1:]}")


def run_bench(a: argparse.Namespace) -> dict:
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    model, model_how = bench_model(work)
    if a.only_frames:
        subprocess.run([sys.executable, "-c", f"from scout.inference import cached_model; cached_model({str(model)!r}, 'cpu')"], check=True, cwd=ROOT)
        start = os.getloadavg()
        frames = frames_case(work, model, a.frames, lambda msg: print(msg, file=sys.stderr, flush=True))
        return {"machine": {"cpus": len(os.sched_getaffinity(0)), "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                            "loadavg_start": start, "loadavg_end": os.getloadavg()},
                "model": {"path": str(model), "what": model_how}, "frames": frames}
    n = a.size
    raster = make_mosaic(work / f"mosaic-{n}x{n}.tif", n, n, work)
    aoi = make_aoi(raster, work / f"aoi-{n}.gpkg")
    skip = set(a.skip)
    res: dict = {
        "machine": {"cpus": len(os.sched_getaffinity(0)), "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "loadavg_start": os.getloadavg()},
        "model": {"path": str(model), "what": model_how},
        "raster": {"path": str(raster), "px": [n, n], "gsd_m": GSD_M, "aoi": "triangle, half the raster"},
    }
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731  # one line, passed on as the bench's logger

    # the first CPU run of a model exports its ONNX graph into the cache: do that before measuring
    subprocess.run([sys.executable, "-c", f"from scout.inference import cached_model; cached_model({str(model)!r}, 'cpu')"], check=True, cwd=ROOT)
    e2e, mo, res["ratio_e2e_to_model"], res["ratio_pairs"] = paired(raster, aoi, model, work / "run-1", a.repeat, log)
    res["scout"], res["model_only"] = e2e, mo
    common = ["--model", str(model), "--tile-px", str(e2e["tile_px"]), "--batch", str(e2e["batch"])]
    log("reading only ...")
    rd = res["reading_only"] = _json_tail(measure([sys.executable, __file__, "reading", "--model", str(model), "--raster", str(raster), "--aoi", str(aoi)]))
    res["ratio_floor_cpu"] = round((mo["cpu_seconds"] + rd["cpu_seconds"]) / mo["cpu_seconds"], 3)
    if "threads" not in skip and Path("/proc/self/task").is_dir():
        log("scout detect once more, its CPU by thread ...")
        res["cpu_by_thread"] = _json_tail(measure([sys.executable, __file__, "threads", "--model", str(model), "--raster", str(raster), "--aoi", str(aoi),
                                                   "--out", str(work / "run-threads")]))

    if "overviews" not in skip:
        ovr = add_overviews(raster, work / f"mosaic-{n}x{n}-overviews.tif")
        log("the same mosaic with averaged internal overviews ...")
        e, m, ratio, pairs_ = paired(ovr, aoi, model, work / "run-overviews", a.repeat, log)
        rd_o = _json_tail(measure([sys.executable, __file__, "reading", "--model", str(model), "--raster", str(ovr), "--aoi", str(aoi)]))
        res["overviews"] = {"scout": e, "model_only": m, "ratio_e2e_to_model": ratio, "ratio_pairs": pairs_, "reading_only": rd_o,
                            "ratio_floor_cpu": round((m["cpu_seconds"] + rd_o["cpu_seconds"]) / m["cpu_seconds"], 3)}
    if "workers" not in skip:
        log("scout detect --workers 2 ...")
        w2 = res["scout_workers2"] = scout_detect(raster, aoi, model, work / "run-w2", "--workers", "2")
        res["speedup_workers2"] = round(e2e["wall_s"] / w2["wall_s"], 3)
    if "double" not in skip:
        big = make_mosaic(work / f"mosaic-{2 * n}x{n}.tif", 2 * n, n, work)
        log(f"scout detect on the doubled raster ({2 * n} x {n} px) ...")
        d = res["scout_double"] = scout_detect(big, make_aoi(big, work / f"aoi-{2 * n}x{n}.gpkg"), model, work / "run-double")
        res["rss_double_ratio"] = round(d["peak_rss_mb"] / e2e["peak_rss_mb"], 3)
    overlap = json.loads((work / "run-1" / "run.json").read_text())["parameters"]["overlap"]
    if "frames" not in skip:
        res["frames"] = frames_case(work, model, a.frames, log)
    if "naive" not in skip:
        log("naive read-everything-then-tile loop ...")
        nv = measure([sys.executable, __file__, "naive", "--raster", str(raster), "--aoi", str(aoi), "--out", str(work / "naive.tif"),
                      "--overlap", str(overlap), *common])
        nv.update(_json_tail(nv))
        nv["ratio_to_scout"] = round(nv["wall_s"] / e2e["wall_s"], 3)
        nv["cpu_ratio_to_scout"] = round(nv["cpu_s"] / e2e["cpu_s"], 3)
        res["naive"] = nv
    if "torchgeo" not in skip:
        py, why = ensure_bench_venv()
        if py is None:
            res["torchgeo"] = {"skipped": why}
        else:
            log("torchgeo GridGeoSampler + DataLoader ...")
            tg = measure([str(py), __file__, "torchgeo", "--raster", str(raster), "--aoi", str(aoi), "--overlap", str(overlap),
                          "--loader-workers", str(a.loader_workers), *common])
            try:
                tg.update(_json_tail(tg))
                tg["ratio_to_scout"] = round(tg["wall_s"] / e2e["wall_s"], 3)
                tg["cpu_ratio_to_scout"] = round(tg["cpu_s"] / e2e["cpu_s"], 3)
            except RuntimeError as exc:
                tg = {"skipped": f"torchgeo run failed: {str(exc).strip().splitlines()[-1]}", "cmd": tg["cmd"]}
            res["torchgeo"] = tg
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["git"] = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    return res


def frames_row(f: dict) -> tuple[str, str, str]:
    sh, rm = f["share_of_detect"], f["reading_vs_model"]
    return (f"raw photos ({f['photos']} x {f['photo_px'][0]}x{f['photo_px'][1]}, {f['agl_m']:g} m up)",
            f"{f['scout']['wall_s']} s wall, {f['scout']['cpu_s']} CPU s: {f['photos_per_s']} photos/s; {f['photo_mp_at_model_gsd']} MP a photo at model GSD",
            f"detect(): metadata+placing {sh['metadata_and_placing']:.0%}, blocks {sh['blocks']:.0%}, rest {sh['rest']:.0%}; in blocks reading+warping "
            f"{rm['reading_and_warping_s']} s, model {rm['model_s']} s (model alone {rm['model_only_s']} s); detect / model-only {f['ratio_detect_to_model_only']}")


def table(res: dict) -> str:
    if "scout" not in res:  # --only-frames
        m = res["machine"]
        return "  ".join(frames_row(res["frames"])) + f"  | {m['cpus']} cores, load {m['loadavg_start'][0]:.1f} -> {m['loadavg_end'][0]:.1f}; model {res['model']['what']}"
    e2e, mo = res["scout"], res["model_only"]
    rows = [
        ("model", res["model"]["what"],
         f"backend {mo['backend']}; {res['machine']['cpus']} cores, load {res['machine']['loadavg_start'][0]:.1f} -> {res['machine']['loadavg_end'][0]:.1f}"),
        ("raster", f"{res['raster']['px'][0]} x {res['raster']['px'][1]} px at {res['raster']['gsd_m']} m, AOI half",
         f"{e2e['aoi_mp']} MP AOI at model GSD; {e2e['tiles']} tiles of {e2e['tile_px']} px ({e2e['tile_mp']} MP)"),
        ("scout detect (1 process)", f"{e2e['wall_s']} s wall ({e2e['detect_s']} s in detect(); {e2e['cpu_s']} CPU s)",
         f"{e2e['mp_s']} MP/s ({e2e['mp_per_cpu_s']} MP per CPU s); peak RSS {e2e['peak_rss_mb']} MB"),
        ("  inside detect()", ", ".join(f"{k} {v}" for k, v in e2e["timings"].items()), ""),
        ("model only, same tiles", f"{mo['seconds']:.2f} s ({mo['cpu_seconds']:.2f} CPU s)", f"{e2e['tile_mp'] / mo['seconds']:.3f} tile MP/s"),
        ("end-to-end / model-only", ", ".join(f"{v} ({k})" for k, v in res["ratio_e2e_to_model"].items()),
         f"goal <= 1.15; median of {len(res['ratio_pairs'])} back-to-back pairs, detect_total {' '.join(str(p['detect_total']) for p in res['ratio_pairs'])}"),
        ("reading only, same blocks", f"{res['reading_only']['seconds']:.2f} s ({res['reading_only']['cpu_seconds']:.2f} CPU s)",
         f"(model + reading) / model = {res['ratio_floor_cpu']} CPU: the least the ratio can be while the model fills every core"),
    ]
    if "cpu_by_thread" in res:
        t = res["cpu_by_thread"]
        model_s = t["cpu_s"].get(THREAD_GROUPS["scout-infer"], 0)
        beyond = t["total_cpu_s"] - model_s - t["cpu_s"].get(THREAD_GROUPS["bench-sampler"], 0)
        share = f" = {beyond / model_s:.3f} of the model's CPU in the same run" if model_s else ""
        rows.append(("  CPU by thread (one more run)", ", ".join(f"{k} {v}" for k, v in t["cpu_s"].items()),
                     f"{t['total_cpu_s']} CPU s; beyond the model {beyond:.1f} CPU s{share}"))
    if "overviews" in res:
        o = res["overviews"]
        rows.append(("  with internal overviews", ", ".join(f"{v} ({k})" for k, v in o["ratio_e2e_to_model"].items()),
                     f"{o['scout']['mp_s']} MP/s; pairs {' '.join(str(p['detect_total']) for p in o['ratio_pairs'])}; floor {o['ratio_floor_cpu']}"))
    if "scout_workers2" in res:
        w2 = res["scout_workers2"]
        rows.append(("--workers 2", f"{w2['wall_s']} s wall, {w2['cpu_s']} CPU s; speed-up {res['speedup_workers2']}x", f"peak RSS {w2['peak_rss_mb']} MB (all processes)"))
    if "scout_double" in res:
        d = res["scout_double"]
        rows.append(("doubled raster (2N x N)", f"{d['wall_s']} s wall, {d['cpu_s']} CPU s, {d['mp_s']} MP/s",
                     f"peak RSS {d['peak_rss_mb']} MB = {res['rss_double_ratio']}x (goal <= 1.2x, < 1536 MB)"))
    if "frames" in res:
        rows.append(frames_row(res["frames"]))
    for key, label in (("naive", "naive read-all-then-tile"), ("torchgeo", "torchgeo GridGeoSampler")):
        if key in res:
            b = res[key]
            if "skipped" in b:
                rows.append((label, f"skipped ({b['skipped']})", ""))
            else:
                rows.append((label, f"{b['wall_s']} s wall = {b['ratio_to_scout']}x Scout's; {b['cpu_s']} CPU s = {b['cpu_ratio_to_scout']}x; {b['tiles']} tiles",
                             f"peak RSS {b['peak_rss_mb']} MB"))
    w = max(len(r[0]) for r in rows)
    return "\n".join(f"{a.ljust(w)}  {b}" + (f"  | {c}" if c else "") for a, b, c in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="sub")
    ap.add_argument("--size", type=int, default=20_000, help="mosaic width and height in pixels at 5 cm (default 20000)")
    ap.add_argument("--work", default=str(ROOT / "runs" / "bench"), help="scratch folder (rasters are kept and reused)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["threads", "overviews", "workers", "double", "frames", "naive", "torchgeo"])
    ap.add_argument("--frames", type=int, default=200, help="raw photos in the frames case (default 200, 20 MP each)")
    ap.add_argument("--only-frames", action="store_true", help="only the raw-photo case")
    ap.add_argument("--loader-workers", type=int, default=0, help="torchgeo DataLoader num_workers")
    ap.add_argument("--repeat", type=int, default=3, help="back-to-back detect / model-only pairs; the median pair is reported (default 3)")
    ap.add_argument("--json", type=Path, help="write every measurement here")
    for name in ("reading", "threads"):
        p = sub.add_parser(name)
        for arg in ("--model", "--raster", "--aoi"):
            p.add_argument(arg, type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)  # threads: where its run goes
    for name in ("model-only", "naive", "torchgeo"):
        p = sub.add_parser(name)
        p.add_argument("--model", type=Path, required=True)
        p.add_argument("--tile-px", type=int, required=True)
        p.add_argument("--batch", type=int, required=True)
        if name == "model-only":
            p.add_argument("--tiles", type=int, required=True)
        else:
            p.add_argument("--raster", type=Path, required=True)
            p.add_argument("--aoi", type=Path, required=True)
            p.add_argument("--overlap", type=int, required=True)
        if name == "naive":
            p.add_argument("--out", type=Path, required=True)
        if name == "torchgeo":
            p.add_argument("--loader-workers", type=int, default=0)
    a = ap.parse_args(argv)
    if a.sub:
        {"model-only": cmd_model_only, "reading": cmd_reading, "threads": cmd_threads, "naive": cmd_naive, "torchgeo": cmd_torchgeo}[a.sub](a)
        return 0
    res = run_bench(a)
    print(table(res))
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
