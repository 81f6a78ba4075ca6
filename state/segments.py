"""RFM segments: each customer with an order scored 1-5 on recency, frequency and monetary
value, and named by the scores (champions, loyal, ..., lost).

Recency is scored by bands of days since the last paid (else placed) order, so a quiet
customer slides down on its own: the band's end is one of its timers (state/timers.py).
Frequency (orders placed, lifetime) and monetary value (paid minus refunded, lifetime) are
scored by quintiles over the customers seen: the worker sums every partition's histograms
(analytics/tally.py) and hands the edges in (``SegmentEdges``); until enough customers have
ordered, the configured edges stand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from state.customer import CustomerState

Segment = Literal["prospect", "new", "champions", "loyal", "potential", "at_risk",
                  "cant_lose", "hibernating", "lost"]
SEGMENTS: tuple[Segment, ...] = ("prospect", "new", "champions", "loyal", "potential",
                                 "at_risk", "cant_lose", "hibernating", "lost")
VALUABLE: frozenset[str] = frozenset({"champions", "loyal"})
AT_RISK: frozenset[str] = frozenset({"at_risk", "cant_lose"})
QUINTILES = (0.2, 0.4, 0.6, 0.8)


@dataclass(frozen=True, slots=True)
class SegmentEdges:
    """Score k+2 needs a value above the k-th edge (score 1 is at or below the first).
    Recency in days, scored the other way: fewer days than the first edge scores 5, each
    edge reached takes one off."""

    recency_days: tuple[float, ...] = (30, 60, 90, 180)
    frequency: tuple[float, ...] = (1, 2, 3, 5)
    monetary: tuple[float, ...] = (100, 500, 1000, 5000)
    # How many ordering customers the quintiles need before they replace the defaults.
    min_customers: int = 50


def frequency_of(s: CustomerState) -> int:
    return s.orders_total


def monetary_of(s: CustomerState) -> float:
    return round(s.paid_total - s.refund_amount_total, 2)


def _ordered_since(s: CustomerState) -> datetime | None:
    return s.last_paid_at or s.last_order_at


def _above(value: float, edges: tuple[float, ...]) -> int:
    return 1 + sum(1 for edge in edges if value > edge)


def scores(s: CustomerState, edges: SegmentEdges, now: datetime) -> tuple[int, int, int] | None:
    since = _ordered_since(s)
    if since is None:
        return None
    age_days = max(0.0, (now - since).total_seconds() / 86_400)
    recency = 5 - sum(1 for edge in edges.recency_days if age_days >= edge)
    return (recency, _above(frequency_of(s), edges.frequency),
            _above(monetary_of(s), edges.monetary))


def named(recency: int, frequency: int, monetary: int) -> Segment:
    """The segment of an (R, F, M) score; F and M weigh as their rounded mean."""
    value = math.floor((frequency + monetary) / 2 + 0.5)
    if recency >= 4 and frequency == 1:
        return "new"
    if recency >= 4 and value >= 4:
        return "champions"
    if recency >= 3 and value >= 3:
        return "loyal"
    if recency >= 3:
        return "potential"
    if recency == 1 and value >= 4:
        return "cant_lose"
    if value >= 3:
        return "at_risk"
    return "hibernating" if recency == 2 else "lost"


def segment_of(s: CustomerState, edges: SegmentEdges, now: datetime) -> Segment:
    scored = scores(s, edges, now)
    return "prospect" if scored is None else named(*scored)


def next_slide(s: CustomerState, edges: SegmentEdges, now: datetime) -> datetime | None:
    """When the customer's recency next leaves its band, if it ever will."""
    since = _ordered_since(s)
    if since is None:
        return None
    for edge in edges.recency_days:
        at = since + timedelta(days=edge)
        if at > now:
            return at
    return None


def became_at_risk(before: str | None, after: str | None) -> bool:
    return before in VALUABLE and after in AT_RISK


# --- quintile edges from the customers seen ----------------------------------------------


def frequency_bucket(value: int) -> float:
    return float(min(value, 100))


def monetary_bucket(value: float) -> float:
    """Quarter-octaves of 1 + value: fine enough for quintiles of any currency's amounts."""
    if value <= 0:
        return 0.0
    step = math.floor(math.log2(1 + value) * 4) / 4
    return round(2 ** step - 1, 2)


def quintile_edges(histogram: Mapping[float, int]) -> tuple[float, ...] | None:
    """The values at the 20th, 40th, 60th and 80th percentiles of a histogram (bucket ->
    customers), or None when it is empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    edges: list[float] = []
    seen = 0
    buckets = sorted(histogram.items())
    at = 0
    for q in QUINTILES:
        while at < len(buckets) and seen + buckets[at][1] < q * total:
            seen += buckets[at][1]
            at += 1
        edges.append(buckets[min(at, len(buckets) - 1)][0])
    return tuple(edges)


def edges_from(frequency: Mapping[float, int], monetary: Mapping[float, int],
               defaults: SegmentEdges) -> SegmentEdges:
    """The edges for the customers seen: quintiles once enough have ordered."""
    if sum(frequency.values()) < defaults.min_customers:
        return defaults
    f, m = quintile_edges(frequency), quintile_edges(monetary)
    return SegmentEdges(defaults.recency_days, f or defaults.frequency,
                        m or defaults.monetary, defaults.min_customers)
