"""The shared pool on the real Kafka and Redis, with periods of seconds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from crmstream.settings import Settings
from tests.integration.conftest import eventually, produce, read_topic, sse_events

RULES = """
levels: [A, C]
default_pool: public
pools:
  - id: public
    name: Public
    managers: [mgr]
    rules:
      - type: no_follow_up
        periods: {A: 600s, C: 6s}
    warn_before: 3s
    claim:
      previous_owner_cooldown: 1h
      max_claims_per_day: 2
"""


@pytest.fixture
def pool_settings(settings: Settings, tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    settings.pool_rules_file = rules  # the same object the worker fixture starts with
    return settings


def now() -> str:
    return datetime.now(UTC).isoformat()


def cmd(settings: Settings, customer: str, kind: str, **fields: Any) -> tuple[str, str, bytes]:
    body = {"command_id": f"{customer}-{kind}-{fields.get('rep_id', '')}-{now()}",
            "customer_id": customer, "issued_at": now(), "type": kind, "actor": "admin"}
    return (settings.topics.commands, customer, orjson.dumps(body | fields))


def register(settings: Settings, customer: str, level: str = "C",
             owner: str | None = "rep-1") -> tuple[str, str, bytes]:
    fields: dict[str, Any] = {"pool_id": "public", "level": level, "name": customer}
    if owner:
        fields["owner"] = owner
    return cmd(settings, customer, "register", **fields)


async def all_stored(redis: Redis, prefix: str, customers: list[str]) -> bool:
    return all([await redis.exists(f"{prefix}customer:{c}") for c in customers])


async def notices_of(settings: Settings, customer: str, expect: int) -> list[dict[str, Any]]:
    return await read_topic(settings, settings.topics.notices, expect=expect, timeout=30,
                            where=lambda n: n["customer_id"] == customer)


async def test_reclaims_fire_on_time_and_a_follow_up_prevents_one(
    pool_settings: Settings, redis: Redis, worker: Any
) -> None:
    s, k = pool_settings, pool_settings.redis_key_prefix
    w = worker()
    await w.wait_owns_partitions()
    await produce(s, [register(s, "late"), register(s, "diligent"), register(s, "vip", "A")])
    await eventually(lambda: redis.exists(f"{k}customer:vip"))
    await asyncio.sleep(4.5)  # diligent's owner follows up 1.5 s before its deadline
    await produce(s, [(s.topics.interactions, "diligent", orjson.dumps({
        "event_id": "follow-up-1", "customer_id": "diligent", "occurred_at": now(),
        "channel": "call", "direction": "outbound", "rep_id": "rep-1"}))])

    async def late_reclaimed() -> bool:
        return await redis.hget(f"{k}customer:late", "owner") == ""

    await eventually(late_reclaimed, timeout=15)
    late = await redis.hgetall(f"{k}customer:late")
    assert (late["status"], late["pool_id"]) == ("pooled", "public")
    history = orjson.loads(late["history"])
    assert history[-1]["reason"] == "no follow-up for 6s"
    assert await redis.zscore(f"{k}pool:public:members", "late") is not None
    assert "late" not in await redis.smembers(f"{k}rep:rep-1:customers")
    await asyncio.sleep(2)
    assert await redis.hget(f"{k}customer:diligent", "owner") == "rep-1"
    assert await redis.hget(f"{k}customer:vip", "owner") == "rep-1"

    notices = await notices_of(s, "late", expect=3)
    kinds = [n["type"] for n in notices]
    assert kinds == ["assigned", "reclaim_warning", "reclaimed"]  # the warning came first
    assert notices[1]["deadline"] is not None
    # the deadline was met: the reclaim's lag is on /metrics
    metrics = await w.metrics()
    assert 'crmstream_pool_timer_lag_seconds_count{kind="reclaim"}' in metrics
    # and the rep's inbox holds each notice once
    inbox = await redis.xrange(f"{k}inbox:rep-1")
    ids = [entry["id"] for _, entry in inbox]
    assert len(ids) == len(set(ids))
    assert {n["notice_id"] for n in notices} <= set(ids)


async def test_two_reps_racing_to_claim_get_one_winner_and_one_rejection(
    pool_settings: Settings, redis: Redis, worker: Any
) -> None:
    s, k = pool_settings, pool_settings.redis_key_prefix
    w = worker()
    await w.wait_owns_partitions()
    await produce(s, [register(s, "prize", owner=None)])
    await eventually(lambda: redis.exists(f"{k}customer:prize"))
    await produce(s, [cmd(s, "prize", "claim", rep_id="rep-a", actor="rep-a"),
                      cmd(s, "prize", "claim", rep_id="rep-b", actor="rep-b")])
    notices = await notices_of(s, "prize", expect=2)
    assert sorted((n["type"], n["rep_id"]) for n in notices) == [
        ("assigned", "rep-a"), ("rejected", "rep-b")]
    assert next(n for n in notices if n["type"] == "rejected")["reason"] == "not in the pool"

    async def owned_by_a() -> bool:  # notices reach Kafka a moment before the Redis commit
        return await redis.hget(f"{k}customer:prize", "owner") == "rep-a"

    await eventually(owned_by_a, timeout=10)


async def test_a_previous_owner_in_cooldown_is_rejected_with_the_reason(
    pool_settings: Settings, redis: Redis, worker: Any
) -> None:
    s, k = pool_settings, pool_settings.redis_key_prefix
    w = worker()
    await w.wait_owns_partitions()
    await produce(s, [register(s, "cool", "A")])
    await eventually(lambda: redis.exists(f"{k}customer:cool"))
    await produce(s, [cmd(s, "cool", "release", pool_id="public", reason="not now")])

    async def released() -> bool:
        return await redis.hget(f"{k}customer:cool", "status") == "pooled"

    await eventually(released)
    await produce(s, [cmd(s, "cool", "claim", rep_id="rep-1", actor="rep-1")])
    notices = await notices_of(s, "cool", expect=3)
    rejection = next(n for n in notices if n["type"] == "rejected")
    assert rejection["rep_id"] == "rep-1"
    assert rejection["reason"].startswith("cooldown: a previous owner")


async def test_a_killed_workers_reclaims_fire_once_after_restart(
    pool_settings: Settings, redis: Redis, worker: Any
) -> None:
    s, k = pool_settings, pool_settings.redis_key_prefix
    customers = [f"k{i:03d}" for i in range(50)]
    first = worker("first")
    await first.wait_owns_partitions()
    await produce(s, [register(s, c) for c in customers])

    await eventually(lambda: all_stored(redis, k, customers))
    first.kill()  # the deadlines pass while no worker owns the partitions
    await asyncio.sleep(7)
    again = worker("again")
    await again.wait_owns_partitions()

    async def all_reclaimed() -> bool:
        owners = [await redis.hget(f"{k}customer:{c}", "owner") for c in customers]
        return all(o == "" for o in owners)

    await eventually(all_reclaimed, timeout=30)
    reclaimed = await read_topic(s, s.topics.notices, expect=len(customers), timeout=20,
                                 where=lambda n: n["type"] == "reclaimed")
    # one reclaim per customer: a replay may resend a notice, never reclaim twice
    assert len({n["notice_id"] for n in reclaimed}) == len(customers)
    assert {n["customer_id"] for n in reclaimed} == set(customers)
    histories = [orjson.loads(await redis.hget(f"{k}customer:{c}", "history"))
                 for c in customers]
    assert all(sum(h["reason"] == "no follow-up for 6s" for h in hs) == 1 for hs in histories)


async def test_a_reps_notices_stream_live_and_resume_from_last_event_id(
    pool_settings: Settings, redis: Redis, worker: Any
) -> None:
    s = pool_settings
    w = worker()
    await w.wait_owns_partitions()
    rep7 = ("rep-7", "rep")
    live = asyncio.create_task(sse_events(w.port, "/reps/rep-7/notices", want=3, who=rep7))
    await asyncio.sleep(1)  # connected before anything happens: this is a live push
    await produce(s, [register(s, "x1", owner="rep-7"), register(s, "x2", owner="rep-7"),
                      register(s, "x3", owner="rep-7")])
    first = await live
    assert [n["type"] for _, n in first] == ["assigned"] * 3
    assert {n["customer_id"] for _, n in first} == {"x1", "x2", "x3"}
    # a reconnect with the id of the first event gets the two after it, not the first again
    resumed = await sse_events(w.port, "/reps/rep-7/notices", want=2,
                               headers={"Last-Event-ID": first[0][0]}, who=rep7)
    assert [i for i, _ in resumed] == [i for i, _ in first[1:]]
    everything = await sse_events(w.port, "/reps/rep-7/notices?since=0", want=3, who=rep7)
    assert [i for i, _ in everything] == [i for i, _ in first]


async def test_a_claim_over_the_daily_limit_is_rejected_with_the_reason(
    pool_settings: Settings, redis: Redis, worker: Any
) -> None:
    s, k = pool_settings, pool_settings.redis_key_prefix
    customers = ["lim1", "lim2", "lim3"]
    w = worker()
    await w.wait_owns_partitions()
    await produce(s, [register(s, c, owner=None) for c in customers])

    await eventually(lambda: all_stored(redis, k, customers))
    await produce(s, [cmd(s, c, "claim", rep_id="rep-z", actor="rep-z") for c in customers])
    notices = await read_topic(s, s.topics.notices, expect=3,
                               where=lambda n: n["rep_id"] == "rep-z")
    assert sorted(n["type"] for n in notices) == ["assigned", "assigned", "rejected"]
    rejection = next(n for n in notices if n["type"] == "rejected")
    assert rejection["reason"].startswith("limit reached: 2 claims today")

    async def holds_two() -> bool:  # notices reach Kafka a moment before the Redis commit
        return await redis.scard(f"{k}rep:rep-z:customers") == 2

    await eventually(holds_two, timeout=10)


async def test_two_workers_share_the_partitions_and_every_reclaim_fires_once(
    pool_settings: Settings, redis: Redis, worker: Any
) -> None:
    from tests.integration.conftest import free_port

    s, k = pool_settings, pool_settings.redis_key_prefix
    customers = [f"w{i:03d}" for i in range(60)]
    a = worker("a")
    await a.wait_owns_partitions()
    b = worker("b", web_port=free_port())
    owned_by_b = await b.wait_owns_partitions()

    async def split() -> bool:  # the rebalance settled: each owns part of the partitions
        owned_by_a = await a.wait_owns_partitions()
        return set(owned_by_a).isdisjoint(owned_by_b) and bool(owned_by_a)

    await eventually(split, timeout=60)
    await produce(s, [register(s, c) for c in customers])
    reclaimed = await read_topic(s, s.topics.notices, expect=len(customers), timeout=40,
                                 where=lambda n: n["type"] == "reclaimed")
    assert {n["customer_id"] for n in reclaimed} == set(customers)
    assert len({n["notice_id"] for n in reclaimed}) == len(customers)

    async def all_unowned() -> bool:
        return all([await redis.hget(f"{k}customer:{c}", "owner") == "" for c in customers])

    await eventually(all_unowned, timeout=10)
    # both workers fired some: the reclaims really were shared
    fired = [m for m in (await a.metrics(), await b.metrics())
             if 'crmstream_pool_timers_fired_total{kind="reclaim"}' in m]
    assert len(fired) == 2
