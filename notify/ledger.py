"""The durable record of deliveries, in Redis: each (notice or alert, robot) is claimed by one
sender for the length of an attempt and then marked sent or dead, so a replay, a restart or a
second notifier never sends it twice. The one window left: a sender killed after the
platform accepted a message and before it was marked (milliseconds); its successor sends it
again once the claim's lease runs out (at least once, never none)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

from redis.asyncio import Redis

from state.keys import Keys

Claim = Literal["mine", "sent", "dead", "busy"]
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


class Ledger:
    def __init__(self, redis: Redis, keys: Keys, sender: str) -> None:
        self.redis = redis
        self.keys = keys
        self.token = f"sending:{sender}"
        self._claim = redis.register_script(CLAIM_SCRIPT)

    async def claim(self, delivery_ids: Sequence[str], lease_s: float) -> list[Claim]:
        """For each delivery: "mine" (claimed for ``lease_s``), "sent" or "dead" (finished
        before), or "busy" (another sender holds it)."""
        if not delivery_ids:
            return []
        found = await self._claim(keys=[self.keys.delivery(d) for d in delivery_ids],
                                  args=[self.token, max(1, round(lease_s))])
        return [cast(Claim, c.decode() if isinstance(c, bytes) else c)
                for c in cast(list[bytes | str], found)]

    async def finish(self, delivery_ids: Sequence[str], outcome: Literal["sent", "dead"]
                     ) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in delivery_ids:
                pipe.set(self.keys.delivery(delivery_id), outcome, ex=KEEP_S)
            await pipe.execute()
