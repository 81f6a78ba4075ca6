"""One customer, one writer: records produced with another partitioner (CRC32, as
librdkafka's clients hash by default) or with no key land off their customer's home
partition; they are forwarded home, and with two workers every customer ends exact."""

from __future__ import annotations

import random
import zlib
from typing import Any

from redis.asyncio import Redis

from crmstream.kafka import default_partitions, producer
from crmstream.settings import Settings
from tests.integration.conftest import free_port
from tests.integration.test_recovery import CUSTOMERS, assert_exact
from tests.integration.traffic import counted_clicks

PER_CUSTOMER = 30


async def test_records_off_their_home_partition_are_applied_once_by_its_owner(
    settings: Settings, redis: Redis, worker: Any
) -> None:
    a = worker("a")
    await a.wait_owns_partitions()
    b = worker("b", web_port=free_port())
    await b.wait_owns_partitions()
    messages = counted_clicks(settings, CUSTOMERS, PER_CUSTOMER)
    rng = random.Random(7)
    count = settings.partitions
    strays = 0
    async with producer(settings) as out:
        for topic, key, value in messages:
            way = rng.choice(("default", "crc32", "no key"))
            if way == "default":
                await out.send(topic, value, key=key.encode())
                continue
            partition = (zlib.crc32(key.encode()) if way == "crc32"
                         else rng.randrange(count)) % count
            strays += partition != default_partitions([key.encode()], count)[0]
            await out.send(topic, value, key=key.encode() if way == "crc32" else None,
                           partition=partition)
        await out.flush()
    assert strays > CUSTOMERS, "too few records off their home partition to test anything"
    await assert_exact(redis, settings, PER_CUSTOMER)
    forwarded = 0.0
    for w in (a, b):
        for line in (await w.metrics()).splitlines():
            if line.startswith("crmstream_records_forwarded_total{"):
                forwarded += float(line.rsplit(" ", 1)[1])
    assert forwarded == strays
