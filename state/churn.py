"""Churn, the pure part: the features the model sees, when a customer is worth scoring again,
what a new score changes (the state, the scores topic, the alert), and the delayed labels.

Labels arrive long after the prediction: ``mark_churned`` is a positive at once, and a
customer who showed no activity (inbound interaction, click or order) for the whole label
horizon after the prediction is a positive too; one still active when the horizon passes is a
negative. Either way the model learns from the features saved *at the prediction*, not from
the state at the label: the label must not leak into its own inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter, itemgetter

import numpy as np

from schemas.outputs import Alert, Score
from state.activity import TALLY_FIELDS, epoch_day, windowed_sums
from state.alerts import AlertRules, after_churn_score
from state.customer import ChurnFeatures, CustomerState

# The day tallies the model sees over 7 and 30 days.
_TALLIES = ("interactions", "inbound", "tickets", "sessions", "clicks", "dwell_ms",
            "pricing_views", "cancel_views", "orders", "paid_amount", "refunds")
_PICK_TALLIES = itemgetter(*(TALLY_FIELDS.index(name) for name in _TALLIES))
_WEEK = tuple(f"{name}_7d" for name in _TALLIES)
_MONTH = tuple(f"{name}_30d" for name in _TALLIES)
# The features taken as they are; every one before them is a count, an amount or a number
# of days, heavy-tailed, and taken as its log1p.
_AS_IS = ("open_orders", "sentiment", "negative_run", "owned", "won", "in_recycle_bin")
CHURN_FEATURES = (
    *_WEEK, *_MONTH, "days_since_inbound", "days_since_click", "days_since_order",
    "days_since_paid", "days_since_follow_up", "days_in_pool", "tenure_days_log",
    "refunds_log", "paid_total_log", *_AS_IS,
)
_LOGGED = len(CHURN_FEATURES) - len(_AS_IS)


@dataclass(frozen=True, slots=True)
class ChurnRules:
    label_horizon: timedelta = timedelta(days=30)
    publish_delta: float = 0.05  # a score goes to the scores topic when it moved this much
    rescore_after: timedelta = timedelta(days=1)  # a score older than this is refreshed
    # A customer is first scored once crmstream has seen this many of its events (commands
    # count: a registered customer is scored at its first activity). One it has just met
    # from a single event has no behaviour to score: its risk would be the model's prior,
    # published for every new lead (a campaign's burst of first clicks floods crm.scores).
    min_events: int = 2


@dataclass(frozen=True, slots=True)
class ChurnLabel:
    """What the model learns from: the features of a prediction, and what became of it."""

    customer_id: str
    features: ChurnFeatures
    churned: bool

    def named(self) -> dict[str, float]:
        return dict(zip(CHURN_FEATURES, self.features, strict=True))


def churn_matrix(states: Sequence[CustomerState], now: datetime) -> np.ndarray:
    """One row of ``CHURN_FEATURES`` per customer. Every value is a number and always there
    (a scaler cannot learn the spread of a feature that is present only when non-zero).
    Runs for most changed customers of every batch: plain arithmetic per customer, the
    logarithms for the whole batch at once."""
    at, today = now.timestamp(), epoch_day(now)
    x = np.array([_raw_row(s, at, today) for s in states], dtype=float)
    x = x.reshape(len(states), len(CHURN_FEATURES))
    np.log1p(x[:, :_LOGGED], out=x[:, :_LOGGED])
    return x


def churn_features(s: CustomerState, now: datetime) -> list[float]:
    """The values of ``CHURN_FEATURES`` for one customer."""
    row: list[float] = churn_matrix([s], now)[0].tolist()
    return row


def _raw_row(s: CustomerState, at: float, today: int) -> list[float]:
    """A customer's features before the logarithms."""
    sums = windowed_sums(s.days, today)
    owned = s.owner is not None
    tenure = _days(s.created_at, at, 0.0)
    return [
        *_PICK_TALLIES(sums[7]),
        *_PICK_TALLIES(sums[30]),
        # Days since, or the tenure when it never happened: a customer seen an hour ago who
        # never ordered is as "fresh" as its first hour, not 365 days away.
        _days(s.last_inbound_at, at, tenure),
        _days(s.last_click_at, at, tenure),
        _days(s.last_order_at, at, tenure),
        _days(s.last_paid_at, at, tenure),
        _days(s.last_follow_up_at or s.owner_since, at, tenure),
        0.0 if owned else _days(s.pooled_since, at, tenure),
        tenure,
        s.refunds_total,
        max(0.0, s.paid_total),
        len(s.open_orders),
        s.sentiment if s.sentiment is not None else 0.0,
        s.negative_run,
        owned,
        s.status == "won",
        s.status in ("frozen", "discarded"),
    ]


def _days(then: datetime | None, now: float, never: float) -> float:
    """Days from ``then`` to the timestamp ``now``, or ``never``."""
    if then is None:
        return never
    return max(0.0, (now - then.timestamp()) / 86_400)


# What the risk depends on beyond the clock (see ``worth_rescoring``).
_signals = attrgetter("status", "owner", "pool_id", "last_interaction_at", "last_order_at",
                      "last_paid_at", "refunds_total", "last_session_id", "negative_run")


def worth_rescoring(
    before: CustomerState | None, after: CustomerState, now: datetime, rules: ChurnRules
) -> bool:
    """A meaningful change: never scored, a stale score, or something the risk depends on
    moved (status, owner, pool, an interaction, an order, a payment, a refund, a new
    browsing session, the run of negative texts). A click inside the same session is not
    worth a new score on its own; a churned or forgotten customer is not scored any more,
    and one seen fewer than ``rules.min_events`` times not yet."""
    if after.status in ("churned", "forgotten") or len(after.recent_event_ids) < (
            rules.min_events):
        return False
    if after.churn_scored_at is None or now - after.churn_scored_at >= rules.rescore_after:
        return True
    return before is None or _signals(before) != _signals(after)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which models scored (every score carries their versions), and how far the churn
    model has come (no churn alert from a model that has not proved itself yet)."""

    churn: str
    sentiment: str
    churn_labels: int = 0
    churn_roc_auc: float = 0.0


def with_risk(
    s: CustomerState, risk: float, features: ChurnFeatures, now: datetime, rules: ChurnRules,
    alerts: AlertRules, info: ModelInfo,
) -> tuple[CustomerState, tuple[Score | Alert, ...]]:
    """The customer with its new churn risk. Saves the features for a label when none is
    pending and the customer has been active (and sets the label timer when it comes
    before the pool timer), publishes a score when it moved enough, and raises the churn
    alert once the model has proved itself. One copy of the state: this runs for most
    changed customers of every batch."""
    rounded = round(risk, 4)
    update: dict[str, object] = {"churn_risk": rounded, "churn_scored_at": now}
    # Churn is an active customer going silent: a customer that never did anything itself
    # (registered, assigned) gives no example to learn from, and its features at that
    # point (all "never") would teach the model nothing about the customers it scores.
    if s.label_features is None and last_activity(s) is not None:
        due = now + rules.label_horizon
        update |= {"label_features": features, "label_from": now, "label_due": due}
        if s.timer_at is None or due < s.timer_at:  # a pending label has no timer yet
            update |= {"timer_at": due, "timer_kind": "churn_label"}
    effects: list[Score | Alert] = []
    if _moved(s.published_churn_risk, rounded, rules) or _moved(
            s.published_sentiment, s.sentiment, rules):
        update |= {"published_churn_risk": rounded, "published_sentiment": s.sentiment}
        effects.append(Score(
            customer_id=s.customer_id, churn_risk=rounded, sentiment=s.sentiment,
            churn_model_version=info.churn, sentiment_model_version=info.sentiment,
            at=now,
        ))
    s = s.model_copy(update=update)
    if (info.churn_labels >= alerts.churn_after_labels
            and info.churn_roc_auc >= alerts.churn_min_roc_auc):
        s, alert = after_churn_score(s, risk, now, alerts)
        if alert is not None:
            effects.append(alert)
    return s, tuple(effects)


def _moved(published: float | None, current: float | None, rules: ChurnRules) -> bool:
    if current is None:
        return False
    return published is None or abs(current - published) >= rules.publish_delta


def label_due(s: CustomerState, now: datetime) -> bool:
    return s.label_due is not None and s.label_due <= now


_activity_times = attrgetter("last_inbound_at", "last_click_at", "last_order_at")


def last_activity(s: CustomerState) -> datetime | None:
    """The customer's own latest sign of life (not a rep's outbound call)."""
    return max(filter(None, _activity_times(s)), default=None)


def resolve_label(s: CustomerState, churned: bool | None = None) -> tuple[CustomerState,
                                                                          ChurnLabel | None]:
    """Close the pending prediction: ``churned`` when known (mark_churned), else by the
    horizon rule. The state forgets the features; the next score saves new ones."""
    if s.label_features is None or s.label_from is None:
        return s, None
    if churned is None:
        active = last_activity(s)
        churned = active is None or active <= s.label_from
    label = ChurnLabel(s.customer_id, s.label_features, churned)
    return s.model_copy(update={"label_features": None, "label_from": None,
                                "label_due": None}), label
