"""Ownership commands from the CRM, one per customer, applied in order per customer."""

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from schemas.base import Id, KeyId, Timestamp, WireModel

CommandType = Literal[
    "register", "assign", "claim", "transfer", "release", "move_pool", "freeze", "discard",
    "restore", "lock", "unlock", "mark_won", "mark_churned", "forget", "acknowledge_alert",
]


class _Command(WireModel):
    command_id: Id
    customer_id: KeyId
    issued_at: Timestamp
    actor: KeyId

    @property
    def event_id(self) -> str:
        """Commands are deduplicated like events, by their id."""
        return self.command_id

    @property
    def occurred_at(self) -> Timestamp:
        return self.issued_at


class Register(_Command):
    type: Literal["register"]
    pool_id: KeyId
    level: Annotated[str, Field(min_length=1, max_length=16)]
    name: Annotated[str, Field(min_length=1, max_length=256)]
    owner: KeyId | None = None


class Assign(_Command):
    type: Literal["assign"]
    rep_id: KeyId


class Claim(_Command):
    type: Literal["claim"]
    rep_id: KeyId


class Transfer(_Command):
    type: Literal["transfer"]
    to_rep_id: KeyId


class Release(_Command):
    type: Literal["release"]
    pool_id: KeyId
    reason: Annotated[str, Field(min_length=1, max_length=512)]


class MovePool(_Command):
    type: Literal["move_pool"]
    pool_id: KeyId


class Freeze(_Command):
    type: Literal["freeze"]


class Discard(_Command):
    type: Literal["discard"]


class Restore(_Command):
    type: Literal["restore"]


class Lock(_Command):
    type: Literal["lock"]


class Unlock(_Command):
    type: Literal["unlock"]


class MarkWon(_Command):
    type: Literal["mark_won"]


class MarkChurned(_Command):
    type: Literal["mark_churned"]


class Forget(_Command):
    """Erase what identifies the customer (the right to be forgotten: PIPL, GDPR). Its later
    events are dead letters (``forgotten``) until it is registered again."""

    type: Literal["forget"]


class AcknowledgeAlert(_Command):
    """Someone in ops took an alert about the customer (the console sends it): part of the
    customer's story when it is lost (state/loss.py)."""

    type: Literal["acknowledge_alert"]
    alert_id: Id


Command = Annotated[
    Register | Assign | Claim | Transfer | Release | MovePool | Freeze | Discard | Restore
    | Lock | Unlock | MarkWon | MarkChurned | Forget | AcknowledgeAlert,
    Field(discriminator="type"),
]
COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)
