"""Pure state transitions: ``apply(state, event, now) -> Outcome``. No I/O, no clock.

Every rule about how an event or a command changes a customer lives here (the pool rules
that decide whether a command is allowed live in ``state.pool``). The worker calls these
functions; tests call them with tables of cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from schemas.commands import (
    AcknowledgeAlert,
    Assign,
    Claim,
    Discard,
    Forget,
    Freeze,
    Lock,
    MarkChurned,
    MarkWon,
    MovePool,
    Register,
    Release,
    Restore,
    Transfer,
    Unlock,
)
from schemas.commands import Command as AnyCommand
from schemas.events import Click, Interaction, Order
from schemas.outputs import Alert, Notice, NoticeType, Score
from state.activity import DayTally, add_to_day, epoch_day
from state.alerts import AlertRules, after_text
from state.answers import after_interaction
from state.churn import ChurnLabel, ChurnRules, resolve_label
from state.customer import CustomerState, OwnershipChange, new_customer
from state.forget import FORGOTTEN, erased, reborn
from state.loss import lost, still_lost
from state.pool_rules import PoolRules, without_reclaims
from state.segments import SegmentEdges

Event = Interaction | Click | Order | AnyCommand
Effect = Notice | Alert | Score

MAX_OPEN_ORDERS = 16
MAX_HISTORY = 50
# A text's weight in the customer's sentiment halves every 14 days of event time.
SENTIMENT_HALF_LIFE_S = 14 * 86_400


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules a transition follows: the pools, where a customer crmstream has never seen
    goes, how many event ids each customer remembers for dedupe, the alert thresholds, and
    how churn is scored and labelled."""

    rules: PoolRules = field(default_factory=lambda: without_reclaims("default", "C"))
    level: str = "C"
    recent_event_ids: int = 32
    alerts: AlertRules = field(default_factory=AlertRules)
    churn: ChurnRules = field(default_factory=ChurnRules)
    segments: SegmentEdges = field(default_factory=SegmentEdges)

    @property
    def pool_id(self) -> str:
        return self.rules.default_pool


class Outcome(NamedTuple):
    """What an event, a timer or a score did to a customer. (Named tuples, like ``Signals``:
    several are built for every event, and they cost a third of a frozen dataclass.)"""

    state: CustomerState
    effects: tuple[Effect, ...] = ()
    changed: bool = True
    rejection: str | None = None
    label: ChurnLabel | None = None  # a churn prediction that just learned its outcome


def later(current: datetime | None, candidate: datetime) -> datetime:
    """Out-of-order events never move a "last" time backwards."""
    return candidate if current is None or candidate > current else current


def earlier(current: datetime | None, candidate: datetime) -> datetime:
    """...nor a "first" time forwards."""
    return candidate if current is None or candidate < current else current


class Signals(NamedTuple):
    """What the worker worked out about an event before applying it: why a claim exceeds a
    limit that spans customers (checked in the store), and the sentiment score of an
    interaction's text (from the model). Both None when not applicable."""

    limit_refusal: str | None = None
    text_sentiment: float | None = None


NO_SIGNALS = Signals()


def apply(
    state: CustomerState | None, event: Event, now: datetime, policy: Policy | None = None,
    signals: Signals = NO_SIGNALS,
) -> Outcome:
    """The customer after ``event``, and the notices it causes. A duplicate changes nothing."""
    policy = policy or DEFAULT_POLICY
    if state is None:
        state = new_customer(event.customer_id, policy.pool_id, policy.level, now)
        if isinstance(event, _COMMANDS_NEEDING_A_CUSTOMER):
            # Nothing is created: the notice tells the actor, the customer stays unknown.
            notice_ = notice(state, "rejected", event.actor, "unknown customer", now)
            return Outcome(state, (notice_,), changed=False, rejection="unknown customer")
    elif event.event_id in state.recent_event_ids:
        return Outcome(state, changed=False)
    elif state.status == "forgotten":
        if isinstance(event, Forget):
            return Outcome(state, changed=False)
        if not isinstance(event, Register):  # refused: the worker dead-letters it
            return Outcome(state, changed=False, rejection=FORGOTTEN)
        state = reborn(state, policy.pool_id, policy.level, now)
    touched = _touched(state, event, now, policy.recent_event_ids)
    match event:
        case Interaction():
            after = state.model_copy(
                update=touched | _interaction(state, event, now, signals.text_sentiment))
            if signals.text_sentiment is None:
                return Outcome(after)
            after, alerts = after_text(after, signals.text_sentiment, now, policy.alerts)
            return Outcome(after, alerts)
        case Click():
            return Outcome(state.model_copy(update=touched | _click(state, event, now)))
        case Order():
            return Outcome(state.model_copy(update=touched | _order(state, event, now)))
        case _:
            return _command(state.model_copy(update=touched), event, now, policy.rules,
                            signals.limit_refusal)


def _touched(state: CustomerState, event: Event, now: datetime, keep_ids: int) -> dict[str, object]:
    """What every applied event changes: the version, the dedupe memory, the clocks."""
    kept = state.recent_event_ids[-(keep_ids - 1):] if keep_ids > 1 else ()
    return {
        "version": state.version + 1,
        "recent_event_ids": (*kept, event.event_id),
        "updated_at": now,
        "last_event_at": later(state.last_event_at, event.occurred_at),
    }


# Each of these returns the fields an activity event changes (merged into one copy).


def blended_sentiment(s: CustomerState, score: float, at: datetime) -> tuple[float, datetime]:
    """The customer's sentiment after a text scored ``score`` at ``at``: older texts weigh
    less by half every half-life; a late text weighs as old as it is."""
    if s.sentiment is None or s.sentiment_at is None:
        return score, at
    age = abs((at - s.sentiment_at).total_seconds())
    keep = 0.5 ** (age / SENTIMENT_HALF_LIFE_S) * 0.8  # the newest text always counts 20%
    if at >= s.sentiment_at:
        return keep * s.sentiment + (1 - keep) * score, at
    return (1 - keep) * s.sentiment + keep * score, s.sentiment_at


def _interaction(
    s: CustomerState, e: Interaction, now: datetime, text_sentiment: float | None = None
) -> dict[str, object]:
    inbound = e.direction == "inbound"
    update: dict[str, object] = {
        "last_interaction_at": later(s.last_interaction_at, e.occurred_at),
        "days": add_to_day(
            s.days, epoch_day(e.occurred_at), epoch_day(now),
            DayTally(interactions=1, inbound=int(inbound), tickets=int(e.channel == "ticket")),
        ),
    }
    if inbound:
        update["last_inbound_at"] = later(s.last_inbound_at, e.occurred_at)
    elif s.owner is not None and e.rep_id == s.owner:
        update["last_follow_up_at"] = later(s.last_follow_up_at, e.occurred_at)
        update["first_follow_up_at"] = earlier(s.first_follow_up_at, e.occurred_at)
    update |= after_interaction(s, e)
    if text_sentiment is not None:
        sentiment, at = blended_sentiment(s, text_sentiment, e.occurred_at)
        update |= {"sentiment": round(sentiment, 4), "sentiment_at": at,
                   "texts_scored": s.texts_scored + 1}
    return update


def _click(s: CustomerState, e: Click, now: datetime) -> dict[str, object]:
    new_session = e.session_id != s.last_session_id
    newest = s.last_click_at is None or e.occurred_at >= s.last_click_at
    return {
        "last_click_at": later(s.last_click_at, e.occurred_at),
        "last_session_id": e.session_id if newest else s.last_session_id,
        "days": add_to_day(
            s.days, epoch_day(e.occurred_at), epoch_day(now),
            DayTally(clicks=1, sessions=int(new_session), dwell_ms=e.dwell_ms or 0,
                     pricing_views=int(e.page_type == "pricing"),
                     cancel_views=int(e.page_type == "cancel")),
        ),
    }


def _order(s: CustomerState, e: Order, now: datetime) -> dict[str, object]:
    amount = float(e.amount)
    day, today = epoch_day(e.occurred_at), epoch_day(now)
    open_orders = tuple(o for o in s.open_orders if o != e.order_id)
    update: dict[str, object] = {"open_orders": open_orders}
    if e.status == "placed":
        update |= {
            "open_orders": (*open_orders, e.order_id)[-MAX_OPEN_ORDERS:],
            "orders_total": s.orders_total + 1,
            "last_order_at": later(s.last_order_at, e.occurred_at),
            "days": add_to_day(s.days, day, today, DayTally(orders=1)),
        }
    elif e.status == "paid":
        update |= {
            "first_paid_at": earlier(s.first_paid_at, e.occurred_at),
            "paid_total": s.paid_total + amount,
            "last_paid_at": later(s.last_paid_at, e.occurred_at),
            "last_order_at": later(s.last_order_at, e.occurred_at),
            "days": add_to_day(s.days, day, today, DayTally(paid_amount=amount)),
        }
    elif e.status == "refunded":
        update |= {
            "refunds_total": s.refunds_total + 1,
            "refund_amount_total": s.refund_amount_total + amount,
            "days": add_to_day(s.days, day, today,
                              DayTally(refunds=1, refund_amount=amount)),
        }
    if e.status in ("placed", "paid") and s.loss is not None and still_lost(s.loss) and (
            e.occurred_at > s.loss.at):
        update |= _won_back(s, e.occurred_at)
    return update


def _won_back(s: CustomerState, at: datetime) -> dict[str, object]:
    """A lost customer ordered again: the loss stays on record, won back; one marked
    churned is a customer again (its owner's, else its pool's)."""
    assert s.loss is not None
    update: dict[str, object] = {"loss": s.loss.model_copy(update={"won_back_at": at})}
    if s.status == "churned":
        update |= ({"status": "active"} if s.owner is not None
                   else {"status": "pooled", "pooled_since": at})
    return update


# --- ownership commands -------------------------------------------------------------------


def notice_id(s: CustomerState, kind: NoticeType, rep_id: str) -> str:
    """Derived from the transition, so replaying the same command repeats the same id."""
    return f"{s.customer_id}:{s.version}:{kind}:{rep_id}"


def notice(
    s: CustomerState, kind: NoticeType, rep_id: str, reason: str, now: datetime
) -> Notice:
    return Notice(
        notice_id=notice_id(s, kind, rep_id), rep_id=rep_id, customer_id=s.customer_id,
        type=kind, pool_id=s.pool_id, reason=reason, at=now,
    )


def rejected(s: CustomerState, actor: str, reason: str, now: datetime) -> Outcome:
    """A refused command changes nothing but the dedupe memory, and tells its actor why."""
    return Outcome(s, (notice(s, "rejected", actor, reason, now),), rejection=reason)


def change_owner(
    s: CustomerState, to_rep: str | None, at: datetime, reason: str, actor: str,
    **update: object,
) -> CustomerState:
    """Every change of owner goes through here, so the history is never skipped."""
    entry = OwnershipChange(at=at, from_rep=s.owner, to_rep=to_rep, reason=reason, actor=actor)
    fields: dict[str, object] = {
        "owner": to_rep,
        "owner_since": at if to_rep is not None else None,
        "history": (*s.history, entry)[-MAX_HISTORY:],
    }
    if to_rep is not None:
        fields["status"] = "active"
    return s.model_copy(update=fields | update)


def handover(s: CustomerState, to_rep: str, at: datetime, reason: str, actor: str,
             now: datetime) -> Outcome:
    """Give the customer to ``to_rep``: the new owner is told, and so is the one it leaves."""
    after = change_owner(s, to_rep, at, reason, actor, pooled_since=None)
    effects: list[Effect] = [notice(after, "assigned", to_rep, reason, now)]
    if s.owner is not None and s.owner != to_rep:
        effects.append(notice(after, "transferred_out", s.owner, reason, now))
    return Outcome(after, tuple(effects))


def to_pool(s: CustomerState, pool_id: str, status: str, at: datetime, reason: str,
            actor: str, now: datetime, kind: NoticeType = "released") -> Outcome:
    """Take the customer from its owner (if any) into ``pool_id`` with ``status``; the owner
    gets a notice of ``kind`` (released by hand, or reclaimed by the pool's rules)."""
    after = change_owner(
        s, None, at, reason, actor, pool_id=pool_id, status=status, pooled_since=at,
    ) if s.owner is not None else s.model_copy(
        update={"pool_id": pool_id, "status": status, "pooled_since": at}
    )
    effects = () if s.owner is None else (notice(after, kind, s.owner, reason, now),)
    return Outcome(after, effects)


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def claim_refusal(s: CustomerState, rep_id: str, rules: PoolRules, now: datetime) -> str | None:
    """Why ``rep_id`` may not take this customer from its pool now, or None if it may.
    (Limits that span customers, such as how many a rep holds, are checked in Redis.)"""
    if s.status in ("frozen", "discarded"):
        return "customer is in the recycle bin"
    if s.status != "pooled":
        return "not in the pool"
    pool = rules.pool(s.pool_id)
    if pool is None:
        return f"unknown pool {s.pool_id!r}"
    if not pool.enabled:
        return f"pool {pool.id!r} is disabled"
    if not rules.is_member(pool, rep_id):
        return f"not a member of pool {pool.id!r}"
    cooldown = pool.claim.previous_owner_cooldown
    if cooldown is not None:
        left = [h.at for h in s.history if h.from_rep == rep_id and h.to_rep is None]
        if left and now < left[-1] + cooldown:
            again = _when(left[-1] + cooldown)
            return f"cooldown: a previous owner may claim it again from {again}"
    fresh = pool.claim.new_customer_cooldown
    if fresh is not None and s.pooled_since is not None and now < s.pooled_since + fresh:
        return f"cooldown: newly pooled, claimable from {_when(s.pooled_since + fresh)}"
    return None


def _command(  # noqa: C901 - one case per command type reads best as one table
    s: CustomerState, c: AnyCommand, now: datetime, rules: PoolRules,
    limit_refusal: str | None = None,
) -> Outcome:
    at = c.issued_at
    if s.locked and isinstance(c, Release | MovePool | Freeze | Discard):
        return rejected(s, c.actor, "customer is locked", now)
    match c:
        case Register():
            if c.level not in rules.levels:
                return rejected(s, c.actor, f"unknown level {c.level!r}", now)
            if rules.pool(c.pool_id) is None:
                return rejected(s, c.actor, f"unknown pool {c.pool_id!r}", now)
            registered = s.model_copy(update={"name": c.name, "pool_id": c.pool_id,
                                              "level": c.level})
            if c.owner is not None and c.owner != s.owner:
                return handover(registered, c.owner, at, "registered", c.actor, now)
            return Outcome(registered)
        case Assign():
            if s.status in ("frozen", "discarded"):
                return rejected(s, c.actor, f"customer is {s.status}", now)
            return handover(s, c.rep_id, at, "assigned", c.actor, now)
        case Transfer():
            if s.owner is None:
                return rejected(s, c.actor, "customer has no owner to transfer from", now)
            if s.owner == c.to_rep_id:
                return rejected(s, c.actor, "customer already belongs to that rep", now)
            return handover(s, c.to_rep_id, at, "transferred", c.actor, now)
        case Claim():
            refusal = claim_refusal(s, c.rep_id, rules, now) or limit_refusal
            if refusal is not None:
                return rejected(s, c.rep_id, refusal, now)
            claimed = s.model_copy(update={"claimed_at": at, "claimed_by": c.rep_id})
            return handover(claimed, c.rep_id, at, "claimed", c.actor, now)
        case Release():
            if s.status in ("frozen", "discarded"):
                return rejected(s, c.actor, f"customer is {s.status}", now)
            if rules.pool(c.pool_id) is None:
                return rejected(s, c.actor, f"unknown pool {c.pool_id!r}", now)
            return to_pool(s, c.pool_id, "pooled", at, c.reason, c.actor, now)
        case MovePool():
            if rules.pool(c.pool_id) is None:
                return rejected(s, c.actor, f"unknown pool {c.pool_id!r}", now)
            return Outcome(s.model_copy(update={"pool_id": c.pool_id}))
        case Freeze():
            return to_pool(s, s.pool_id, "frozen", at, "frozen", c.actor, now)
        case Discard():
            return to_pool(s, s.pool_id, "discarded", at, "discarded", c.actor, now)
        case Restore():
            if s.status not in ("frozen", "discarded"):
                return rejected(s, c.actor, "customer is not in the recycle bin", now)
            return Outcome(s.model_copy(update={"status": "pooled", "pooled_since": at}))
        case Lock():
            return Outcome(s.model_copy(update={"locked": True}))
        case Unlock():
            return Outcome(s.model_copy(update={"locked": False}))
        case MarkWon():
            return Outcome(s.model_copy(update={"status": "won"}))
        case MarkChurned():
            update: dict[str, object] = {"status": "churned"}
            if not still_lost(s.loss):
                update["loss"] = lost(s, "marked", at)
            churned, label = resolve_label(s.model_copy(update=update), True)
            return Outcome(churned, label=label)
        case AcknowledgeAlert():
            return Outcome(s.model_copy(update={"alert_acked_at": later(s.alert_acked_at, at)}))
        case Forget():
            return Outcome(erased(s, now))
    raise AssertionError(f"unhandled command {c!r}")  # pragma: no cover


DEFAULT_POLICY = Policy()
_COMMANDS_NEEDING_A_CUSTOMER = (
    Assign, Claim, Transfer, Release, MovePool, Freeze, Discard, Restore, Lock, Unlock,
    MarkWon, MarkChurned, Forget, AcknowledgeAlert,
)
