"""The customer's clock: when its next pool warning or reclaim is due, the label of its
pending churn prediction, the alerts about a question it is waiting to have answered, or
the slide of its recency into the next RFM band; and what firing each does.

Pure functions of (state, rules, now). The worker stores each customer's next timer in a
sorted set per partition and fires what is due; a fired timer is recomputed from the state
first, so an entry made stale by a follow-up, a claim or a transfer does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.outputs import Alert
from state.answers import alert_type, answer_timer, escalation
from state.churn import label_due, resolve_label
from state.customer import CustomerState, TimerKind
from state.loss import lost, still_lost
from state.pool_rules import Pool, PoolRules, ReclaimRule
from state.segments import SegmentEdges, next_slide
from state.transitions import Outcome, handover, notice, to_pool

DEFAULT_EDGES = SegmentEdges()

SYSTEM_ACTOR = "crmstream"


@dataclass(frozen=True, slots=True)
class Timer:
    at: datetime
    kind: TimerKind
    deadline: datetime
    reason: str


def reclaim_deadline(
    state: CustomerState, pool: Pool | None
) -> tuple[datetime, ReclaimRule] | None:
    """The earliest reclaim any of the pool's rules sets for this customer, if any applies."""
    if pool is None or not pool.enabled or not pool.auto_reclaim:
        return None
    if state.owner is None or state.owner_since is None or state.locked:
        return None
    if state.status not in ("active", "won"):
        return None
    earliest: tuple[datetime, ReclaimRule] | None = None
    for rule in pool.rules:
        if state.status == "won" and rule.exempt_won:
            continue
        if rule.exempt_open_orders and state.open_orders:
            continue
        period = rule.period_for(state.level)
        if period.total_seconds() <= 0:  # a level the rules do not know: never reclaim
            continue
        if rule.type == "no_follow_up":
            start = max(state.owner_since, state.last_follow_up_at or state.owner_since)
        else:
            if state.last_paid_at is not None and state.last_paid_at >= state.owner_since:
                continue
            start = state.owner_since
        due = start + period
        if earliest is None or due < earliest[0]:
            earliest = (due, rule)
    return earliest


def next_timer(state: CustomerState, rules: PoolRules) -> Timer | None:
    """The owner's warning, then the manager's, then the reclaim itself."""
    pool = rules.pool(state.pool_id)
    found = reclaim_deadline(state, pool)
    if found is None or pool is None:
        return None
    deadline, rule = found
    reason = rule.reason(state.level)
    if pool.warn_before is not None and state.warned_deadline != deadline:
        return Timer(deadline - pool.warn_before, "warning", deadline, reason)
    if pool.manager_warn_before is not None and state.manager_warned_deadline != deadline:
        return Timer(deadline - pool.manager_warn_before, "manager_warning", deadline, reason)
    return Timer(deadline, "reclaim", deadline, reason)


def _others(state: CustomerState, rules: PoolRules, edges: SegmentEdges
            ) -> list[tuple[datetime, TimerKind]]:
    """The customer's timers besides the pool's, in the order they go first on a tie."""
    found: list[tuple[datetime, TimerKind]] = []
    if state.label_due is not None:
        found.append((state.label_due, "churn_label"))
    waiting = answer_timer(state, rules.answers)
    if waiting is not None:
        found.append(waiting)
    if state.segment is not None and state.segment != "prospect":
        slide = next_slide(state, edges, state.updated_at)
        if slide is not None:
            found.append((slide, "segment"))
    return found


def scheduled(state: CustomerState, rules: PoolRules, edges: SegmentEdges = DEFAULT_EDGES
              ) -> CustomerState:
    """The state with its timer fields set to the earliest of its timers (``deadline``
    stays the pool deadline)."""
    timer = next_timer(state, rules)
    fields: tuple[datetime | None, TimerKind | None, datetime | None] = (
        (timer.at, timer.kind, timer.deadline) if timer is not None else (None, None, None)
    )
    for at, kind in _others(state, rules, edges):
        if fields[0] is None or at < fields[0]:
            fields = (at, kind, fields[2])
    if (state.timer_at, state.timer_kind, state.deadline) == fields:
        return state
    return state.model_copy(
        update={"timer_at": fields[0], "timer_kind": fields[1], "deadline": fields[2]}
    )


def due_now(state: CustomerState, rules: PoolRules, now: datetime,
            edges: SegmentEdges = DEFAULT_EDGES) -> tuple[TimerKind, Timer | None] | None:
    """Which timer fires now, if any: a due churn label first, then the pool's timer, then
    an unanswered question, then a recency slide (one per tick; the next fires at the
    next tick)."""
    if label_due(state, now):
        return "churn_label", None
    timer = next_timer(state, rules)
    if timer is not None and timer.at <= now:
        return timer.kind, timer
    for at, kind in _others(state, rules, edges):
        if kind != "churn_label" and at <= now:
            return kind, None
    return None


def fire(
    state: CustomerState, rules: PoolRules, now: datetime, assignee: str | None = None,
    edges: SegmentEdges = DEFAULT_EDGES,
) -> Outcome:
    """Apply the customer's due timer (``due_now``); a stale one changes nothing. A
    reclaimed customer goes to ``assignee`` when the pool auto-assigns and one was found."""
    due = due_now(state, rules, now, edges)
    if due is None:
        return Outcome(state, changed=False)
    kind, timer = due
    s = state.model_copy(update={"version": state.version + 1, "updated_at": now})
    if kind == "churn_label":
        labelled, label = resolve_label(s)
        if label is not None and label.churned and not still_lost(state.loss):
            labelled = labelled.model_copy(update={"loss": lost(state, "inactive", now)})
        return Outcome(labelled, label=label)
    if kind in ("unanswered", "unanswered_manager"):
        return _unanswered(s, kind, rules, now)
    if kind == "segment":
        return Outcome(s)  # the engine scores the segment again (state/engine.py)
    assert timer is not None
    owner = state.owner
    assert owner is not None  # a pool timer exists only for an owned customer
    if timer.kind == "warning":
        s = s.model_copy(update={"warned_deadline": timer.deadline})
        warning = notice(s, "reclaim_warning", owner, timer.reason, now)
        return Outcome(s, (warning.model_copy(update={"deadline": timer.deadline}),))
    if timer.kind == "manager_warning":
        s = s.model_copy(update={"manager_warned_deadline": timer.deadline})
        pool = rules.pool(s.pool_id)
        managers = pool.managers if pool is not None else []
        return Outcome(s, tuple(
            notice(s, "reclaim_warning", manager, f"{owner}: {timer.reason}", now)
            .model_copy(update={"deadline": timer.deadline})
            for manager in managers
        ))
    pool = rules.pool(s.pool_id)
    target = (pool.reclaim_to if pool is not None else None) or s.pool_id
    reclaimed = to_pool(s, target, "pooled", now, timer.reason, SYSTEM_ACTOR, now, "reclaimed")
    reclaimed = reclaimed._replace(state=reclaimed.state.model_copy(
        update={"reclaimed_at": now, "reclaimed_from": owner}))
    if assignee is None or assignee == owner:
        return reclaimed
    assigned = handover(reclaimed.state, assignee, now, "auto-assigned", SYSTEM_ACTOR, now)
    return Outcome(assigned.state, reclaimed.effects + assigned.effects)


def needs_assignee(state: CustomerState, rules: PoolRules, now: datetime) -> Pool | None:
    """The pool that will auto-assign this customer if its timer fires now as a reclaim."""
    due = due_now(state, rules, now)
    if due is None or due[0] != "reclaim":
        return None
    pool = rules.pool(state.pool_id)
    return pool if pool is not None and pool.auto_assign != "none" else None


def _unanswered(s: CustomerState, kind: TimerKind, rules: PoolRules, now: datetime) -> Outcome:
    """The owner's alert about a question waiting too long, or the managers' after it."""
    assert s.owner is not None
    assert s.awaiting_answer_since is not None
    waited = now - s.awaiting_answer_since
    hours = waited.total_seconds() / 3600
    reason = f"a question from the customer waits for an answer ({hours:.1f} h)"
    first = kind == "unanswered"
    reps = (s.owner,) if first else escalation(rules, s)
    notices = tuple(notice(s, "unanswered", rep, reason if first else f"{s.owner}: {reason}",
                           now) for rep in reps)
    escalated = s.model_copy(update={
        "answer_alerts": 1 if first else 2,
        "alerted_at": {**s.alerted_at, alert_type(kind): now}})
    alert = Alert(
        alert_id=f"{s.customer_id}:{s.version}:{alert_type(kind)}",
        customer_id=s.customer_id, type=alert_type(kind),
        severity="warning" if first else "critical",
        message=f"{reason}; owner {s.owner}", value=round(hours, 2), at=now)
    return Outcome(escalated, (*notices, alert))
