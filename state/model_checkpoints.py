"""Model checkpoints in Redis, so a restarted worker keeps what its models learned.

Pickle is how River models persist. Whoever can write this Redis can already rewrite every
customer's state, so a checkpoint is trusted like the rest of the store. Workers share one
checkpoint per model: the last save wins.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from state.keys import Keys


def load_checkpoint(url: str, keys: Keys, name: str, version: str) -> tuple[Any, int] | None:
    """(model, learned) of the saved ``version`` of a model, or None. Runs once at start-up,
    before the event loop, hence the synchronous client."""
    client = SyncRedis.from_url(url)
    try:
        saved: dict[bytes, bytes] = client.hgetall(keys.model(name))  # type: ignore[assignment]
    finally:
        client.close()
    if not saved or saved.get(b"version", b"").decode() != version:
        return None
    return pickle.loads(saved[b"model"]), int(saved[b"learned"])


async def save_checkpoint(redis: Redis, keys: Keys, name: str, version: str, model: Any,
                          learned: int) -> int:
    """Save the model; returns the size of the checkpoint in bytes."""
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    await redis.hset(keys.model(name), mapping={
        "model": blob, "version": version, "learned": learned,
        "saved_at": datetime.now(UTC).isoformat(),
    })
    return len(blob)
