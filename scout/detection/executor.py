"""Where blocks run: in-process (reading the next block while inferring this one), a local
pool of worker processes, or an existing dask.distributed cluster whose workers read the
imagery themselves.  Only blended blocks travel back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from scout.detection.blocks import BlockResult, DetectPlan, compute_block, infer, read_input
from scout.errors import ScoutError
from scout.inference import cpu_count
from scout.tiling import Block

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

WORKER_WAIT_S = 30
"""How long a run waits for the first worker of a cluster that has none (they may be starting)."""


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


def run_on_dask(plan: DetectPlan, blocks: Sequence[Block], client: Client) -> Iterator[BlockResult]:
    """Submit every block to a dask.distributed client; yield results as they complete."""
    from distributed import as_completed

    plan_future = client.scatter(plan, broadcast=True)
    futures = [client.submit(compute_block, plan_future, b, key=f"scout-block-{b.block_id}-{id(plan)}", pure=False) for b in blocks]
    try:
        for future in as_completed(futures):
            yield future.result()
            future.release()
    finally:
        for f in futures:
            f.cancel()


def _dask_logs_at_most_warnings() -> int:
    """Importing distributed sets its loggers to INFO (a scheduler, nanny and comm line per event,
    and a traceback when a client disconnects); a Scout user wants only warnings, or only errors
    with ``--quiet``.  Returns the level for the workers too."""
    level = max(logging.WARNING, logging.getLogger().getEffectiveLevel())
    logging.getLogger("distributed").setLevel(level)
    return level


def run_blocks(plan: DetectPlan, blocks: Sequence[Block], workers: int = 1, scheduler: str | None = None) -> Iterator[BlockResult]:
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
            yield from run_on_dask(plan, blocks, client)
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
