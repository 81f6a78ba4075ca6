"""A corpus of odd records, each with what must become of it: applied (to which customer),
or dead-lettered with which reason. Found by trying what producers get wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from crmstream.settings import Topics

# The largest value the broker takes with its default limits (message.max.bytes, 1 MiB
# with the batch's overhead): everything the broker can deliver must end somewhere.
LARGEST_VALUE = 1024 * 1024 - 512


class Odd(NamedTuple):
    name: str
    topic: str
    key: bytes | None
    value: bytes
    outcome: str  # a dead-letter reason, or "applied:<customer id>"


def corpus(topics: Topics) -> list[Odd]:
    now = datetime.now(UTC).isoformat()

    def click(customer: str, **fields: Any) -> dict[str, Any]:
        return {"event_id": f"e-{customer}", "customer_id": customer, "occurred_at": now,
                "session_id": "s1", "page": "/pricing"} | fields

    def order(**fields: Any) -> bytes:
        body = {"event_id": "o1", "customer_id": "c-order", "occurred_at": now,
                "order_id": "A", "status": "paid", "amount": "Q", "currency": "CNY"}
        raw = orjson.dumps(body | {k: v for k, v in fields.items() if k != "amount"})
        return raw.replace(b'"Q"', fields.get("amount", "1").encode())

    text = orjson.dumps({"event_id": "i1", "customer_id": "c-text", "occurred_at": now,
                         "channel": "chat", "direction": "inbound", "text": "Q"})
    big = orjson.dumps(click("c-big"))[:-1] + b', "pad": "' + b"x" * LARGEST_VALUE
    dup = (b'{"event_id": "d1", "customer_id": "first", "occurred_at": "' + now.encode()
           + b'", "session_id": "s", "page": "/", "customer_id": "c-dup"}')
    c = topics.clicks
    return [
        Odd("empty value", c, None, b"", "invalid_json"),
        Odd("null", c, None, b"null", "schema_violation"),
        Odd("array", c, None, b"[1, 2]", "schema_violation"),
        Odd("number", c, None, b"42", "schema_violation"),
        Odd("string", c, None, b'"click"', "schema_violation"),
        Odd("not UTF-8", c, None, b"\xff\xfe\x00", "undecodable"),
        Odd("100 KB page (the record that stalled a partition)", c, b"c-100k",
            orjson.dumps(click("c-100k", page="/" + "p" * 100_000)), "absurd_value"),
        Odd("largest value the broker takes", c, None, big[:LARGEST_VALUE], "invalid_json"),
        Odd("100,000-character id", c, None, orjson.dumps(click("i" * 100_000)),
            "absurd_value"),
        Odd("100,000 nested brackets", c, None, b"[" * 100_000 + b"]" * 100_000,
            "invalid_json"),
        Odd("NaN amount", topics.orders, None, order(amount="NaN"), "schema_violation"),
        Odd("1e400 amount", topics.orders, None, order(amount="1e400"), "schema_violation"),
        Odd("invalid surrogate escape", topics.interactions, None,
            text.replace(b'"Q"', b'"\\ud800"'), "invalid_json"),
        Odd("duplicate JSON keys (the last one counts)", c, None, dup, "applied:c-dup"),
        Odd("year 1", c, None, orjson.dumps(click("c-y1", occurred_at="0001-01-01T00:00:00Z")),
            "absurd_value"),
        Odd("year 9999", c, None,
            orjson.dumps(click("c-y9999", occurred_at="9999-12-31T23:59:59Z")), "absurd_value"),
        Odd("unknown command", topics.commands, None, orjson.dumps({
            "command_id": "x1", "customer_id": "c-cmd", "issued_at": now, "type": "teleport",
            "actor": "a"}), "schema_violation"),
        Odd("id with :{}", c, None, orjson.dumps(click("c:{1}")), "schema_violation"),
        Odd("non-ASCII id", c, "客户-九".encode(), orjson.dumps(click("客户-九")),
            "applied:客户-九"),
        Odd("no key", c, None, orjson.dumps(click("c-nokey")), "applied:c-nokey"),
    ]
