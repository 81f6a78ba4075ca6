"""Rolling windows: exact to the day, bounded in size."""

from __future__ import annotations

import pytest

from state.activity import KEEP_DAYS, TALLY_FIELDS, DayTally, add_to_day, windowed_sums
from state.features import rfm, windows
from state.transitions import apply
from tests.factories import at, click, order

TODAY = 20_000
CLICKS = TALLY_FIELDS.index("clicks")
ONE_CLICK = DayTally(clicks=1)


@pytest.mark.parametrize(
    ("event_days_ago", "span", "counted"),
    [(0, 7, 1), (6, 7, 1), (7, 7, 0), (29, 30, 1), (30, 30, 0), (89, 90, 1), (90, 90, 0)],
)
def test_window_edges(event_days_ago: int, span: int, counted: int) -> None:
    days = add_to_day({}, TODAY - event_days_ago, TODAY, ONE_CLICK)
    assert windowed_sums(days, TODAY)[span][CLICKS] == counted


def test_old_days_are_dropped_so_state_stays_bounded() -> None:
    days: dict[int, DayTally] = {}
    for day in range(TODAY - 400, TODAY + 1):
        days = add_to_day(days, day, day, ONE_CLICK)
    assert len(days) == KEEP_DAYS
    assert windowed_sums(days, TODAY)[90][CLICKS] == 90


def test_sums_follow_the_day_and_the_tallies_they_are_taken_from() -> None:
    days = add_to_day({}, TODAY - 6, TODAY, ONE_CLICK)
    assert windowed_sums(days, TODAY)[7][CLICKS] == 1
    assert windowed_sums(days, TODAY)[7][CLICKS] == 1  # asked again: the same answer
    assert windowed_sums(days, TODAY + 1)[7][CLICKS] == 0  # a day later the click left
    more = add_to_day(days, TODAY, TODAY, ONE_CLICK)
    assert windowed_sums(more, TODAY)[7][CLICKS] == 2
    assert windowed_sums(days, TODAY)[7][CLICKS] == 1  # the older tallies are unchanged


def test_events_older_than_the_longest_window_change_nothing() -> None:
    days = add_to_day({}, TODAY - KEEP_DAYS, TODAY, ONE_CLICK)
    assert days == {}


def test_windows_and_rfm_of_a_customer() -> None:
    now = at(days=40)
    state = None
    for event in (
        click(occurred_at=at(days=39)), click(occurred_at=at(days=39), session_id="s2"),
        order(occurred_at=at(days=20)), order(occurred_at=at(days=21), status="paid", amount=80),
        order(occurred_at=at(days=35), status="refunded", amount=30),
    ):
        state = apply(state, event, now).state
    assert state is not None
    w = windows(state, now)
    assert (w["clicks_7d"], w["sessions_7d"], w["orders_30d"], w["paid_amount_30d"]) == (
        2, 2, 1, 80)
    r = rfm(state, now, w)
    assert r["frequency_90d"] == 1
    assert r["monetary_90d"] == 50
    assert r["recency_days"] == pytest.approx(19, abs=0.01)
