"""Streams with a known outcome: N clicks per customer, each with a unique event id."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson

from crmstream.settings import Settings


def counted_clicks(settings: Settings, customers: int, per_customer: int,
                   start: int = 0, seed: int = 1) -> list[tuple[str, str, bytes]]:
    """Clicks ``start .. start+per_customer-1`` of every customer, interleaved at random.
    A customer's ``version`` equals its number of applied clicks, so a lost event or one
    counted twice shows up as a wrong version."""
    now = datetime.now(UTC).isoformat()
    messages = [
        (settings.topics.clicks, f"c{c:04d}", orjson.dumps({
            "event_id": f"c{c:04d}-{n}", "customer_id": f"c{c:04d}", "occurred_at": now,
            "session_id": f"s{n // 5}", "page": "/pricing", "page_type": "pricing",
        }))
        for c in range(customers) for n in range(start, start + per_customer)
    ]
    random.Random(seed).shuffle(messages)
    # Keep each customer's own events in order (Kafka keeps per-key order anyway).
    return messages
