"""Crashes, restarts and moving partitions lose no event and count none twice."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import orjson
from redis.asyncio import Redis

from crmstream.settings import Settings
from tests.integration.conftest import ROOT, eventually, produce
from tests.integration.traffic import counted_clicks

CUSTOMERS = 200


async def versions(redis: Redis, settings: Settings) -> dict[str, int]:
    async with redis.pipeline(transaction=False) as pipe:
        for c in range(CUSTOMERS):
            pipe.hget(f"{settings.redis_key_prefix}customer:c{c:04d}", "version")
        found = await pipe.execute()
    return {f"c{c:04d}": int(v) for c, v in enumerate(found) if v is not None}


async def all_at(redis: Redis, settings: Settings, expected: int) -> bool:
    seen = await versions(redis, settings)
    return len(seen) == CUSTOMERS and all(v == expected for v in seen.values())


async def assert_exact(redis: Redis, settings: Settings, expected: int) -> None:
    """Every customer saw every one of its clicks exactly once."""
    try:
        await eventually(lambda: all_at(redis, settings, expected), timeout=120)
    except AssertionError:
        seen = await versions(redis, settings)
        wrong = {c: v for c, v in seen.items() if v != expected}
        raise AssertionError(
            f"{len(seen)} customers stored, {len(wrong)} with a version other than "
            f"{expected}: {dict(list(wrong.items())[:5])}"
        ) from None
    activity = await redis.hget(f"{settings.redis_key_prefix}customer:c0000", "activity")
    assert orjson.loads(activity)["clicks_7d"] == expected


async def test_a_worker_killed_mid_stream_comes_back_exact(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    per_customer = 100  # 20,000 events
    first = worker("first")
    await first.wait_owns_partitions()
    await produce(settings, counted_clicks(settings, CUSTOMERS, per_customer))

    async def halfway() -> bool:
        seen = await versions(redis, settings)
        return sum(seen.values()) > CUSTOMERS * per_customer // 4

    await eventually(halfway)
    first.kill()  # SIGKILL: nothing is flushed or committed
    progress = sum((await versions(redis, settings)).values())
    assert progress < CUSTOMERS * per_customer, "the kill came too late to test anything"

    again = worker("again")
    await again.wait_owns_partitions()
    await assert_exact(redis, settings, per_customer)


async def test_redis_restart_keeps_state_and_offsets_consistent(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    w = worker()
    await w.wait_owns_partitions()
    await produce(settings, counted_clicks(settings, CUSTOMERS, 20))
    await assert_exact(redis, settings, 20)
    env = os.environ | {"PYTHON": sys.executable}
    restart = await asyncio.create_subprocess_exec(
        str(ROOT / "deploy/stack.sh"), "redis-restart", env=env)
    assert await restart.wait() == 0
    await produce(settings, counted_clicks(settings, CUSTOMERS, 20, start=20, seed=2))
    await assert_exact(redis, settings, 40)
    assert w.proc.poll() is None


async def test_partitions_moving_to_a_second_worker_lose_no_update(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    from tests.integration.conftest import free_port

    a = worker("a")
    await a.wait_owns_partitions()
    await produce(settings, counted_clicks(settings, CUSTOMERS, 30))
    b = worker("b", web_port=free_port())  # joins the group: a rebalance moves partitions
    await produce(settings, counted_clicks(settings, CUSTOMERS, 30, start=30, seed=3))
    owned_by_b = await b.wait_owns_partitions()
    await produce(settings, counted_clicks(settings, CUSTOMERS, 30, start=60, seed=4))
    await assert_exact(redis, settings, 90)
    owned_by_a = await a.wait_owns_partitions()
    assert set(owned_by_a).isdisjoint(owned_by_b)
    assert len(owned_by_a) + len(owned_by_b) == settings.partitions
