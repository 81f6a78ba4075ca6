"""The ways a customer changes: an event arrives, its timer fires, or the churn model gives
it a new score. Every time the next timer is recomputed from the new state, so the schedule
can never drift from it."""

from __future__ import annotations

from datetime import datetime

from state.churn import ModelInfo, with_risk
from state.customer import ChurnFeatures, CustomerState
from state.timers import fire, scheduled
from state.transitions import NO_SIGNALS, Event, Outcome, Policy, Signals, apply


def on_event(
    state: CustomerState | None, event: Event, now: datetime, policy: Policy,
    signals: Signals = NO_SIGNALS,
) -> Outcome:
    outcome = apply(state, event, now, policy, signals)
    return _with_timer(outcome, policy)


def on_timer(
    state: CustomerState, now: datetime, policy: Policy, assignee: str | None = None
) -> Outcome:
    return _with_timer(fire(state, policy.rules, now, assignee), policy)


def _with_timer(outcome: Outcome, policy: Policy) -> Outcome:
    if not outcome.changed:
        return outcome
    timed = scheduled(outcome.state, policy.rules)
    return outcome if timed is outcome.state else outcome._replace(state=timed)


def on_score(
    state: CustomerState, risk: float, features: ChurnFeatures, now: datetime, policy: Policy,
    info: ModelInfo,
) -> Outcome:
    """A new churn risk: in the state, maybe on the scores topic and as an alert, and a
    prediction saved for its label. ``with_risk`` sets the label timer itself (what
    ``scheduled`` would, without recomputing the pool rules for every score)."""
    scored, effects = with_risk(state, risk, features, now, policy.churn, policy.alerts,
                                info)
    return Outcome(scored, effects)
