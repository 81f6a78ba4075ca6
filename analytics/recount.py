"""The standing numbers counted again from the stored customers: for a deployment that had
customers before the numbers existed (their counts start at their next change otherwise),
or to check the live counts. Run it with the workers stopped: it replaces each partition's
``now`` hash, and a batch committed meanwhile would be lost from it."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

from analytics.tally import Tally
from crmstream.kafka import default_partitions
from state.customer import CustomerState
from state.keys import NOW, Keys
from state.store import Change

CHUNK = 1000


async def recount_standing(redis: Redis, keys: Keys, partitions: int, counter: Tally
                           ) -> dict[int, dict[str, int]]:
    """Every stored customer counted where it stands (its partition as Kafka's default
    partitioner places its key); each partition's ``now`` hash replaced. Returns them."""
    tallies: dict[tuple[int, str], dict[str, int]] = {}
    batch: list[str] = []

    async def count(ids: list[str]) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.hget(keys.customer(cid), "doc")
            docs = cast(list[bytes | None], await pipe.execute())
        homes = default_partitions([cid.encode() for cid in ids], partitions)
        counter.settle(tallies, [
            Change(None, CustomerState.model_validate_json(doc), home)
            for doc, home in zip(docs, homes, strict=True) if doc is not None])

    prefix = keys.customer("")
    async for key in redis.scan_iter(match=keys.customer("*"), count=CHUNK):
        batch.append((key.decode() if isinstance(key, bytes) else key)[len(prefix):])
        if len(batch) >= CHUNK:
            await count(batch)
            batch = []
    if batch:
        await count(batch)
    found = {p: {name: n for name, n in tallies.get((p, NOW), {}).items() if n}
             for p in range(partitions)}
    async with redis.pipeline(transaction=True) as pipe:
        for partition, counts in found.items():
            pipe.delete(keys.stats(partition, NOW))
            if counts:
                fields: dict[Any, Any] = counts  # redis-py's mapping type is invariant
                pipe.hset(keys.stats(partition, NOW), mapping=fields)
        await pipe.execute()
    return found
