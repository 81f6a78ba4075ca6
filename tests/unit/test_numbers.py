"""The numbers: what each change counts (analytics/tally.py), the report made of the
counts (analytics/report.py), and the batch processor counting each event once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from agents.processor import Processor, Record
from analytics.report import Where, build, day_periods
from analytics.tally import Tally, TallyRules, flows, standing
from crmstream.clock import ManualClock
from crmstream.settings import Topics
from state.customer import CustomerState
from state.engine import on_event, on_timer
from state.keys import NOW
from state.pool_rules import PoolRules
from state.store import Change, MemoryStore
from state.transitions import Event, Policy
from tests.factories import T0, as_json, command, interaction, order
from tests.unit.test_processor import ListSink

RULES = PoolRules.model_validate({
    "levels": ["A", "B", "C"], "default_pool": "public",
    "teams": {"east": ["rep-1", "rep-2"]},
    "pools": [{"id": "public", "name": "Public", "members": ["team:east"],
               "rules": [{"type": "no_follow_up", "period": "1d"}]}],
})
POLICY = Policy(rules=RULES, level="C")
WINDOW = timedelta(days=30)


def at(hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, days=days)


def registered(owner: str | None = "rep-1", level: str = "A") -> Event:
    return command("register", pool_id="public", level=level, name="ACME", owner=owner)


def state_after(*events: Event) -> CustomerState:
    s: CustomerState | None = None
    for event in events:
        s = on_event(s, event, event.occurred_at, POLICY).state
    assert s is not None
    return s


def counted(before: CustomerState | None, event: Event) -> list[tuple[str, datetime, int]]:
    after = on_event(before, event, event.occurred_at, POLICY).state
    return [(f.metric, f.at, f.amount) for f in flows(before, after, event, WINDOW)]


POOLED = state_after(registered(owner=None))
OWNED = state_after(registered())


@pytest.mark.parametrize(("before", "event", "expected"), [
    (None, registered(), [("new", T0, 1)]),
    (OWNED, interaction(rep_id="rep-1", occurred_at=at(1)), [("follow_ups", at(1), 1)]),
    (OWNED, interaction(rep_id="rep-2", occurred_at=at(1)), []),  # not its owner's
    (OWNED, interaction(direction="inbound", channel="visit", occurred_at=at(1)), []),
    # a first order also moves the customer from prospect to a segment
    (OWNED, order(status="placed", occurred_at=at(2)),
     [("orders_placed", at(2), 1), ("segment_move:prospect>new", at(2), 1)]),
    (OWNED, order(status="paid", amount=Decimal("12.34"), occurred_at=at(2)),
     [("orders_paid", at(2), 1), ("paid_cents", at(2), 1234), ("first_paid", at(2), 1),
      ("registered_then_paid", T0, 1), ("segment_move:prospect>new", at(2), 1)]),
    (OWNED, order(status="refunded", amount=Decimal("5"), occurred_at=at(2)),
     [("orders_refunded", at(2), 1), ("refunded_cents", at(2), 500)]),
    (POOLED, command("claim", rep_id="rep-2", issued_at=at(3)), [("claimed", at(3), 1)]),
    (OWNED, command("transfer", to_rep_id="rep-2", issued_at=at(3)),
     [("transferred", at(3), 1)]),
    (POOLED, command("assign", rep_id="rep-2", issued_at=at(3)), [("assigned", at(3), 1)]),
    (OWNED, command("release", pool_id="public", reason="no budget", issued_at=at(3)),
     [("released", at(3), 1)]),
    (OWNED, command("mark_won", issued_at=at(3)), [("won", at(3), 1)]),
    # a duplicate counts nothing
    (OWNED, command("register", pool_id="public", level="A", name="ACME", owner="rep-1",
                    command_id=OWNED.recent_event_ids[-1]), []),
])
def test_what_an_event_counts(before: CustomerState | None, event: Event,
                              expected: list[tuple[str, datetime, int]]) -> None:
    assert counted(before, event) == expected


def test_a_claim_won_within_the_window_converts_on_the_claim_day() -> None:
    claimed = on_event(POOLED, command("claim", rep_id="rep-2", issued_at=at(days=1)),
                       at(days=1), POLICY).state
    inside = counted(claimed, command("mark_won", issued_at=at(days=20)))
    assert ("claimed_then_won", at(days=1), 1) in inside
    late = counted(claimed, command("mark_won", issued_at=at(days=40)))
    assert [m for m, _, _ in late] == ["won"]


def test_a_reclaimed_customer_won_by_its_next_owner_converts_on_the_reclaim_day() -> None:
    reclaimed = OWNED
    now = T0
    while reclaimed.owner is not None:
        assert reclaimed.timer_at is not None
        now = reclaimed.timer_at
        reclaimed = on_timer(reclaimed, now, POLICY).state
    assert [(f.metric, f.at) for f in flows(OWNED, reclaimed, None, WINDOW)] == [
        ("reclaimed", now)]
    taken = on_event(reclaimed, command("claim", rep_id="rep-2", issued_at=now + timedelta(
        days=4)), now + timedelta(days=4), POLICY).state
    won = counted(taken, command("mark_won", issued_at=now + timedelta(days=5)))
    assert ("reclaimed_then_won", now, 1) in won
    assert ("claimed_then_won", now + timedelta(days=4), 1) in won


def test_a_loss_counts_its_stage_signals_and_band_and_its_win_back() -> None:
    followed = state_after(registered(), interaction(rep_id="rep-1", occurred_at=at(1)))
    lost_flows = counted(followed, command("mark_churned", issued_at=at(days=10)))
    assert sorted(m for m, _, _ in lost_flows) == sorted([
        "lost", "lost_cause:marked", "lost_stage:followed_up:unpaid", "lost_signal:no_signal",
        "lost_days:7-30d", "lost_follow_up_seconds"])
    lost = on_event(followed, command("mark_churned", issued_at=at(days=10)), at(days=10),
                    POLICY).state
    back = counted(lost, order(status="placed", occurred_at=at(days=11)))
    assert ("won_back", at(days=11), 1) in back


@pytest.mark.parametrize(("state", "expected"), [
    (None, []),
    (POOLED, ["customers:pooled", "segment:prospect"]),
    (state_after(registered(), order(status="paid", amount=Decimal("99"))),
     ["customers:active", "segment:new", "rfm_f:0.0", "rfm_m:89.51"]),
])
def test_standing_numbers(state: CustomerState | None, expected: list[str]) -> None:
    assert standing(state) == expected


def test_a_day_counts_in_utc_and_in_the_business_time_zone() -> None:
    counter = Tally(TallyRules(RULES, ZoneInfo("Asia/Shanghai"), WINDOW))
    tallies: dict[tuple[int, str], dict[str, int]] = {}
    late = interaction(rep_id="rep-1", occurred_at=datetime(2026, 11, 1, 17, 30,
                                                            tzinfo=ZoneInfo("UTC")))
    counter.step(tallies, 3, OWNED, on_event(OWNED, late, late.occurred_at, POLICY).state, late)
    assert tallies == {(3, "utc:2026-11-01"): {"follow_ups|public|A|east": 1},
                       (3, "local:2026-11-02"): {"follow_ups|public|A|east": 1}}
    counter.settle(tallies, [Change(OWNED, POOLED, 3)])
    assert tallies[(3, NOW)] == {"customers:active|public|A|east": -1,
                                 "segment:prospect|public|A|east": -1,
                                 "customers:pooled|public|A|-": 1,
                                 "segment:prospect|public|A|-": 1}


# --- the report ----------------------------------------------------------------------------

TODAY = date(2026, 11, 30)


def sums(**days: dict[str, int]) -> dict[str, dict[str, int]]:
    """``d0`` is today, ``d1`` yesterday...; ``now`` the standing numbers."""
    out = {NOW: days.pop("now", {})}
    for name, counts in days.items():
        out[f"local:{TODAY - timedelta(days=int(name[1:])):%Y-%m-%d}"] = counts
    return out


def test_the_window_against_the_one_before_and_today_against_yesterday() -> None:
    report = build(sums(d0={"won|p|A|east": 3}, d1={"won|p|B|-": 1},
                        d6={"won|p|A|east": 2, "paid_cents|p|A|east": 1050},
                        d8={"won|p|A|east": 4}), "local", TODAY, 7)
    assert report.window["won"].model_dump() == {"current": 6, "previous": 4, "change": 0.5}
    assert report.today_vs_yesterday["won"].model_dump() == {
        "current": 3, "previous": 1, "change": 2.0}
    assert report.window["paid_amount"].current == 10.5
    assert [d.day for d in report.daily] == [
        f"{TODAY - timedelta(days=n):%Y-%m-%d}" for n in range(6, -1, -1)]
    assert report.by_dimension["team"]["east"]["won"] == 5
    only_b = build(sums(d0={"won|p|A|east": 3}, d1={"won|p|B|-": 1}), "local", TODAY, 7,
                   Where(level="B"))
    assert only_b.window["won"].current == 1


def test_conversion_rates_are_their_cohorts() -> None:
    report = build(sums(d2={"new|p|A|-": 40, "registered_then_paid|p|A|-": 10,
                            "claimed|p|A|-": 5, "claimed_then_won|p|A|-": 1},
                        d9={"new|p|A|-": 10, "registered_then_paid|p|A|-": 5}),
                   "local", TODAY, 7)
    assert report.conversion["registration_to_paid"].model_dump() == {
        "base": 40, "converted": 10, "rate": 0.25, "previous_rate": 0.5}
    assert report.conversion["claim_to_won"].rate == 0.2
    assert report.conversion["reclaim_to_won"].rate is None
    two_days_ago = report.daily[-3]
    assert two_days_ago.conversion["registration_to_paid"].model_dump() == {
        "base": 40, "converted": 10, "rate": 0.25, "previous_rate": None}
    assert report.daily[-1].conversion["registration_to_paid"].rate is None


def test_the_loss_table_ranks_stages_and_reasons() -> None:
    report = build(sums(d0={
        "lost|p|A|-": 4, "lost_stage:neglected:unpaid|p|A|-": 3,
        "lost_stage:in_pool:paid|p|A|-": 1, "lost_signal:refunds|p|A|-": 1,
        "lost_signal:no_follow_up|p|A|-": 3, "lost_days:0-7d|p|A|-": 2,
        "lost_days:never_followed_up|p|A|-": 2, "lost_follow_up_seconds|p|A|-": 3 * 86_400,
        "lost_alerted|p|A|-": 2, "won_back|p|A|-": 1}), "local", TODAY, 7)
    loss = report.loss
    assert [(r.name, r.count, r.share) for r in loss.stages] == [
        ("neglected:unpaid", 3, 0.75), ("in_pool:paid", 1, 0.25)]
    assert [r.name for r in loss.reasons] == ["no_follow_up", "refunds"]
    assert loss.mean_days_from_first_follow_up == 1.5
    assert (loss.alerted, loss.won_back) == (2, 1)


def test_standing_and_segments() -> None:
    report = build(sums(now={"customers:active|p|A|east": 3, "customers:pooled|p|B|-": 2,
                             "customers:won|p|B|-": 0, "segment:loyal|p|A|east": 3,
                             "unanswered_now|p|A|east": 1},
                        d0={"segment_move:loyal>at_risk|p|A|-": 2}), "local", TODAY, 7)
    assert report.standing.customers == 5
    assert report.standing.by_status == {"active": 3, "pooled": 2}
    assert report.standing.unanswered_by_level == {"A": 1}
    assert report.segments.counts["loyal"] == 3
    assert [(m.name, m.count) for m in report.segments.moves] == [("loyal>at_risk", 2)]


def test_a_report_reads_its_window_and_the_one_before() -> None:
    assert day_periods("utc", TODAY, 2) == [
        "utc:2026-11-27", "utc:2026-11-28", "utc:2026-11-29", "utc:2026-11-30"]


# --- counted once, through the processor ---------------------------------------------------

async def test_the_processor_counts_each_event_once_even_when_replayed() -> None:
    store = MemoryStore()
    topics = Topics("crm.")
    records = [Record(topics.commands, 0, 0, b"c1", as_json(registered())),
               Record(topics.interactions, 0, 0, b"c1",
                      as_json(interaction(rep_id="rep-1", occurred_at=at(1)))),
               Record(topics.orders, 0, 0, b"c1", as_json(order(status="paid",
                                                                occurred_at=at(2))))]
    first = Processor(store, ListSink(), topics, ManualClock(at(3)), policy=POLICY,
                      retry_delay_s=0)
    await first.process(records)
    again = Processor(store, ListSink(), topics, ManualClock(at(4)), policy=POLICY,
                      retry_delay_s=0)
    await again.process(records)  # a replay after a crash: skipped by offset
    day = store.tallies[(0, "utc:2026-11-01")]
    assert {name.split("|")[0]: n for name, n in day.items()} == {
        "new": 1, "follow_ups": 1, "orders_paid": 1, "paid_cents": 10_000, "first_paid": 1,
        "registered_then_paid": 1, "segment_move:prospect>new": 1}
    assert {k: v for k, v in store.tallies[(0, NOW)].items() if v} == {
        "customers:active|public|A|east": 1, "segment:new|public|A|east": 1,
        "rfm_f:0.0|public|A|east": 1, "rfm_m:89.51|public|A|east": 1}


def test_the_churn_models_drivers_are_the_features_pushing_the_risk_up() -> None:
    import random

    from scoring.churn import ChurnModel

    model = ChurnModel()
    rng = random.Random(3)
    names = ("cancel_views", "orders", "noise")
    for _ in range(2000):
        row = {"cancel_views": float(rng.randint(0, 5)), "orders": float(rng.randint(0, 5)),
               "noise": rng.random()}
        model.learn(row, row["cancel_views"] > row["orders"])
    drivers = model.drivers(names, [5.0, 0.0, 0.5])
    assert drivers[:2] == ["cancel_views", "orders"]  # many visits, and few orders
    assert model.drivers(names, [0.0, 5.0, 0.5]) == []  # nothing pushes this one up


async def test_a_loss_carries_the_models_drivers_into_the_counts() -> None:
    import math

    from agents.models import Models
    from scoring.churn import ChurnModel
    from state.churn import CHURN_FEATURES

    model = ChurnModel()
    for n in range(200):  # a model that learned: refunds, churn
        row = dict.fromkeys(CHURN_FEATURES, 0.0) | {"refunds_log": math.log1p(2 * (n % 2))}
        model.learn(row, n % 2 == 1)
    store, topics = MemoryStore(), Topics("crm.")
    processor = Processor(store, ListSink(), topics, ManualClock(at(3)), policy=POLICY,
                          retry_delay_s=0, models=Models(None, model))
    refund = order(status="refunded", occurred_at=at(1))
    await processor.process([
        Record(topics.commands, 0, 0, b"c1", as_json(registered())),
        Record(topics.orders, 0, 0, b"c1", as_json(refund)),
        Record(topics.orders, 0, 1, b"c1", as_json(order(status="refunded", order_id="o2",
                                                         occurred_at=at(1)))),
        Record(topics.commands, 0, 1, b"c1",
               as_json(command("mark_churned", issued_at=at(2))))])
    loss = store.customers["c1"].loss
    assert loss is not None
    assert "refunds_log" in loss.drivers
    day = store.tallies[(0, "utc:2026-11-01")]
    assert day["lost_driver:refunds_log|public|A|east"] == 1


@pytest.mark.parametrize(("query", "expected"), [
    ({}, ("local", 30, Where())),
    ({"zone": "utc", "days": "7", "team": "east", "pool": ""}, ("utc", 7, Where(team="east"))),
    ({"days": "0"}, "days: a whole number from 1 to 90"),
    ({"days": "91"}, "days: a whole number from 1 to 90"),
    ({"days": "a week"}, "days: a whole number from 1 to 90"),
    ({"zone": "Asia/Shanghai"}, "zone: local or utc"),
])
def test_what_a_report_query_asks_for(query: dict[str, str], expected: object) -> None:
    from web.numbers import BadQuery, report_query

    if isinstance(expected, str):
        with pytest.raises(BadQuery, match=expected):
            report_query(query)
    else:
        assert report_query(query) == expected
