"""The durable record of deliveries, in Redis: each (notice or alert, robot) is claimed by one
sender for the length of an attempt and then marked sent or dead, so a replay, a restart or a
second notifier never sends it twice. The one window left: a sender killed after the
platform accepted a message and before it was marked (milliseconds); its successor sends it
again once the claim's lease runs out (at least once, never none).

Every lane asks at once; what they ask in one turn of the event loop goes to Redis as one
pipeline (one claim script over all the keys, the marks beside it), so the ledger costs a
round trip per turn, not two per message."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from state.keys import Keys

Claim = Literal["mine", "sent", "dead", "busy"]
log = logging.getLogger(__name__)
RETRY_S = 1.0
KEEP_S = 7 * 86_400  # how long a finished delivery is remembered (replays reach back less)

CLAIM_SCRIPT = """
local claimed = {}
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if held == false or held == ARGV[1] then
    redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
    claimed[i] = 'mine'
  elseif held == 'sent' or held == 'dead' then
    claimed[i] = held
  else
    claimed[i] = 'busy'
  end
end
return claimed
"""


@dataclass
class _Turn:
    """What the lanes asked in one turn of the event loop."""

    claims: list[str] = field(default_factory=list)
    lease_s: int = 1
    marks: list[tuple[str, str]] = field(default_factory=list)
    done: asyncio.Future[list[Claim]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class Ledger:
    def __init__(self, redis: Redis, keys: Keys, sender: str) -> None:
        self.redis = redis
        self.keys = keys
        self.token = f"sending:{sender}"
        self._claim = redis.register_script(CLAIM_SCRIPT)
        self._turn: _Turn | None = None
        self._loaded = False
        self.failing_since: float | None = None  # monotonic; None while Redis answers

    async def claim(self, delivery_ids: Sequence[str], lease_s: float) -> list[Claim]:
        """For each delivery: "mine" (claimed for ``lease_s``), "sent" or "dead" (finished
        before), or "busy" (another sender holds it)."""
        if not delivery_ids:
            return []
        turn = self._this_turn()
        first = len(turn.claims)
        turn.claims.extend(delivery_ids)
        turn.lease_s = max(turn.lease_s, round(lease_s))
        found = await asyncio.shield(turn.done)
        return found[first:first + len(delivery_ids)]

    async def finish(self, delivery_ids: Sequence[str], outcome: Literal["sent", "dead"]
                     ) -> None:
        turn = self._this_turn()
        turn.marks.extend((d, outcome) for d in delivery_ids)
        await asyncio.shield(turn.done)

    def _this_turn(self) -> _Turn:
        if self._turn is None:
            self._turn = _Turn()
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self._write(self._take_turn())))
        return self._turn

    def _take_turn(self) -> _Turn:
        turn, self._turn = self._turn, None
        assert turn is not None
        return turn

    async def _write(self, turn: _Turn) -> None:
        """Until Redis takes it: a delivery whose record cannot be written is not sent (a
        claim) or not reported finished (a mark), so nothing is lost or doubled meanwhile."""
        while True:
            try:
                answers = await self._pipeline(turn)
                self.failing_since = None
                break
            except ResponseError as failure:
                if "NOSCRIPT" not in str(failure):
                    turn.done.set_exception(failure)  # a bug: the lanes say so
                    return
                self._loaded = False  # a restarted Redis: load the script again
            except (RedisError, OSError) as failure:
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                log.warning("the delivery ledger cannot reach Redis (%s); retrying",
                            type(failure).__name__)
                await asyncio.sleep(RETRY_S)
        claimed = cast(list[bytes | str], answers[0]) if turn.claims else []
        turn.done.set_result([cast(Claim, c.decode() if isinstance(c, bytes) else c)
                              for c in claimed])

    async def _pipeline(self, turn: _Turn) -> list[object]:
        if turn.claims and not self._loaded:
            await self.redis.script_load(CLAIM_SCRIPT)
            self._loaded = True
        async with self.redis.pipeline(transaction=False) as pipe:
            if turn.claims:
                pipe.evalsha(self._claim.sha, len(turn.claims),
                             *(self.keys.delivery(d) for d in turn.claims),
                             self.token, turn.lease_s)
            for delivery_id, outcome in turn.marks:
                pipe.set(self.keys.delivery(delivery_id), outcome, ex=KEEP_S)
            return cast(list[object], await pipe.execute())
