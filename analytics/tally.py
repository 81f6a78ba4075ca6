"""What each change of a customer adds to the numbers: pure functions of the state before
and after it and of its cause.

Two kinds of number, both kept per Kafka partition (readers sum the partitions, so the
counts stay exact when the state is spread over a Redis Cluster, one slot per partition)
and written in the same atomic step as the state (a replay after a crash counts nothing
twice, state/commit_batch.lua):

- **flows**, counted per day of when they happened, in UTC and in the business time zone:
  customers new, won, lost, reclaimed, claimed, ...; orders; conversions, each counted on
  the day of the step it converts (a registration, a claim, a reclaim), so a day's rate is
  its cohort's;
- **standing** numbers, as they are now: customers by status, segment, waiting for an
  answer, and the RFM histograms the segments' quintiles come from.

A number's field is ``metric|pool|level|team`` (team: the owner's team, "-" for none): a
bounded set of dimensions, never a customer or a rep. The README defines every metric.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

from schemas.commands import Assign, Release, Transfer
from schemas.events import Interaction, Order
from state.customer import CustomerState
from state.keys import NOW
from state.pool_rules import PoolRules
from state.segments import frequency_bucket, frequency_of, monetary_bucket, monetary_of
from state.store import Change
from state.transitions import Event

UTC = ZoneInfo("UTC")
# Days from the first follow-up to a loss, in these bands.
LOSS_DAY_BANDS = ((7, "0-7d"), (30, "7-30d"), (90, "30-90d"))
# Tallies: (partition, period) -> field -> increment. Periods: "now", "utc:YYYY-MM-DD",
# "local:YYYY-MM-DD".
Tallies = dict[tuple[int, str], dict[str, int]]


@dataclass(frozen=True, slots=True)
class TallyRules:
    rules: PoolRules
    business_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # A claim counts as converted when its claimer wins the customer within this window.
    conversion_window: timedelta = timedelta(days=30)


class Flow(NamedTuple):
    metric: str
    at: datetime  # the day it counts on
    owner: str | None  # whose team it counts for
    amount: int = 1


# What a milestone flow compares, and what a standing number depends on: when neither
# changed, most events (clicks, inbound texts) are done with in one tuple comparison.
_MILESTONES = attrgetter("claimed_at", "reclaimed_at", "first_paid_at", "status",
                         "answer_alerts", "loss", "segment")
_STANDING = attrgetter("status", "segment", "answer_alerts", "awaiting_answer_since",
                       "pool_id", "level", "owner", "orders_total", "paid_total",
                       "refund_amount_total")
_COUNTED_CAUSES = (Interaction, Order, Transfer, Assign, Release)


def flows(before: CustomerState | None, after: CustomerState, cause: Event | None,
          window: timedelta) -> list[Flow]:
    """What one applied event (``cause``) or fired timer (None) adds to the day counts."""
    if before is not None and not isinstance(cause, _COUNTED_CAUSES) and (
            _MILESTONES(before) == _MILESTONES(after)):
        return []
    found: list[Flow] = []
    if before is None or before.status == "forgotten":
        if after.status != "forgotten":
            found.append(Flow("new", after.created_at, after.owner))
        before = _first_seen(after) if before is None else before
    if after.status == "forgotten":
        return found
    at = cause.occurred_at if cause is not None else after.updated_at
    if cause is not None:
        found += _caused(before, after, cause, at)
    return found + _milestones(before, after, at, window)


def _caused(before: CustomerState, after: CustomerState, cause: Event, at: datetime
            ) -> list[Flow]:
    """The counts an event is itself: a follow-up, an order, a hand-over."""
    owner = after.owner
    if isinstance(cause, Interaction):
        followed_up = cause.direction == "outbound" and before.owner is not None and (
            cause.rep_id == before.owner)
        return [Flow("follow_ups", at, owner)] if followed_up else []
    if isinstance(cause, Order):
        return _order_flows(cause, owner)
    if isinstance(cause, Transfer | Assign) and before.owner != owner:
        return [Flow("transferred" if isinstance(cause, Transfer) else "assigned", at, owner)]
    if isinstance(cause, Release) and before.owner is not None and owner is None:
        return [Flow("released", at, before.owner)]
    return []


def _milestones(before: CustomerState, after: CustomerState, at: datetime,
                window: timedelta) -> list[Flow]:
    """The counts a change of the customer's milestones is, whatever caused it."""
    owner = after.owner
    found: list[Flow] = []
    if after.claimed_at != before.claimed_at and after.claimed_at is not None:
        found.append(Flow("claimed", after.claimed_at, owner))
    if after.reclaimed_at != before.reclaimed_at and after.reclaimed_at is not None:
        found.append(Flow("reclaimed", after.reclaimed_at, after.reclaimed_from))
    if after.first_paid_at is not None and before.first_paid_at is None:
        found += [Flow("first_paid", after.first_paid_at, owner),
                  Flow("registered_then_paid", after.created_at, owner)]
    if after.status == "won" and before.status != "won":
        found += _won_flows(after, at, window)
    if after.answer_alerts > before.answer_alerts:
        found.append(Flow("unanswered" if after.answer_alerts == 1 else "unanswered_escalated",
                          at, owner))
    loss = after.loss
    if loss is not None and (before.loss is None or before.loss.at != loss.at):
        found += _loss_flows(after, before.owner)
    if loss is not None and loss.won_back_at is not None and (
            before.loss is None or before.loss.won_back_at is None):
        found.append(Flow("won_back", loss.won_back_at, owner))
    if before.segment is not None and after.segment is not None and (
            before.segment != after.segment):
        found.append(Flow(f"segment_move:{before.segment}>{after.segment}", at, owner))
    return found


def _first_seen(after: CustomerState) -> CustomerState:
    """The "before" of a customer seen for the first time: none of its milestones yet."""
    return after.model_copy(update=_NOTHING_YET)


_NOTHING_YET: dict[str, object] = {
    "owner": None, "status": "pooled", "claimed_at": None, "reclaimed_at": None,
    "first_paid_at": None, "answer_alerts": 0, "loss": None, "segment": None}


def _order_flows(order: Order, owner: str | None) -> list[Flow]:
    cents = int(order.amount * 100)
    if order.status == "placed":
        return [Flow("orders_placed", order.occurred_at, owner)]
    if order.status == "paid":
        return [Flow("orders_paid", order.occurred_at, owner),
                Flow("paid_cents", order.occurred_at, owner, cents)]
    if order.status == "refunded":
        return [Flow("orders_refunded", order.occurred_at, owner),
                Flow("refunded_cents", order.occurred_at, owner, cents)]
    return []


def _won_flows(after: CustomerState, at: datetime, window: timedelta) -> list[Flow]:
    found = [Flow("won", at, after.owner)]
    claimed = after.claimed_at
    if claimed is not None and after.claimed_by == after.owner and at - claimed <= window:
        found.append(Flow("claimed_then_won", claimed, after.owner))
    if after.reclaimed_at is not None and after.owner is not None and (
            after.owner != after.reclaimed_from):
        found.append(Flow("reclaimed_then_won", after.reclaimed_at, after.owner))
    return found


def _loss_flows(after: CustomerState, owner: str | None) -> list[Flow]:
    loss = after.loss
    assert loss is not None
    at = loss.at
    paid = "paid" if loss.paid_before else "unpaid"
    found = [Flow("lost", at, owner), Flow(f"lost_cause:{loss.cause}", at, owner),
             Flow(f"lost_stage:{loss.stage}:{paid}", at, owner)]
    found += [Flow(f"lost_signal:{signal}", at, owner) for signal in loss.signals]
    found += [Flow(f"lost_driver:{driver}", at, owner) for driver in loss.drivers]
    seconds = loss.seconds_from_first_follow_up
    band = "never_followed_up" if seconds is None else next(
        (name for limit, name in LOSS_DAY_BANDS if seconds < limit * 86_400), "90d+")
    found.append(Flow(f"lost_days:{band}", at, owner))
    if seconds is not None:
        found.append(Flow("lost_follow_up_seconds", at, owner, seconds))
    for flag in ("alerted", "acknowledged", "followed_up_after_alert"):
        if getattr(loss, flag):
            found.append(Flow(f"lost_{flag}", at, owner))
    return found


def standing(state: CustomerState | None) -> list[str]:
    """The standing numbers a customer counts in now (without dimensions)."""
    if state is None or state.status == "forgotten":
        return []
    found = [f"customers:{state.status}"]
    if state.segment is not None:
        found.append(f"segment:{state.segment}")
    if state.answer_alerts > 0 and state.awaiting_answer_since is not None and (
            state.status in ("active", "won")):
        found.append("unanswered_now")
    if state.segment not in (None, "prospect"):  # it ordered: in the RFM histograms
        found += [f"rfm_f:{frequency_bucket(frequency_of(state))}",
                  f"rfm_m:{monetary_bucket(monetary_of(state))}"]
    return found


class Tally:
    """Adds flows and standing changes into one batch's tallies."""

    def __init__(self, rules: TallyRules) -> None:
        self.rules = rules
        self._days: dict[int, tuple[str, str]] = {}
        self._dimensions: dict[tuple[str, str, str | None], str] = {}

    def _dims(self, state: CustomerState, owner: str | None) -> str:
        """``|pool|level|team``, made once per combination (a bounded set)."""
        key = (state.pool_id, state.level, owner)
        found = self._dimensions.get(key)
        if found is None:
            if len(self._dimensions) > 100_000:  # reps come and go: stay bounded
                self._dimensions.clear()
            found = self._dimensions[key] = (
                f"|{state.pool_id}|{state.level}|{self.rules.rules.team_of(owner)}")
        return found

    def _periods(self, at: datetime) -> tuple[str, str]:
        """The UTC and the business day of ``at``, cached by quarter hour (every time zone's
        offset is a whole number of quarter hours; a batch's events share a few)."""
        quarter = int(at.timestamp()) // 900
        found = self._days.get(quarter)
        if found is None:
            found = (f"utc:{at.astimezone(UTC):%Y-%m-%d}",
                     f"local:{at.astimezone(self.rules.business_zone):%Y-%m-%d}")
            if len(self._days) > 10_000:
                self._days.clear()
            self._days[quarter] = found
        return found

    def step(self, tallies: Tallies, partition: int, before: CustomerState | None,
             after: CustomerState, cause: Event | None) -> None:
        for flow in flows(before, after, cause, self.rules.conversion_window):
            name = flow.metric + self._dims(after, flow.owner)
            for period in self._periods(flow.at):
                counts = tallies.setdefault((partition, period), {})
                counts[name] = counts.get(name, 0) + flow.amount

    def settle(self, tallies: Tallies, changes: Iterable[Change]) -> None:
        """The standing numbers' changes of a batch: each customer out of where it stood
        before the batch and into where it stands after it."""
        for change in changes:
            before, after = change.before, change.after
            if before is not None and _STANDING(before) == _STANDING(after):
                continue
            old = [m + self._dims(before, before.owner) for m in standing(before)] if (
                before is not None) else []
            new = [m + self._dims(after, after.owner) for m in standing(after)]
            if old == new:
                continue
            counts = tallies.setdefault((change.partition, NOW), {})
            for name in old:
                counts[name] = counts.get(name, 0) - 1
            for name in new:
                counts[name] = counts.get(name, 0) + 1
