"""Every kind of bad input lands in the dead-letter topic with its reason; nothing stops."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis

from crmstream.settings import Settings
from tests.integration.conftest import eventually, produce, read_topic


async def test_each_bad_input_is_a_dead_letter_and_good_input_still_flows(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    t = settings.topics
    now = datetime.now(UTC)
    order = {"event_id": "o", "customer_id": "c1", "occurred_at": now.isoformat(),
             "order_id": "A", "status": "paid", "amount": "10", "currency": "CNY"}
    bad: list[tuple[str, str, bytes, str]] = [
        (t.clicks, "c1", b"\xff\xfe\xfa", "undecodable"),
        (t.interactions, "c1", b'{"event_id": "e1", "customer_id": ', "invalid_json"),
        (t.orders, "c1", orjson.dumps(order | {"status": "shipped"}), "schema_violation"),
        (t.commands, "c1", orjson.dumps({"command_id": "q", "customer_id": "c1",
                                         "type": "claim"}), "schema_violation"),
        (t.orders, "c1", orjson.dumps(order | {"amount": "-99"}), "absurd_value"),
        (t.interactions, "c1", orjson.dumps({
            "event_id": "e2", "customer_id": "c1", "occurred_at": now.isoformat(),
            "channel": "email", "direction": "inbound", "text": "x" * 20_000}), "absurd_value"),
        (t.orders, "c1", orjson.dumps(order | {
            "occurred_at": (now + timedelta(days=30)).isoformat()}), "absurd_value"),
        (t.orders, "not-c1", orjson.dumps(order), "key_mismatch"),
    ]
    good = (t.orders, "c1", orjson.dumps(order | {"event_id": "fine"}))
    w = worker()
    await w.wait_owns_partitions()
    await produce(settings, [(topic, key, value) for topic, key, value, _ in bad] + [good])

    letters = await read_topic(settings, t.dlq, expect=len(bad))
    assert sorted(d["reason"] for d in letters) == sorted(reason for *_, reason in bad)
    raw_values = {
        base64.b64decode(d["value"]) if d["value_encoding"] == "base64" else d["value"].encode()
        for d in letters
    }
    assert raw_values == {value for _, _, value, _ in bad}  # kept whole, byte for byte
    assert all(d["error"] and d["source_topic"].startswith(settings.topic_prefix)
               for d in letters)
    # the worker kept going: the good order after the bad ones is applied
    state = await eventually(lambda: redis.hgetall(f"{settings.redis_key_prefix}customer:c1"))
    assert orjson.loads(state["activity"])["paid_total"] == 10
    metrics = await w.metrics()
    for reason in ("undecodable", "invalid_json", "schema_violation", "absurd_value",
                   "key_mismatch"):
        assert f'reason="{reason}"' in metrics
    assert w.proc.poll() is None
