"""Run a model over tiles: device, threads, backend, normalization from the card, batched softmax.

On CPU the network runs on ONNX Runtime when ``onnx`` and ``onnxruntime`` are installed
(``pip install 'scout[onnx]'``): on the shipped U-Net it takes about 2.2x less CPU time per
megapixel than torch eager in channels-last, and its output does not change with the
number of threads, so a cluster run equals an in-process run to the bit.  Otherwise, or
with ``SCOUT_BACKEND=torch``, torch eager in channels-last runs it.  CUDA always uses torch.

CPU forward passes are cut into chunks of at most :data:`CPU_CHUNK_PX` pixels: larger
batches are no faster on a CPU and hold activations of every tile at once (batch 8 of
512 px tiles: ~0.9 GB for the shipped U-Net, beyond detect's 1.5 GB budget with torch's
own ~0.6 GB).
"""

from __future__ import annotations

import io
import logging
import os
import sys
import warnings
from functools import lru_cache
from weakref import WeakKeyDictionary

import numpy as np
import torch

from scout.errors import ModelError
from scout.model import LoadedModel, find_model_files, load_model
from scout.model.card import ModelCard

log = logging.getLogger(__name__)

BACKEND_ENV = "SCOUT_BACKEND"  # "torch" forces torch eager on CPU
CPU_CHUNK_PX = 2**19  # pixels per CPU forward pass: two 512 px tiles
_SESSIONS: WeakKeyDictionary = WeakKeyDictionary()  # network -> ONNX Runtime session


class _Probabilities(torch.nn.Module):
    """The network with softmax, background dropped: (N, B, t, t) -> (N, C_fg, t, t)."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x).float(), dim=1)[:, 1:]


def cpu_count() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def pick_device(requested: str | None = None) -> str:
    """``cuda`` when present (or asked for), else ``cpu``."""
    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            log.warning("CUDA asked for but not available; running on CPU")
            return "cpu"
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def configure_threads(threads: int | None = None) -> int:
    """Intra-op threads for CPU inference: all cores by default."""
    torch.set_num_threads(max(1, threads or cpu_count()))
    return torch.get_num_threads()


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


def cached_model(path: str, device: str) -> LoadedModel:
    """One loaded model per process and model version (workers call this for every block).

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
def _load(path: str, device: str, stamp: tuple) -> LoadedModel:  # noqa: ARG001  (stamp: cache key only)
    host_threads = _dask_host_task_threads()
    if host_threads is not None and device == "cpu":
        threads = configure_threads(worker_threads(cpu_count(), host_threads))
        log.info("dask worker: %d inference thread(s) per task (%d cores, %d task threads on this host)", threads, cpu_count(), host_threads)
    model = load_model(path, device=device)
    if device == "cpu":
        model.net.to(memory_format=torch.channels_last)
    return model


def backend(device: str) -> str:
    """``onnxruntime`` or ``torch``: what :func:`predict` uses on ``device``."""
    if device != "cpu" or os.environ.get(BACKEND_ENV, "").lower() == "torch":
        return "torch"
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch"
    return "onnxruntime"


def _ort_session(model: LoadedModel):  # noqa: ANN202
    """The model exported in memory to an ONNX Runtime session (once per network and process)."""
    session = _SESSIONS.get(model.net)
    if session is not None:
        return session
    import onnxruntime as ort

    buf = io.BytesIO()
    side = 64  # any multiple of the network's pooling; height and width are dynamic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            _Probabilities(model.net).eval(), (torch.zeros(1, len(model.card.bands), side, side),), buf,
            input_names=["x"], output_names=["p"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "p": {0: "n", 2: "h", 3: "w"}},
            opset_version=17, dynamo=False,
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 4  # failures arrive as exceptions; keep ONNX Runtime's C++ log off stderr
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # leave the cores to the reader thread while idle
    session = ort.InferenceSession(buf.getvalue(), options, providers=["CPUExecutionProvider"])
    _SESSIONS[model.net] = session
    log.debug("%s: ONNX Runtime session, %d threads", model.card.name, options.intra_op_num_threads)
    return session


def normalize(raw: np.ndarray, card: ModelCard, dtype: str) -> np.ndarray:
    """Digital numbers (B, h, w) -> float32 network input, per the card: ``(dn / scale - mean) / std``
    (in place on one new array: a block is tens of MB per band)."""
    out = np.divide(raw, np.float32(card.scale_for(dtype)), dtype=np.float32)
    out -= np.asarray(card.normalization["mean"], np.float32)[:, None, None]
    out /= np.asarray(card.normalization["std"], np.float32)[:, None, None]
    return out


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure (numpy, torch CPU/CUDA or ONNX Runtime)."""
    return isinstance(exc, MemoryError | torch.OutOfMemoryError) or any(
        m in str(exc) for m in ("can't allocate memory", "Failed to allocate memory")
    )


def predict(model: LoadedModel, batch: np.ndarray, device: str) -> np.ndarray:
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


def _predict(model: LoadedModel, batch: np.ndarray, device: str) -> np.ndarray:
    batch = np.ascontiguousarray(batch, dtype=np.float32)
    if device != "cpu":
        with torch.inference_mode():
            return _Probabilities(model.net)(torch.from_numpy(batch).to(device)).cpu().numpy()
    chunk = max(1, CPU_CHUNK_PX // (batch.shape[2] * batch.shape[3]))
    if backend(device) == "onnxruntime":
        session = _ort_session(model)
        parts = [session.run(None, {"x": batch[i : i + chunk]})[0] for i in range(0, len(batch), chunk)]
    else:
        net = _Probabilities(model.net)
        with torch.inference_mode():
            parts = [net(torch.from_numpy(batch[i : i + chunk]).contiguous(memory_format=torch.channels_last)).numpy() for i in range(0, len(batch), chunk)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
