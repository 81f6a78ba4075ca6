"""The one reader the pages use over the Redis read model: no key strings in view code, so
the key layout (a Redis Cluster layout is planned) changes here and nowhere else."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import orjson
from pydantic import TypeAdapter
from redis.asyncio import Redis

from analytics.report import Report, Where, Zone, build, day_periods
from analytics.stats_store import StatsStore
from schemas.outputs import Alert, Notice
from state.customer import CustomerState, OwnershipChange
from state.keys import NOW, Keys

HISTORY: TypeAdapter[tuple[OwnershipChange, ...]] = TypeAdapter(tuple[OwnershipChange, ...])


class ConsoleReader:
    def __init__(self, redis: Redis, keys: Keys, partitions: int = 8) -> None:
        self.redis = redis
        self.keys = keys
        self.stats = StatsStore(redis, keys, partitions)

    async def numbers(self, zone: Zone, today: date, days: int, where: Where) -> Report:
        """The live numbers: every partition's counts of the report's days, summed."""
        sums = await self.stats.summed([*day_periods(zone, today, days), NOW])
        return build(sums, zone, today, days, where)

    async def customers_of(self, rep_id: str) -> list[CustomerState]:
        """The customers the rep owns now, as stored (the worker's state documents)."""
        members = cast(set[bytes], await self.redis.smembers(self.keys.rep_customers(rep_id)))
        return await self._states(sorted(m.decode() for m in members))

    async def customer(self, customer_id: str) -> CustomerState | None:
        found = await self._states([customer_id])
        return found[0] if found else None

    async def customer_in_full(self, customer_id: str
                               ) -> tuple[CustomerState, dict[str, Any]] | None:
        """The customer's state with its ownership history, and its activity (rolling
        windows, RFM, totals) as the read model holds it."""
        doc, history, activity = cast(list[bytes | None], await self.redis.hmget(
            self.keys.customer(customer_id), ["doc", "history", "activity"]))
        if doc is None:
            return None
        state = CustomerState.model_validate_json(doc)
        if history:
            state = state.model_copy(update={"history": HISTORY.validate_json(history)})
        return state, orjson.loads(activity) if activity else {}

    async def names_and_levels(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """Each known customer's name (its id when it has none) and level."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.hmget(self.keys.customer(cid), ["name", "level"])
            found = cast(list[list[bytes | None]], await pipe.execute())
        return {cid: ((name or cid.encode()).decode(), level.decode())
                for cid, (name, level) in zip(ids, found, strict=True) if level is not None}

    async def _states(self, ids: list[str]) -> list[CustomerState]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.hget(self.keys.customer(cid), "doc")
            docs = cast(list[bytes | None], await pipe.execute())
        return [CustomerState.model_validate_json(doc) for doc in docs if doc is not None]

    async def waiting_in(self, pool_id: str, limit: int = 200) -> list[CustomerState]:
        """The customers waiting in a pool, longest waiting first."""
        members = cast(list[bytes], await self.redis.zrange(
            self.keys.pool_members(pool_id), 0, limit - 1))
        return await self._states([m.decode() for m in members])

    async def recycle_bin(self, pool_id: str, limit: int = 200) -> list[CustomerState]:
        """A pool's frozen and discarded customers."""
        members = cast(list[bytes], await self.redis.zrange(
            self.keys.pool_recycle_bin(pool_id), 0, limit - 1))
        return await self._states([m.decode() for m in members])

    async def owned_in(self, pool_id: str, reps: list[str]) -> list[CustomerState]:
        """The customers of a pool that these reps own now."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for rep in reps:
                pipe.smembers(self.keys.rep_pool_customers(rep, pool_id))
            held = cast(list[set[bytes]], await pipe.execute())
        return await self._states(sorted(m.decode() for members in held for m in members))

    async def holdings(self, rep_id: str, pool_ids: list[str], day: str
                       ) -> tuple[int, dict[str, tuple[int, int]]]:
        """How many customers the rep holds, and per pool (held there, claimed ``day``)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.scard(self.keys.rep_customers(rep_id))
            for pool_id in pool_ids:
                pipe.scard(self.keys.rep_pool_customers(rep_id, pool_id))
                pipe.scard(self.keys.claims_today(pool_id, rep_id, day))
            counts = cast(list[int], await pipe.execute())
        per_pool = {p: (counts[1 + 2 * i], counts[2 + 2 * i]) for i, p in enumerate(pool_ids)}
        return counts[0], per_pool

    async def recent_alerts(self, count: int = 200) -> list[tuple[str, Alert]]:
        """The newest alerts, newest first, with their stream ids."""
        entries = cast(list[Any], await self.redis.xrevrange(self.keys.alerts(), count=count))
        return [(entry_id.decode(), Alert.model_validate_json(fields[b"payload"]))
                for entry_id, fields in entries]

    async def riskiest(self, count: int = 10) -> list[tuple[str, float]]:
        """The customers most likely to churn, with their risk."""
        found = cast(list[tuple[bytes, float]], await self.redis.zrevrange(
            self.keys.riskiest(), 0, count - 1, withscores=True))
        return [(cid.decode(), float(risk)) for cid, risk in found]

    async def model_version(self, name: str) -> str | None:
        """The version of a model's last checkpoint."""
        version = cast(bytes | None, await self.redis.hget(self.keys.model(name), "version"))
        return version.decode() if version else None

    async def notices(self, rep_id: str, count: int = 50) -> list[tuple[str, Notice]]:
        """The rep's newest notices, newest first, with their inbox ids."""
        entries = cast(list[Any], await self.redis.xrevrange(self.keys.inbox(rep_id),
                                                             count=count))
        return [(entry_id.decode(), Notice.model_validate_json(fields[b"payload"]))
                for entry_id, fields in entries]
