"""What other applications read from Redis about a customer, as flat string fields."""

from __future__ import annotations

from datetime import datetime

from state.customer import CustomerState
from state.features import rfm, windows

_TIME_FIELDS = (
    "owner_since", "pooled_since", "created_at", "last_follow_up_at", "last_inbound_at",
    "last_interaction_at", "last_click_at", "last_order_at", "last_paid_at", "last_event_at",
    "updated_at",
)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}"


def read_model(state: CustomerState, now: datetime) -> dict[str, str]:
    """The customer's hash fields. Absent values are empty strings; times are RFC 3339."""
    fields: dict[str, str] = {
        "customer_id": state.customer_id,
        "version": str(state.version),
        "name": state.name or "",
        "pool_id": state.pool_id,
        "level": state.level,
        "status": state.status,
        "locked": "1" if state.locked else "0",
        "owner": state.owner or "",
        "orders_total": str(state.orders_total),
        "paid_total": _number(state.paid_total),
        "refunds_total": str(state.refunds_total),
        "refund_amount_total": _number(state.refund_amount_total),
        "open_orders": str(len(state.open_orders)),
    }
    for name in _TIME_FIELDS:
        when: datetime | None = getattr(state, name)
        fields[name] = when.isoformat() if when is not None else ""
    windowed = windows(state, now)
    for name, number in (windowed | rfm(state, now, windowed)).items():
        fields[name] = _number(number)
    return fields
