"""``make bench-reclaim``: how late do reclaims fire with a million pending deadlines?

Seeds one worker's timer index with ``--pending`` deadlines: ``--firing`` of them belong to
real customers (built with the pure core, written through the Redis store) and come due
over ``--spread`` seconds once the worker runs; the rest are due in 30 days. The lag of a
reclaim is the broker's append time of its ``reclaimed`` notice (the notices topic uses
LogAppendTime) minus the customer's deadline: from the deadline to the notice on Kafka.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.throughput import free_port, wait_healthy, worker_process
from crmstream.namespace import drop_namespace
from crmstream.settings import Settings
from schemas.commands import Register
from state.engine import on_event
from state.keys import Keys
from state.pool_rules import PoolRules, load_pool_rules
from state.redis_connection import connect
from state.redis_store import RedisStore
from state.store import BatchWrite, Change
from state.transitions import Policy

ROOT = Path(__file__).resolve().parents[1]
RULES = """
levels: [C]
default_pool: public
pools:
  - id: public
    name: Public
    rules:
      - type: no_follow_up
        period: 1h
"""
PERIOD = timedelta(hours=1)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def partition_for(customer: str, partitions: int) -> int:
    """Where a seeded customer's timer lives; the worker owns every partition here."""
    return sum(customer.encode()) % partitions


async def create_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        topics = [NewTopic(name, settings.partitions, 1) for name in settings.topics.inputs]
        topics += [NewTopic(name, settings.partitions, 1, topic_configs=(
            {"message.timestamp.type": "LogAppendTime"} if name == settings.topics.notices
            else {})) for name in settings.topics.outputs]
        await admin.create_topics(topics)
    finally:
        await admin.close()


async def seed(settings: Settings, rules: PoolRules, pending: int, firing: int,
               lead: float, spread: float) -> dict[str, datetime]:
    """Write the idle deadlines straight into the timer index, then the firing customers
    through the store, due from ``lead`` seconds on. Returns each one's deadline."""
    keys = Keys(settings.redis_key_prefix)
    redis = connect("redis://127.0.0.1:6379/0")
    store = RedisStore(redis, keys)
    policy = Policy(rules=rules)
    later = (datetime.now(UTC) + timedelta(days=30)).timestamp()
    idle = pending - firing
    for start in range(0, idle, 20_000):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + 20_000, idle)):
                cid = f"idle-{n:07d}"
                pipe.zadd(keys.timers(partition_for(cid, settings.partitions)),
                          {cid: later + n % 86_400})
            await pipe.execute()
    first_due = datetime.now(UTC) + timedelta(seconds=lead)
    deadlines: dict[str, datetime] = {}
    for start in range(0, firing, 1000):
        batch = BatchWrite(now=datetime.now(UTC))
        for n in range(start, min(start + 1000, firing)):
            cid = f"due-{n:07d}"
            due = first_due + timedelta(seconds=spread * n / firing)
            register = Register(command_id=f"seed-{cid}", customer_id=cid,
                                issued_at=due - PERIOD, type="register", actor="bench",
                                pool_id="public", level="C", name=cid, owner=f"rep-{n % 50}")
            state = on_event(None, register, due - PERIOD, policy).state
            assert state.timer_at == due
            batch.changes[cid] = Change(None, state, partition_for(cid, settings.partitions))
            deadlines[cid] = due
        await store.commit(batch)
    await redis.aclose()
    return deadlines


async def collect(settings: Settings, expect: int, within: float) -> dict[str, list[float]]:
    """customer -> the append times (s) of its reclaimed notices."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    found: dict[str, list[float]] = {}
    try:
        consumer.assign([TopicPartition(settings.topics.notices, p)
                         for p in range(settings.partitions)])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + within
        while sum(map(len, found.values())) < expect and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    notice = json.loads(r.value)
                    if notice["type"] == "reclaimed":
                        found.setdefault(notice["customer_id"], []).append(r.timestamp / 1000)
    finally:
        await consumer.stop()
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(pending: int, firing: int, spread: float, rules_file: Path, tag: str
              ) -> dict[str, float]:
    settings = Settings(topic_prefix=f"rb{tag}.", redis_key_prefix=f"rb{tag}:",
                        app_id=f"bench-reclaim-{tag}", web_port=free_port(),
                        state_dir=Path(f"/tmp/bench-reclaim-{tag}"), pool_rules_file=rules_file)
    await create_topics(settings)
    lead = 30.0  # seconds for the firing seeds and the worker to start
    started = time.perf_counter()
    deadlines = await seed(settings, load_pool_rules(rules_file), pending, firing, lead, spread)
    first_due = min(deadlines.values())
    log(f"seeded {pending:,} pending deadlines ({firing:,} due over {spread:.0f}s) in "
        f"{time.perf_counter() - started:.1f}s")
    try:
        async with worker_process(settings) as proc:
            await wait_healthy(settings.web_port, proc)
            if datetime.now(UTC) > first_due:
                raise RuntimeError("the worker took longer than the lead time to start")
            wait = (first_due - datetime.now(UTC)).total_seconds() + spread + 30
            fired = await collect(settings, firing, within=wait)
    finally:
        await drop_namespace(settings, apps=[settings.app_id])
    lags = [min(times) - deadlines[cid].timestamp() for cid, times in fired.items()]
    twice = sum(len(set(times)) > 1 for times in fired.values())
    if not lags:
        raise RuntimeError("no reclaim fired")
    result = {
        "pending_deadlines": pending,
        "fired": len(fired),
        "lag_p50_s": round(percentile(lags, 0.50), 4),
        "lag_p99_s": round(percentile(lags, 0.99), 4),
        "lag_max_s": round(max(lags), 4),
    }
    log(f"fired {len(fired):,} of {firing:,} (reclaimed twice: {twice}); lag p50 "
        f"{result['lag_p50_s'] * 1000:.0f} ms, p99 {result['lag_p99_s'] * 1000:.0f} ms, "
        f"max {result['lag_max_s'] * 1000:.0f} ms")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--firing", type=int, default=20_000)
    parser.add_argument("--spread", type=float, default=20.0)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    rules_file = Path(f"/tmp/bench-rules-{tag}.yml")
    rules_file.write_text(RULES)
    try:
        result = asyncio.run(run(args.pending, args.firing, args.spread, rules_file, tag))
    finally:
        rules_file.unlink()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
