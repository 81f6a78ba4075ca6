"""Sentiment in the worker: texts are scored into the read model, ratings teach the model,
and what it learned survives a restart through its checkpoint in Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from crmstream.settings import Settings
from tests.integration.conftest import eventually, produce, read_topic, sse_events


async def test_the_sentiment_model_learns_and_comes_back_after_a_restart(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    t, k = settings.topics, settings.redis_key_prefix
    first = worker("first")
    await first.wait_owns_partitions()
    texts = [("质量很好，非常满意", 5), ("太差了，要求退款", 1)] * 15
    await produce(settings, [
        (t.interactions, f"s{n % 5}", orjson.dumps({
            "event_id": f"rated-{n}", "customer_id": f"s{n % 5}",
            "occurred_at": datetime.now(UTC).isoformat(), "channel": "chat",
            "direction": "inbound", "text": text, "rating": rating}))
        for n, (text, rating) in enumerate(texts)
    ])

    async def checkpointed() -> bool:
        return await redis.hget(f"{k}model:sentiment", "learned") == str(len(texts))

    await eventually(checkpointed, timeout=30)
    scored = await redis.hget(f"{k}customer:s0", "sentiment")
    assert -1 <= float(scored) <= 1
    first.kill()
    again = worker("again")
    await again.wait_owns_partitions()
    health = await again.health()
    assert health["models"]["sentiment"]["learned"] == len(texts)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _click(customer: str, n: int) -> tuple[str, str, bytes]:
    return ("clicks", customer, orjson.dumps({
        "event_id": f"{customer}-click-{n}", "customer_id": customer, "occurred_at": _now(),
        "session_id": f"{customer}-session-{n}", "page": "/pricing", "page_type": "pricing"}))


async def test_churn_scores_labels_and_alerts_flow_end_to_end(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    """Scores reach crm.scores and the riskiest set; labels arrive by the horizon (silent or
    active) and by mark_churned, and teach the model, which survives a restart; a run of
    negative texts raises one alert, on crm.alerts and in the recent-alerts stream."""
    settings.churn_label_horizon_s = 3
    t, k = settings.topics, settings.redis_key_prefix
    topic = {"clicks": t.clicks, "interactions": t.interactions, "commands": t.commands}
    first = worker("first")
    await first.wait_owns_partitions()
    watching = asyncio.ensure_future(
        sse_events(first.port, "/alerts?type=negative_run&severity=warning", want=1,
                   who=("ops-1", "ops")))
    await asyncio.sleep(1)  # ops are watching before anything happens: a live push

    angry = [("interactions", "angry", orjson.dumps({
        "event_id": f"angry-{n}", "customer_id": "angry", "occurred_at": _now(),
        "channel": "ticket", "direction": "inbound", "text": text}))
        for n, text in enumerate(["太差了，要求退款", "客服一直不回复，很失望", "太差了，很失望"])]
    churned = ("commands", "gone", orjson.dumps({
        "command_id": "gone-churned", "customer_id": "gone", "issued_at": _now(),
        "type": "mark_churned", "actor": "rep-1"}))
    # Two clicks each: a customer crmstream has seen once is not scored yet
    # (CRMSTREAM_CHURN_MIN_EVENTS); "angry" brings three texts.
    first_wave = [_click(c, n) for c in ("quiet", "active", "gone") for n in (0, 1)] + angry
    await produce(settings, [(topic[kind], key, value) for kind, key, value in first_wave])
    scores = await read_topic(settings, t.scores, expect=4)
    assert {s["customer_id"] for s in scores} == {"quiet", "active", "gone", "angry"}
    assert all(s["churn_model_version"].startswith("churn-") for s in scores)
    # The scores go to Kafka before the batch is written to Redis (see agents/processor.py):
    # the riskiest set follows a moment later.
    async def all_ranked() -> bool:
        return await redis.zcard(f"{k}churn:riskiest") == 4

    await eventually(all_ranked, timeout=10)
    risk = await redis.hget(f"{k}customer:quiet", "churn_risk")
    assert 0 <= float(risk) <= 1

    await produce(settings, [(topic["clicks"], "active", _click("active", 2)[2]),
                             (topic["commands"], "gone", churned[2])])

    async def learned() -> bool:
        return await redis.hget(f"{k}model:churn", "learned") == "4"

    await eventually(learned, timeout=30)
    text = await first.metrics()
    assert 'crmstream_model_labels_total{label="stayed",model="churn"} 1.0' in text
    assert 'crmstream_model_labels_total{label="churned",model="churn"} 3.0' in text

    [alert] = await read_topic(settings, t.alerts, expect=1,
                               where=lambda a: a["type"] == "negative_run")
    assert (alert["customer_id"], alert["severity"]) == ("angry", "warning")
    [(_, pushed)] = await watching
    assert pushed == alert
    [(_, replayed)] = await sse_events(first.port, "/alerts?since=0&type=negative_run",
                                       want=1, who=("ops-1", "ops"))
    assert replayed == alert  # a client that connects later gets it from the stream
    recent = await redis.xrange(f"{k}alerts")
    assert [orjson.loads(fields["payload"])["alert_id"] for _, fields in recent
            if orjson.loads(fields["payload"])["type"] == "negative_run"] == [alert["alert_id"]]

    first.kill()
    again = worker("again")
    await again.wait_owns_partitions()
    assert (await again.health())["models"]["churn"]["learned"] == 4
