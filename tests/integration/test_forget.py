"""The right to be forgotten, end to end: after ``forget`` nothing in Redis names the
customer, its later events are dead letters (also for a restarted worker), and a new
registration starts it over."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from crmstream.settings import Settings
from tests.integration.conftest import eventually, produce, read_topic

CID = "acme-forget-me"
NOW = datetime.now(UTC).isoformat()


def command(n: int, kind: str, **fields: Any) -> tuple[str, str, bytes]:
    return ("commands", CID, orjson.dumps({
        "command_id": f"cmd-{n}", "customer_id": CID, "issued_at": NOW, "type": kind,
        "actor": "admin-1"} | fields))


def interaction(n: int, text: str) -> tuple[str, str, bytes]:
    return ("interactions", CID, orjson.dumps({
        "event_id": f"i-{n}", "customer_id": CID, "occurred_at": NOW, "channel": "chat",
        "direction": "outbound", "rep_id": "rep-1", "text": text}))


def click(n: int) -> tuple[str, str, bytes]:
    return ("clicks", CID, orjson.dumps({
        "event_id": f"k-{n}", "customer_id": CID, "occurred_at": NOW, "session_id": "s",
        "page": "/cancel", "page_type": "cancel"}))


async def everything_stored(redis: Redis, prefix: str) -> str:
    """Every key under the prefix with its whole content, as one text."""
    parts: list[str] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        read = {"hash": redis.hgetall, "set": redis.smembers, "string": redis.get,
                "stream": redis.xrange}.get(await redis.type(key))
        content = await read(key) if read else await redis.zrange(key, 0, -1)
        parts.append(f"{key} {content}")
    return "\n".join(parts)


async def test_forget_erases_the_customer_and_refuses_its_later_events(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    t = settings.topics

    async def send(*messages: tuple[str, str, bytes]) -> None:
        await produce(settings, [(getattr(t, topic), key, value) for topic, key, value in messages])

    prefix = settings.redis_key_prefix
    w = worker()
    await w.wait_owns_partitions()
    await send(command(1, "register", pool_id="default", level="C", name="ACME 公司",
                       owner="rep-1"),
               interaction(1, "报价太贵了, call me on 138-0000-0000"), click(1),
               command(2, "release", pool_id="default", reason="customer asked for a pause"),
               command(3, "claim", rep_id="rep-2"))
    await eventually(lambda: redis.sismember(f"{prefix}rep:rep-2:customers", CID))
    assert CID in await everything_stored(redis, prefix)
    assert await redis.xlen(f"{prefix}inbox:rep-1")

    await send(command(4, "forget"))
    await eventually(lambda: _gone(redis, prefix))
    stored = await everything_stored(redis, prefix)
    assert CID not in stored
    assert "ACME" not in stored
    assert "customer asked for a pause" not in stored
    tombstones = f"{prefix}forgotten:{await _partition(redis, prefix)}"
    assert await redis.hlen(tombstones) == 1

    await send(click(2))
    [letter] = await read_topic(settings, t.dlq, expect=1)
    assert (letter["reason"], letter["offset"]) == ("forgotten", 1)  # the clicks' second

    w.kill()
    again = worker("again")
    await again.wait_owns_partitions()
    await send(click(3))
    letters = await read_topic(settings, t.dlq, expect=2)
    assert [d["reason"] for d in letters] == ["forgotten", "forgotten"]
    assert CID not in await everything_stored(redis, prefix)

    await send(command(5, "register", pool_id="default", level="C", name="ACME", owner="rep-3"))
    state = await eventually(lambda: redis.hgetall(f"{prefix}customer:{CID}"))
    assert (state["owner"], state["name"]) == ("rep-3", "ACME")
    assert not orjson.loads(state["activity"])["clicks_7d"]
    assert await redis.hlen(tombstones) == 0


async def _gone(redis: Redis, prefix: str) -> bool:
    return not await redis.exists(f"{prefix}customer:{CID}") and bool(
        [k async for k in redis.scan_iter(match=f"{prefix}forgotten:*")])


async def _partition(redis: Redis, prefix: str) -> int:
    [key] = [k async for k in redis.scan_iter(match=f"{prefix}forgotten:*")]
    return int(key.rsplit(":", 1)[1])
