"""How the worker batches its input events (agents/batches.py), on a stand-in for Faust's
stream: its channel's queue, the consumer's generation and the acknowledgements."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from agents.batches import DurableAcks, event_batches

TOPIC = "crm.clicks"


@dataclass
class FakeMessage:
    offset: int
    generation_id: int = 1
    topic: str = TOPIC
    partition: int = 0
    tracked: bool = False

    @property
    def tp(self) -> tuple[str, int]:
        return (self.topic, self.partition)


@dataclass
class FakeEvent:
    message: FakeMessage


class ThrowableQueue(asyncio.Queue[Any]):
    """Like mode's queue under Faust's channels: an exception put in is raised by get."""

    async def get(self) -> Any:
        item = await super().get()
        if isinstance(item, BaseException):
            raise item
        return item


class FakeChannel:
    """The stream's subscription: an async iterator over its own queue."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = ThrowableQueue()

    def __aiter__(self) -> FakeChannel:
        return self

    async def __anext__(self) -> FakeEvent:
        return await self.queue.get()


@dataclass
class FakeStream:
    """What event_batches uses of a Faust stream, and what it acknowledged."""

    generation: int = 1
    active: bool = True
    should_stop: bool = False
    acked: list[int] = field(default_factory=list)
    unacked: set[int] = field(default_factory=set)
    crashed: BaseException | None = None
    channel: FakeChannel = field(default_factory=FakeChannel)

    def __post_init__(self) -> None:
        self.app = SimpleNamespace(
            consumer=SimpleNamespace(
                unacked=SimpleNamespace(add=lambda m: self.unacked.add(m.offset))),
            topics=SimpleNamespace(acking_topics={TOPIC}),
            sensors=SimpleNamespace(on_message_in=lambda tp, offset, message: None),
            flow_control=SimpleNamespace(is_active=lambda: self.active),
            consumer_generation_id=None,
            crash=self.crash,
        )

    async def crash(self, reason: BaseException) -> None:
        self.crashed = reason

    async def maybe_start(self) -> None:
        self.app.consumer_generation_id = self.generation

    async def ack(self, event: FakeEvent) -> None:
        self.acked.append(event.message.offset)
        self.unacked.discard(event.message.offset)

    def put(self, *offsets: int, generation: int = 1) -> None:
        for offset in offsets:
            self.channel.queue.put_nowait(FakeEvent(FakeMessage(offset, generation)))


def stream() -> Any:
    return FakeStream()


def offsets(batch: list[Any]) -> list[int]:
    return [e.message.offset for e in batch]


async def test_what_is_waiting_comes_in_batches_of_at_most_max_events() -> None:
    s = stream()
    s.put(*range(7))
    batches = event_batches(s, max_events=3, within_s=0.001)
    assert offsets(await anext(batches)) == [0, 1, 2]
    assert s.unacked == {0, 1, 2}  # tracked while the worker processes them
    assert offsets(await anext(batches)) == [3, 4, 5]
    assert offsets(await anext(batches)) == [6]
    assert s.acked == []  # acknowledging is for the worker, once a batch is durable
    await batches.aclose()


async def test_an_idle_worker_waits_within_s_for_more_after_the_first_event() -> None:
    s = stream()
    batches = event_batches(s, max_events=100, within_s=0.2)
    loop = asyncio.get_running_loop()
    first = loop.call_later(0.01, s.put, 0)  # arrives while the worker waits on an empty queue
    more = loop.call_later(0.05, s.put, 1, 2)
    assert offsets(await anext(batches)) == [0, 1, 2]
    first.cancel()
    more.cancel()
    await batches.aclose()


async def test_events_that_queued_while_the_worker_was_busy_are_taken_at_once() -> None:
    s = stream()
    s.put(0, 1)  # queued during the previous batch
    batches = event_batches(s, max_events=100, within_s=0.2)
    later = asyncio.get_running_loop().call_later(0.05, s.put, 2)
    assert offsets(await anext(batches)) == [0, 1]  # no waiting for the late one
    assert offsets(await anext(batches)) == [2]
    later.cancel()
    await batches.aclose()


async def test_events_of_an_older_generation_are_acknowledged_not_processed() -> None:
    s = stream()
    s.generation = 2
    s.put(0, 1, generation=1)  # fetched before the rebalance
    s.put(2, 3, generation=2)
    batches = event_batches(s, max_events=10, within_s=0.001)
    assert offsets(await anext(batches)) == [2, 3]
    assert s.acked == [0, 1]
    await batches.aclose()


async def test_nothing_is_processed_while_flow_control_is_paused() -> None:
    s = stream()
    s.active = False
    s.put(0, 1)
    batches = event_batches(s, max_events=10, within_s=0.001)
    waiting = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert s.acked == [0, 1]
    s.active = True
    s.put(2)
    assert offsets(await waiting) == [2]
    await batches.aclose()


async def test_batches_are_acknowledged_once_durable_in_order() -> None:
    s = stream()
    s.put(0, 1, 2)
    batches = event_batches(s, max_events=2, within_s=0.001)
    acks = DurableAcks(s)
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    acks.once_done(first, await anext(batches))
    acks.once_done(second, await anext(batches))
    await asyncio.sleep(0)
    assert s.acked == []  # nothing is durable yet
    first.set_result(None)
    await asyncio.sleep(0.01)
    assert (s.acked, s.unacked) == ([0, 1], {2})
    second.set_result(None)
    await asyncio.sleep(0.01)
    assert (s.acked, s.unacked) == ([0, 1, 2], set())
    await batches.aclose()


async def test_a_batch_whose_write_failed_is_not_acknowledged_and_crashes_the_app() -> None:
    s = stream()
    s.put(0, 1)
    batches = event_batches(s, max_events=10, within_s=0.001)
    failed = asyncio.get_running_loop().create_future()
    DurableAcks(s).once_done(failed, await anext(batches))
    failure = RuntimeError("the store is gone")
    failed.set_exception(failure)
    await asyncio.sleep(0.01)
    assert s.acked == []
    assert s.unacked == {0, 1}  # Kafka commits none of them
    assert s.crashed is failure  # and the worker stops, as when an agent raises
    await batches.aclose()


async def test_the_batches_end_when_faust_closes_the_channel() -> None:
    s = stream()
    s.put(0)
    batches = event_batches(s, max_events=10, within_s=0.001)
    assert offsets(await anext(batches)) == [0]
    s.channel.queue.put_nowait(StopAsyncIteration())  # how Faust stops an agent's stream
    assert [offsets(b) async for b in batches] == []
