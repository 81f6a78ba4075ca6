"""On a real broker, the worker's consumer starts, answers and stops on the worker's loop, and
fetches more at a time only while it is caught up."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from faust.types import TP

from agents.app import create_app
from agents.kafka_transport import SameLoopConsumerThread
from crmstream.kafka import create_topics, producer
from crmstream.namespace import drop_namespace
from crmstream.settings import Settings
from tests.integration.conftest import eventually, produce

pytestmark = pytest.mark.integration


async def test_the_consumer_runs_without_a_thread_of_its_own(stack: None) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(topic_prefix=f"sameloop{tag}.", redis_key_prefix=f"sameloop{tag}:",
                        app_id=f"sameloop-{tag}", partitions=1, scoring=False)
    await create_topics(settings)
    try:
        async with producer(settings) as kafka:
            for n in range(3):
                await kafka.send_and_wait(settings.topics.clicks, b"{}", key=f"c{n}".encode())
        app, _ = create_app(settings)
        thread = app.consumer._thread
        assert isinstance(thread, SameLoopConsumerThread)
        threads_before = threading.active_count()
        await thread.start()
        try:
            assert threading.active_count() == threads_before
            tp = TP(settings.topics.clicks, 0)
            assert await thread.highwaters(tp) == {tp: 3}
        finally:
            await thread.stop()
        assert thread._serving is not None
        assert thread._serving.done()
        assert thread._consumer is not None
        assert thread._consumer._closed
    finally:
        await drop_namespace(settings)


def clicks(settings: Settings, first: int, count: int) -> list[tuple[str, str, bytes]]:
    at = datetime.now(UTC).isoformat()
    return [(settings.topics.clicks, f"c{n % 500}", orjson.dumps({
        "event_id": f"k{n}", "customer_id": f"c{n % 500}", "occurred_at": at,
        "session_id": f"s{n}", "page": "/"})) for n in range(first, first + count)]


def gauge(metrics: str, name: str) -> float | None:
    found = re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_fuller_fetches_while_caught_up_and_faust_s_while_behind(
    settings: Settings, worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMSTREAM_KAFKA_CAUGHT_UP_LAG", "50")
    monkeypatch.setenv("CRMSTREAM_KAFKA_BEHIND_LAG", "200")
    processed = f'crmstream_events_processed_total{{topic="{settings.topics.clicks}"}}'
    await produce(settings, clicks(settings, 0, 2_000))  # a backlog before it starts
    w = worker()
    await w.wait_owns_partitions()

    async def caught_up_after(events: int) -> bool:
        metrics = await w.metrics()
        return (f"{processed} {events:.1f}" in metrics
                and gauge(metrics, "crmstream_kafka_fetch_caught_up") == 1.0
                and gauge(metrics, "crmstream_consumer_lag_records") == 0.0)

    await eventually(lambda: caught_up_after(2_000))
    assert "caught up (lag" in w.tail(400)
    # A burst far faster than the worker reads: it falls behind, then catches up again,
    # and every record is read with either fetch.
    await produce(settings, clicks(settings, 2_000, 20_000))
    await eventually(lambda: caught_up_after(22_000), timeout=120)
    log = w.tail(2_000)
    assert "behind (lag" in log
    assert log.rindex("caught up (lag") > log.rindex("behind (lag")
