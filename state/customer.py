"""The live state of one customer, as the worker keeps it and as Redis stores it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import Timestamp
from state.activity import DayTally
from state.loss import Loss
from state.segments import Segment

Status = Literal["active", "pooled", "frozen", "discarded", "won", "churned", "forgotten"]
TimerKind = Literal["warning", "manager_warning", "reclaim", "churn_label", "unanswered",
                    "unanswered_manager", "segment"]
# The churn model's inputs as they were at a prediction, in the order of
# state.churn.CHURN_FEATURES.
ChurnFeatures = tuple[float, ...]


class OwnershipChange(BaseModel):
    """One line of a customer's ownership history: who had it, who got it, when and why."""

    model_config = ConfigDict(frozen=True)

    at: Timestamp
    from_rep: str | None
    to_rep: str | None
    reason: str
    actor: str


class CustomerState(BaseModel):
    """Everything crmstream knows about a customer right now.

    ``version`` grows by one with every change; ids derived from it (notices, alerts) are
    therefore the same when a crash makes the worker apply the same events again.
    """

    customer_id: str
    version: int = 0
    name: str | None = None
    pool_id: str
    level: str
    status: Status = "pooled"
    locked: bool = False
    owner: str | None = None
    owner_since: Timestamp | None = None
    pooled_since: Timestamp | None = None
    created_at: Timestamp

    last_follow_up_at: Timestamp | None = None
    last_inbound_at: Timestamp | None = None
    last_interaction_at: Timestamp | None = None
    last_click_at: Timestamp | None = None
    last_session_id: str | None = None
    last_order_at: Timestamp | None = None
    last_paid_at: Timestamp | None = None
    last_event_at: Timestamp | None = None

    # Recency-weighted sentiment of the customer's texts in [-1, 1] (state/transitions.py).
    sentiment: float | None = None
    sentiment_at: Timestamp | None = None
    texts_scored: int = 0
    negative_run: int = 0  # consecutive negative texts, for the run-of-negatives alert

    # Churn (state/churn.py): the latest risk, what was last published on the scores topic,
    # whether the high-risk alert is raised (hysteresis), and the features of one prediction
    # waiting for its label, which is due at ``label_due`` unless a mark_churned comes first.
    # Those features are stored beside the document, like ``history``: one number per churn
    # feature, changing once per label horizon, not with every event.
    churn_risk: float | None = None
    churn_scored_at: Timestamp | None = None
    churn_alerting: bool = False
    published_churn_risk: float | None = None
    published_sentiment: float | None = None
    label_features: ChurnFeatures | None = Field(default=None, exclude=True)
    label_from: Timestamp | None = None
    label_due: Timestamp | None = None
    # When each alert type was last raised for this customer (the cooldown).
    alerted_at: dict[str, Timestamp] = Field(default_factory=dict)
    alert_acked_at: Timestamp | None = None  # when ops last acknowledged an alert about it

    # Milestones the numbers are made of (analytics/tally.py): the first follow-up and paid
    # order, the last claim out of a pool and the last reclaim (with whom), and the loss.
    first_follow_up_at: Timestamp | None = None
    first_paid_at: Timestamp | None = None
    claimed_at: Timestamp | None = None
    claimed_by: str | None = None
    reclaimed_at: Timestamp | None = None
    reclaimed_from: str | None = None
    loss: Loss | None = None  # state/loss.py
    # An inbound question waiting for its owner's answer since, and how many of the alerts
    # about it went out (1: the owner's, 2: the managers' too); state/answers.py.
    awaiting_answer_since: Timestamp | None = None
    answer_alerts: int = 0
    segment: Segment | None = None  # RFM, state/segments.py

    orders_total: int = 0
    paid_total: float = 0.0
    refunds_total: int = 0
    refund_amount_total: float = 0.0
    open_orders: tuple[str, ...] = ()
    days: dict[int, DayTally] = Field(default_factory=dict)

    # The customer's clock: the next timer (a pool warning or reclaim, or a churn label) and
    # the pool deadline (see state/timers.py), and the deadline the owner and the manager
    # were already warned about.
    timer_at: Timestamp | None = None
    timer_kind: TimerKind | None = None
    deadline: Timestamp | None = None
    warned_deadline: Timestamp | None = None
    manager_warned_deadline: Timestamp | None = None

    recent_event_ids: tuple[str, ...] = ()
    # Stored beside the document, not in it (state/redis_store.py): written only when it
    # changes, not with every event of a customer with a long history.
    history: tuple[OwnershipChange, ...] = Field(default=(), exclude=True)
    updated_at: Timestamp

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """pydantic's shallow copy without its generic steps (a ``copy.copy`` per attribute,
        extra fields and private attributes, which this model has none of), at half the
        cost: the worker copies a state two or three times per event. The same result,
        as a test checks."""
        if deep or not update:
            return super().model_copy(update=update, deep=deep)
        copied = _new_model(type(self))
        _set(copied, "__dict__", {**self.__dict__, **update})
        _set(copied, "__pydantic_fields_set__", self.__pydantic_fields_set__.union(update))
        _set(copied, "__pydantic_extra__", None)
        _set(copied, "__pydantic_private__", None)
        return copied


_new_model = CustomerState.__new__
_set = object.__setattr__


# The fields the stores keep beside the state document (``exclude=True`` above): each is
# written only when it changes, instead of being serialised with every event.
STORED_APART = tuple(name for name, field in CustomerState.model_fields.items() if field.exclude)


def new_customer(
    customer_id: str, pool_id: str, level: str, now: datetime
) -> CustomerState:
    """A customer crmstream had not seen: it starts unowned in a pool rather than being lost."""
    return CustomerState(
        customer_id=customer_id,
        pool_id=pool_id,
        level=level,
        status="pooled",
        pooled_since=now,
        created_at=now,
        updated_at=now,
    )
