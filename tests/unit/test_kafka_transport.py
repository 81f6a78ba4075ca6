"""Which consumer the worker's Kafka transport builds (no broker needed)."""

from __future__ import annotations

from faust.transport.drivers import aiokafka as faust_aiokafka

from agents.app import create_app
from agents.kafka_transport import SameLoopConsumerThread
from crmstream.settings import Settings


def test_by_default_the_consumer_is_served_on_the_workers_loop() -> None:
    app, _ = create_app(Settings(scoring=False))
    thread = app.consumer._thread
    assert isinstance(thread, SameLoopConsumerThread)
    assert thread.thread_loop is thread.parent_loop is app.loop


def test_the_setting_brings_back_faust_s_consumer_thread() -> None:
    app, _ = create_app(Settings(scoring=False, kafka_consumer_thread=True))
    thread = app.consumer._thread
    assert type(thread) is faust_aiokafka.AIOKafkaConsumerThread
    assert thread.thread_loop is not app.loop
