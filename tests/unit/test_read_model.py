"""The read model: which flat fields, their text when absent, and the activity JSON."""

from __future__ import annotations

from state.read_model import FLAT_FIELDS, activity, flat_defaults
from state.transitions import apply
from tests.factories import at, click, order


def test_every_flat_field_has_its_text_when_absent() -> None:
    defaults = dict(flat_defaults())
    assert list(defaults) == list(FLAT_FIELDS)
    assert (defaults["status"], defaults["locked"], defaults["version"]) == ("pooled", "0", "0")
    assert defaults["owner"] == defaults["churn_risk"] == defaults["owner_since"] == ""


def test_activity_holds_windows_rfm_totals_and_times() -> None:
    now = at(days=10)
    state = None
    for event in (click(occurred_at=at(days=9)),
                  order(occurred_at=at(days=8), status="paid", amount=80)):
        state = apply(state, event, now).state
    assert state is not None
    got = activity(state, now)
    assert (got["clicks_7d"], got["paid_amount_30d"], got["monetary_90d"]) == (1, 80, 80)
    assert got["paid_total"] == 80
    assert got["last_click_at"] == at(days=9)
