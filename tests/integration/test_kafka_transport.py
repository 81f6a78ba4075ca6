"""On a real broker, aiokafka's fetcher gets the fetch sizes the worker's transport set."""

from __future__ import annotations

import pytest

from agents.app import create_app
from crmstream.settings import Settings

pytestmark = pytest.mark.integration


async def test_the_started_consumer_fetches_with_the_settings(stack: None) -> None:
    app, _ = create_app(Settings(kafka_fetch_min_bytes=1234, kafka_fetch_max_wait_ms=7,
                                 scoring=False, app_id="fetch-settings-test"))
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    await consumer.start()  # no subscription: connects, no group is joined
    try:
        fetcher = consumer._fetcher  # aiokafka builds it from the consumer at start
        assert (fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms) == (1234, 7)
    finally:
        await consumer.stop()
