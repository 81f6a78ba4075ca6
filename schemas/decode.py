"""Raw Kafka record -> validated message, or a clear reason why it is a dead letter."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Literal, get_args

from pydantic import TypeAdapter, ValidationError

from schemas.commands import COMMAND_ADAPTER, Command
from schemas.events import Click, Interaction, Order
from schemas.outputs import DeadLetter

Inbound = Interaction | Click | Order | Command
InputKind = Literal["interactions", "clicks", "orders", "commands"]
DeadLetterReason = Literal[
    "undecodable", "invalid_json", "schema_violation", "absurd_value", "key_mismatch",
    "wrong_partition", "forgotten", "processing_error",
]
DEAD_LETTER_REASONS: tuple[DeadLetterReason, ...] = get_args(DeadLetterReason)

# A dead letter keeps a record whole up to this many bytes of key and value: base64 of the
# largest kept value stays within a wire string's 65,536 characters, and the dead letter
# within Kafka's default 1 MiB record (the original may use all of it).
KEPT_VALUE_BYTES = 48 * 1024
KEPT_KEY_BYTES = 1024
KEPT_ERROR_CHARS = 2000

ADAPTERS: dict[InputKind, TypeAdapter[Inbound]] = {
    "interactions": TypeAdapter(Interaction),
    "clicks": TypeAdapter(Click),
    "orders": TypeAdapter(Order),
    "commands": COMMAND_ADAPTER,  # type: ignore[dict-item]
}

# Pydantic error types that mean "well-formed but out of any sensible range".
_RANGE_ERRORS = frozenset({
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "string_too_long",
    "too_long", "decimal_max_digits", "decimal_max_places", "decimal_whole_digits",
    "value_error",
})


class InvalidRecord(Exception):
    def __init__(self, reason: DeadLetterReason, error: str) -> None:
        super().__init__(f"{reason}: {error}")
        self.reason: DeadLetterReason = reason
        self.error = error


def decode(
    kind: InputKind, key: bytes | None, value: bytes | None, now: datetime,
    max_future_skew: timedelta, max_past_age: timedelta = timedelta(days=365 * 30),
) -> Inbound:
    """Validate one record of an input topic. Raises ``InvalidRecord`` with the reason."""
    if value is None:
        raise InvalidRecord("undecodable", "record has no value")
    try:
        message = ADAPTERS[kind].validate_json(value)
    except ValidationError as exc:
        raise _classify(exc, value) from None
    if key is not None and key.decode("utf-8", "replace") != message.customer_id:
        raise InvalidRecord(
            "key_mismatch",
            f"record key {key.decode('utf-8', 'replace')!r} is not customer_id "
            f"{message.customer_id!r}",
        )
    if message.occurred_at - now > max_future_skew:
        raise InvalidRecord(
            "absurd_value", f"time {message.occurred_at.isoformat()} is in the future"
        )
    if now - message.occurred_at > max_past_age:
        raise InvalidRecord(
            "absurd_value", f"time {message.occurred_at.isoformat()} is older than "
            f"{max_past_age.days} days"
        )
    return message


def _classify(exc: ValidationError, value: bytes) -> InvalidRecord:
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as err:
            return InvalidRecord("undecodable", f"value is not UTF-8: {err}")
        return InvalidRecord("invalid_json", first["msg"])
    where = ".".join(str(part) for part in first["loc"]) or "message"
    reason: DeadLetterReason = "absurd_value" if first["type"] in _RANGE_ERRORS else (
        "schema_violation"
    )
    extra = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return InvalidRecord(reason, f"{where}: {first['msg']}{extra}")


def _text_or_base64(raw: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def _kept(raw: bytes, limit: int) -> tuple[str, Literal["utf-8", "base64"], bool]:
    """``raw`` as text (or base64), whole if it fits in ``limit`` bytes, else its prefix;
    and whether it was cut. A UTF-8 prefix ends on a whole character."""
    if len(raw) <= limit:
        return (*_text_or_base64(raw), False)
    prefix = raw[:limit]
    for cut in range(4):  # a character is at most 4 bytes of UTF-8
        try:
            return prefix[:limit - cut].decode("utf-8"), "utf-8", True
        except UnicodeDecodeError:
            continue
    return base64.b64encode(prefix).decode("ascii"), "base64", True


def dead_letter(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
    failure: InvalidRecord, now: datetime,
) -> DeadLetter:
    """The record with why it was refused: whole when it fits, else a prefix with the
    original's size and SHA-256 (the original stays at topic/partition/offset)."""
    raw = value or b""
    key_text, key_encoding, key_cut = (
        _kept(key, KEPT_KEY_BYTES) if key is not None else (None, "utf-8", False))
    value_text, value_encoding, value_cut = _kept(raw, KEPT_VALUE_BYTES)
    return DeadLetter(
        source_topic=topic, partition=partition, offset=offset, key=key_text,
        key_encoding=key_encoding, key_truncated=key_cut, value=value_text,
        value_encoding=value_encoding, value_truncated=value_cut, value_bytes=len(raw),
        value_sha256=hashlib.sha256(raw).hexdigest() if value_cut else None,
        reason=failure.reason, error=failure.error[:KEPT_ERROR_CHARS], at=now,
    )
