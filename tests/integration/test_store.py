"""The Redis store on a real Redis: what a batch writes is what a restarted worker reads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from redis.asyncio import Redis

from crmstream.namespace import drop_keys
from state.customer import CustomerState, OwnershipChange, new_customer
from state.keys import Keys
from state.read_model import activity
from state.redis_store import RedisStore
from state.store import BatchWrite, Change
from state.transitions import Event, apply
from tests.factories import click, interaction, order

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.fixture
async def store(stack: None) -> AsyncIterator[RedisStore]:
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    yield RedisStore(redis, Keys(prefix))
    await drop_keys(redis, prefix)
    await redis.aclose()


async def write(store: RedisStore, before: CustomerState | None, after: CustomerState,
                now: datetime = NOW) -> None:
    fences = await store.acquire([0])
    await store.commit(BatchWrite(now=now, changes={after.customer_id: Change(before, after, 0)},
                                  offsets={("crm.clicks", 0): after.version}, fences=fences))


async def test_a_state_reads_back_whole_with_the_fields_stored_apart(store: RedisStore) -> None:
    created = new_customer("c1", "default", "B", NOW)
    await write(store, None, created)
    assert (await store.load({"c1": 0}))["c1"] == created

    owned = created.model_copy(update={
        "version": 1, "owner": "rep-1", "owner_since": NOW, "status": "active",
        "history": (OwnershipChange(at=NOW, from_rep=None, to_rep="rep-1", reason="assign",
                                    actor="crm"),),
        "label_features": (0.25, 1.5, 0.0), "label_from": NOW,
        "label_due": NOW + timedelta(days=30),
    })
    await write(store, created, owned)
    assert (await store.load({"c1": 0}))["c1"] == owned

    # Neither apart field changes here: what was written before stays.
    followed = owned.model_copy(update={"version": 2, "last_follow_up_at": NOW})
    await write(store, owned, followed)
    assert (await store.load({"c1": 0}))["c1"] == followed

    labelled = followed.model_copy(update={"version": 3, "label_features": None,
                                           "label_from": None, "label_due": None})
    await write(store, followed, labelled)
    assert (await store.load({"c1": 0}))["c1"] == labelled
    assert await store.load({"nobody": 0}) == {}


def customer_with(*events: Event, now: datetime) -> CustomerState:
    state: CustomerState | None = None
    for event in events:
        state = apply(state, event, now).state
    assert state is not None
    return state


@pytest.mark.parametrize("ages", [
    (),  # only registered: every window empty, never ordered
    (0, 6, 7, 29, 30, 89, 90, 120),  # on and beside every window's edge
    (0.5, 3, 45),
])
async def test_the_commit_scripts_activity_is_the_read_models_definition(
    store: RedisStore, ages: tuple[float, ...],
) -> None:
    """commit_batch.lua computes ``activity`` inside Redis; state/read_model.py defines it."""
    now = NOW + timedelta(hours=7)
    events: list[Event] = [interaction(occurred_at=now - timedelta(days=100), direction="inbound")]
    for n, age in enumerate(ages):
        when = now - timedelta(days=age)
        events += [click(occurred_at=when, page_type="pricing", dwell_ms=1234 * n),
                   interaction(occurred_at=when, direction="inbound", channel="ticket")]
        events += [order(occurred_at=when, order_id=f"o{n}", status="paid",
                         amount=f"{19.99 * (n + 1):.2f}")]
        if n % 3 == 1:
            events.append(order(occurred_at=when, order_id=f"o{n}", status="refunded",
                                amount="5.01"))
        if n % 3 == 2:
            events.append(order(occurred_at=when, order_id=f"p{n}", status="placed",
                                amount="7"))
    state = customer_with(*events, now=now)
    await write(store, None, state, now)

    stored = orjson.loads(await store.redis.hget(store.keys.customer(state.customer_id),
                                                 "activity"))
    expected = activity(state, now)
    assert stored.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, datetime) or value is None:
            assert (datetime.fromisoformat(stored[name]) if stored[name] else None) == value, name
        else:
            assert stored[name] == pytest.approx(value, abs=1e-9), name
