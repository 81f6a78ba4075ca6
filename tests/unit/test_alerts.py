"""The alert rules: hysteresis, negative texts, runs of negatives, cooldowns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from state.alerts import AlertRules, after_churn_score, after_text
from state.customer import CustomerState, new_customer
from state.transitions import apply
from tests.factories import T0, order

RULES = AlertRules(churn_high=0.7, churn_low=0.5, churn_critical=0.9, negative_text=-0.5,
                   high_value=1000, negative_run=3, cooldown=timedelta(hours=1))


def customer() -> CustomerState:
    return new_customer("c1", "default", "C", T0)


@pytest.mark.parametrize(("risks", "alerts"), [
    ([0.2, 0.5, 0.69], []),
    ([0.2, 0.71], ["warning"]),
    ([0.95], ["critical"]),
    # hovering at the line: one alert, not one per crossing
    ([0.72, 0.68, 0.72, 0.66, 0.75], ["warning"]),
    # falling below the low mark re-arms it (three hours apart: past the cooldown)
    ([0.72, 0.4, 0.8], ["warning", "warning"]),
])
def test_churn_alert_has_hysteresis(risks: list[float], alerts: list[str]) -> None:
    s, raised = customer(), []
    for hour, risk in enumerate(risks):
        s, alert = after_churn_score(s, risk, T0 + timedelta(hours=1.5 * hour), RULES)
        if alert is not None:
            raised.append(alert.severity)
    assert raised == alerts


def test_a_churn_alert_within_the_cooldown_is_not_raised_again() -> None:
    s, first = after_churn_score(customer(), 0.8, T0, RULES)
    s, _ = after_churn_score(s, 0.3, T0 + timedelta(minutes=10), RULES)
    s, again = after_churn_score(s, 0.8, T0 + timedelta(minutes=20), RULES)
    assert first is not None
    assert again is None
    assert s.churn_alerting  # the hysteresis follows the risk even when the alert is held


@pytest.mark.parametrize(("scores", "run", "kinds"), [
    ([0.5, -0.9], 1, []),
    ([-0.9, -0.8], 2, []),
    ([-0.9, -0.8, -0.6], 3, ["negative_run"]),
    ([-0.9, -0.8, 0.1, -0.6], 1, []),  # a neutral text ends the run
    ([-0.9, -0.8, -0.6, -0.7], 4, ["negative_run"]),  # once, then the cooldown holds
])
def test_runs_of_negative_texts(scores: list[float], run: int, kinds: list[str]) -> None:
    s, raised = customer(), []
    for n, score in enumerate(scores):
        s = s.model_copy(update={"version": n + 1})
        s, alerts = after_text(s, score, T0, RULES)
        raised += [a.type for a in alerts]
    assert s.negative_run == run
    assert raised == kinds


def test_a_negative_text_from_a_high_value_customer_is_critical() -> None:
    s = customer()
    for status in ("placed", "paid"):
        s = apply(s, order(status=status, amount="1500"), T0).state
    _, alerts = after_text(s, -0.7, T0, RULES)
    [alert] = alerts
    assert (alert.type, alert.severity, alert.value) == ("negative_from_high_value",
                                                         "critical", -0.7)
    assert alert.alert_id == f"c1:{s.version}:negative_from_high_value"
    _, calm = after_text(s, -0.2, T0, RULES)  # not negative enough: nothing
    assert calm == ()


def test_a_low_value_customer_gets_no_high_value_alert() -> None:
    _, alerts = after_text(customer(), -0.9, T0, RULES)
    assert alerts == ()
