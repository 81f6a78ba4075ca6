"""The numbers on the real Kafka and Redis: a known stream (customers registered, claimed,
won, lost at known stages, one won back, one left unanswered and acknowledged) comes out
exact, also when the worker is SIGKILLed mid-stream; the API, its access rules and
``crmstream report`` serve the same numbers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from redis.asyncio import Redis

from analytics.stats_store import StatsStore
from crmstream.settings import Settings
from state.keys import NOW, Keys
from tests.integration.conftest import ROOT, eventually, produce, settings_env, token_for

N = 12  # customers per kind
RULES = """
levels: [A, B, C]
default_pool: public
teams: {east: [rep-1, rep-2]}
answers:
  within: {A: 2s}
  escalate_after: {A: 4s}
pools:
  - id: public
    name: Public
    members: [team:east]
    managers: [mgr-1]
    rules:
      - type: no_follow_up
        period: 1d
"""
Message = tuple[str, str, bytes]


@pytest.fixture
def rules_settings(settings: Settings, tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    settings.pool_rules_file = rules
    return settings


@pytest.fixture
async def stats(rules_settings: Settings) -> AsyncIterator[StatsStore]:
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    yield StatsStore(redis, Keys(rules_settings.redis_key_prefix), rules_settings.partitions)
    await redis.aclose()


class Stream:
    """Messages of the known stream, stamped now (the numbers count today)."""

    def __init__(self, settings: Settings) -> None:
        self.topics = settings.topics
        self.seq = 0

    def _next(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}{self.seq}"

    def command(self, customer: str, kind: str, **fields: Any) -> Message:
        body = {"command_id": self._next("cmd"), "customer_id": customer, "type": kind,
                "issued_at": datetime.now(UTC).isoformat(), "actor": "admin"} | fields
        return self.topics.commands, customer, orjson.dumps(body)

    def register(self, customer: str, owner: str | None = "rep-1", level: str = "B"
                 ) -> Message:
        return self.command(customer, "register", pool_id="public", level=level,
                            name=customer, **({"owner": owner} if owner else {}))

    def interaction(self, customer: str, direction: str, rep: str | None = None,
                    channel: str = "call", at: datetime | None = None) -> Message:
        body = {"event_id": self._next("i"), "customer_id": customer, "channel": channel,
                "occurred_at": (at or datetime.now(UTC)).isoformat(),
                "direction": direction} | ({"rep_id": rep} if rep else {})
        return self.topics.interactions, customer, orjson.dumps(body)

    def order(self, customer: str, status: str, order_id: str = "o1") -> Message:
        body = {"event_id": self._next("o"), "customer_id": customer, "order_id": order_id,
                "occurred_at": datetime.now(UTC).isoformat(), "status": status,
                "amount": "100.00", "currency": "CNY"}
        return self.topics.orders, customer, orjson.dumps(body)

    def clicks(self, customers: list[str], each: int) -> list[Message]:
        return [(self.topics.clicks, c, orjson.dumps({
            "event_id": self._next("k"), "customer_id": c, "session_id": "s",
            "occurred_at": datetime.now(UTC).isoformat(), "page": "/p"}))
            for _ in range(each) for c in customers]


def kinds(name: str) -> list[str]:
    return [f"{name}-{n:02d}" for n in range(N)]


LEADS, BUYERS, GONE, IDLE = kinds("lead"), kinds("buyer"), kinds("gone"), kinds("idle")
EVERYONE = [*LEADS, *BUYERS, *GONE, *IDLE, "back-00", "ask-00", "ask-01"]
# Today's flows and what stands now, every dimension summed.
EXPECTED_FLOWS = {
    "new": 4 * N + 3, "claimed": N, "won": N, "claimed_then_won": N,
    "orders_placed": N + 1, "orders_paid": N + 1, "paid_cents": (N + 1) * 10_000,
    "first_paid": N + 1, "registered_then_paid": N + 1, "follow_ups": N + 1,
    "lost": 2 * N + 2, "lost_cause:marked": 2 * N + 2,
    "lost_stage:followed_up:unpaid": N, "lost_stage:neglected:unpaid": N + 1,
    "lost_stage:neglected:paid": 1, "lost_signal:no_signal": N,
    "lost_signal:no_follow_up": N + 2, "lost_signal:unanswered": 1,
    "lost_alerted": 1, "lost_acknowledged": 1, "won_back": 1,
    "unanswered": 1, "unanswered_escalated": 1,
}
EXPECTED_NOW = {"customers:won": N, "customers:churned": 2 * N + 1,
                "customers:active": N + 2}


def by_metric(counts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, n in counts.items():
        metric = name.split("|")[0]
        out[metric] = out.get(metric, 0) + n
    return {m: n for m, n in out.items() if n}


async def today(stats: StatsStore) -> tuple[dict[str, int], dict[str, int]]:
    period = f"utc:{datetime.now(UTC):%Y-%m-%d}"
    sums = await stats.summed([period, NOW])
    return by_metric(sums[period]), by_metric(sums[NOW])


async def applied(stats: StatsStore, **at_least: int) -> bool:
    flows, _ = await today(stats)
    return all(flows.get(metric, 0) >= n for metric, n in at_least.items())


async def ack_unanswered(settings: Settings, port: int, redis: Redis) -> None:
    """Ops acknowledge the unanswered alert about ask-00 on the console."""
    entries = await redis.xrange(f"{settings.redis_key_prefix}alerts")
    alert_ids = [orjson.loads(fields[b"payload"])["alert_id"] for _, fields in entries]
    ours = [a for a in alert_ids if a.startswith("ask-00:") and a.endswith(":unanswered")]
    assert ours, alert_ids
    async with aiohttp.ClientSession() as http, http.post(
        f"http://127.0.0.1:{port}/console/api/alerts/ack", json={"alert_id": ours[0]},
        headers={"Authorization": f"Bearer {token_for('ops-1', 'ops')}"}) as r:
        assert r.status == 200, await r.text()


@pytest.mark.parametrize("kill", [False, True], ids=["steady", "sigkill-mid-stream"])
async def test_a_known_stream_gives_exact_numbers(
        rules_settings: Settings, stats: StatsStore, worker: Any, kill: bool) -> None:
    settings = rules_settings
    s = Stream(settings)
    first = worker("first")
    await first.wait_owns_partitions()
    asked = datetime.now(UTC)
    await produce(settings, [
        *(s.register(c, owner=None) for c in LEADS),
        *(s.register(c) for c in [*BUYERS, *GONE, *IDLE, "back-00"]),
        s.register("ask-00", level="A"), s.register("ask-01", level="A"),
    ])
    await eventually(lambda: applied(stats, new=4 * N + 3))
    # 40,000 clicks count nothing; the counted events go in among them
    filler = s.clicks(EVERYONE, 40_000 // len(EVERYONE))
    await produce(settings, [
        *filler[:len(filler) // 2],
        *(s.command(c, "claim", rep_id="rep-2", actor="rep-2") for c in LEADS),
        *(s.order(c, "placed") for c in BUYERS), *(s.order(c, "paid") for c in BUYERS),
        *(s.interaction(c, "outbound", "rep-1") for c in GONE),
        s.order("back-00", "paid"),
        s.interaction("ask-00", "inbound", channel="chat", at=asked),
        s.interaction("ask-01", "inbound", channel="chat", at=asked),
        s.interaction("ask-01", "outbound", "rep-1", at=asked + timedelta(seconds=1)),
        *filler[len(filler) // 2:],
    ])
    if kill:
        async def some_clicks_applied() -> bool:
            keys = Keys(settings.redis_key_prefix)
            versions = [await stats.redis.hget(keys.customer(c), "version") for c in LEADS]
            return sum(int(v or 0) for v in versions) > 100
        await eventually(some_clicks_applied)
        first.kill()  # SIGKILL: the batches in flight are neither written nor committed
        flows, _ = await today(stats)
        assert flows.get("paid_cents", 0) < EXPECTED_FLOWS["paid_cents"] or (
            flows.get("claimed", 0) < N), "the kill came too late to test anything"
        first = worker("again")
        await first.wait_owns_partitions()
    await eventually(lambda: applied(stats, claimed=N, orders_paid=N + 1, follow_ups=N + 1,
                                     unanswered_escalated=1), timeout=120)
    redis = stats.redis
    await ack_unanswered(settings, first.port, redis)
    await produce(settings, [
        *(s.command(c, "mark_won", actor="rep-2") for c in LEADS),
        *(s.command(c, "mark_churned") for c in [*GONE, *IDLE, "back-00", "ask-00"]),
    ])
    await eventually(lambda: applied(stats, lost=2 * N + 2, won=N))
    await produce(settings, [s.order("back-00", "placed", order_id="o2")])

    async def exact() -> bool:
        flows, now = await today(stats)
        wanted = {k: flows.get(k, 0) for k in EXPECTED_FLOWS}
        standing = {k: now.get(k, 0) for k in EXPECTED_NOW}
        return wanted == EXPECTED_FLOWS and standing == EXPECTED_NOW

    try:
        await eventually(exact, timeout=60)
    except AssertionError:
        flows, now = await today(stats)
        raise AssertionError(
            f"flows {({k: flows.get(k, 0) for k in EXPECTED_FLOWS})}\n"
            f"now {({k: now.get(k, 0) for k in EXPECTED_NOW})}\n{first.tail()}") from None
    flows, now = await today(stats)
    assert now.get("unanswered_now", 0) == 0  # ask-00 churned; ask-01 was answered
    assert sum(n for m, n in now.items() if m.startswith("customers:")) == len(EVERYONE)
    # only the followed-up losses have a first follow-up, seconds before their loss
    assert flows["lost_days:0-7d"] == N
    assert flows["lost_days:never_followed_up"] == N + 2
    assert flows.get("lost_follow_up_seconds", 0) < N * 120
    if not kill:
        await _served_the_same(settings, first.port, flows)
        await _counted_again_the_same(settings, stats, first)


async def _counted_again_the_same(settings: Settings, stats: StatsStore, worker: Any) -> None:
    """``crmstream recount-standing`` (the workers stopped) finds what the live counts
    say, also when those were lost."""
    worker.stop()
    live = await stats.standing()
    keys = Keys(settings.redis_key_prefix)
    await stats.redis.delete(*(keys.stats(p, NOW) for p in range(settings.partitions)))
    cli = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "crmstream.cli", "recount-standing"],
        env=os.environ | settings_env(settings), cwd=ROOT, capture_output=True, timeout=60)
    assert cli.returncode == 0, cli.stderr.decode()
    assert {k: n for k, n in (await stats.standing()).items() if n} == {
        k: n for k, n in live.items() if n}
    printed = [line.split(": ")[1] for line in cli.stdout.decode().splitlines()]
    assert sum(int(text.split()[0]) for text in printed) == len(EVERYONE)


async def _served_the_same(settings: Settings, port: int, flows: dict[str, int]) -> None:
    """The API (for a manager; not for a rep) and ``crmstream report`` show these numbers."""
    url = f"http://127.0.0.1:{port}/console/api/numbers?zone=utc&days=7"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={
                "Authorization": f"Bearer {token_for('rep-1', 'rep')}"}) as r:
            assert r.status == 403
        async with http.get(url.replace("days=7", "days=0"), headers={
                "Authorization": f"Bearer {token_for('mgr-1', 'manager')}"}) as r:
            assert r.status == 400
        async with http.get(url, headers={
                "Authorization": f"Bearer {token_for('mgr-1', 'manager')}"}) as r:
            assert r.status == 200
            report = await r.json()
    assert report["window"]["won"]["current"] == N
    assert report["window"]["paid_amount"]["current"] == (N + 1) * 100
    assert report["conversion"]["claim_to_won"] == {
        "base": N, "converted": N, "rate": 1.0, "previous_rate": None}
    stages = {r["name"]: r["count"] for r in report["loss"]["stages"]}
    assert stages == {"neglected:unpaid": N + 1, "followed_up:unpaid": N,
                      "neglected:paid": 1}
    assert report["loss"]["reasons"][0]["name"] == "no_follow_up"
    assert (report["loss"]["acknowledged"], report["loss"]["won_back"]) == (1, 1)
    assert report["by_dimension"]["team"]["east"]["won"] == N
    cli = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "crmstream.cli", "report", "--zone", "utc",
                         "--days", "7", "--json"],
        env=os.environ | settings_env(settings), cwd=ROOT, capture_output=True, timeout=60)
    assert cli.returncode == 0, cli.stderr.decode()
    printed = orjson.loads(cli.stdout)
    assert printed["window"] == report["window"]
    assert printed["loss"] == report["loss"]
    assert flows["won"] == N
