"""The two ways a customer changes: an event arrives, or its pool timer fires. Either way
the next timer is recomputed from the new state, so the schedule can never drift from it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from state.customer import CustomerState
from state.timers import fire, scheduled
from state.transitions import NO_SIGNALS, Event, Outcome, Policy, Signals, apply


def on_event(
    state: CustomerState | None, event: Event, now: datetime, policy: Policy,
    signals: Signals = NO_SIGNALS,
) -> Outcome:
    outcome = apply(state, event, now, policy, signals)
    if not outcome.changed:
        return outcome
    return replace(outcome, state=scheduled(outcome.state, policy.rules))


def on_timer(
    state: CustomerState, now: datetime, policy: Policy, assignee: str | None = None
) -> Outcome:
    outcome = fire(state, policy.rules, now, assignee)
    if not outcome.changed:
        return outcome
    return replace(outcome, state=scheduled(outcome.state, policy.rules))
