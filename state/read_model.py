"""What other applications read from Redis about a customer.

The fields a CRM screen or another service looks up one by one (ownership, pool, status,
the follow-up clock) are flat hash fields; the rolling activity windows, RFM value and
lifetime totals travel together as one JSON field, ``activity``. One field instead of
thirty keeps a batch write cheap for the worker and for Redis (measured: the flat layout
cost about 45 µs per customer more).

The flat fields are copies of the state document's values, so the commit script projects
them from the document inside Redis (state/commit_batch.lua): formatting and sending them
cost the worker ~15 µs per changed customer, about a tenth of its time per event. This
module says which fields, and their text when the document leaves a value out.
"""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter

from state.customer import CustomerState
from state.features import rfm, windows

FLAT_FIELDS = (
    "customer_id", "version", "name", "pool_id", "level", "status", "locked", "owner",
    "owner_since", "pooled_since", "last_follow_up_at", "last_event_at", "updated_at",
    "sentiment", "churn_risk", "negative_run",
)
_ACTIVITY_TIMES = (
    "created_at", "last_inbound_at", "last_interaction_at", "last_click_at", "last_order_at",
    "last_paid_at",
)
_times = attrgetter(*_ACTIVITY_TIMES)


def activity(state: CustomerState, now: datetime) -> dict[str, object]:
    """Rolling windows (``clicks_7d``...), RFM, lifetime totals and the other "last" times."""
    windowed = windows(state, now)
    out: dict[str, object] = {**windowed, **rfm(state, now, windowed)}
    out.update(
        orders_total=state.orders_total,
        paid_total=round(state.paid_total, 2),
        refunds_total=state.refunds_total,
        refund_amount_total=round(state.refund_amount_total, 2),
        open_orders=len(state.open_orders),
    )
    out.update(zip(_ACTIVITY_TIMES, _times(state), strict=True))
    return out


def _text(value: object) -> str:
    """A flat field's text: "" when absent, "1"/"0" for flags (times come from the
    document: RFC 3339 as pydantic writes them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def flat_defaults() -> list[tuple[str, str]]:
    """Each flat field with its text when the state document leaves it out (the document
    omits values at their defaults)."""
    fields = {name: CustomerState.model_fields[name] for name in FLAT_FIELDS}
    return [(name, "" if field.is_required() else _text(field.get_default()))
            for name, field in fields.items()]
