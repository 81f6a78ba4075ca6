"""What crmstream publishes: notices to reps, alerts to ops, scores, dead letters, and the
console's change signals."""

from typing import Literal

from pydantic import Field

from schemas.base import Id, Timestamp, WireModel

NoticeType = Literal[
    "reclaim_warning", "reclaimed", "assigned", "transferred_out", "released", "rejected",
    "unanswered",
]
Severity = Literal["info", "warning", "critical"]


class Notice(WireModel):
    """A message to one sales rep (record key = ``rep_id``). ``notice_id`` is derived from the
    transition that caused it, so a replay after a crash repeats the same id."""

    notice_id: Id
    rep_id: Id
    customer_id: Id
    type: NoticeType
    pool_id: Id
    reason: str
    deadline: Timestamp | None = None
    at: Timestamp


class Alert(WireModel):
    alert_id: Id
    customer_id: Id
    type: str
    severity: Severity
    message: str
    value: float | None = None
    at: Timestamp


class StateChanged(WireModel):
    """Who and what one committed batch touched, published for the console's open pages
    (never a Kafka record): they re-read what concerns them, so a page moves the moment the
    state does. Ids only; what a page shows still goes through its access rules."""

    reps: tuple[Id, ...] = ()  # their owners, before or after
    customers: tuple[Id, ...] = ()
    pools: tuple[Id, ...] = ()  # their pools, before or after


class DeliveryDeadLetter(WireModel):
    """A notice or alert the delivery service could not deliver to a robot, with the reason
    (record key = the robot's name); ``payload`` is the original message, to send again."""

    delivery_id: str
    kind: Literal["notice", "alert"]
    robot: str
    platform: str
    reason: str
    attempts: int
    payload: str
    at: Timestamp


class Score(WireModel):
    customer_id: Id
    churn_risk: float = Field(ge=0, le=1)
    sentiment: float | None = Field(default=None, ge=-1, le=1)  # None: no text scored yet
    churn_model_version: str
    sentiment_model_version: str
    at: Timestamp


class DeadLetter(WireModel):
    """An input record that could not be processed, with the reason. The record is kept whole
    when it fits in a dead letter; a larger one keeps a prefix (``value_truncated``) with the
    original's size and SHA-256, and stays whole in its topic at ``partition``/``offset``
    for the topic's retention."""

    source_topic: str
    partition: int
    offset: int
    key: str | None
    key_encoding: Literal["utf-8", "base64"] = "utf-8"
    key_truncated: bool = False
    value: str
    value_encoding: Literal["utf-8", "base64"]
    value_truncated: bool = False
    value_bytes: int = Field(default=0, ge=0)
    value_sha256: str | None = None
    reason: str
    error: str
    at: Timestamp
