"""Where blocks run: in-process (reading the next block while inferring this one), a local
pool of worker processes, or an existing dask.distributed cluster whose workers read the
imagery themselves.  Only blended blocks travel back.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor
from typing import TYPE_CHECKING

from scout.detection.blocks import BlockResult, DetectPlan, compute_block, infer, read_input
from scout.errors import ClusterError, ScoutError, first_line
from scout.inference import cpu_count
from scout.tiling import Block

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

WORKER_WAIT_S = 30
"""How long a run waits for a worker on a cluster that has none (they may be starting, or restarting)."""

WORKER_POLL_S = 2.0
"""How often a run on a cluster looks at its workers while it waits for blocks."""


def run_in_process(plan: DetectPlan, blocks: Sequence[Block]) -> Iterator[BlockResult]:
    """Blocks in order; reading block i+1 overlaps inference of block i (GDAL releases the GIL)."""
    if not blocks:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scout-read") as reader:
        pending = reader.submit(read_input, plan, blocks[0])
        for i, block in enumerate(blocks):
            inp = pending.result()
            if i + 1 < len(blocks):
                pending = reader.submit(read_input, plan, blocks[i + 1])
            yield infer(plan, block, inp)


def run_on_dask(plan: DetectPlan, blocks: Sequence[Block], client: Client, where: str = "the dask cluster") -> Iterator[BlockResult]:
    """Submit every block to a dask.distributed client; yield results as they complete.

    A worker lost midway is said in the log (the scheduler runs its blocks on the others); a
    lost scheduler, or no worker left for :data:`WORKER_WAIT_S`, is a :class:`ClusterError` in
    one line, where distributed raised FutureCancelledError and an 87-line traceback."""
    from distributed import wait

    plan_future = client.scatter(plan, broadcast=True)
    futures = [client.submit(compute_block, plan_future, b, key=f"scout-block-{b.block_id}-{id(plan)}", pure=False) for b in blocks]
    pending = set(futures)
    try:
        workers, alone_since = _workers(client, where), None
        while pending:
            with _cluster_failures(client, where):
                try:
                    done, pending = wait(pending, timeout=WORKER_POLL_S, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
            for future in done:
                with _cluster_failures(client, where):
                    result = future.result()
                yield result
                future.release()
            now = _workers(client, where)
            for lost in sorted(workers - now):
                log.warning("dask worker %s lost; its blocks run again on %s", lost, f"the {len(now)} other(s)" if now else "the next worker to join")
            workers = now
            alone_since = None if now else alone_since or time.monotonic()
            if alone_since is not None and time.monotonic() - alone_since > WORKER_WAIT_S:
                raise ClusterError(f"{where}: every dask worker is gone and none came back in {WORKER_WAIT_S} s; start some with 'dask worker {where}'")
    finally:
        for f in futures:
            f.cancel()


def _workers(client: Client, where: str) -> set[str]:
    """The addresses of the cluster's workers now (asked of the scheduler)."""
    with _cluster_failures(client, where):
        return set(client.scheduler_info()["workers"])


@contextlib.contextmanager
def _cluster_failures(client: Client, where: str) -> Iterator[None]:
    """distributed's errors for a cluster that stopped serving the run, as one :class:`ClusterError`:
    the connection to the scheduler lost, a block cancelled under the run (by a scheduler that lost
    its connection, or that dropped it when its last worker died), a block that killed worker after
    worker.  A block's own error, raised on a worker, passes as it is."""
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    lost = ClusterError(f"{where}: lost the dask scheduler (the connection to it closed)")
    try:
        yield
    except (CommClosedError, ConnectionError, TimeoutError):
        raise lost from None
    except CancelledError as exc:
        if "scheduler-connection-lost" in str(exc) or client.status not in ("running", "connecting"):
            raise lost from None
        try:
            gone = not client.scheduler_info()["workers"]
        except (CommClosedError, ConnectionError, TimeoutError):
            raise lost from None
        why = "every dask worker was lost" if gone else f"the dask cluster cancelled the run's blocks ({getattr(exc, 'reason', None) or first_line(exc)})"
        raise ClusterError(f"{where}: {why}") from None
    except KilledWorker as exc:
        raise ClusterError(f"{where}: a block killed dask workers again and again ({first_line(exc)}); out of memory? Give the workers more") from None


def _dask_logs_at_most_warnings() -> int:
    """Importing distributed sets its loggers to INFO (a scheduler, nanny and comm line per event,
    and a traceback when a client disconnects); a Scout user wants only warnings, or only errors
    with ``--quiet``.  Returns the level for the workers too."""
    level = max(logging.WARNING, logging.getLogger().getEffectiveLevel())
    # in this process nothing unless -vv: Scout says in its own line what a lost scheduler or worker
    # means, where distributed logs the traceback of every reconnection it gives up
    here = level if logging.getLogger().getEffectiveLevel() <= logging.DEBUG else logging.CRITICAL + 1
    for name in _dask_loggers():  # distributed sets some of its own (distributed.client: warning), which the parent's level does not reach
        logging.getLogger(name).setLevel(max(here, logging.getLogger(name).level))
    return level


def _dask_loggers() -> list[str]:
    return ["distributed", *(name for name in logging.root.manager.loggerDict if name.startswith("distributed."))]


def run_blocks(plan: DetectPlan, blocks: Sequence[Block], workers: int = 1, scheduler: str | None = None) -> Generator[BlockResult, None, None]:
    """Run blocks where asked: ``scheduler`` address > local pool of ``workers`` > in-process."""
    if scheduler:
        from distributed import Client

        _dask_logs_at_most_warnings()
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ScoutError(f"{scheduler}: cannot reach the dask scheduler ({exc})") from None
        with client:
            if not client.scheduler_info()["workers"]:
                log.info("%s has no workers yet; waiting up to %d s for one", scheduler, WORKER_WAIT_S)
                try:
                    client.wait_for_workers(1, timeout=WORKER_WAIT_S)
                except TimeoutError:
                    raise ScoutError(f"{scheduler}: the dask scheduler has no workers; start some with 'dask worker {scheduler}'") from None
            log.info("running %d blocks on %s (%d workers)", len(blocks), scheduler, len(client.scheduler_info()["workers"]))
            yield from run_on_dask(plan, blocks, client, scheduler)
        return
    if workers > 1:
        from distributed import Client, LocalCluster

        cores = cpu_count()
        level = _dask_logs_at_most_warnings()
        # no dashboard; the scheduler's own HTTP routes on any free loopback port, not 8787 (two runs at once would clash)
        with LocalCluster(n_workers=workers, threads_per_worker=max(1, cores // workers), processes=True, dashboard_address=None,
                          scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=level) as cluster, Client(cluster) as client:
            yield from run_on_dask(plan, blocks, client)
        return
    yield from run_in_process(plan, blocks)
