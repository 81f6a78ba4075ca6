"""Odd records through the real broker: each one is applied or dead-lettered with its reason,
none vanishes, the good record after them is applied and the worker stays ready. A failure
of the batch machinery itself stops the worker (exit 1) instead of stalling it
(``test_health.py``: one that hangs stops being ready)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

from crmstream.kafka import producer
from crmstream.settings import Settings
from tests.integration.conftest import eventually, read_topic
from tests.integration.odd_records import LARGEST_VALUE, corpus


async def produce_raw(settings: Settings, records: list[tuple[str, bytes | None, bytes]]
                      ) -> list[tuple[int, int]]:
    """Send records as they are (no key where None); their (partition, offset)."""
    async with producer(settings, max_request_size=2 * 1024 * 1024) as out:
        sent = [await out.send(topic, value, key=key) for topic, key, value in records]
        return [((meta := await f).partition, meta.offset) for f in sent]


async def test_every_odd_record_is_applied_or_dead_lettered_and_the_worker_stays_ready(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    odd = corpus(settings.topics)
    good = orjson.dumps({"event_id": "g1", "customer_id": "c-good", "session_id": "s",
                         "occurred_at": "2026-12-07T00:00:00Z", "page": "/"})
    w = worker()
    await w.wait_owns_partitions()
    placed = await produce_raw(settings, [(o.topic, o.key, o.value) for o in odd]
                               + [(settings.topics.clicks, b"c-good", good)])
    prefix = settings.redis_key_prefix

    async def applied(customer: str) -> bool:
        return bool(await redis.hget(f"{prefix}customer:{customer}", "version"))

    await eventually(lambda: applied("c-good"))
    expected_letters = [o for o in odd if not o.outcome.startswith("applied:")]
    letters = await read_topic(settings, settings.topics.dlq, expect=len(expected_letters))
    by_place = {(d["source_topic"], d["partition"], d["offset"]): d for d in letters}
    assert len(by_place) == len(letters) == len(expected_letters)  # none twice
    for o, (partition, offset) in zip(odd, placed, strict=False):
        if o.outcome.startswith("applied:"):
            assert await eventually(lambda o=o: applied(o.outcome[8:]), timeout=20), o.name
            continue
        letter = by_place.get((o.topic, partition, offset))
        assert letter is not None, f"{o.name}: neither applied nor dead-lettered"
        assert letter["reason"] == o.outcome, o.name
        kept = (base64.b64decode(letter["value"]) if letter["value_encoding"] == "base64"
                else letter["value"].encode())
        assert letter["value_bytes"] == len(o.value), o.name
        if letter["value_truncated"]:
            assert o.value.startswith(kept)
            assert letter["value_sha256"] == hashlib.sha256(o.value).hexdigest()
        else:
            assert kept == o.value, o.name
    largest = next(d for d in letters if d["value_bytes"] >= LARGEST_VALUE)
    assert largest["value_truncated"]
    assert (await w.health("/readyz"))["http_status"] == 200
    metrics = await w.metrics()
    assert 'crmstream_dead_letters_total{reason="invalid_json"' in metrics
    assert w.proc.poll() is None


async def test_a_failed_ingest_agent_stops_the_worker_and_its_successor_applies_the_batch(
    settings: Settings, redis: Redis, worker: Any, tmp_path: Path
) -> None:
    marker = {"CRMSTREAM_TEST_FAULT": "raise",
              "CRMSTREAM_TEST_FAULT_MARKER": str(tmp_path / "failed-once")}
    faulty = worker("faulty", module="tests.integration.faulty_worker", env=marker)
    await faulty.wait_owns_partitions()
    click = orjson.dumps({"event_id": "f1", "customer_id": "c-f", "session_id": "s",
                          "occurred_at": "2026-12-07T00:00:00Z", "page": "/"})
    await produce_raw(settings, [(settings.topics.clicks, b"c-f", click)])
    assert faulty.proc is not None
    code = await eventually(lambda: _exited(faulty.proc), timeout=60)
    assert code[0] == 1, faulty.tail()
    assert "the ingest agent failed" in faulty.tail(400)
    again = worker("again", module="tests.integration.faulty_worker", env=marker)
    await again.wait_owns_partitions()
    version = await eventually(
        lambda: redis.hget(f"{settings.redis_key_prefix}customer:c-f", "version"))
    assert version == "1"


async def _exited(proc: Any) -> tuple[int] | None:
    code = proc.poll()
    return None if code is None else (code,)
