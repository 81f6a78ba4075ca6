"""Sentiment in the worker: texts are scored into the read model, ratings teach the model,
and what it learned survives a restart through its checkpoint in Redis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from crmstream.settings import Settings
from tests.integration.conftest import eventually, produce


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
