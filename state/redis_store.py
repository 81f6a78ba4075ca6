"""The Redis store: durable customer state, the read model other applications use, and the
per-partition offsets and fencing tokens that make a replay exact."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from state.customer import CustomerState
from state.keys import Keys
from state.read_model import read_model
from state.store import BatchWrite, Change, Fenced, StoreUnavailable, TopicPartition


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(type(exc).__name__, str(exc))


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class RedisStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def _acquire(self, partitions: Iterable[int]) -> dict[int, int]:
        parts = list(partitions)
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in parts:
                pipe.incr(self.keys.fence(p))
            tokens = await pipe.execute()
        return dict(zip(parts, (int(t) for t in tokens), strict=True))

    async def _offsets(self, partitions: Iterable[int]) -> dict[TopicPartition, int]:
        parts = list(partitions)
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in parts:
                pipe.hgetall(self.keys.offsets(p))
            stored = await pipe.execute()
        return {
            (topic.decode(), p): int(offset)
            for p, by_topic in zip(parts, stored, strict=True)
            for topic, offset in by_topic.items()
        }

    async def _load(self, customer_ids: Iterable[str]) -> dict[str, CustomerState]:
        ids = list(customer_ids)
        found: dict[str, CustomerState] = {}
        for chunk in _chunks(ids, 500):
            async with self.redis.pipeline(transaction=False) as pipe:
                for cid in chunk:
                    pipe.hmget(self.keys.customer(cid), "doc", "history")
                rows = await pipe.execute()
            for cid, (doc, history) in zip(chunk, rows, strict=True):
                if doc is not None:
                    data = orjson.loads(doc)
                    data["history"] = orjson.loads(history) if history else []
                    found[cid] = CustomerState.model_validate(data)
        return found

    async def _commit(self, batch: BatchWrite) -> None:
        fence_keys = [self.keys.fence(p) for p in batch.fences]
        async with self.redis.pipeline(transaction=True) as pipe:
            if fence_keys:
                # WATCH first, then compare: a new owner that took a partition before the
                # check shows up as a stale token, one that takes it after as a WatchError.
                await pipe.watch(*fence_keys)
                current = await pipe.mget(fence_keys)
                stale = [
                    p for (p, token), held in zip(batch.fences.items(), current, strict=True)
                    if held is None or int(held) != token
                ]
                if stale:
                    raise Fenced(stale)
            pipe.multi()  # type: ignore[no-untyped-call]
            for change in batch.changes.values():
                self._write_customer(pipe, change, batch)
            for (topic, partition), offset in batch.offsets.items():
                pipe.hset(self.keys.offsets(partition), topic, offset)
            await pipe.execute()

    async def acquire(self, partitions: Iterable[int]) -> dict[int, int]:
        try:
            return await self._acquire(partitions)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def offsets(self, partitions: Iterable[int]) -> dict[TopicPartition, int]:
        try:
            return await self._offsets(partitions)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def load(self, customer_ids: Iterable[str]) -> dict[str, CustomerState]:
        try:
            return await self._load(customer_ids)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def commit(self, batch: BatchWrite) -> None:
        try:
            await self._commit(batch)
        except WatchError:
            raise Fenced(batch.fences) from None
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    def _write_customer(self, pipe: Any, change: Change, batch: BatchWrite) -> None:
        after, before = change.after, change.before
        doc = after.model_dump_json(exclude={"history"}, exclude_defaults=True)
        fields = read_model(after, batch.now)
        fields["doc"] = doc
        if before is None or before.history != after.history:
            fields["history"] = orjson.dumps(
                [h.model_dump(mode="json") for h in after.history]
            ).decode()
        pipe.hset(self.keys.customer(after.customer_id), mapping=fields)
        self._write_memberships(pipe, before, after)

    def _write_memberships(
        self, pipe: Any, before: CustomerState | None, after: CustomerState
    ) -> None:
        """Keep each rep's set and each pool's sorted sets in step with the customer."""
        cid = after.customer_id
        old_owner = before.owner if before else None
        if old_owner != after.owner:
            if old_owner is not None:
                pipe.srem(self.keys.rep_customers(old_owner), cid)
            if after.owner is not None:
                pipe.sadd(self.keys.rep_customers(after.owner), cid)
        old_place = _pool_place(before) if before else None
        new_place = _pool_place(after)
        if old_place != new_place:
            if old_place is not None:
                pipe.zrem(self._place_key(old_place), cid)
            if new_place is not None:
                since = after.pooled_since or after.updated_at
                pipe.zadd(self._place_key(new_place), {cid: since.timestamp()})

    def _place_key(self, place: tuple[str, bool]) -> str:
        pool_id, in_recycle_bin = place
        return (self.keys.pool_recycle_bin(pool_id) if in_recycle_bin
                else self.keys.pool_members(pool_id))


def _pool_place(state: CustomerState) -> tuple[str, bool] | None:
    """(pool, in its recycle bin?) for a customer waiting in a pool; None when it is owned."""
    if state.status == "pooled":
        return (state.pool_id, False)
    if state.status in ("frozen", "discarded"):
        return (state.pool_id, True)
    return None
