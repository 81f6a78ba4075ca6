"""Customer activity: interactions with reps, web clicks, and orders."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from schemas.base import Id, KeyId, Timestamp, WireModel

MAX_TEXT_BYTES = 16 * 1024


def _text_within_limit(text: str | None) -> str | None:
    if text is not None and len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ValueError(f"text is longer than {MAX_TEXT_BYTES} bytes of UTF-8")
    return text


Channel = Literal["call", "email", "sms", "chat", "wechat", "visit", "meeting", "ticket", "other"]
PageType = Literal["product", "pricing", "cart", "checkout", "support", "cancel", "other"]
OrderStatus = Literal["placed", "paid", "refunded", "cancelled"]


class Interaction(WireModel):
    """A contact between the customer and the company. An outbound one by the owner is a
    follow-up; ``rating`` is the customer's satisfaction with it (1 worst, 5 best)."""

    event_id: Id
    customer_id: KeyId
    occurred_at: Timestamp
    channel: Channel
    direction: Literal["inbound", "outbound"]
    rep_id: KeyId | None = None
    text: Annotated[str | None, AfterValidator(_text_within_limit)] = None
    duration_s: float | None = Field(default=None, ge=0, le=86_400)
    rating: int | None = Field(default=None, ge=1, le=5)


class Click(WireModel):
    event_id: Id
    customer_id: KeyId
    occurred_at: Timestamp
    session_id: Id
    page: Annotated[str, Field(min_length=1, max_length=2048)]
    page_type: PageType | None = None
    dwell_ms: int | None = Field(default=None, ge=0, le=86_400_000)


class Order(WireModel):
    event_id: Id
    customer_id: KeyId
    occurred_at: Timestamp
    order_id: Id
    status: OrderStatus
    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=4)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


InputEvent = Interaction | Click | Order
