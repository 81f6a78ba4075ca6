"""Faust's Kafka transport, with its consumer served on the worker's own event loop.

Faust runs aiokafka's consumer in a thread of its own, with a loop of its own, and hands
every fetch, commit and rebalance call across through a method queue; the two threads then
take turns at the GIL. The consumer does no work that needs a thread, so by default it
runs as a task on the worker's loop: the same aiokafka consumer, group protocol, heartbeats
and commits, without the hand-offs. Measured on a 2-core machine (fresh workers, the same
150,000-event backlog, seven rounds in alternating order): faster in five, a median ratio
of 1.04 (0.87-1.36), 234 µs of CPU per event against 251; bench-throughput in the same
hour read 0.619 and 0.602 of bare Faust against 0.571 with Faust's thread. Streaming
2,200 events/s the two cost the same (~0.87 of a core).

The price: the consumer's heartbeats wait for the loop, so a callback that blocked it for
longer than the session timeout (30 s by default) would cost the worker its partitions.
Nothing the worker runs comes close (a batch takes milliseconds, a full collection ~60 ms,
pickling a full sentiment model ~50 ms). ``CRMSTREAM_KAFKA_CONSUMER_THREAD=true`` brings
Faust's thread back.

While the worker is caught up, it also asks Kafka for fuller fetches (``FetchPolicy``):
Faust's consumer asks for any byte with a 1.5 s wait, so at a few thousand events a second
each fetch brings a handful of records and every record pays for a fetch, a poll of every
partition and a wake-up of the loop. Waiting up to 30 ms for 32 KB instead, streaming
2,250 events/s after the per-fetch hand-over below: 0.46-0.50 of a core against 0.69-0.72,
p99 produce-to-Redis 143-163 ms against 145-147 (100 ms waits: the same CPU, p99 193-212).
In a backlog, fuller fetches cost 7-24% of the throughput (every other fetch comes back
empty), so a worker that falls behind goes back to Faust's.

Faust's fetch loop hands each record to the streams inside a ``wait_first`` race against a
rebalance, four tasks per record; ``_SameLoopConsumer`` races once per fetch. Fresh
workers on the same 150,000-event backlog, two rounds: 145-160 µs of CPU per event against
208-289; streaming 2,250 events/s: 0.47-0.49 of a core against 0.79-0.80.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode import Service, ServiceT

from agents import metrics

log = logging.getLogger(__name__)


class Fetch(NamedTuple):
    """What a fetch asks the broker for: at least ``min_bytes``, waiting ``max_wait_ms``."""

    min_bytes: int
    max_wait_ms: int


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Fuller fetches while the worker keeps up, Faust's own while it catches up.

    The lag is the records on the broker the worker has not processed yet, over its
    partitions. Two thresholds, so a lag near one of them does not flip the mode on every
    check."""

    caught_up_fetch: Fetch
    caught_up_below: int  # a lag under this: caught up
    behind_above: int  # a lag over this: behind again
    check_every_s: float = 0.5

    def caught_up(self, was_caught_up: bool, lag: int) -> bool:
        if was_caught_up:
            return lag <= self.behind_above
        return lag < self.caught_up_below


def unprocessed(partitions: Iterable[TP], highwater: Callable[[TP], int | None],
                read_offset: Mapping[TP, int | None]) -> int | None:
    """Records on the broker not yet read by the worker's streams, over the partitions whose
    high-water mark and read position are both known; None when none are (before the first
    fetch, or a partition not read since the worker started: its position is unknown and
    it is left out, not counted from 0)."""
    lag, known = 0, False
    for tp in partitions:
        high, read = highwater(tp), read_offset.get(tp)
        if high is None or read is None:
            continue
        lag += max(0, high - (read + 1))
        known = True
    return lag if known else None


class SameLoopConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer "thread", served as a task on the worker's loop.

    mode's ServiceThread starts a thread that runs ``_serve()`` on a loop of its own and
    talks to it through a method queue; here ``_serve()`` is a task of the parent loop and
    every call is a plain call. What ``_serve()`` does (start aiokafka's consumer, run
    until stopped, stop it, signal shutdown) is unchanged.
    """

    _serving: asyncio.Task[None] | None = None
    fetch_policy: FetchPolicy | None = None  # None: Faust's fetches all the time

    async def start(self) -> None:
        assert not self._thread_started.is_set()
        self._thread_started.set()
        self._thread_running = self.parent_loop.create_future()
        self._serving = self.parent_loop.create_task(self._serve_on_this_loop())
        try:
            # Set by _serve() once the consumer has started, or to its start-up error.
            await self._thread_running
        finally:
            self._thread_running = None

    async def _serve_on_this_loop(self) -> None:
        with contextlib.suppress(Exception):  # _serve() reports its errors through crash()
            await self._serve()

    async def stop(self) -> None:
        await super().stop()
        if self._serving is not None:
            await self._serving

    async def on_thread_started(self) -> None:
        """No method queue: nothing needs to be handed to another loop."""

    async def _gather_remaining_tasks(self) -> None:
        """The base cancels every task left on the thread's loop, which here is the
        worker's loop with the agents still on it: the consumer stops its own tasks."""

    async def call_thread(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = fun(*args, **kwargs)  # some are plain functions (aiokafka's subscribe)
        return (await result) if inspect.isawaitable(result) else result

    async def cast_thread(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        await self.call_thread(fun, *args, **kwargs)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        await self.consumer.on_partitions_revoked(revoked)

    @Service.task
    async def _adapt_fetches(self) -> None:
        """Every ``check_every_s``: the lag, and the fetch that suits it (``FetchPolicy``).
        aiokafka reads its fetcher's two settings for every fetch request it builds, and
        has no public way to change them on a running consumer."""
        policy = self.fetch_policy
        if policy is None:
            return
        caught_up = False
        behind: Fetch | None = None  # Faust's fetch, as the consumer was built
        async for _ in self.itertimer(policy.check_every_s, name="adapt_fetches"):
            kafka = self._consumer
            if kafka is None:
                continue
            fetcher = kafka._fetcher
            if behind is None:
                behind = Fetch(fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms)
            lag = unprocessed(self.consumer.assignment(), kafka.highwater,
                              self.consumer._read_offset)
            if lag is None:
                continue
            metrics.CONSUMER_LAG.set(lag)
            if policy.caught_up(caught_up, lag) == caught_up:
                continue
            caught_up = not caught_up
            fetch = policy.caught_up_fetch if caught_up else behind
            fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms = fetch
            metrics.FETCH_CAUGHT_UP.set(caught_up)
            log.info("%s (lag %d): fetching at least %d bytes, waiting up to %d ms",
                     "caught up" if caught_up else "behind", lag, *fetch)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        await self.consumer.on_partitions_assigned(assigned, generation_id)


class _SameLoopConsumer(faust_aiokafka.Consumer):
    transport: SameLoopTransport

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """Faust's fetch loop (``Consumer._drain_messages``), handing each fetch's records to
        the streams in one step: Faust races every single record's hand-over against a
        suspended flow (a rebalance) with ``wait_first``, four tasks and an ``asyncio.wait``
        per record, ~10% of a streaming worker's CPU. Here the race is per fetch; a
        rebalance still cuts it short, and what was not handed over is fetched again from
        the committed offsets, as Faust does for the record it abandons."""
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = cast(Service, fetcher)._stopped.is_set
        stopping: tuple[type[BaseException], ...] = (
            *self.consumer_stopped_errors, asyncio.CancelledError)
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                fetched = [record async for record in self.getmany(timeout=1.0)]
                await self.sleep(0)
                if fetched and not self.should_stop:
                    await self.wait_first(self._hand_over(fetched), self.suspend_flow.wait())
                self.diag.unset_flag(CONSUMER_FETCHING)
        except stopping:
            if self.transport.app.should_stop:
                return  # stopping anyway
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _hand_over(self, fetched: list[tuple[TP, Message]]) -> None:
        """What Faust's loop does with each record: a gap in the offsets is recorded (for
        the commit), offsets are committed every ``broker_commit_every`` acks, and the
        record goes to the streams through the conductor, in fetch order."""
        callback, read_offset = self.callback, self._read_offset
        acks_enabled_for, commit_every = self.app.topics.acks_enabled_for, self._commit_every
        for count, (tp, message) in enumerate(fetched, 1):
            if count % 100 == 0:
                await asyncio.sleep(0)  # let the loop answer heartbeats in a long fetch
            offset, last = message.offset, read_offset[tp]
            if last is not None and offset < last:
                continue  # already read (a fetch raced a seek)
            if last and offset - last > 1 and acks_enabled_for(message.topic):
                await self._add_gap(tp, last + 1, offset)
            if commit_every is not None and self._n_acked >= commit_every:
                self._n_acked = 0
                await self.commit()
            await callback(message)
            read_offset[tp] = offset

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        thread = SameLoopConsumerThread(self, loop=self.loop, thread_loop=self.loop,
                                        beacon=self.beacon)
        thread.fetch_policy = self.transport.fetch_policy
        return thread


class SameLoopTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport whose consumer runs on the worker's loop, and adapts its
    fetches to the lag when given a ``fetch_policy``."""

    Consumer = _SameLoopConsumer
    fetch_policy: FetchPolicy | None = None
