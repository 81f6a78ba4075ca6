"""On a real broker, the worker's consumer starts, answers and stops on the worker's loop."""

from __future__ import annotations

import threading
import uuid

import pytest
from faust.types import TP

from agents.app import create_app
from agents.kafka_transport import SameLoopConsumerThread
from crmstream.kafka import create_topics, producer
from crmstream.namespace import drop_namespace
from crmstream.settings import Settings

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
