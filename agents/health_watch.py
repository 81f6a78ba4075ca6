"""What the running worker feeds into its health (``agents.health``): how far behind each
owned partition is, and the failure of its ingest agent."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import faust

from agents import metrics
from agents.health import Health
from agents.processor import Processor

log = logging.getLogger(__name__)


@asynccontextmanager
async def crash_on_failure(app: faust.App, health: Health) -> AsyncIterator[None]:
    """Around the ingest agent's loop. Faust would restart a failed agent on a fresh stream,
    leaving the failed batch's records unacknowledged in a consumer that no longer reads
    them: the partitions would sit still while the worker looked healthy. A failure here
    is a bug in the batch machinery (a record's own failure is a dead letter), so the worker
    stops at once and exits non-zero; its supervisor starts it again and Kafka redelivers
    everything that was not durable."""
    try:
        yield
    except Exception as failure:
        health.ingest_failed(failure)
        log.critical("the ingest agent failed; the worker stops (exit 1) and its "
                     "records are redelivered to its successor", exc_info=failure)
        await app.crash(failure)


def export_stalled(health: Health) -> None:
    """The stalled-partition gauge is worked out at each scrape by the rule /readyz applies,
    so a scrape never disagrees with the readiness answered a moment before."""
    metrics.PARTITIONS_STALLED.set_function(lambda: len(health.stalled(time.monotonic())))


async def watch_progress(app: faust.App, processor: Processor, exported: set[int]) -> None:
    """Once a second: each owned partition's records on the broker that are not durable
    yet (over the input topics), into the health and the per-partition metrics."""
    now, wall = time.monotonic(), time.time()
    health = processor.health
    lag = {p: 0 for p in processor.tokens}
    for tp in app.consumer.assignment():
        if tp.topic not in processor.topics.kind_of or tp.partition not in lag:
            continue
        high = _highwater(app, tp)
        if high is not None:
            done = processor.applied.get((tp.topic, tp.partition), -1)
            lag[tp.partition] += max(0, high - (done + 1))
    health.lagging(lag, now)
    for partition, behind in lag.items():
        metrics.PARTITION_LAG.labels(str(partition)).set(behind)
        progressed = health.progressed_at.get(partition, now)
        metrics.PARTITION_PROGRESS.labels(str(partition)).set(wall - (now - progressed))
    for gone in exported - lag.keys():
        metrics.PARTITION_LAG.remove(str(gone))
        metrics.PARTITION_PROGRESS.remove(str(gone))
    exported.clear()
    exported.update(lag)


def _highwater(app: faust.App, tp: Any) -> int | None:
    """The partition's high-water mark as last fetched; None before the first fetch."""
    try:
        high: int | None = app.consumer.highwater(tp)
    except Exception:  # aiokafka raises for a partition it stopped fetching (a rebalance)
        return None
    return high
