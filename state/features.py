"""Derived numbers about a customer: rolling windows and recency/frequency/monetary value."""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter

from state.activity import TALLY_FIELDS, WINDOWS_DAYS, epoch_day, windowed_sums
from state.customer import CustomerState

# The rolling sums published in the read model (the other day tallies stay in ``doc``).
WINDOW_FIELDS = (
    "interactions", "sessions", "clicks", "dwell_ms", "orders", "paid_amount", "refunds",
    "refund_amount",
)
MONEY = ("paid_amount", "refund_amount")  # amounts, kept to 2 decimals; the rest are counts
_COUNTS = tuple(name for name in WINDOW_FIELDS if name not in MONEY)
_PICK_COUNTS = itemgetter(*(TALLY_FIELDS.index(name) for name in _COUNTS))
_PICK_MONEY = itemgetter(*(TALLY_FIELDS.index(name) for name in MONEY))
# The published names in the order ``windows`` computes the values: every count of every
# span, then the amounts of every span (built once, not per customer).
_KEYS = (*(f"{name}_{span}d" for span in WINDOWS_DAYS for name in _COUNTS),
         *(f"{name}_{span}d" for span in WINDOWS_DAYS for name in MONEY))


def days_since(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds() / 86_400)


def windows(state: CustomerState, now: datetime) -> dict[str, float]:
    """``{name}_{span}d`` for every window field and span, e.g. ``clicks_7d``."""
    sums = windowed_sums(state.days, epoch_day(now))
    totals = [sums[span] for span in WINDOWS_DAYS]
    counts = [count for total in totals for count in _PICK_COUNTS(total)]
    money = [round(amount, 2) for total in totals for amount in _PICK_MONEY(total)]
    return dict(zip(_KEYS, counts + money, strict=True))


def recency_days(state: CustomerState, now: datetime) -> float:
    """Days since the last paid order, or the last order, or since first seen if none."""
    recency = days_since(state.last_paid_at or state.last_order_at or state.created_at, now)
    return round(recency, 3) if recency is not None else 0.0


# Frequency and monetary value from the windows: (name, the window it is) and (name, the
# window paid, the window refunded). The commit script derives them by these names too.
FREQUENCY = ("frequency_90d", "orders_90d")
MONETARY = ("monetary_90d", "paid_amount_90d", "refund_amount_90d")


def rfm(state: CustomerState, now: datetime, windowed: dict[str, float]) -> dict[str, float]:
    """Recency (``recency_days``), frequency (paid-or-placed orders in 90 days) and monetary
    value (paid minus refunded, 90 days)."""
    frequency, orders = FREQUENCY
    monetary, paid, refunded = MONETARY
    return {
        "recency_days": recency_days(state, now),
        frequency: windowed[orders],
        monetary: round(windowed[paid] - windowed[refunded], 2),
    }
