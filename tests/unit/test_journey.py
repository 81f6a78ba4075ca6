"""The customer's journey the numbers are made of: losses (stage, signals, win-back),
unanswered questions, RFM segments. Pure, tables of cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from schemas.outputs import Alert, Notice
from state.customer import CustomerState
from state.engine import on_event, on_timer
from state.pool_rules import PoolRules
from state.segments import SegmentEdges, edges_from, named, next_slide, quintile_edges
from state.transitions import Event, Outcome, Policy
from tests.factories import T0, click, command, interaction, order

RULES = PoolRules.model_validate({
    "levels": ["A", "B", "C"], "default_pool": "public",
    "teams": {"east": ["rep-1", "rep-2"]},
    "answers": {"within": {"A": "4h", "C": "24h"}, "escalate_after": {"A": "8h"}},
    "pools": [{"id": "public", "name": "Public", "managers": ["mgr"], "members": ["team:east"],
               "rules": [{"type": "no_follow_up", "period": "30d"}]}],
})
POLICY = Policy(rules=RULES, level="C")
H = timedelta(hours=1)
D = timedelta(days=1)


def at(hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, days=days)


def run(*steps: tuple[Event, datetime] | Event, state: CustomerState | None = None
        ) -> CustomerState:
    for step in steps:
        event, now = step if isinstance(step, tuple) else (step, step.occurred_at)
        state = on_event(state, event, now, POLICY).state
    assert state is not None
    return state


def registered(level: str = "A", owner: str | None = "rep-1") -> Event:
    return command("register", pool_id="public", level=level, name="ACME", owner=owner)


# --- losses --------------------------------------------------------------------------------

@pytest.mark.parametrize(("steps", "stage", "paid_before"), [
    ([registered()], "neglected", False),
    ([registered(), interaction(rep_id="rep-1", occurred_at=at(1))], "followed_up", False),
    ([registered(owner=None)], "in_pool", False),
    ([registered(), command("freeze")], "recycle_bin", False),
    ([registered(), order(status="paid", occurred_at=at(2))], "neglected", True),
    # a follow-up by someone who is not the owner is no follow-up
    ([registered(), interaction(rep_id="rep-2", occurred_at=at(1))], "neglected", False),
])
def test_the_stage_a_customer_is_lost_at(steps: list[Event], stage: str,
                                         paid_before: bool) -> None:
    lost = run(*steps, (command("mark_churned", issued_at=at(5)), at(5)))
    assert lost.status == "churned"
    assert lost.loss is not None
    assert (lost.loss.cause, lost.loss.stage, lost.loss.paid_before) == (
        "marked", stage, paid_before)


@pytest.mark.parametrize(("steps", "signals"), [
    ([], ("no_follow_up",)),
    ([click(page_type="cancel", page="/cancel", occurred_at=at(1))],
     ("cancel_page_views", "no_follow_up")),
    ([order(status="refunded", occurred_at=at(1))], ("refunds", "no_follow_up")),
    ([interaction(channel="ticket", direction="inbound", occurred_at=at(1))],
     ("unanswered", "support_tickets", "no_follow_up")),
    ([interaction(rep_id="rep-1", occurred_at=at(1))], ("no_signal",)),
])
def test_the_signals_a_lost_customer_showed(steps: list[Event], signals: tuple[str, ...]
                                            ) -> None:
    lost = run(registered(), *steps, (command("mark_churned", issued_at=at(5)), at(5)))
    assert lost.loss is not None
    assert lost.loss.signals == signals


def test_days_from_the_first_follow_up_and_whether_anyone_tried_to_save_it() -> None:
    s = run(registered(), interaction(rep_id="rep-1", occurred_at=at(days=1)))
    s = s.model_copy(update={"alerted_at": {"churn_risk": at(days=2)}})
    s = run((command("acknowledge_alert", alert_id="c1:3:churn_risk", issued_at=at(days=2.5)),
             at(days=2.5)),
            interaction(rep_id="rep-1", occurred_at=at(days=3)),
            (command("mark_churned", issued_at=at(days=4)), at(days=4)), state=s)
    assert s.loss is not None
    assert s.loss.seconds_from_first_follow_up == 3 * 86_400
    assert (s.loss.alerted, s.loss.acknowledged, s.loss.followed_up_after_alert) == (
        True, True, True)


def test_a_lost_customer_that_orders_again_is_won_back_once() -> None:
    lost = run(registered(), (command("mark_churned", issued_at=at(1)), at(1)))
    back = run(order(status="placed", occurred_at=at(2)), state=lost)
    assert back.loss is not None
    assert back.loss.won_back_at == at(2)
    assert back.status == "active"  # its owner's customer again
    again = run(order(status="paid", order_id="ord-2", occurred_at=at(3)), state=back)
    assert again.loss == back.loss  # won back once
    # marked churned again: a second loss, with its own record
    relost = run((command("mark_churned", issued_at=at(4)), at(4)), state=again)
    assert relost.loss is not None
    assert (relost.loss.at, relost.loss.won_back_at) == (at(4), None)


def test_an_order_older_than_the_loss_wins_nothing_back() -> None:
    lost = run(registered(), (command("mark_churned", issued_at=at(5)), at(5)))
    late = run((order(status="paid", occurred_at=at(1)), at(6)), state=lost)
    assert late.loss is not None
    assert late.loss.won_back_at is None


def test_the_horizon_loses_a_silent_customer_once() -> None:
    s = run(registered(), click(occurred_at=at(1)))
    s = s.model_copy(update={"label_features": (0.0,), "label_from": at(1),
                             "label_due": at(1, days=30)})
    fired = on_timer(s, at(1, days=30), POLICY)
    assert fired.label is not None
    assert fired.label.churned
    assert fired.state.loss is not None
    assert (fired.state.loss.cause, fired.state.status) == ("inactive", "active")


# --- unanswered questions ------------------------------------------------------------------

def asked(level: str = "A", channel: str = "chat") -> CustomerState:
    return run(registered(level), interaction(direction="inbound", channel=channel,
                                              rep_id=None, occurred_at=at(0)))


@pytest.mark.parametrize(("level", "channel", "waiting", "timer"), [
    ("A", "chat", True, ("unanswered", at(4))),
    ("C", "ticket", True, ("unanswered", at(24))),
    ("B", "email", True, None),  # no answer time for level B: never alerted
    ("A", "visit", False, None),  # a visit asks nothing
    ("A", "sms", False, None),
])
def test_an_inbound_question_waits_for_its_answer(
        level: str, channel: str, waiting: bool, timer: tuple[str, datetime] | None) -> None:
    s = asked(level, channel)
    assert (s.awaiting_answer_since is not None) is waiting
    assert ((s.timer_kind, s.timer_at) if s.timer_kind in ("unanswered",) else None) == timer


def fire(s: CustomerState, now: datetime) -> Outcome:
    return on_timer(s, now, POLICY)


def test_unanswered_alerts_the_owner_then_the_managers() -> None:
    s = asked("A")
    assert not fire(s, at(4) - timedelta(seconds=1)).changed
    first = fire(s, at(4))
    notices = [e for e in first.effects if isinstance(e, Notice)]
    alerts = [e for e in first.effects if isinstance(e, Alert)]
    assert [(n.rep_id, n.type) for n in notices] == [("rep-1", "unanswered")]
    assert [(a.type, a.severity) for a in alerts] == [("unanswered", "warning")]
    assert (first.state.answer_alerts, first.state.timer_kind, first.state.timer_at) == (
        1, "unanswered_manager", at(8))
    second = fire(first.state, at(8))
    assert [(e.rep_id, e.type) for e in second.effects if isinstance(e, Notice)] == [
        ("mgr", "unanswered")]
    assert [a.type for a in second.effects if isinstance(a, Alert)] == [
        "unanswered_escalated"]
    assert second.state.answer_alerts == 2
    assert second.state.timer_kind != "unanswered_manager"


@pytest.mark.parametrize(("answer", "cleared"), [
    (interaction(rep_id="rep-1", occurred_at=at(3)), True),  # the owner, in time
    (interaction(rep_id="rep-2", occurred_at=at(3)), False),  # not the owner
    (interaction(rep_id="rep-1", occurred_at=at(-1)), False),  # before the question
])
def test_an_answer_in_time_by_the_owner_means_nothing_fires(answer: Event,
                                                          cleared: bool) -> None:
    s = run((answer, at(3)), state=asked("A"))
    assert (s.awaiting_answer_since is None) is cleared
    assert (s.timer_kind == "unanswered") is not cleared


# --- RFM segments --------------------------------------------------------------------------

@pytest.mark.parametrize(("rfm", "segment"), [
    ((5, 1, 1), "new"), ((4, 1, 5), "new"), ((5, 5, 5), "champions"), ((4, 4, 3), "champions"),
    ((3, 5, 5), "loyal"), ((5, 3, 3), "loyal"), ((5, 2, 2), "potential"),
    ((3, 2, 1), "potential"), ((1, 5, 5), "cant_lose"), ((2, 5, 5), "at_risk"),
    ((1, 3, 3), "at_risk"), ((2, 2, 2), "hibernating"), ((1, 1, 2), "lost"),
])
def test_segment_names(rfm: tuple[int, int, int], segment: str) -> None:
    assert named(*rfm) == segment


def test_a_customer_without_orders_is_a_prospect_and_one_with_an_order_is_new() -> None:
    assert run(registered()).segment == "prospect"
    assert run(registered(), order(status="paid", occurred_at=at(1))).segment == "new"


def test_a_quiet_customer_slides_on_its_own_and_a_valuable_one_raises_an_alert() -> None:
    edges = SegmentEdges(frequency=(1, 2, 3, 4), monetary=(10, 20, 30, 40))
    policy = Policy(rules=RULES, level="C", segments=edges)
    s: CustomerState | None = None
    for n in range(5):
        s = on_event(s, order(status="paid", order_id=f"o{n}", amount=Decimal(50),
                              occurred_at=at(n)), at(n), policy).state
        s = on_event(s, order(status="placed", order_id=f"p{n}", occurred_at=at(n)),
                     at(n), policy).state
    assert s is not None
    assert s.segment == "champions"
    assert (s.timer_kind, s.timer_at) == ("segment", at(4, days=30))
    slides: list[Any] = []
    while s.timer_kind == "segment" and s.timer_at is not None:
        fired = on_timer(s, s.timer_at, policy)
        slides.append((fired.state.segment,
                       [a.type for a in fired.effects if isinstance(a, Alert)]))
        s = fired.state
    # recency 4 at 30 days (still champions), 3 at 60, 2 at 90, 1 at 180
    assert slides == [("champions", []), ("loyal", []), ("at_risk", ["segment_at_risk"]),
                      ("cant_lose", [])]
    assert next_slide(s, edges, s.updated_at) is None


@pytest.mark.parametrize(("histogram", "edges"), [
    ({1.0: 100}, (1.0, 1.0, 1.0, 1.0)),
    ({1.0: 50, 2.0: 30, 5.0: 20}, (1.0, 1.0, 2.0, 2.0)),
    ({float(v): 1 for v in range(1, 11)}, (2.0, 4.0, 6.0, 8.0)),
    ({}, None),
])
def test_quintile_edges(histogram: dict[float, int], edges: tuple[float, ...] | None) -> None:
    assert quintile_edges(histogram) == edges


def test_quintiles_replace_the_defaults_once_enough_customers_ordered() -> None:
    defaults = SegmentEdges(min_customers=10)
    few = {1.0: 9}
    assert edges_from(few, few, defaults) is defaults
    many = {float(v): 1 for v in range(1, 11)}
    found = edges_from(many, many, defaults)
    assert (found.frequency, found.monetary) == ((2.0, 4.0, 6.0, 8.0), (2.0, 4.0, 6.0, 8.0))
    assert found.recency_days == defaults.recency_days
