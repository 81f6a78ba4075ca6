"""Rolling activity windows: per-day tallies, summed over the last 7, 30 and 90 days.

A customer's activity is kept as one small tally per calendar day (UTC) of event time, and
days older than the longest window are dropped, so the state stays bounded however long a
customer lives while every window is exact to the day.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

WINDOWS_DAYS = (7, 30, 90)
KEEP_DAYS = max(WINDOWS_DAYS)
SECONDS_PER_DAY = 86_400


def epoch_day(at: datetime) -> int:
    return int(at.timestamp() // SECONDS_PER_DAY)


class DayTally(NamedTuple):
    """What one customer did on one day. A named tuple: a customer holds up to 90 of them,
    and adding to one or summing them is on the worker's per-event path."""

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
        return self._replace(**{
            name: getattr(self, name) + amount for name, amount in increments.items() if amount
        })


TALLY_FIELDS = DayTally._fields
_EMPTY = DayTally()


def add_to_day(
    days: dict[int, DayTally], day: int, now_day: int, **increments: float
) -> dict[int, DayTally]:
    """A new mapping with ``increments`` added to ``day``, and days past the horizon dropped.
    An event older than the longest window changes nothing."""
    if day <= now_day - KEEP_DAYS:
        return days
    kept = {d: t for d, t in days.items() if d > now_day - KEEP_DAYS}
    kept[day] = kept.get(day, _EMPTY).plus(**increments)
    return kept


def windowed_sums(days: dict[int, DayTally], now_day: int) -> dict[int, list[float]]:
    """For every window span, the sums of every tally field (in field order), in one pass."""
    sums = {span: [0.0] * len(TALLY_FIELDS) for span in WINDOWS_DAYS}
    for day, tally in days.items():
        age = now_day - day
        if age < 0:
            continue
        for span, acc in sums.items():
            if age < span:
                sums[span] = [a + b for a, b in zip(acc, tally, strict=True)]
    return sums
