"""Events produced to Kafka show up as live customer state in Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from crmstream.settings import Settings
from state.read_model import flat_defaults
from tests.integration.conftest import eventually, produce, read_topic


def body(**fields: Any) -> bytes:
    return orjson.dumps({"occurred_at": datetime.now(UTC).isoformat()} | fields)


async def test_events_become_state_read_model_and_memberships(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    t, k = settings.topics, settings.redis_key_prefix
    w = worker()
    await w.wait_owns_partitions()
    now = datetime.now(UTC).isoformat()

    def at_version(version: int) -> Any:
        async def check() -> dict[str, str]:
            state: dict[str, str] = await redis.hgetall(f"{k}customer:acme")
            return state if state.get("version") == str(version) else {}
        return check

    # Topics are not ordered with each other: the CRM registers the owner first.
    await produce(settings, [(t.commands, "acme", orjson.dumps({
        "command_id": "r1", "customer_id": "acme", "issued_at": now, "type": "register",
        "actor": "import", "pool_id": "default", "level": "C", "name": "ACME 有限公司",
        "owner": "rep-1"}))])
    await eventually(at_version(1))
    await produce(settings, [
        (t.clicks, "acme", body(event_id="k1", customer_id="acme", session_id="s1",
                                page="/pricing", page_type="pricing", dwell_ms=3000)),
        (t.orders, "acme", body(event_id="o1", customer_id="acme", order_id="A-1",
                                status="placed", amount="120.50", currency="CNY")),
        (t.orders, "acme", body(event_id="o2", customer_id="acme", order_id="A-1",
                                status="paid", amount="120.50", currency="CNY")),
        (t.interactions, "acme", body(event_id="i1", customer_id="acme", channel="wechat",
                                      direction="outbound", rep_id="rep-1", text="您好")),
        (t.clicks, "walk-in", body(event_id="k2", customer_id="walk-in", session_id="s9",
                                   page="/")),
    ])
    await eventually(at_version(5))
    await produce(settings, [
        (t.commands, "acme", orjson.dumps({
            "command_id": "x1", "customer_id": "acme", "issued_at": now, "type": "transfer",
            "actor": "manager", "to_rep_id": "rep-2"})),
    ])
    acme = await eventually(at_version(6))
    assert acme["owner"] == "rep-2"
    assert acme["pool_id"] == "default"
    assert acme["level"] == "C"
    assert acme["name"] == "ACME 有限公司"
    activity = orjson.loads(acme["activity"])
    assert activity["paid_total"] == 120.5
    assert activity["paid_amount_30d"] == 120.5
    assert activity["clicks_7d"] == 1
    assert activity["orders_90d"] == 1
    assert activity["sessions_90d"] == 1
    assert acme["last_follow_up_at"] != ""
    assert (acme["version"], acme["status"], acme["locked"]) == ("6", "active", "0")
    # every flat field is the state document's value as text (projected by the commit
    # script): flags as 1/0, times as the document writes them, absent ones at defaults
    doc = orjson.loads(acme["doc"])
    for name, absent in flat_defaults():
        value = doc.get(name)
        if isinstance(value, float):  # Lua writes 1.0 as "1"
            assert float(acme[name]) == value, name
            continue
        expected = absent if value is None else (
            ("1" if value else "0") if isinstance(value, bool) else str(value))
        assert acme[name] == expected, name
    assert datetime.fromisoformat(acme["owner_since"]) <= datetime.now(UTC)
    assert -1 <= float(acme["sentiment"]) <= 1  # the interaction's text was scored
    history = orjson.loads(acme["history"])
    assert [(h["from_rep"], h["to_rep"]) for h in history] == [(None, "rep-1"), ("rep-1", "rep-2")]
    assert await redis.smembers(f"{k}rep:rep-2:customers") == {"acme"}
    assert await redis.smembers(f"{k}rep:rep-1:customers") == set()
    # a customer nobody registered lands in the default pool instead of being lost
    walk_in = await eventually(lambda: redis.hgetall(f"{k}customer:walk-in"))
    assert (walk_in["pool_id"], walk_in["status"]) == ("default", "pooled")
    assert await redis.zscore(f"{k}pool:default:members", "walk-in") is not None
    # the new owner and the old one were told
    notices = await read_topic(settings, t.notices, expect=3)
    assert {(n["type"], n["rep_id"]) for n in notices} == {
        ("assigned", "rep-1"), ("assigned", "rep-2"), ("transferred_out", "rep-1")}
    metrics = await w.metrics()
    assert f'crmstream_events_processed_total{{topic="{t.clicks}"}} 2.0' in metrics
    assert "crmstream_event_latency_seconds_count" in metrics
