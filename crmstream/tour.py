"""After ``make run``: what the worker did and where to look (``python -m crmstream.tour``)."""

from __future__ import annotations

import asyncio
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import orjson
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from analytics.report import Where, today_in
from analytics.terminal import render
from crmstream.settings import Settings
from state.keys import Keys
from web.identity import Identity, Role, issue
from web.reader import ConsoleReader


def _metrics(port: int) -> dict[str, float]:
    """Totals of the worker's crmstream_* counters, summed over labels, and per label value
    for the notices and timers (``name{value}``)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("crmstream_") and sample.name.endswith("_total"):
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
                for label in ("type", "kind"):
                    if label in sample.labels:
                        key = f"{sample.name}{{{sample.labels[label]}}}"
                        totals[key] = totals.get(key, 0.0) + sample.value
    return totals


async def tour(settings: Settings) -> None:
    k = settings.redis_key_prefix
    redis = Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        customers = [key async for key in redis.scan_iter(match=f"{k}customer:*", count=1000)]
        reps = [key async for key in redis.scan_iter(match=f"{k}rep:*:customers", count=1000)]
        pools = [key async for key in redis.scan_iter(match=f"{k}pool:*", count=1000)]
        print(f"\nRedis ({len(customers)} customers, {len(reps)} reps, {len(pools)} pool sets):")
        if customers:
            # decode_responses=True: redis-py's types still say bytes | str.
            owned = cast(set[str], await redis.smembers(min(reps)) if reps else set())
            key = f"{k}customer:{min(owned)}" if owned else min(customers)
            state = cast(dict[str, str], await redis.hgetall(key))
            activity = orjson.loads(state.get("activity", "{}"))
            print(f"  HGETALL {key}")
            for name in ("owner", "pool_id", "level", "status", "last_follow_up_at", "version"):
                print(f"    {name:18} {state.get(name, '')}")
            for name in ("clicks_7d", "sessions_30d", "orders_90d", "paid_amount_90d",
                         "recency_days"):
                print(f"    activity.{name:18} {activity.get(name)}")
            history = orjson.loads(state.get("history", "[]"))
            print(f"    history            {len(history)} ownership change(s)")
        if reps:
            rep = sorted(reps)[0]
            print(f"  SMEMBERS {rep}  -> {await redis.scard(rep)} customers")
        for pool in sorted(pools)[:3]:
            print(f"  ZRANGE {pool} 0 -1  -> {await redis.zcard(pool)} customers")
        await _scores_and_alerts(redis, k)
    finally:
        await redis.aclose()
    try:
        totals = _metrics(settings.web_port)
    except OSError as exc:
        print(f"\nthe worker's /metrics did not answer ({exc}): see .stack/worker.log")
        return
    print(f"\nWorker metrics (http://127.0.0.1:{settings.web_port}/metrics):")
    for name in ("crmstream_events_processed_total", "crmstream_dead_letters_total",
                 "crmstream_duplicates_skipped_total", "crmstream_commands_rejected_total",
                 "crmstream_outputs_published_total", "crmstream_redis_batches_total"):
        print(f"  {name:42} {totals.get(name, 0):,.0f}")
    for name in ("crmstream_churn_scored_total", "crmstream_texts_scored_total",
                 "crmstream_model_labels_total", "crmstream_model_drifts_total"):
        print(f"  {name:42} {totals.get(name, 0):,.0f}")
    alerts = {k: v for k, v in totals.items() if k.startswith("crmstream_alerts_total{")}
    print("\nAlerts by type (crm.alerts):")
    for name, value in sorted(alerts.items()):
        print(f"  {name:52} {value:,.0f}")
    _model_quality(settings.web_port)
    pool = {k: v for k, v in totals.items()
            if k.startswith(("crmstream_notices_total{", "crmstream_pool_timers_fired_total{"))}
    print("\nThe shared pool (notices to reps by type, timers fired by kind):")
    for name, value in sorted(pool.items()):
        print(f"  {name:52} {value:,.0f}")
    _chat_robots()
    await _numbers(settings)
    _live_streams(settings)
    print(
        f"\nMore: curl -s localhost:{settings.web_port}/healthz | "
        f"redis-cli HGETALL {k}customer:<id> | dead letters: "
        f"{settings.topics.dlq} | stop the worker: make stop"
    )


async def _numbers(settings: Settings) -> None:
    """The live numbers, as ``crmstream report`` prints them and the API serves them."""
    print("\nThe numbers (crmstream report; the same as GET /console/api/numbers and the "
          "page /console/numbers):\n")
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    try:
        zone = ZoneInfo(settings.business_timezone)
        reader = ConsoleReader(redis, Keys(settings.redis_key_prefix), settings.partitions)
        today = today_in("local", zone, datetime.now(UTC))
        report = await reader.numbers("local", today, 30, Where())
    finally:
        await redis.aclose()
    print("  " + render(report).replace("\n", "\n  "))
    token = issue(Identity("mgr-1", "manager"), settings.console_secret.get_secret_value(),
                  timedelta(hours=8), datetime.now(UTC))
    print(f"  the API: curl -s -H 'Authorization: Bearer {token}' "
          f"'http://127.0.0.1:{settings.web_port}/console/api/numbers?days=30' | jq .loss")


def _live_streams(settings: Settings) -> None:
    """Ready-made commands for the live streams, with tokens valid for 8 hours."""
    secret, now = settings.console_secret.get_secret_value(), datetime.now(UTC)
    base = f"http://127.0.0.1:{settings.web_port}"
    def token(person: str, role: Role) -> str:
        return issue(Identity(person, role), secret, timedelta(hours=8), now)

    rep, ops = token("rep-000", "rep"), token("ops-1", "ops")
    # The people of deploy/pool-rules.demo.yml: its pool's manager and admin.
    print("\nThe console (open in a browser; the token becomes a session cookie):\n"
          f"  a rep:      {base}/console/login?token={rep}\n"
          f"  a manager:  {base}/console/login?token={token('mgr-1', 'manager')}\n"
          f"  an admin:   {base}/console/login?token={token('admin', 'admin')}\n"
          f"  ops:        {base}/console/login?token={ops}")
    print("\nLive (Server-Sent Events; each person sees only what its role allows):")
    print(f"  a rep's inbox:  curl -N -H 'Authorization: Bearer {rep}' "
          f"'{base}/reps/rep-000/notices?since=0'")
    print(f"  ops' alerts:    curl -N -H 'Authorization: Bearer {ops}' "
          f"'{base}/alerts?severity=critical'")


def _chat_robots(fakes_url: str = "http://127.0.0.1:6070/received") -> None:
    """What the notifier pushed to the (fake) chat robots of deploy/notify-routes.demo.yml."""
    try:
        with urllib.request.urlopen(fakes_url, timeout=5) as response:
            robots = orjson.loads(response.read())
    except OSError as exc:
        print(f"\nthe fake chat robots did not answer ({exc}): see .stack/fake-robots.log")
        return
    print("\nPushed to chat robots (crmstream notify -> the local fake platforms; each "
          "message in .stack/fake-robots.log):")
    for name, seen in robots.items():
        print(f"  {name:18} {seen['accepted']:>5} accepted, {seen['refused']} refused")
    last = robots.get("demo-team-wecom", {}).get("last")
    if last:
        content = last.get("markdown", last.get("text", {})).get("content", "")
        print("  the team's WeCom group's latest message:")
        for line in content.splitlines()[:8]:
            print(f"    {line}")


async def _scores_and_alerts(redis: Redis, k: str) -> None:
    # decode_responses=True: redis-py's types still say bytes | str.
    riskiest = cast(list[tuple[str, float]],
                    await redis.zrevrange(f"{k}churn:riskiest", 0, 4, withscores=True))
    print(f"  ZREVRANGE {k}churn:riskiest 0 4 WITHSCORES  "
          f"({await redis.zcard(f'{k}churn:riskiest')} customers scored)")
    for customer, risk in riskiest:
        print(f"    {customer:24} churn risk {risk:.3f}")
    recent = cast(list[tuple[str, dict[str, str]]],
                  await redis.xrevrange(f"{k}alerts", count=4))
    print(f"  XREVRANGE {k}alerts + - COUNT 4  ({await redis.xlen(f'{k}alerts')} recent alerts)")
    for _, fields in recent:
        alert = orjson.loads(fields["payload"])
        print(f"    [{alert['severity']:8}] {alert['customer_id']}: {alert['message']}")


def _model_quality(port: int) -> None:
    """The models' rolling quality, as /healthz reports it."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            models = orjson.loads(response.read()).get("models", {})
    except OSError:
        return
    print("\nModels (rolling over their last 1000 labels; /healthz):")
    for name, model in models.items():
        q = model["rolling"]
        print(f"  {name:9} {model['version']}: {model['learned']:,} labels learned, "
              f"ROC AUC {_auc(q['roc_auc'])}, log loss {q['log_loss']:.3f}, "
              f"accuracy {q['accuracy']:.3f}, drifts {model['drifts']}")


def _auc(value: float | None) -> str:
    return "undefined (one class in the window)" if value is None else f"{value:.3f}"


def main() -> int:
    asyncio.run(tour(Settings()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
