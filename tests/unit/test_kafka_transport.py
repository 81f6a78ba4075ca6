"""Which consumer the worker's Kafka transport builds, and how it fetches (no broker
needed)."""

from __future__ import annotations

import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from pydantic import ValidationError

from agents.app import create_app
from agents.kafka_transport import Fetch, FetchPolicy, SameLoopConsumerThread, unprocessed
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


def test_the_worker_adapts_its_fetches_unless_told_not_to() -> None:
    app, _ = create_app(Settings(scoring=False, kafka_caught_up_lag=200, kafka_behind_lag=900,
                                 kafka_caught_up_fetch_max_wait_ms=50))
    assert app.consumer._thread.fetch_policy == FetchPolicy(
        caught_up_fetch=Fetch(min_bytes=32_768, max_wait_ms=50), caught_up_below=200,
        behind_above=900)
    app, _ = create_app(Settings(scoring=False, kafka_caught_up_fetch_min_bytes=1))
    assert app.consumer._thread.fetch_policy is None


def test_the_lag_thresholds_must_leave_a_band_between_them() -> None:
    with pytest.raises(ValidationError, match="kafka_behind_lag"):
        Settings(kafka_caught_up_lag=5_000, kafka_behind_lag=1_000)


POLICY = FetchPolicy(Fetch(min_bytes=32_768, max_wait_ms=30), caught_up_below=1_000,
                     behind_above=5_000)


@pytest.mark.parametrize(
    ("was_caught_up", "lag", "caught_up"),
    [
        (False, 60_000, False),  # a backlog: Faust's fetches
        (False, 4_000, False),  # draining, not there yet
        (False, 1_000, False),  # the threshold itself is not under it
        (False, 999, True),  # caught up: fuller fetches
        (False, 0, True),
        (True, 0, True),
        (True, 4_999, True),  # a burst inside the band: no flip
        (True, 5_000, True),
        (True, 5_001, False),  # fallen behind: Faust's fetches again
    ],
)
def test_fuller_fetches_only_while_caught_up(was_caught_up: bool, lag: int, caught_up: bool
                                             ) -> None:
    assert POLICY.caught_up(was_caught_up, lag) is caught_up


A, B, C = TP("t", 0), TP("t", 1), TP("u", 0)


@pytest.mark.parametrize(
    ("highwaters", "read", "lag"),
    [
        ({A: 100, B: 50}, {A: 99, B: 49}, 0),  # high-water is the next offset to be written
        ({A: 100, B: 50}, {A: 89, B: 19}, 10 + 30),
        ({A: 100, B: 50}, {A: 89}, 10),  # B not read since start: left out, not 50
        ({A: 100, B: None}, {A: 89, B: 19}, 10),  # B not fetched yet
        ({A: None, B: None}, {}, None),  # nothing known: no lag, not a lag of 0
        ({A: 100}, {A: 120}, 0),  # a stale high-water behind what was read
        ({A: 100, B: 50, C: 7}, {A: 99, B: 49, C: None}, 0),
    ],
)
def test_the_lag_is_what_the_streams_have_not_read(
    highwaters: dict[TP, int | None], read: dict[TP, int | None], lag: int | None
) -> None:
    assert unprocessed(highwaters, highwaters.get, read) == lag
