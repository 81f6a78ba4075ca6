"""Reads the numbers back: every partition's hash of a period, summed. The one place the
readers (the console's API and page, ``crmstream report``, the worker's segment edges, the
Prometheus exporter) get them from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from redis.asyncio import Redis

from state.keys import NOW, Keys

Sums = dict[str, dict[str, int]]  # period -> field -> count, over every partition


class StatsStore:
    def __init__(self, redis: Redis, keys: Keys, partitions: int) -> None:
        self.redis = redis
        self.keys = keys
        self.partitions = partitions

    async def summed(self, periods: Iterable[str], partitions: Iterable[int] | None = None
                     ) -> Sums:
        """Each period's numbers, summed over ``partitions`` (default: all of them)."""
        wanted = list(periods)
        parts = list(range(self.partitions) if partitions is None else partitions)
        async with self.redis.pipeline(transaction=False) as pipe:
            for period in wanted:
                for partition in parts:
                    pipe.hgetall(self.keys.stats(partition, period))
            replies = cast(list[dict[bytes, bytes]], await pipe.execute())
        sums: Sums = {period: {} for period in wanted}
        for n, counts in enumerate(replies):
            into = sums[wanted[n // len(parts)]]
            for name, value in counts.items():
                text = name.decode()
                into[text] = into.get(text, 0) + int(value)
        return sums

    async def standing(self, partitions: Iterable[int] | None = None) -> dict[str, int]:
        return (await self.summed([NOW], partitions))[NOW]
