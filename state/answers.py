"""Unanswered customers: an inbound chat, ticket, call or email waits for its owner's
answer; past the level's time the owner is alerted, past the escalation time the pool's
managers too. Answered in time, nothing fires.

The wait is a timer of the customer like its pool deadline (state/timers.py): no scans.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from schemas.events import Interaction
from state.alerts import UNANSWERED, UNANSWERED_ESCALATED
from state.pool_rules import AnswerRules, PoolRules

if TYPE_CHECKING:
    from state.customer import CustomerState, TimerKind

# Where a customer asks something and expects a person to answer (not a visit or an SMS).
ASKING_CHANNELS = frozenset({"chat", "wechat", "ticket", "call", "email"})


def after_interaction(s: CustomerState, e: Interaction) -> dict[str, object]:
    """The wait an interaction starts (the customer asks) or ends (its owner answers)."""
    if e.direction == "inbound":
        if e.channel in ASKING_CHANNELS and s.awaiting_answer_since is None:
            return {"awaiting_answer_since": e.occurred_at, "answer_alerts": 0}
        return {}
    since = s.awaiting_answer_since
    if since is not None and s.owner is not None and e.rep_id == s.owner and (
            e.occurred_at >= since):
        return {"awaiting_answer_since": None, "answer_alerts": 0}
    return {}


def answer_timer(s: CustomerState, rules: AnswerRules | None
                 ) -> tuple[datetime, TimerKind] | None:
    """When the wait crosses its next line (the owner's alert, then the managers'), if it
    is waiting for an owner at all."""
    since = s.awaiting_answer_since
    if rules is None or since is None or s.owner is None or s.status not in ("active", "won"):
        return None
    if s.answer_alerts == 0:
        within = rules.within.get(s.level)
        return (since + within, "unanswered") if within is not None else None
    if s.answer_alerts == 1:
        escalate = rules.escalate_after.get(s.level)
        return (since + escalate, "unanswered_manager") if escalate is not None else None
    return None


def escalation(rules: PoolRules, s: CustomerState) -> tuple[str, ...]:
    """Who hears of a wait past its escalation time: the managers of the customer's pool."""
    pool = rules.pool(s.pool_id)
    return tuple(pool.managers) if pool is not None else ()


def alert_type(kind: TimerKind) -> str:
    return UNANSWERED if kind == "unanswered" else UNANSWERED_ESCALATED
