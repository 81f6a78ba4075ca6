"""Acknowledged alerts: who took each one and when. An alert is acknowledged once (the first
person wins) for everyone, across reloads and worker restarts (kept in Redis), and every
open alert desk hears of it live (a capped stream of the acknowledgements)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pydantic import BaseModel
from redis.asyncio import Redis

from schemas.base import Timestamp
from state.keys import Keys

KEPT = 10_000  # acknowledgements kept in the live stream


class Ack(BaseModel):
    alert_id: str
    by: str
    at: Timestamp


class AckStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def acknowledge(self, alert_id: str, by: str, at: datetime) -> Ack:
        """Record the acknowledgement unless someone was first; the one that stands."""
        ack = Ack(alert_id=alert_id, by=by, at=at)
        if await self.redis.hsetnx(self.keys.alert_acks(), alert_id, ack.model_dump_json()):
            await self.redis.xadd(self.keys.alert_ack_stream(),
                                  {"id": alert_id, "payload": ack.model_dump_json()},
                                  maxlen=KEPT, approximate=True)
            return ack
        standing = await self.of([alert_id])
        return standing[alert_id]

    async def of(self, alert_ids: list[str]) -> dict[str, Ack]:
        if not alert_ids:
            return {}
        found = cast(list[bytes | None], await self.redis.hmget(self.keys.alert_acks(),
                                                                alert_ids))
        return {a: Ack.model_validate_json(f) for a, f in zip(alert_ids, found, strict=True)
                if f is not None}
