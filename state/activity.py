"""Rolling activity windows: per-day tallies, summed over the last 7, 30 and 90 days.

A customer's activity is kept as one small tally per calendar day (UTC) of event time, and
days older than the longest window are dropped, so the state stays bounded however long a
customer lives while every window is exact to the day.
"""

from __future__ import annotations

from datetime import datetime
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

    def plus(self, other: DayTally) -> DayTally:
        return _tuple_new(DayTally, map(add, self, other))


_tuple_new = tuple.__new__  # DayTally._make without its length check: both are 12 long
TALLY_FIELDS = DayTally._fields
_EMPTY = DayTally()


def add_to_day(
    days: dict[int, DayTally], day: int, now_day: int, increments: DayTally
) -> dict[int, DayTally]:
    """A new mapping with ``increments`` added to ``day``, and days past the horizon dropped.
    An event older than the longest window changes nothing."""
    horizon = now_day - KEEP_DAYS
    if day <= horizon:
        return days
    if min(days, default=day) > horizon:
        kept = dict(days)
    else:
        kept = {d: t for d, t in days.items() if d > horizon}
    kept[day] = kept.get(day, _EMPTY).plus(increments)
    return kept


# The window band of a day by its age: 0 (0-6 days old), 1 (7-29) or 2 (30-89).
assert len(WINDOWS_DAYS) == 3
_BAND_OF_AGE = tuple(
    next(band for band, span in enumerate(WINDOWS_DAYS) if age < span)
    for age in range(KEEP_DAYS)
)


# The latest sums by the identity of the day tallies they were taken from. The churn
# features and then the read model both want the windows of a changed customer, on the same
# day; a customer's tallies are never changed in place (``add_to_day`` makes a new mapping),
# so the same mapping on the same day has the same sums. An entry holds its mapping, so the
# id cannot be reused while the entry lives.
_RECENT: dict[int, tuple[dict[int, DayTally], int, dict[int, DayTally]]] = {}
_RECENT_LIMIT = 4096  # a few batches' worth of customers


def windowed_sums(days: dict[int, DayTally], now_day: int) -> dict[int, DayTally]:
    """For every window span, the sum of the days' tallies inside it (see ``_RECENT``)."""
    recent = _RECENT.get(id(days))
    if recent is not None and recent[0] is days and recent[1] == now_day:
        return recent[2]
    sums = _windowed_sums(days, now_day)
    if len(_RECENT) >= _RECENT_LIMIT:
        _RECENT.clear()
    _RECENT[id(days)] = (days, now_day, sums)
    return sums


def _windowed_sums(days: dict[int, DayTally], now_day: int) -> dict[int, DayTally]:
    """Each day falls in exactly one disjoint age band (0-6, 7-29, 30-89 days old), each band
    is summed column by column, and the windows are the running sums of the bands. Runs for
    most changed customers of every batch (read model, churn features), hence the C-level
    loops. Counts stay ints, amounts floats.
    """
    bands: tuple[list[DayTally], ...] = ([], [], [])
    for day, tally in days.items():
        age = now_day - day
        if 0 <= age < KEEP_DAYS:
            bands[_BAND_OF_AGE[age]].append(tally)
    sums: dict[int, DayTally] = {}
    running = _EMPTY
    for span, band in zip(WINDOWS_DAYS, bands, strict=True):
        if len(band) == 1:
            running = running.plus(band[0])
        elif band:
            running = DayTally._make(map(sum, zip(running, *band, strict=True)))
        sums[span] = running
    return sums
