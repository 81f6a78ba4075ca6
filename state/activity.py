"""Rolling activity windows: per-day tallies, summed over the last 7, 30 and 90 days.

A customer's activity is kept as one small tally per calendar day (UTC) of event time, and
days older than the longest window are dropped, so the state stays bounded however long a
customer lives while every window is exact to the day.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from operator import add
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


@cache
def _indices(fields: tuple[str, ...]) -> list[int]:
    return [TALLY_FIELDS.index(name) for name in fields]


def windowed_sums(
    days: dict[int, DayTally], now_day: int, fields: tuple[str, ...] = TALLY_FIELDS
) -> dict[int, list[float]]:
    """For every window span, the sums of ``fields`` (in that order).

    Each day is added to exactly one disjoint age band (0-6, 7-29, 30-89 days old), and
    the windows are the running sums of the bands: one vector addition per day.
    """
    indices = _indices(fields)
    bands = [[0.0] * len(fields) for _ in WINDOWS_DAYS]
    for day, tally in days.items():
        age = now_day - day
        if not 0 <= age < KEEP_DAYS:
            continue
        band = 0 if age < WINDOWS_DAYS[0] else (1 if age < WINDOWS_DAYS[1] else 2)
        bands[band] = list(map(add, bands[band], [tally[i] for i in indices]))
    sums: dict[int, list[float]] = {}
    running = [0.0] * len(fields)
    for span, band_sum in zip(WINDOWS_DAYS, bands, strict=True):
        running = list(map(add, running, band_sum))
        sums[span] = running
    return sums
