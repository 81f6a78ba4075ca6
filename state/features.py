"""Derived numbers about a customer: rolling windows and recency/frequency/monetary value."""

from __future__ import annotations

from datetime import datetime

from state.activity import WINDOWS_DAYS, epoch_day, window_totals
from state.customer import CustomerState

# The window sums published in the read model, as (tally field, public name).
WINDOW_FIELDS = (
    ("interactions", "interactions"), ("inbound", "inbound"), ("tickets", "tickets"),
    ("sessions", "sessions"), ("clicks", "clicks"), ("dwell_ms", "dwell_ms"),
    ("pricing_views", "pricing_views"), ("cancel_views", "cancel_views"),
    ("orders", "orders"), ("paid_amount", "paid_amount"), ("refunds", "refunds"),
)


def days_since(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds() / 86_400)


def windows(state: CustomerState, now: datetime) -> dict[str, float]:
    """``{name}_{span}d`` for every window field and span, e.g. ``clicks_7d``."""
    today = epoch_day(now)
    out: dict[str, float] = {}
    for span in WINDOWS_DAYS:
        totals = window_totals(state.days, today, span)
        for field, name in WINDOW_FIELDS:
            out[f"{name}_{span}d"] = totals[field]
    return out


def rfm(state: CustomerState, now: datetime, windowed: dict[str, float]) -> dict[str, float]:
    """Recency (days since the last paid order, or since first seen if none), frequency
    (paid-or-placed orders in 90 days) and monetary value (paid minus refunded, 90 days)."""
    recency = days_since(state.last_paid_at or state.last_order_at or state.created_at, now)
    refunded_90d = sum(
        t.refund_amount for d, t in state.days.items() if d > epoch_day(now) - 90
    )
    return {
        "recency_days": recency if recency is not None else 0.0,
        "frequency_90d": windowed["orders_90d"],
        "monetary_90d": windowed["paid_amount_90d"] - refunded_90d,
    }
