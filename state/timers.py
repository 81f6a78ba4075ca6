"""The customer's clock: when its next pool warning or reclaim is due, or the label of its
pending churn prediction, and what firing it does.

Pure functions of (state, rules, now). The worker stores each customer's next timer in a
sorted set per partition and fires what is due; a fired timer is recomputed from the state
first, so an entry made stale by a follow-up, a claim or a transfer does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from state.churn import label_due, resolve_label
from state.customer import CustomerState, TimerKind
from state.pool_rules import Pool, PoolRules, ReclaimRule
from state.transitions import Outcome, handover, notice, to_pool

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


def scheduled(state: CustomerState, rules: PoolRules) -> CustomerState:
    """The state with its timer fields set to what the rules say now: the pool timer, or the
    churn label when that is due first (``deadline`` stays the pool deadline)."""
    timer = next_timer(state, rules)
    fields: tuple[datetime | None, TimerKind | None, datetime | None] = (
        (timer.at, timer.kind, timer.deadline) if timer is not None else (None, None, None)
    )
    if state.label_due is not None and (timer is None or state.label_due < timer.at):
        fields = (state.label_due, "churn_label", fields[2])
    if (state.timer_at, state.timer_kind, state.deadline) == fields:
        return state
    return state.model_copy(
        update={"timer_at": fields[0], "timer_kind": fields[1], "deadline": fields[2]}
    )


def fire(
    state: CustomerState, rules: PoolRules, now: datetime, assignee: str | None = None
) -> Outcome:
    """Apply the customer's timer if it is due; a stale one changes nothing. A reclaimed
    customer goes to ``assignee`` when the pool auto-assigns and one was found. A due churn
    label goes first; a pool timer due as well fires on the next tick."""
    if label_due(state, now):
        labelled, label = resolve_label(state)
        return Outcome(
            labelled.model_copy(update={"version": state.version + 1, "updated_at": now}),
            label=label)
    timer = next_timer(state, rules)
    if timer is None or timer.at > now:
        return Outcome(state, changed=False)
    owner = state.owner
    assert owner is not None  # a timer exists only for an owned customer
    s = state.model_copy(update={"version": state.version + 1, "updated_at": now})
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
    if assignee is None or assignee == owner:
        return reclaimed
    assigned = handover(reclaimed.state, assignee, now, "auto-assigned", SYSTEM_ACTOR, now)
    return Outcome(assigned.state, reclaimed.effects + assigned.effects)


def needs_assignee(state: CustomerState, rules: PoolRules, now: datetime) -> Pool | None:
    """The pool that will auto-assign this customer if its timer fires now as a reclaim."""
    if label_due(state, now):
        return None
    timer = next_timer(state, rules)
    if timer is None or timer.at > now or timer.kind != "reclaim":
        return None
    pool = rules.pool(state.pool_id)
    return pool if pool is not None and pool.auto_assign != "none" else None
