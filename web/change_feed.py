"""The committed changes, live, for every open page of this web server: one Redis pub/sub
subscription (to every partition's channel) fanned out to the pages' watches."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas.outputs import StateChanged
from web.watches import Watch

log = logging.getLogger(__name__)
RESUBSCRIBE_AFTER_S = 1.0
HEALTH_CHECK_S = 30.0  # a silent connection is found out this often at the latest


class ChangeFeed:
    def __init__(self, redis: Redis, pattern: str) -> None:
        self.redis = redis
        self.pattern = pattern
        self._watching: dict[object, tuple[Watch, asyncio.Event]] = {}
        self._listener: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def watching(self, watch: Watch) -> AsyncIterator[asyncio.Event]:
        """An event set whenever a committed batch concerns ``watch`` (the watcher clears
        it once it has re-read). Also set after a lost subscription comes back, as changes
        may have been missed meanwhile."""
        token, changed = object(), asyncio.Event()
        self._watching[token] = (watch, changed)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="console-change-feed")
        try:
            yield changed
        finally:
            del self._watching[token]

    def _tell(self, changed: StateChanged) -> None:
        for watch, event in list(self._watching.values()):
            if watch.concerns(changed):
                event.set()

    async def _listen(self) -> None:
        lost = False
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.psubscribe(self.pattern)
                    if lost:  # whatever changed while away: every page re-reads
                        for _, event in list(self._watching.values()):
                            event.set()
                    while True:  # a timeout, not listen(): the health check runs
                        message = await pubsub.get_message(timeout=HEALTH_CHECK_S)
                        if message is not None:
                            self._receive(message)
            except (RedisError, OSError) as failure:
                lost = True
                log.warning("console change feed lost (%s); resubscribing", failure)
                await asyncio.sleep(RESUBSCRIBE_AFTER_S)

    def _receive(self, message: dict[str, Any]) -> None:
        if message.get("type") != "pmessage":
            return
        try:
            self._tell(StateChanged.model_validate_json(message["data"]))
        except ValidationError:
            log.warning("an unreadable change signal on %s was ignored", message["channel"])
