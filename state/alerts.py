"""The alert rules ops act on: pure functions of a customer's state and a new signal.

Every alert has a deterministic id (the customer, the type and the state version that raised
it), and a cooldown per customer and type: within it the same alert is not raised again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.outputs import Alert, Severity
from state.customer import CustomerState
from state.features import rfm, windows

CHURN_RISK = "churn_risk"
NEGATIVE_HIGH_VALUE = "negative_from_high_value"
NEGATIVE_RUN = "negative_run"
MODEL_DRIFT = "model_drift"
UNANSWERED = "unanswered"  # state/answers.py: the owner did not answer in time
UNANSWERED_ESCALATED = "unanswered_escalated"  # ...nor by the escalation time
SEGMENT_AT_RISK = "segment_at_risk"  # state/segments.py: a valuable customer slid to at risk
ALERT_TYPES = (CHURN_RISK, NEGATIVE_HIGH_VALUE, NEGATIVE_RUN, MODEL_DRIFT, UNANSWERED,
               UNANSWERED_ESCALATED, SEGMENT_AT_RISK)


@dataclass(frozen=True, slots=True)
class AlertRules:
    churn_high: float = 0.7  # raised when the risk reaches this...
    churn_low: float = 0.5  # ...and raised again only after it fell below this
    churn_critical: float = 0.9
    # Only a churn model that has proved itself raises alerts: enough labels learned, and a
    # rolling ROC AUC at least this good (a young model scores wildly).
    churn_after_labels: int = 1000
    churn_min_roc_auc: float = 0.7
    negative_text: float = -0.5  # a text scoring at or below this (in [-1, 1]) is negative
    high_value: float = 5000.0  # 90-day monetary value (paid minus refunded)
    negative_run: int = 3
    cooldown: timedelta = timedelta(hours=24)


def raise_alert(
    s: CustomerState, kind: str, severity: Severity, message: str, value: float | None,
    now: datetime, rules: AlertRules,
) -> tuple[CustomerState, Alert | None]:
    """The alert, unless one of its type went out for this customer within the cooldown."""
    last = s.alerted_at.get(kind)
    if last is not None and now - last < rules.cooldown:
        return s, None
    alert = Alert(
        alert_id=f"{s.customer_id}:{s.version}:{kind}", customer_id=s.customer_id, type=kind,
        severity=severity, message=message, value=value, at=now,
    )
    return s.model_copy(update={"alerted_at": {**s.alerted_at, kind: now}}), alert


def after_text(
    s: CustomerState, score: float, now: datetime, rules: AlertRules
) -> tuple[CustomerState, tuple[Alert, ...]]:
    """A new text scored ``score``: count the run of negatives, and alert on a negative text
    from a high-value customer and on a run of negatives."""
    negative = score <= rules.negative_text
    run = s.negative_run + 1 if negative else 0
    if run != s.negative_run:
        s = s.model_copy(update={"negative_run": run})
    if not negative:
        return s, ()
    alerts: list[Alert] = []
    # Lifetime spend bounds the 90-day value: most customers are ruled out without summing.
    monetary = rfm(s, now, windows(s, now))["monetary_90d"] if (
        s.paid_total >= rules.high_value) else 0.0
    if monetary >= rules.high_value:
        s, alert = raise_alert(
            s, NEGATIVE_HIGH_VALUE, "critical",
            f"negative interaction (sentiment {score:.2f}) from a customer worth "
            f"{monetary:,.2f} over 90 days", score, now, rules)
        alerts += [alert] if alert else []
    if run >= rules.negative_run:
        s, alert = raise_alert(s, NEGATIVE_RUN, "warning",
                               f"{run} negative interactions in a row", float(run), now, rules)
        alerts += [alert] if alert else []
    return s, tuple(alerts)


def after_churn_score(
    s: CustomerState, risk: float, now: datetime, rules: AlertRules
) -> tuple[CustomerState, Alert | None]:
    """Raise the churn alert when the risk reaches ``churn_high``; re-arm it only once the
    risk has fallen below ``churn_low``, so a risk hovering at the line does not flap."""
    if s.churn_alerting:
        if risk < rules.churn_low:
            return s.model_copy(update={"churn_alerting": False}), None
        return s, None
    if risk < rules.churn_high:
        return s, None
    s = s.model_copy(update={"churn_alerting": True})
    severity: Severity = "critical" if risk >= rules.churn_critical else "warning"
    return raise_alert(s, CHURN_RISK, severity, f"churn risk {risk:.2f}", risk, now, rules)
