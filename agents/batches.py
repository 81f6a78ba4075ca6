"""Batches of an agent's input events, taken from its channel's queue in bulk.

Faust's ``Stream.take_events`` hands every event through the stream's iterator one at a
time (a processor coroutine per event, the stream's wake-ups, the current-event context)
before a batch is complete. Reading the same queue a batch at a time instead, measured on
a 2-core machine (fresh workers, the same 150,000-event backlog, three rounds in
alternating order): 4,210-4,744 events/s against 2,813-3,332, 209-235 µs of CPU per event
against 287-346. What the stream's iterator does for each event that matters here is kept:

- an event of an older consumer generation (fetched before a rebalance) is skipped and
  acknowledged, never processed;
- every event is tracked as unacknowledged until its batch is durable, then acknowledged
  through the stream (``DurableAcks``), so Kafka commits only what the store holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import faust
from faust.types import AppT, EventT

log = logging.getLogger(__name__)


async def event_batches(stream: faust.StreamT[Any], max_events: int, within_s: float
                        ) -> AsyncGenerator[list[EventT[Any]], None]:
    """Lists of at most ``max_events`` events: as many as are waiting, and when the worker
    was idle, as arrive within ``within_s`` of the first."""
    await stream.maybe_start()
    app = stream.app
    channel: Any = aiter(stream.channel)  # the stream's own subscription (its queue)
    queue = channel.queue
    consumer = app.consumer
    unacked = consumer.unacked
    acking_topics = app.topics.acking_topics
    message_in = app.sensors.on_message_in
    while not stream.should_stop:
        # Linger only when the worker was idle: events that queued while it processed the
        # last batch are already a batch, and waiting would only add to their latency.
        idle = queue.empty()
        try:
            batch: list[EventT[Any]] = [await queue.get()]
        except StopAsyncIteration:  # Faust closes the channel so: the agent is stopping
            return
        if idle and queue.qsize() < max_events - 1:
            await asyncio.sleep(within_s)
        while len(batch) < max_events and not queue.empty():
            batch.append(queue.get_nowait())
        current, stale = _by_generation(batch, app)
        for event in stale:
            await stream.ack(event)
        for event in current:
            message = event.message
            if message.topic in acking_topics and not message.tracked:
                message.tracked = True
                unacked.add(message)
                message_in(message.tp, message.offset, message)
        if current:
            yield current


def _by_generation(batch: list[EventT[Any]], app: AppT
                   ) -> tuple[list[EventT[Any]], list[EventT[Any]]]:
    """(events of the current consumer generation, events fetched before a rebalance or
    while the app's flow control is paused: stale, to be acknowledged unprocessed)."""
    if not app.flow_control.is_active():
        return [], batch
    generation = app.consumer_generation_id
    current = [e for e in batch if e.message.generation_id == generation]
    if len(current) == len(batch):
        return current, []
    return current, [e for e in batch if e.message.generation_id != generation]


class DurableAcks:
    """Acknowledges each batch through its stream once the batch is durable, in the order
    the batches become durable. A batch whose write failed is never acknowledged: Kafka
    commits none of its records, and the app crashes at once, as it does when an agent
    raises (an idle worker would otherwise sit on its partitions until the next batch
    raised the failure); its successor reads the records again."""

    def __init__(self, stream: faust.StreamT[Any]) -> None:
        self.stream = stream
        self._waiting: set[asyncio.Task[None]] = set()

    def once_done(self, durable: asyncio.Future[Any], events: list[EventT[Any]]) -> None:
        task = asyncio.ensure_future(self._ack(durable, events))
        self._waiting.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._waiting.discard)

    async def _ack(self, durable: asyncio.Future[Any], events: list[EventT[Any]]) -> None:
        try:
            await durable
        except Exception as failure:
            log.error("a batch's write failed; its %d events stay unacknowledged",
                      len(events))
            await self.stream.app.crash(failure)
            return
        for event in events:
            await self.stream.ack(event)
