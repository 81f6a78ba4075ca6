"""The right to be forgotten: what a forget erases, what it keeps, and what comes after."""

from __future__ import annotations

import pytest

from agents.processor import Processor, Record
from crmstream.clock import ManualClock
from state.customer import CustomerState
from state.engine import on_event
from state.forget import tombstone_field
from state.store import MemoryStore
from state.transitions import Event, Outcome
from tests.factories import as_json, click, command, interaction, order
from tests.unit.test_processor import TOPICS, ListSink
from tests.unit.test_transitions import NOW, POLICY

CID = "acme-forget-me"
FORGET = command("forget", CID)


def register(rep: str) -> Event:
    return command("register", CID, pool_id="p1", level="A", name="ACME", owner=rep)


def history() -> list[Event]:
    return [register("rep-1"), interaction(CID, rep_id="rep-1", text="需要报价"),
            order(CID, status="paid"),
            command("release", CID, pool_id="p1", reason="call 138-0000-0000 after May"),
            command("claim", CID, rep_id="rep-2")]


def record(offset: int, event: Event) -> Record:
    topic = {"Interaction": TOPICS.interactions, "Order": TOPICS.orders,
             "Click": TOPICS.clicks}.get(type(event).__name__, TOPICS.commands)
    return Record(topic, 0, offset, CID.encode(), as_json(event))


def applied(*events: Event) -> tuple[CustomerState, Outcome]:
    state: CustomerState | None = None
    outcome = None
    for event in events:
        outcome = on_event(state, event, NOW, POLICY)
        state = outcome.state
    assert state is not None
    assert outcome is not None
    return state, outcome


def test_forget_keeps_nothing_that_identifies_the_customer() -> None:
    before, _ = applied(*history())
    assert (before.name, before.owner, len(before.history)) == ("ACME", "rep-2", 3)
    after, outcome = applied(*history(), FORGET)
    assert outcome.changed
    assert after.status == "forgotten"
    assert after.version == before.version + 1
    kept = after.model_dump(exclude_defaults=True)
    assert set(kept) <= {"customer_id", "version", "pool_id", "level", "status",
                         "created_at", "updated_at", "recent_event_ids"}
    assert (after.owner, after.timer_at, after.history, after.label_features) == (
        None, None, (), None)


@pytest.mark.parametrize(("event", "changed", "rejection"), [
    (click(CID), False, "forgotten"),
    (order(CID, status="paid"), False, "forgotten"),
    (command("claim", CID, rep_id="rep-2"), False, "forgotten"),
    (command("forget", CID), False, None),  # forgetting twice is no error
])
def test_after_forget_only_a_registration_is_taken(
        event: Event, changed: bool, rejection: str | None) -> None:
    _, outcome = applied(*history(), FORGET, event)
    assert (outcome.changed, outcome.rejection) == (changed, rejection)
    assert outcome.effects == ()


def test_registered_again_it_starts_over_with_versions_going_on() -> None:
    gone, _ = applied(*history(), FORGET)
    again, outcome = applied(*history(), FORGET, register("rep-3"))
    assert outcome.changed
    assert (again.status, again.owner, again.name) == ("active", "rep-3", "ACME")
    assert again.version > gone.version
    assert [h.to_rep for h in again.history] == ["rep-3"]  # the old history is gone
    assert again.paid_total == 0


def test_forgetting_an_unknown_customer_is_refused_to_its_actor() -> None:
    outcome = on_event(None, FORGET, NOW, POLICY)
    assert outcome.rejection == "unknown customer"


async def test_the_store_keeps_a_tombstone_and_later_events_are_dead_letters() -> None:
    store, sink = MemoryStore(forget_key=b"k"), ListSink()
    processor = Processor(store, sink, TOPICS, ManualClock(NOW), policy=POLICY,
                          retry_delay_s=0)
    await processor.process([record(n, e) for n, e in enumerate(history())])
    assert store.inboxes["rep-2"]
    await processor.process([record(10, FORGET)])
    assert CID not in store.customers
    assert tombstone_field(CID, b"k") in store.tombstones[0]
    assert CID not in str(store.tombstones)  # never the id in clear
    assert all(n.customer_id != CID for inbox in store.inboxes.values() for n in inbox)
    assert store.timers.get(0, {}) == {}
    # a new worker (empty cache) still refuses the customer's later events ...
    restarted = Processor(store, sink, TOPICS, ManualClock(NOW), policy=POLICY,
                          retry_delay_s=0)
    await restarted.process([record(11, click(CID))])
    assert [d["reason"] for d in sink.on(TOPICS.dlq)] == ["forgotten"]
    assert CID not in store.customers
    # ... until it is registered again
    await restarted.process([record(12, register("rep-3"))])
    assert store.customers[CID].owner == "rep-3"
    assert store.tombstones[0] == {}
