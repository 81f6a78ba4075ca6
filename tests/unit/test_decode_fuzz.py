"""The decoder under fuzzing: whatever bytes arrive, it returns a message that can be written
back as JSON, or refuses the record with a documented reason whose dead letter can be
built and published. It never raises anything else."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemas.base import to_json
from schemas.decode import (
    DEAD_LETTER_REASONS,
    InputKind,
    InvalidRecord,
    dead_letter,
    decode,
)
from tests.factories import T0, as_json, click, command, interaction, order

SKEW = timedelta(minutes=5)
KINDS: tuple[InputKind, ...] = ("interactions", "clicks", "orders", "commands")
VALID: dict[InputKind, list[dict[str, Any]]] = {
    "interactions": [orjson.loads(as_json(interaction(text="好的, thanks", rating=4)))],
    "clicks": [orjson.loads(as_json(click()))],
    "orders": [orjson.loads(as_json(order()))],
    "commands": [orjson.loads(as_json(c)) for c in (
        command("register", pool_id="p1", level="A", name="Acme 公司"),
        command("claim", rep_id="r1"), command("transfer", to_rep_id="r2"),
        command("release", pool_id="p1", reason="no budget"))],
}
FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=40) | st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                                              "c:1", "{c1}", " ", "客户", "NaN", "1e400"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20,
)


def check(kind: InputKind, key: bytes | None, value: bytes | None) -> None:
    """The property: a message that serialises, or a documented refusal."""
    refused: InvalidRecord | None = None
    try:
        message = decode(kind, key, value, T0, SKEW)
    except InvalidRecord as failure:
        refused = failure
    if refused is None:
        assert orjson.loads(to_json(message))["customer_id"] == message.customer_id
        return
    assert refused.reason in DEAD_LETTER_REASONS
    assert refused.error
    letter = dead_letter("crm.x", 0, 0, key, value, refused, T0)
    assert len(to_json(letter)) < 1024 * 1024


@FUZZ
@given(kind=st.sampled_from(KINDS), key=st.none() | st.binary(max_size=40),
       value=st.none() | st.binary(max_size=300))
@example(kind="clicks", key=None, value=b"[" * 100_000 + b"]" * 100_000)
@example(kind="orders", key=None, value=b'{"event_id": "\\ud800"}')
def test_arbitrary_bytes(kind: InputKind, key: bytes | None, value: bytes | None) -> None:
    check(kind, key, value)


@FUZZ
@given(kind=st.sampled_from(KINDS), value=json_values)
def test_arbitrary_json(kind: InputKind, value: Any) -> None:
    check(kind, None, json.dumps(value, allow_nan=True).encode())


@FUZZ
@given(data=st.data(), kind=st.sampled_from(KINDS))
def test_mutated_valid_messages(data: st.DataObject, kind: InputKind) -> None:
    message = dict(data.draw(st.sampled_from(VALID[kind])))
    for _ in range(data.draw(st.integers(1, 3))):
        field = data.draw(st.sampled_from(sorted(message)) | st.text(max_size=8))
        if data.draw(st.booleans()) and field in message:
            del message[field]
        else:
            message[field] = data.draw(json_values)
    raw = json.dumps(message, allow_nan=True, ensure_ascii=data.draw(st.booleans())).encode()
    cut = data.draw(st.none() | st.integers(0, len(raw)))  # a record cut short, sometimes
    key = data.draw(st.sampled_from([None, str(message.get("customer_id", "")).encode()]))
    check(kind, key, raw if cut is None else raw[:cut])


@FUZZ
@given(kind=st.sampled_from(KINDS), escape=st.sampled_from(
    ["\\ud800", "\\udfff", "\\ud83d", "\\ud83d\\ude00", "\\u0000", "\\ud800\\ud800"]))
def test_surrogate_escapes_in_every_text_field(kind: InputKind, escape: str) -> None:
    for message in VALID[kind]:
        for field, value in message.items():
            if isinstance(value, str):
                body = orjson.dumps(message | {field: "x"}).replace(
                    b'"x"', f'"{escape}"'.encode(), 1)
                check(kind, None, body)
