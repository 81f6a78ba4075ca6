"""Reading the capped Redis streams the batch commit writes: a rep's notices, and the
recent alerts. Each entry is one message's JSON (field ``payload``) under its stream id."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis


class StreamReader:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def newest_id(self, key: str) -> str:
        """The id of the newest entry, or "0" for an empty stream."""
        # redis-py types these replies as unions of every protocol's shape; ours is RESP2.
        newest = cast(list[Any], await self.redis.xrevrange(key, count=1))
        return _text(newest[0][0]) if newest else "0"

    async def after(self, key: str, cursor: str, block_ms: int, count: int = 100
                    ) -> list[tuple[str, str]]:
        """(id, JSON) of the entries after ``cursor``, waiting up to ``block_ms``."""
        found = cast(list[Any], await self.redis.xread({key: cursor}, count=count,
                                                       block=block_ms))
        return [
            (_text(entry_id), _text(fields[b"payload"]))
            for _stream, entries in found for entry_id, fields in entries
        ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
