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

``activity`` is derived from the document too (its day tallies, totals and times), and
computing and dumping it in the worker cost a third of the worker's own time per event
(in-process, scoring off: 100 -> 68 µs per event). The commit script computes it inside
Redis from ``activity_layout()``, with only the recency sent along, for ~20 µs of Redis'
time per customer: Redis runs on another core, the worker's Python on one.
``activity()`` here is its definition, and an integration test holds the script to it
(tests/integration/test_store.py).
"""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter

from state.activity import TALLY_FIELDS, WINDOWS_DAYS
from state.customer import CustomerState
from state.features import FREQUENCY, MONETARY, MONEY, WINDOW_FIELDS, rfm, windows

FLAT_FIELDS = (
    "customer_id", "version", "name", "pool_id", "level", "status", "locked", "owner",
    "owner_since", "pooled_since", "last_follow_up_at", "last_event_at", "updated_at",
    "sentiment", "churn_risk", "negative_run", "segment", "awaiting_answer_since",
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
    for name, decimals in _TOTALS:
        value = getattr(state, name)
        out[name] = round(value, decimals) if decimals else value
    out["open_orders"] = len(state.open_orders)
    out.update(zip(_ACTIVITY_TIMES, _times(state), strict=True))
    return out


# The lifetime totals in ``activity``, with the decimals kept.
_TOTALS = (("orders_total", 0), ("paid_total", 2), ("refunds_total", 0),
           ("refund_amount_total", 2))


def activity_layout() -> list[str | int]:
    """How the commit script builds ``activity`` from a state document, as its arguments:
    the window spans; each window column (name, its place in a day tally counting from 1,
    decimals kept); the totals (name, decimals); the list counted (``open_orders``); the
    times copied; the frequency and the monetary value with the windows they come from.
    The recency comes with each customer (``recency_days``: time arithmetic)."""
    layout: list[str | int] = [len(WINDOWS_DAYS), *WINDOWS_DAYS, len(WINDOW_FIELDS)]
    for name in WINDOW_FIELDS:
        layout += [name, TALLY_FIELDS.index(name) + 1, 2 if name in MONEY else 0]
    layout.append(len(_TOTALS))
    for name, decimals in _TOTALS:
        layout += [name, decimals]
    layout += ["open_orders", len(_ACTIVITY_TIMES), *_ACTIVITY_TIMES]
    layout += [*FREQUENCY, *MONETARY]  # as rfm() derives them from the windows
    return layout


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
