"""A deployment's namespace: its topics (by prefix) and Redis keys (by prefix). Benchmarks
and tests run in a namespace of their own and drop it when they are done."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from crmstream.kafka import client_options
from crmstream.settings import Settings


async def drop_keys(redis: Redis, prefix: str) -> None:
    """Delete every Redis key starting with ``prefix``, a scan page per command."""
    page: list[bytes | str] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=5000):
        page.append(key)
        if len(page) >= 5000:
            await redis.unlink(*page)
            page.clear()
    if page:
        await redis.unlink(*page)


async def drop_namespace(settings: Settings, apps: Iterable[str] = ()) -> None:
    """Delete every Redis key under the key prefix, every crmstream topic, and the topics
    Faust made for the app ids ``apps`` (its ``{app_id}-__assignor-__leader``...)."""
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    try:
        await drop_keys(redis, settings.redis_key_prefix)
    finally:
        await redis.aclose()
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        internal = [topic for topic in await admin.list_topics()
                    if any(topic.startswith(f"{app}-") for app in apps)]
        await admin.delete_topics([*settings.topics.inputs, *settings.topics.outputs,
                                   *internal])
    finally:
        await admin.close()
