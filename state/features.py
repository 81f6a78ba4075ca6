"""Derived numbers about a customer: rolling windows and recency/frequency/monetary value."""

from __future__ import annotations

from datetime import datetime

from state.activity import WINDOWS_DAYS, epoch_day, windowed_sums
from state.customer import CustomerState

# The rolling sums published in the read model (the other day tallies stay in ``doc``).
WINDOW_FIELDS = (
    "interactions", "sessions", "clicks", "dwell_ms", "orders", "paid_amount", "refunds",
    "refund_amount",
)
_MONEY = frozenset({"paid_amount", "refund_amount"})
# (span, [(tally index, published key, is money)]): names built once, not per customer.
_PUBLISHED = [
    (span, [(f"{name}_{span}d", name in _MONEY) for name in WINDOW_FIELDS])
    for span in WINDOWS_DAYS
]


def days_since(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds() / 86_400)


def windows(state: CustomerState, now: datetime) -> dict[str, float]:
    """``{name}_{span}d`` for every window field and span, e.g. ``clicks_7d``."""
    out: dict[str, float] = {}
    sums = windowed_sums(state.days, epoch_day(now), WINDOW_FIELDS)
    for span, published in _PUBLISHED:
        for (key, money), total in zip(published, sums[span], strict=True):
            out[key] = round(total, 2) if money else int(total)
    return out


def rfm(state: CustomerState, now: datetime, windowed: dict[str, float]) -> dict[str, float]:
    """Recency (days since the last paid order, or since first seen if none), frequency
    (paid-or-placed orders in 90 days) and monetary value (paid minus refunded, 90 days)."""
    recency = days_since(state.last_paid_at or state.last_order_at or state.created_at, now)
    return {
        "recency_days": round(recency, 3) if recency is not None else 0.0,
        "frequency_90d": windowed["orders_90d"],
        "monetary_90d": round(windowed["paid_amount_90d"] - windowed["refund_amount_90d"], 2),
    }
