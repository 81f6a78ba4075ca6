"""The Redis store on a real Redis: what a batch writes is what a restarted worker reads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from crmstream.namespace import drop_keys
from state.customer import CustomerState, OwnershipChange, new_customer
from state.keys import Keys
from state.redis_store import RedisStore
from state.store import BatchWrite, Change

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.fixture
async def store(stack: None) -> AsyncIterator[RedisStore]:
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    yield RedisStore(redis, Keys(prefix))
    await drop_keys(redis, prefix)
    await redis.aclose()


async def write(store: RedisStore, before: CustomerState | None, after: CustomerState) -> None:
    fences = await store.acquire([0])
    await store.commit(BatchWrite(now=NOW, changes={after.customer_id: Change(before, after, 0)},
                                  offsets={("crm.clicks", 0): after.version}, fences=fences))


async def test_a_state_reads_back_whole_with_the_fields_stored_apart(store: RedisStore) -> None:
    created = new_customer("c1", "default", "B", NOW)
    await write(store, None, created)
    assert (await store.load(["c1"]))["c1"] == created

    owned = created.model_copy(update={
        "version": 1, "owner": "rep-1", "owner_since": NOW, "status": "active",
        "history": (OwnershipChange(at=NOW, from_rep=None, to_rep="rep-1", reason="assign",
                                    actor="crm"),),
        "label_features": (0.25, 1.5, 0.0), "label_from": NOW,
        "label_due": NOW + timedelta(days=30),
    })
    await write(store, created, owned)
    assert (await store.load(["c1"]))["c1"] == owned

    # Neither apart field changes here: what was written before stays.
    followed = owned.model_copy(update={"version": 2, "last_follow_up_at": NOW})
    await write(store, owned, followed)
    assert (await store.load(["c1"]))["c1"] == followed

    labelled = followed.model_copy(update={"version": 3, "label_features": None,
                                           "label_from": None, "label_due": None})
    await write(store, followed, labelled)
    assert (await store.load(["c1"]))["c1"] == labelled
    assert await store.load(["nobody"]) == {}
