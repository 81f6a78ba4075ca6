"""What the console itself writes to Redis (everything else it reads through
``web.reader``):

- acknowledged alerts: who took each one and when. An alert is acknowledged once (the
  first person wins) for everyone, across reloads and worker restarts, and every open
  alert desk hears of it live (a capped stream of the acknowledgements);
- the requests already sent as commands, so a repeated request sends nothing again;
- how far each rep has read its inbox, so its unread counts follow it across devices."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pydantic import BaseModel
from redis.asyncio import Redis

from schemas.base import Timestamp
from state.keys import Keys

KEPT = 10_000  # acknowledgements kept in the live stream
REQUEST_MEMORY_S = 86_400  # how long a request id is remembered


class Ack(BaseModel):
    alert_id: str
    by: str
    at: Timestamp


class ConsoleStore:
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

    async def first_request(self, person: str, request_id: str) -> bool:
        """Whether this request of ``person`` is new (and now remembered)."""
        return bool(await self.redis.set(self.keys.console_request(person, request_id), 1,
                                         nx=True, ex=REQUEST_MEMORY_S))

    async def forget_request(self, person: str, request_id: str) -> None:
        """A request that could not be sent may be sent again."""
        await self.redis.delete(self.keys.console_request(person, request_id))

    async def read_up_to(self, rep_id: str) -> str:
        """The newest inbox entry id the rep marked read ("0-0": none)."""
        marked = cast(bytes | None, await self.redis.get(self.keys.inbox_read(rep_id)))
        return marked.decode() if marked else "0-0"

    async def mark_read(self, rep_id: str, entry_id: str) -> None:
        await self.redis.set(self.keys.inbox_read(rep_id), entry_id)
