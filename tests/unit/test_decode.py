"""Every kind of bad input gets a clear reason; good input passes."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import orjson
import pytest

from schemas.base import to_json
from schemas.decode import KEPT_VALUE_BYTES, InputKind, InvalidRecord, dead_letter, decode
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
        ("orders", None, order_with(occurred_at="0001-01-01T00:00:00Z"), "absurd_value",
         "older than"),
        ("orders", None, order_with(customer_id="c:1"), "schema_violation", "customer_id"),
        ("orders", None, order_with(customer_id="{c1}"), "schema_violation", "customer_id"),
        ("orders", None, order_with(customer_id="c 1"), "schema_violation", "customer_id"),
        ("orders", None, order_with(customer_id=" c1"), "schema_violation", "customer_id"),
        ("orders", None, order_with(customer_id="c\n1"), "schema_violation", "customer_id"),
        ("orders", None, order_with(customer_id="c" * 100_000), "absurd_value", "customer_id"),
        ("commands", None, orjson.dumps({"command_id": "x", "customer_id": "c1",
         "issued_at": T0.isoformat(), "type": "claim", "actor": "a", "rep_id": "r{1}"}),
         "schema_violation", "rep_id"),
        ("commands", None, orjson.dumps({"command_id": "x", "customer_id": "c1",
         "issued_at": T0.isoformat(), "type": "register", "actor": "a", "pool_id": "p:1",
         "level": "A", "name": "n"}), "schema_violation", "pool_id"),
    ],
)
def test_bad_input_is_refused_with_its_reason(
    kind: InputKind, key: bytes | None, value: bytes | None, reason: str, mentions: str
) -> None:
    with pytest.raises(InvalidRecord) as refused:
        decode(kind, key, value, T0, SKEW)
    assert refused.value.reason == reason
    assert mentions in refused.value.error


@pytest.mark.parametrize("customer", ["c1", "客户-7", "acme.cn@rep_1", "Ünïcode-ß"])
def test_ids_of_letters_digits_and_dash_underscore_dot_at_are_accepted(customer: str) -> None:
    assert decode("orders", None, order_with(customer_id=customer), T0, SKEW).customer_id == (
        customer)


def test_the_age_horizon_is_configurable() -> None:
    old = order_with(occurred_at="2001-01-01T00:00:00Z")
    assert decode("orders", None, old, T0, SKEW).customer_id == "c1"
    with pytest.raises(InvalidRecord, match="older than 3650 days"):
        decode("orders", None, old, T0, SKEW, max_past_age=timedelta(days=3650))


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


@pytest.mark.parametrize("size", [KEPT_VALUE_BYTES + 1, 100_000, 1024 * 1024])
def test_a_value_too_large_to_keep_keeps_a_prefix_its_size_and_sha256(size: int) -> None:
    value = ("长" * size).encode()[:size]  # cut inside a character: the prefix must not be
    failure = InvalidRecord("invalid_json", "x" * 100_000)
    letter = dead_letter("crm.clicks", 2, 7, b"k" * 100_000, value, failure, T0)
    assert letter.value_truncated
    assert letter.key_truncated
    assert letter.value_bytes == size
    assert letter.value_sha256 == hashlib.sha256(value).hexdigest()
    assert value.startswith(letter.value.encode())
    assert len(letter.value.encode()) > KEPT_VALUE_BYTES - 4
    assert len(letter.error) <= 2000
    assert len(to_json(letter)) < 128 * 1024  # far within Kafka's 1 MiB record


def test_a_value_that_fits_is_kept_whole_without_a_digest() -> None:
    value = b"\xff" * KEPT_VALUE_BYTES
    letter = dead_letter("crm.clicks", 0, 1, None, value, InvalidRecord("undecodable", "e"), T0)
    assert (letter.value_truncated, letter.value_sha256) == (False, None)
    assert base64.b64decode(letter.value) == value
    assert letter.value_bytes == KEPT_VALUE_BYTES
