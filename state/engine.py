"""The ways a customer changes: an event arrives, its timer fires, or the churn model gives
it a new score. After an event or a timer its RFM segment is scored again (an alert when a
valuable customer slides to at risk) and its next timer recomputed from the new state, so
neither can drift from it."""

from __future__ import annotations

from datetime import datetime

from state.alerts import SEGMENT_AT_RISK, raise_alert
from state.churn import ModelInfo, with_risk
from state.customer import ChurnFeatures, CustomerState
from state.segments import became_at_risk, segment_of
from state.timers import fire, scheduled
from state.transitions import NO_SIGNALS, Event, Outcome, Policy, Signals, apply


def on_event(
    state: CustomerState | None, event: Event, now: datetime, policy: Policy,
    signals: Signals = NO_SIGNALS,
) -> Outcome:
    outcome = apply(state, event, now, policy, signals)
    return _settled(outcome, policy, now)


def on_timer(
    state: CustomerState, now: datetime, policy: Policy, assignee: str | None = None
) -> Outcome:
    return _settled(fire(state, policy.rules, now, assignee, policy.segments), policy, now)


def _settled(outcome: Outcome, policy: Policy, now: datetime) -> Outcome:
    if not outcome.changed:
        return outcome
    state, effects = outcome.state, outcome.effects
    segment = segment_of(state, policy.segments, now) if state.status != "forgotten" else None
    if segment != state.segment:
        before = state.segment
        state = state.model_copy(update={"segment": segment})
        if became_at_risk(before, segment):
            state, alert = raise_alert(
                state, SEGMENT_AT_RISK, "warning", f"RFM segment fell from {before} to {segment}",
                None, now, policy.alerts)
            effects += (alert,) if alert is not None else ()
    timed = scheduled(state, policy.rules, policy.segments)
    if timed is outcome.state and effects is outcome.effects:
        return outcome
    return outcome._replace(state=timed, effects=effects)


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
