"""The worker's Kafka consumer fetches as the settings say (Faust passes neither setting)."""

from __future__ import annotations

from agents.app import create_app
from crmstream.settings import Settings


async def test_the_worker_consumer_carries_the_fetch_settings() -> None:
    app, _ = create_app(Settings(kafka_fetch_min_bytes=1234, kafka_fetch_max_wait_ms=7,
                                 scoring=False))
    thread = app.consumer._thread  # Faust's consumer thread, which owns aiokafka's consumer
    consumer = thread._create_worker_consumer(app.transport)
    try:
        assert (consumer._fetch_min_bytes, consumer._fetch_max_wait_ms) == (1234, 7)
        assert consumer._group_id == app.conf.id  # the worker's group, not a client
    finally:
        await consumer.stop()
