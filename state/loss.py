"""Loss analysis: what a customer looked like at the moment it was lost, and its win-back.

A customer is lost when a rep marks it churned (``marked``) or when its churn prediction's
horizon passes with no sign of life from it (``inactive``, state/churn.py). The record is
kept with the customer and counted (analytics/tally.py), so a manager sees at which stage
customers are lost, the signals they showed, and whether anyone tried to save them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from schemas.base import Timestamp
from state.activity import epoch_day, windowed_sums

if TYPE_CHECKING:
    from state.customer import CustomerState

LossCause = Literal["marked", "inactive"]
# Where the customer stood: owned and followed up since its owner took it, owned with no
# follow-up since, waiting in a pool, or in a pool's recycle bin.
LossStage = Literal["followed_up", "neglected", "in_pool", "recycle_bin"]
LOSS_STAGES: tuple[LossStage, ...] = ("followed_up", "neglected", "in_pool", "recycle_bin")
# The signals a lost customer can show, strongest first when several do (the ranked
# reasons of the loss table count every signal of every loss).
LOSS_SIGNALS = (
    "cancel_page_views", "refunds", "negative_interactions", "unanswered", "support_tickets",
    "pricing_page_views", "no_follow_up", "no_signal",
)
SIGNAL_WINDOW_DAYS = 30  # page visits and tickets count within this many days of the loss


class Loss(BaseModel):
    """One lost customer, as it stood when lost. ``won_back_at``: it ordered again."""

    model_config = ConfigDict(frozen=True)

    at: Timestamp
    cause: LossCause
    stage: LossStage
    paid_before: bool  # lost after its first paid order (a customer), or before (a lead)
    signals: tuple[str, ...]
    # The churn model's strongest features for this customer at the loss, when it has one.
    drivers: tuple[str, ...] = ()
    seconds_from_first_follow_up: int | None = None
    alerted: bool = False  # an alert about it was raised before the loss
    acknowledged: bool = False  # ...and someone in ops acknowledged one
    followed_up_after_alert: bool = False
    won_back_at: Timestamp | None = None


def stage_of(s: CustomerState) -> LossStage:
    if s.status in ("frozen", "discarded"):
        return "recycle_bin"
    if s.owner is None:
        return "in_pool"
    followed = s.last_follow_up_at is not None and (
        s.owner_since is None or s.last_follow_up_at >= s.owner_since)
    return "followed_up" if followed else "neglected"


def signals_of(s: CustomerState, stage: LossStage, now: datetime) -> tuple[str, ...]:
    recent = windowed_sums(s.days, epoch_day(now))[SIGNAL_WINDOW_DAYS]
    shown = {
        "cancel_page_views": recent.cancel_views > 0,
        "refunds": s.refunds_total > 0,
        "negative_interactions": s.negative_run > 0 or (s.sentiment or 0.0) < 0,
        "unanswered": s.awaiting_answer_since is not None,
        "support_tickets": recent.tickets > 0,
        "pricing_page_views": recent.pricing_views > 0,
        "no_follow_up": stage == "neglected",
    }
    found = tuple(name for name in LOSS_SIGNALS if shown.get(name))
    return found or ("no_signal",)


def lost(s: CustomerState, cause: LossCause, now: datetime) -> Loss:
    """The loss record of ``s`` lost now (``s`` as it was just before)."""
    stage = stage_of(s)
    first = s.first_follow_up_at
    last_alert = max(s.alerted_at.values(), default=None)
    return Loss(
        at=now, cause=cause, stage=stage, paid_before=s.first_paid_at is not None,
        signals=signals_of(s, stage, now),
        seconds_from_first_follow_up=(max(0, int((now - first).total_seconds()))
                                      if first is not None else None),
        alerted=last_alert is not None,
        acknowledged=s.alert_acked_at is not None,
        followed_up_after_alert=(last_alert is not None and s.last_follow_up_at is not None
                                 and s.last_follow_up_at > last_alert),
    )


def still_lost(loss: Loss | None) -> bool:
    return loss is not None and loss.won_back_at is None
