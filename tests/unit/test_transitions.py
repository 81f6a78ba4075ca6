"""The customer state rules, one row per rule."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from state.customer import CustomerState
from state.pool_rules import Pool, PoolRules
from state.transitions import Event, Policy, apply
from tests.factories import T0, at, click, command, interaction, order

NOW = at(minutes=60)
RULES = PoolRules(
    levels=["A", "C"], default_pool="default",
    pools=[Pool(id=p, name=p, auto_reclaim=False) for p in ("default", "p1", "p2", "p7")],
)
POLICY = Policy(rules=RULES)


def run(*events: Event, now: Any = NOW) -> CustomerState:
    state: CustomerState | None = None
    for event in events:
        state = apply(state, event, now, POLICY).state
    assert state is not None
    return state


def owned(rep: str = "rep-1") -> Event:
    return command("register", pool_id="p1", level="A", name="ACME", owner=rep)


@pytest.mark.parametrize(
    ("events", "field", "expected"),
    [
        # an unknown customer is created in the default pool, unowned, not lost
        ([click()], "pool_id", "default"),
        ([click()], "status", "pooled"),
        ([click()], "owner", None),
        # register sets pool, level, name and (optionally) the owner
        ([owned()], "owner", "rep-1"),
        ([owned()], "status", "active"),
        ([owned()], "level", "A"),
        # an outbound interaction by the owner is a follow-up
        ([owned(), interaction(rep_id="rep-1", occurred_at=at(5))], "last_follow_up_at", at(5)),
        # ...by someone else, or inbound, is not
        ([owned(), interaction(rep_id="rep-2", occurred_at=at(5))], "last_follow_up_at", None),
        ([owned(), interaction(rep_id="rep-1", direction="inbound")], "last_follow_up_at", None),
        ([owned(), interaction(direction="inbound", occurred_at=at(3))], "last_inbound_at", at(3)),
        # an out-of-order event never moves a "last" time backwards
        ([click(occurred_at=at(10)), click(occurred_at=at(2))], "last_click_at", at(10)),
        ([owned(), interaction(rep_id="rep-1", occurred_at=at(9)),
          interaction(rep_id="rep-1", occurred_at=at(1))], "last_follow_up_at", at(9)),
        # orders: placed opens, paid closes and counts money, refunded counts refunds
        ([order()], "open_orders", ("ord-1",)),
        ([order(), order(status="paid")], "open_orders", ()),
        ([order(), order(status="paid", amount=250)], "paid_total", 250.0),
        ([order(), order(status="cancelled")], "open_orders", ()),
        ([order(status="refunded", amount=40)], "refund_amount_total", 40.0),
        ([order(), order(order_id="ord-2")], "orders_total", 2),
        # clicks in one session count one session
        ([click(), click(), click(session_id="s2")], "last_session_id", "s2"),
        # commands
        ([owned(), command("transfer", to_rep_id="rep-2")], "owner", "rep-2"),
        ([click(), command("assign", rep_id="rep-3")], "owner", "rep-3"),
        ([owned(), command("release", pool_id="p2", reason="no budget")], "pool_id", "p2"),
        ([owned(), command("release", pool_id="p2", reason="no budget")], "owner", None),
        ([owned(), command("release", pool_id="p2", reason="x")], "status", "pooled"),
        ([click(), command("claim", rep_id="rep-9")], "owner", "rep-9"),
        ([owned(), command("lock")], "locked", True),
        ([owned(), command("lock"), command("unlock")], "locked", False),
        ([owned(), command("freeze")], "status", "frozen"),
        ([owned(), command("discard")], "owner", None),
        ([owned(), command("discard"), command("restore")], "status", "pooled"),
        ([owned(), command("move_pool", pool_id="p7")], "pool_id", "p7"),
        ([owned(), command("mark_won")], "status", "won"),
        ([owned(), command("mark_churned")], "status", "churned"),
    ],
)
def test_rule(events: list[Event], field: str, expected: object) -> None:
    assert getattr(run(*events), field) == expected


def test_a_duplicate_event_changes_nothing() -> None:
    event = click()
    once = apply(None, event, NOW).state
    twice = apply(once, event, NOW)
    assert not twice.changed
    assert twice.state is once


def test_every_change_bumps_the_version_once() -> None:
    assert run(click(), click(), order()).version == 3


def test_recent_event_ids_are_bounded() -> None:
    state = None
    for _ in range(100):
        state = apply(state, click(), NOW, Policy(recent_event_ids=8)).state
    assert state is not None
    assert len(state.recent_event_ids) == 8


@pytest.mark.parametrize(
    ("events", "rejection"),
    [
        ([click(), command("transfer", to_rep_id="rep-2")],
         "customer has no owner to transfer from"),
        ([command("transfer", to_rep_id="rep-2")], "unknown customer"),
        ([owned(), command("lock"), command("release", pool_id="p1", reason="x")],
         "customer is locked"),
        ([owned(), command("lock"), command("discard")], "customer is locked"),
        ([owned(), command("transfer", to_rep_id="rep-1")],
         "customer already belongs to that rep"),
        ([owned(), command("claim", rep_id="rep-2")], "not in the pool"),
        ([owned(), command("restore")], "customer is not in the recycle bin"),
        ([owned(), command("freeze"), command("assign", rep_id="r")], "customer is frozen"),
        ([owned(), command("discard"), command("claim", rep_id="r")],
         "customer is in the recycle bin"),
    ],
)
def test_rejected_commands_tell_the_actor_why(events: list[Event], rejection: str) -> None:
    state = run(*events[:-1]) if len(events) > 1 else None
    outcome = apply(state, events[-1], NOW, POLICY)
    assert outcome.rejection == rejection
    [notice] = outcome.effects
    assert notice.type == "rejected"  # type: ignore[union-attr]
    assert notice.reason == rejection  # type: ignore[union-attr]


def test_first_claim_wins_the_second_is_rejected() -> None:
    pooled = run(click())
    first = apply(pooled, command("claim", rep_id="rep-a", actor="rep-a"), NOW, POLICY)
    second = apply(first.state, command("claim", rep_id="rep-b", actor="rep-b"), NOW, POLICY)
    assert first.state.owner == "rep-a"
    assert second.rejection == "not in the pool"
    assert second.state.owner == "rep-a"


def test_transfer_writes_history_and_tells_both_reps() -> None:
    before = run(owned("rep-1"))
    outcome = apply(before, command("transfer", to_rep_id="rep-2", actor="mgr"), NOW, POLICY)
    last = outcome.state.history[-1]
    assert (last.from_rep, last.to_rep, last.reason, last.actor) == (
        "rep-1", "rep-2", "transferred", "mgr")
    assert {(n.type, n.rep_id) for n in outcome.effects} == {  # type: ignore[union-attr]
        ("assigned", "rep-2"), ("transferred_out", "rep-1")}


def test_notice_ids_repeat_when_the_same_transition_is_replayed() -> None:
    before = run(owned("rep-1"))
    cmd = command("transfer", to_rep_id="rep-2")
    first = apply(before, cmd, NOW, POLICY).effects
    again = apply(before, cmd, at(days=1), POLICY).effects
    assert [n.notice_id for n in first] == [n.notice_id for n in again]  # type: ignore[union-attr]


def test_created_at_is_processing_time_and_history_starts_empty() -> None:
    state = run(click(occurred_at=T0), now=NOW)
    assert state.created_at == NOW
    assert state.history == ()


@pytest.mark.parametrize("update", [
    {"version": 2},
    {"owner": "rep-9", "status": "active", "alerted_at": {"churn_risk": NOW}},
    {"label_features": (0.5, 1.0), "history": ()},
    {},
])
def test_a_states_fast_copy_is_pydantics_copy(update: dict[str, Any]) -> None:
    state = run(owned(), click())
    was = state.model_dump()
    ours = state.model_copy(update=update)
    theirs = BaseModel.model_copy(state, update=update)
    assert ours == theirs
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.model_dump_json() == theirs.model_dump_json()
    assert ours is not state
    assert state.model_dump() == was  # the original is untouched
