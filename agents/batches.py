"""Batches of an agent's input events, taken from its channel's queue in bulk.

Faust's ``Stream.take_events`` hands every event through the stream's iterator one at a
time (a processor coroutine per event, the stream's wake-ups, the current-event context)
before a batch is complete. Reading the same queue a batch at a time instead, measured on
a 2-core machine (fresh workers, the same 150,000-event backlog, three rounds in
alternating order): 4,210-4,744 events/s against 2,813-3,332, 209-235 µs of CPU per event
against 287-346. What the stream's iterator does for each event that matters here is kept:

- an event of an older consumer generation (fetched before a rebalance) is skipped and
  acknowledged, never processed;
- every event is tracked as unacknowledged until the batch is done, then acknowledged
  through the stream, so Kafka commits only what was processed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import faust
from faust.types import AppT, EventT


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
        batch: list[EventT[Any]] = [await queue.get()]
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
        if not current:
            continue
        yield current
        # Only once the caller is done with the batch: one that raised (or stopped
        # iterating) leaves its events unacknowledged, and Kafka commits none of them.
        for event in current:
            await stream.ack(event)


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
