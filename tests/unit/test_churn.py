"""Churn, the pure part: features, when to score again, scores, and the delayed labels."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest

from scoring.churn import ChurnModel, row_features
from scoring.evaluate import evaluate_churn
from state.alerts import AlertRules
from state.churn import (
    CHURN_FEATURES,
    ChurnRules,
    ModelInfo,
    churn_features,
    worth_rescoring,
)
from state.customer import CustomerState, new_customer
from state.engine import on_event, on_score, on_timer
from state.pool_rules import PoolRules
from state.transitions import Policy
from tests.factories import T0, click, command, order

HORIZON = timedelta(days=10)
POLICY = Policy(churn=ChurnRules(label_horizon=HORIZON, publish_delta=0.05,
                                 rescore_after=timedelta(days=1)))
VERSIONS = ModelInfo(churn="churn-v", sentiment="sentiment-v", churn_labels=1000,
                     churn_roc_auc=0.9)


def customer() -> CustomerState:
    return new_customer("c1", "default", "C", T0)


def seen(times: int) -> CustomerState:
    """A customer crmstream has seen ``times`` events of (clicks of one session)."""
    state = customer()
    for _ in range(times):
        state = on_event(state, click(occurred_at=T0), T0, POLICY).state
    return state


def active() -> CustomerState:
    """A customer that did something itself (a click): only those can churn."""
    return seen(1)


def scored(s: CustomerState, risk: float, days: float = 0) -> CustomerState:
    now = T0 + timedelta(days=days)
    return on_score(s, risk, tuple(churn_features(s, now)), now, POLICY, VERSIONS).state


def test_features_are_dense_numbers() -> None:
    s = on_event(customer(), click(page_type="cancel"), T0, POLICY).state
    values = churn_features(s, T0 + timedelta(days=2))
    assert all(type(v) is float for v in values)
    x = dict(zip(CHURN_FEATURES, values, strict=True))
    assert x["cancel_views_7d"] > 0
    assert x["orders_7d"] == 0.0
    assert x["days_since_click"] == pytest.approx(math.log1p(2.0))
    assert x["days_since_order"] == x["tenure_days_log"]  # never: as old as the customer
    assert len(churn_features(customer(), T0)) == len(CHURN_FEATURES)  # always all of them


@pytest.mark.parametrize(("change", "worth"), [
    (lambda s: s, False),
    (lambda s: s.model_copy(update={"last_click_at": T0}), False),  # a click, same session
    (lambda s: s.model_copy(update={"last_session_id": "s2"}), True),
    (lambda s: s.model_copy(update={"owner": "rep-2"}), True),
    (lambda s: s.model_copy(update={"last_order_at": T0}), True),
    (lambda s: s.model_copy(update={"refunds_total": 1}), True),
    (lambda s: s.model_copy(update={"churn_scored_at": T0 - timedelta(days=2)}), True),
    (lambda s: s.model_copy(update={"status": "churned"}), False),
])
def test_worth_rescoring(change: object, worth: bool) -> None:
    before = scored(seen(2), 0.2)
    after = change(before)  # type: ignore[operator]
    assert worth_rescoring(before, after, T0, POLICY.churn) is worth


@pytest.mark.parametrize(("events", "min_events", "worth"), [
    (0, 2, False),  # registered by nobody, seen by nobody
    (1, 2, False),  # just met: nothing to score yet
    (2, 2, True),
    (5, 2, True),
    (1, 1, True),  # scored from the first event, if so configured
    (2, 3, False),
])
def test_a_customer_is_first_scored_once_seen_often_enough(
    events: int, min_events: int, worth: bool,
) -> None:
    rules = ChurnRules(min_events=min_events)
    assert worth_rescoring(None, seen(events), T0, rules) is worth


@pytest.mark.parametrize(("risks", "published"), [
    ([0.2], [0.2]),
    ([0.2, 0.22, 0.24], [0.2]),  # small moves stay off the topic
    ([0.2, 0.22, 0.26], [0.2, 0.26]),  # measured from the last published score
    ([0.2, 0.1], [0.2, 0.1]),
])
def test_scores_are_published_when_they_move(risks: list[float], published: list[float]
                                            ) -> None:
    s, out = customer(), []
    for risk in risks:
        outcome = on_score(s, risk, tuple(churn_features(s, T0)), T0, POLICY, VERSIONS)
        s = outcome.state
        out += [e.churn_risk for e in outcome.effects if e.__class__.__name__ == "Score"]
    assert out == published
    assert s.churn_risk == risks[-1]


def test_a_score_carries_the_model_versions() -> None:
    outcome = on_score(customer(), 0.3, (), T0, POLICY, VERSIONS)
    [score] = outcome.effects
    assert score.model_dump(include={"churn_model_version", "sentiment_model_version"}) == {
        "churn_model_version": "churn-v", "sentiment_model_version": "sentiment-v"}


@pytest.mark.parametrize(("labels", "roc_auc", "effects"), [
    (1000, 0.8, ["Alert", "Score"]),
    (999, 0.8, ["Score"]),  # a model that has learned too little raises no alert
    (5000, 0.65, ["Score"]),  # nor one that does not rank churners well yet
])
def test_a_high_risk_raises_an_alert_with_the_score(labels: int, roc_auc: float,
                                                    effects: list[str]) -> None:
    info = ModelInfo(churn="c", sentiment="s", churn_labels=labels, churn_roc_auc=roc_auc)
    outcome = on_score(customer(), 0.95, (), T0, Policy(alerts=AlertRules()), info)
    assert sorted(e.__class__.__name__ for e in outcome.effects) == effects


def test_the_first_prediction_is_saved_and_schedules_its_label() -> None:
    s = scored(active(), 0.3)
    assert s.label_features is not None
    assert s.label_due == T0 + HORIZON
    assert (s.timer_kind, s.timer_at) == ("churn_label", T0 + HORIZON)
    later = scored(s, 0.6, days=1)  # a pending prediction is not replaced
    assert later.label_features == s.label_features
    assert later.label_due == s.label_due


@pytest.mark.parametrize(("activity_day", "churned"), [
    (None, True),  # silent for the whole horizon
    (3, False),  # clicked three days after the prediction
])
def test_the_horizon_labels_the_saved_prediction(activity_day: int | None, churned: bool
                                                 ) -> None:
    s = on_event(customer(), click(occurred_at=T0), T0, POLICY).state
    s = scored(s, 0.3)
    saved = s.label_features
    if activity_day is not None:
        day = T0 + timedelta(days=activity_day)
        s = on_event(s, order(occurred_at=day), day, POLICY).state
    assert on_timer(s, T0 + HORIZON - timedelta(seconds=1), POLICY).changed is False
    outcome = on_timer(s, T0 + HORIZON, POLICY)
    assert outcome.label is not None
    assert outcome.label.churned is churned
    assert outcome.label.features == saved  # the features of the prediction, not of now
    assert outcome.state.label_features is None
    assert outcome.state.timer_kind != "churn_label"  # spent (an RFM slide may be next)


def test_a_customer_that_never_did_anything_gives_no_label() -> None:
    s = scored(customer(), 0.3)
    assert s.churn_risk == 0.3
    assert s.label_features is None
    assert s.timer_kind is None


def test_mark_churned_is_a_positive_label_at_once() -> None:
    s = scored(active(), 0.3)
    outcome = on_event(s, command("mark_churned"), T0 + timedelta(days=1), POLICY)
    assert outcome.label is not None
    assert outcome.label.churned
    assert outcome.state.status == "churned"
    assert outcome.state.label_due is None


def reclaiming_after(period: str) -> Policy:
    """One pool "p" that reclaims a customer after ``period`` without a follow-up."""
    rules = PoolRules.model_validate({
        "levels": ["C"], "default_pool": "p",
        "pools": [{"id": "p", "name": "P", "rules": [
            {"type": "no_follow_up", "periods": {"C": period}}]}],
    })
    return Policy(rules=rules, churn=POLICY.churn)


def owned_in_p(policy: Policy) -> CustomerState:
    return on_event(new_customer("c1", "p", "C", T0), command("assign", rep_id="rep-1"), T0,
                    policy).state


def test_a_label_does_not_hide_a_pool_deadline() -> None:
    policy = reclaiming_after("30d")
    s = owned_in_p(policy)
    s = on_event(s, click(occurred_at=T0), T0, policy).state
    s = on_score(s, 0.3, (), T0, policy, VERSIONS).state
    assert (s.timer_kind, s.deadline) == ("churn_label", T0 + timedelta(days=30))
    s = on_timer(s, T0 + HORIZON, policy).state  # the label fires first
    assert (s.timer_kind, s.timer_at) == ("reclaim", T0 + timedelta(days=30))


@pytest.mark.parametrize(("row", "x"), [
    ({"tenure": "12", "contract": "Month-to-month", "id": "7"},
     {"tenure": 12.0, "tenure_log": pytest.approx(2.5649, abs=1e-4),
      "contract": "Month-to-month"}),
    ({"charges": "", "delta": -3, "flag": True}, {"delta": -3.0, "flag": 1.0,
                                                  "flag_log": pytest.approx(0.6931, abs=1e-4)}),
])
def test_row_features(row: dict[str, object], x: dict[str, object]) -> None:
    assert row_features(row, skip=frozenset({"id"})) == x


def test_evaluate_churn_learns_a_signal(tmp_path: Path) -> None:
    import random

    rng = random.Random(5)
    lines = ["id,months,plan,left"]
    for n in range(1500):
        months = rng.randint(1, 60)
        plan = rng.choice(["monthly", "yearly"])
        p = 0.05 + 0.4 * (plan == "monthly") + 0.4 * (months < 12)
        lines.append(f"{n},{months},{plan},{'Yes' if rng.random() < p else 'No'}")
    path = tmp_path / "churn.csv"
    path.write_text("\n".join(lines))
    result = evaluate_churn(path, "left", frozenset({"id"}))
    assert result["n"] == 1500
    assert result["roc_auc"] > 0.75
    model = ChurnModel()
    assert model.probability({"months": 1.0}) == 0.5  # an empty model knows nothing


def test_a_score_schedules_exactly_what_the_rules_would() -> None:
    from state.timers import scheduled

    policy = reclaiming_after("5d")
    for s in (customer(), active(), owned_in_p(policy), scored(active(), 0.2)):
        after = on_score(s, 0.4, (), T0, policy, VERSIONS).state
        assert after == scheduled(after, policy.rules)


def test_batch_scores_equal_river_one_at_a_time() -> None:
    import random

    rng = random.Random(3)
    model = ChurnModel()
    rows = [[rng.random() * rng.choice([1, 10, 100]) for _ in CHURN_FEATURES]
            for _ in range(300)]
    for row in rows[:200]:
        model.learn(dict(zip(CHURN_FEATURES, row, strict=True)), rng.random() < 0.3)
    seen, risks = model.score_rows(CHURN_FEATURES, rows)
    assert seen[0] == [round(v, 4) for v in rows[0]]  # what is kept for the label
    for row, risk in zip(seen, risks, strict=True):
        assert risk == pytest.approx(
            model.probability(dict(zip(CHURN_FEATURES, row, strict=True))), abs=1e-12)
