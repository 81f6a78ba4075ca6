"""Rolling activity windows: per-day tallies, summed over the last 7, 30 and 90 days.

A customer's activity is kept as one small tally per calendar day (UTC) of event time, and
days older than the longest window are dropped, so the state stays bounded however long a
customer lives while every window is exact to the day.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

WINDOWS_DAYS = (7, 30, 90)
KEEP_DAYS = max(WINDOWS_DAYS)
SECONDS_PER_DAY = 86_400


def epoch_day(at: datetime) -> int:
    return int(at.timestamp() // SECONDS_PER_DAY)


class DayTally(BaseModel):
    """What one customer did on one day. Field names are short: thousands are stored."""

    model_config = ConfigDict(frozen=True)

    interactions: int = 0
    inbound: int = 0
    tickets: int = 0
    sessions: int = 0
    clicks: int = 0
    dwell_ms: int = 0
    pricing_views: int = 0
    cancel_views: int = 0
    orders: int = 0
    paid_amount: float = 0.0
    refunds: int = 0
    refund_amount: float = 0.0

    def plus(self, **increments: float) -> DayTally:
        values = self.model_dump()
        for name, amount in increments.items():
            values[name] += amount
        return DayTally.model_validate(values)


TALLY_FIELDS = tuple(DayTally.model_fields)


def add_to_day(
    days: dict[int, DayTally], day: int, now_day: int, **increments: float
) -> dict[int, DayTally]:
    """A new mapping with ``increments`` added to ``day``, and days past the horizon dropped.
    An event older than the longest window changes nothing."""
    if day <= now_day - KEEP_DAYS:
        return days
    kept = {d: t for d, t in days.items() if d > now_day - KEEP_DAYS}
    kept[day] = kept.get(day, DayTally()).plus(**increments)
    return kept


def window_totals(days: dict[int, DayTally], now_day: int, span_days: int) -> dict[str, float]:
    """Sums of every tally field over the ``span_days`` days ending today (inclusive)."""
    totals = dict.fromkeys(TALLY_FIELDS, 0.0)
    for day, tally in days.items():
        if now_day - span_days < day <= now_day:
            for name in TALLY_FIELDS:
                totals[name] += getattr(tally, name)
    return totals
