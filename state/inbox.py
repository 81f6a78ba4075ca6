"""Reading a rep's notices inbox (a capped Redis stream the batch commit writes)."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

from state.keys import Keys


class InboxReader:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def newest_id(self, rep_id: str) -> str:
        """The id of the newest notice, or "0" for an empty inbox."""
        # redis-py types these replies as unions of every protocol's shape; ours is RESP2.
        newest = cast(list[Any], await self.redis.xrevrange(self.keys.inbox(rep_id), count=1))
        return _text(newest[0][0]) if newest else "0"

    async def after(self, rep_id: str, cursor: str, block_ms: int, count: int = 100
                    ) -> list[tuple[str, str]]:
        """(id, notice JSON) of the notices after ``cursor``, waiting up to ``block_ms``."""
        found = cast(list[Any], await self.redis.xread(
            {self.keys.inbox(rep_id): cursor}, count=count, block=block_ms
        ))
        return [
            (_text(entry_id), _text(fields[b"payload"]))
            for _stream, entries in found for entry_id, fields in entries
        ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
