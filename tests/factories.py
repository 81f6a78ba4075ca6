"""Small builders for test messages: every field has a sensible default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from schemas.commands import COMMAND_ADAPTER, Command
from schemas.events import Click, Interaction, Order

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_seq = iter(range(10**9))


def at(minutes: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, days=days)


def interaction(customer: str = "c1", **fields: Any) -> Interaction:
    body = {"event_id": f"i{next(_seq)}", "customer_id": customer, "occurred_at": T0,
            "channel": "call", "direction": "outbound"} | fields
    return Interaction.model_validate(body)


def click(customer: str = "c1", **fields: Any) -> Click:
    body = {"event_id": f"k{next(_seq)}", "customer_id": customer, "occurred_at": T0,
            "session_id": "s1", "page": "/pricing", "page_type": "pricing",
            "dwell_ms": 1000} | fields
    return Click.model_validate(body)


def order(customer: str = "c1", **fields: Any) -> Order:
    body = {"event_id": f"o{next(_seq)}", "customer_id": customer, "occurred_at": T0,
            "order_id": "ord-1", "status": "placed", "amount": Decimal("100"),
            "currency": "CNY"} | fields
    return Order.model_validate(body)


def command(kind: str, customer: str = "c1", **fields: Any) -> Command:
    body = {"command_id": f"cmd{next(_seq)}", "customer_id": customer, "issued_at": T0,
            "type": kind, "actor": "admin"} | fields
    return COMMAND_ADAPTER.validate_python(body)


def as_json(message: Interaction | Click | Order | Command) -> bytes:
    adapter: TypeAdapter[Any] = TypeAdapter(type(message))
    return adapter.dump_json(message)
