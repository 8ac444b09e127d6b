"""Run a model over tiles: device, threads, backend, normalization from the card, batched softmax.

On CPU the network runs on ONNX Runtime when ``onnx`` and ``onnxruntime`` are installed
(``pip install 'scout[onnx]'``): on the shipped U-Net it takes about 2.2x less CPU time per
megapixel than torch eager in channels-last.  A batch's tiles run side by side, one
thread each: on 2 cores that is 1.35x the throughput of ONNX Runtime's own two-thread
kernels (43 vs 58 ms per 512 px tile) for 13% less CPU.  Each tile in flight holds its
activations (~100 MB for a 512 px tile of the shipped U-Net), so at most
:data:`MAX_TILES_AT_ONCE` run at once and more cores go to each tile's kernels: memory
stays bounded on a many-core host.  A tile's output does not depend on the thread count,
so a cluster run equals an in-process run to the bit.

The ONNX graph is exported from the safetensors weights once and kept in a cache folder
(:func:`cache_dir`), keyed by the weights' sha256, so later runs never import torch: a CUDA
build of torch alone takes ~700 MB of RSS.  Otherwise, or with ``SCOUT_BACKEND=torch``,
torch eager in channels-last runs the network.  CUDA always uses torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import logging
import os
import re
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from scout.errors import InputError, ModelError, OutputError
from scout.io import atomic_path
from scout.model.card import ModelCard
from scout.model.files import find_model_files, read_checked

log = logging.getLogger(__name__)

BACKEND_ENV = "SCOUT_BACKEND"  # "torch" forces torch eager on CPU
CACHE_ENV = "SCOUT_CACHE_DIR"
CPU_CHUNK_PX = 2**18  # pixels per CPU forward pass (one 512 px tile): a bigger pass is no faster
ONNX_OPSET = 17
MAX_TILES_AT_ONCE = 4  # CPU tiles in flight: peak RSS +110 MB each (1 tile: 371 MB, 4: 692, 8: 1040)
_threads: int | None = None  # set by configure_threads
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (tiles_at_once(), pool)
_pool_lock = threading.Lock()


def cpu_count() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _nvidia_driver() -> bool:
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia/version")


def pick_device(requested: str | None = None) -> str:
    """``cuda`` when present (or asked for), else ``cpu``.  On Linux without an NVIDIA
    driver the answer is ``cpu`` without importing torch."""
    requested = requested.strip().lower() if requested else requested
    if requested and not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", requested):
        raise InputError(f"--device {requested}: expected cpu, cuda, cuda:N (a GPU number) or mps")
    if requested and requested != "auto" and not requested.startswith("cuda"):
        return requested
    if not requested or requested == "auto":
        if sys.platform.startswith("linux") and not _nvidia_driver():
            return "cpu"
    import torch

    if requested and requested.startswith("cuda"):
        if not torch.cuda.is_available():
            log.warning("CUDA asked for but not available; running on CPU")
            return "cpu"
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def configure_threads(threads: int | None = None) -> int:
    """CPU inference threads: all cores by default."""
    global _threads
    _threads = max(1, threads or cpu_count())
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(_threads)
    return _threads


def inference_threads() -> int:
    """CPU threads for inference: ONNX Runtime's over all tiles in flight, or torch's intra-op threads."""
    return _threads or cpu_count()


def tiles_at_once() -> int:
    """ONNX Runtime tiles run side by side on CPU; each gets ``inference_threads() // tiles_at_once()`` threads."""
    return min(inference_threads(), MAX_TILES_AT_ONCE)


def worker_threads(cores: int, host_task_threads: int) -> int:
    """Inference threads per task on a host running ``host_task_threads`` tasks at once
    (the dask threads of every worker on that host): the cores shared out, at least 1."""
    return max(1, cores // max(1, host_task_threads))


def _dask_host_task_threads() -> int | None:
    """Dask task threads on this host when called inside a dask worker, else None."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:
        return None
    try:
        workers = worker.client.scheduler_info(n_workers=-1)["workers"].values()
        return sum(w["nthreads"] for w in workers if w["host"] == worker.ip) or worker.state.nthreads
    except (OSError, KeyError, TimeoutError):
        return worker.state.nthreads


def cache_dir() -> Path:
    """Where exported ONNX graphs are kept: ``$SCOUT_CACHE_DIR``, else ``$XDG_CACHE_HOME/scout``
    (``~/.cache/scout``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scout"


@dataclass(eq=False)
class Model:
    """A checked model ready to predict on one device.  The torch network and the ONNX
    Runtime session are made on first use, so a CPU run with a cached ONNX graph never
    imports torch."""

    card: ModelCard
    weights_path: Path
    device: str
    _net: Any = field(default=None, repr=False)
    _sessions: dict[int, Any] = field(default_factory=dict, repr=False)  # by intra-op threads
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def net(self) -> Any:
        """The torch network (imports torch)."""
        with self._lock:
            if self._net is None:
                import torch

                from scout.model.io import load_model

                torch.set_num_threads(inference_threads())
                net = load_model(self.weights_path, device=self.device, verify=False).net
                self._net = net.to(memory_format=torch.channels_last) if self.device == "cpu" else net
            return self._net

    def session(self) -> Any:
        """The ONNX Runtime session for the current thread setting; runs may overlap."""
        threads = max(1, inference_threads() // tiles_at_once())
        with self._lock:
            if threads not in self._sessions:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 4  # failures arrive as exceptions; keep ONNX Runtime's C++ log off stderr
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle kernel threads leave the cores to the reader
                self._sessions[threads] = ort.InferenceSession(self._onnx_graph(), options, providers=["CPUExecutionProvider"])
            return self._sessions[threads]

    def _onnx_graph(self) -> bytes:
        card = self.card
        key = hashlib.sha256(json.dumps([card.sha256, card.architecture, card.bands, card.classes, ONNX_OPSET]).encode()).hexdigest()[:20]
        cached = cache_dir() / "onnx" / f"{card.name}-{key}.onnx"
        if cached.is_file():
            return cached.read_bytes()
        graph = _export_probabilities(self)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cached) as tmp:
                tmp.write_bytes(graph)
            log.debug("%s: ONNX graph cached in %s", card.name, cached)
        except (OSError, OutputError) as exc:
            log.debug("%s: ONNX graph not cached (%s)", card.name, exc)
        return graph


def _export_probabilities(model: Model) -> bytes:
    """The network with softmax, background dropped, as an ONNX graph: (N, B, h, w) -> (N, C_fg, h, w)."""
    import torch

    buf = io.BytesIO()
    side = 64  # any multiple of the network's pooling; height and width are dynamic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            _probabilities(model.net).eval(), (torch.zeros(1, len(model.card.bands), side, side),), buf,  # type: ignore[arg-type]  # writes to a file object too; annotated for paths only
            input_names=["x"], output_names=["p"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "p": {0: "n", 2: "h", 3: "w"}},
            opset_version=ONNX_OPSET, dynamo=False,
        )
    return buf.getvalue()


def _probabilities(net: Any) -> Any:
    """``net`` followed by softmax with the background dropped (a torch module)."""
    import torch

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.net(x).float(), dim=1)[:, 1:]

    return Probabilities()


def cached_model(path: str, device: str) -> Model:
    """One checked model per process and model version (workers call this for every block).

    Keyed by the weights' and card's size and modification time as well as the path, so a
    long-lived process (a dask worker, a notebook) never runs a stale model after a model
    file is replaced.  In a dask worker this also shares the host's cores among its task
    threads (dask starts workers with ``OMP_NUM_THREADS=1``, which idles cores when a worker
    has fewer task threads than the host has cores).
    """
    files = find_model_files(path)
    stamp = tuple((f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _load(path, device, stamp)


@lru_cache(maxsize=4)
def _load(path: str, device: str, stamp: tuple) -> Model:  # stamp: only the lru_cache key
    host_threads = _dask_host_task_threads()
    if host_threads is not None and device == "cpu":
        threads = configure_threads(worker_threads(cpu_count(), host_threads))
        log.info("dask worker: %d inference thread(s) per task (%d cores, %d task threads on this host)", threads, cpu_count(), host_threads)
    card, weights = read_checked(path)
    model = Model(card, weights, device)
    # made now, so weights that do not fit the card fail before any block runs (a cached
    # graph was exported from weights that fitted this card's bands and classes: its key)
    if backend(device) == "onnxruntime":
        model.session()
    else:
        model.net  # noqa: B018  # builds the network now: the property is read for its effect
    return model


def backend(device: str) -> str:
    """``onnxruntime`` or ``torch``: what :func:`predict` uses on ``device``."""
    if device != "cpu" or os.environ.get(BACKEND_ENV, "").lower() == "torch":
        return "torch"
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        return "torch"  # torch's exporter needs onnx; ONNX Runtime runs the graph
    return "onnxruntime"


def normalize(raw: np.ndarray, card: ModelCard, dtype: str) -> np.ndarray:
    """Digital numbers (B, h, w) -> float32 network input, per the card: ``(dn / scale - mean) / std``
    (in place on one new array: a block is tens of MB per band)."""
    out = np.divide(raw, np.float32(card.scale_for(dtype)), dtype=np.float32)
    out -= np.asarray(card.normalization["mean"], np.float32)[:, None, None]
    out /= np.asarray(card.normalization["std"], np.float32)[:, None, None]
    return out


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure (numpy, torch CPU/CUDA or ONNX Runtime)."""
    torch = sys.modules.get("torch")
    if isinstance(exc, MemoryError) or (torch is not None and isinstance(exc, torch.OutOfMemoryError)):
        return True
    return any(m in str(exc) for m in ("can't allocate memory", "Failed to allocate memory"))


def predict(model: Model, batch: np.ndarray, device: str) -> np.ndarray:
    """(N, B, t, t) normalized input -> (N, C_fg, t, t) foreground probabilities (softmax, background dropped).

    A tile too large for memory is a ModelError (one line, exit 2), not a crash."""
    try:
        return _predict(model, batch, device)
    except Exception as exc:
        if not out_of_memory(exc):
            raise
        raise ModelError(
            f"{model.card.name}: not enough memory on {device} for tiles of {batch.shape[-1]} px; use a smaller --tile-size "
            f"(the model's own is {model.card.tile_size} px)"
        ) from None


def _tile_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != tiles_at_once():
            _pool = (tiles_at_once(), ThreadPoolExecutor(max_workers=tiles_at_once(), thread_name_prefix="scout-infer"))
        return _pool[1]


def _predict(model: Model, batch: np.ndarray, device: str) -> np.ndarray:
    batch = np.ascontiguousarray(batch, dtype=np.float32)
    if device != "cpu":
        import torch

        with torch.inference_mode():
            return _probabilities(model.net)(torch.from_numpy(batch).to(device)).cpu().numpy()
    chunk = max(1, CPU_CHUNK_PX // (batch.shape[2] * batch.shape[3]))
    starts = range(0, len(batch), chunk)
    if backend(device) == "onnxruntime":
        session = model.session()
        run = lambda i: session.run(None, {"x": batch[i : i + chunk]})[0]  # noqa: E731  # one line, mapped over chunks just below
        # a lone tile too runs on a tile thread: then every model second is on scout-infer threads (bench.py's CPU by thread)
        parts = list(_tile_pool().map(run, starts)) if tiles_at_once() > 1 else [run(i) for i in starts]
    else:
        import torch

        net = _probabilities(model.net)
        with torch.inference_mode():
            parts = [net(torch.from_numpy(batch[i : i + chunk]).contiguous(memory_format=torch.channels_last)).numpy() for i in starts]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
