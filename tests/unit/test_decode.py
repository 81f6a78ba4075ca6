"""Every kind of bad input gets a clear reason; good input passes."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from schemas.decode import InputKind, InvalidRecord, dead_letter, decode
from tests.factories import T0, as_json, click, order

SKEW = timedelta(minutes=5)
GOOD_ORDER = orjson.loads(as_json(order()))


def order_with(**fields: object) -> bytes:
    return orjson.dumps(GOOD_ORDER | fields)


@pytest.mark.parametrize(
    ("kind", "key", "value", "reason", "mentions"),
    [
        ("clicks", b"c1", b"\xff\xfe\x00", "undecodable", "not UTF-8"),
        ("clicks", b"c1", None, "undecodable", "no value"),
        ("orders", b"c1", b'{"event_id": ', "invalid_json", "JSON"),
        ("orders", b"c1", b"[1, 2]", "schema_violation", ""),
        ("orders", b"c1", order_with(status="shipped"), "schema_violation", "status"),
        ("orders", b"c1", order_with(occurred_at="2026-11-01T09:00:00"), "schema_violation",
         "occurred_at"),
        ("orders", b"c1", order_with(amount="-5"), "absurd_value", "amount"),
        ("orders", b"c1", order_with(currency="yuan"), "schema_violation", "currency"),
        ("interactions", b"c1", orjson.dumps({
            "event_id": "e", "customer_id": "c1", "occurred_at": T0.isoformat(),
            "channel": "call", "direction": "inbound", "text": "长" * 6000}),
         "absurd_value", "16384 bytes"),
        ("interactions", b"c1", orjson.dumps({
            "event_id": "e", "customer_id": "c1", "occurred_at": T0.isoformat(),
            "channel": "call", "direction": "inbound", "rating": 9}), "absurd_value", "rating"),
        ("orders", b"c1", order_with(occurred_at=(T0 + timedelta(days=2)).isoformat()),
         "absurd_value", "future"),
        ("orders", b"c2", order_with(), "key_mismatch", "'c2'"),
        ("commands", b"c1", orjson.dumps({"command_id": "x", "customer_id": "c1",
         "issued_at": T0.isoformat(), "type": "teleport", "actor": "a"}),
         "schema_violation", "teleport"),
        ("commands", b"c1", orjson.dumps({"command_id": "x", "customer_id": "c1",
         "issued_at": T0.isoformat(), "type": "transfer", "actor": "a"}),
         "schema_violation", "to_rep_id"),
    ],
)
def test_bad_input_is_refused_with_its_reason(
    kind: InputKind, key: bytes, value: bytes | None, reason: str, mentions: str
) -> None:
    with pytest.raises(InvalidRecord) as refused:
        decode(kind, key, value, T0, SKEW)
    assert refused.value.reason == reason
    assert mentions in refused.value.error


def test_unknown_fields_are_tolerated_and_a_missing_key_is_fine() -> None:
    value = orjson.dumps(orjson.loads(as_json(click())) | {"utm_source": "wechat"})
    assert decode("clicks", None, value, T0, SKEW).customer_id == "c1"


def test_dead_letter_keeps_the_raw_bytes() -> None:
    failure = InvalidRecord("undecodable", "value is not UTF-8")
    letter = dead_letter("crm.clicks", 3, 42, b"c1", b"\xff\x00", failure, T0)
    assert (letter.value, letter.value_encoding) == ("/wA=", "base64")
    assert (letter.key, letter.partition, letter.offset) == ("c1", 3, 42)
    text = dead_letter("crm.clicks", 0, 1, None, b"{oops", failure, T0)
    assert (text.value, text.value_encoding, text.key) == ("{oops", "utf-8", None)
