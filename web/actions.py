"""What people do from the pages: each action is a JSON request that the API checks, stamps
with the signed-in person and a command id, and sends to ``crm.commands`` like any CRM
would. The outcome reaches the page through the live streams (the ``assigned``,
``transferred_out``, ``released`` or ``rejected`` notice). A refused request answers 400,
401 or 403 with the reason, and nothing reaches Kafka. The same ``request_id`` makes the
same command id, and is sent once (a repeat within a day answers the same and sends
nothing; the worker would apply it once anyway).

| POST | body | who may |
|---|---|---|
| `/console/api/claim` | `customer_id, pool_id, request_id` | a rep of the pool, for itself |
| `/console/api/transfer` | `customer_id, to_rep_id, request_id` | the owner, its pool's admins |
| `/console/api/release` | `customer_id, reason, request_id` | the owner, its pool's admins |
| `/console/api/admin` | `customer_id, type, rep_id?, request_id` | its pool's admins |

(``type``: assign (with ``rep_id``), freeze, discard, restore, lock or unlock.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar, cast

import aiohttp.web
from faust.web import Request
from pydantic import BaseModel, StringConstraints, ValidationError

from schemas.base import KeyId, to_json
from schemas.commands import COMMAND_ADAPTER
from state.pool_rules import PoolRules
from web.access import Action, Administer, ClaimFrom, HandOver, refusal
from web.auth import Authenticator
from web.console_store import ConsoleStore
from web.identity import Identity, Unauthenticated
from web.reader import ConsoleReader

RequestId = Annotated[str, StringConstraints(pattern=r"^[\w-]{1,64}$")]
SendCommand = Callable[[str, bytes], Awaitable[None]]  # (customer id, command JSON)


class CommandBody(BaseModel):
    """What every action names: the customer, and an idempotency key. Never who acts."""

    customer_id: KeyId
    request_id: RequestId


class ClaimBody(CommandBody):
    pool_id: KeyId


class TransferBody(CommandBody):
    to_rep_id: KeyId


class ReleaseBody(CommandBody):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class AdminBody(CommandBody):
    type: Literal["assign", "freeze", "discard", "restore", "lock", "unlock"]
    rep_id: KeyId | None = None  # for assign


Body = TypeVar("Body", bound=CommandBody)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Actions:
    def __init__(self, reader: ConsoleReader, store: ConsoleStore, authenticator: Authenticator,
                 rules: PoolRules, send_command: SendCommand) -> None:
        self.reader = reader
        self.store = store
        self.authenticator = authenticator
        self.rules = rules
        self.send_command = send_command

    async def claim(self, request: Request) -> Any:
        async def decide(who: Identity, body: ClaimBody) -> tuple[Action, dict[str, Any]]:
            return ClaimFrom(body.pool_id), {"type": "claim", "rep_id": who.person}

        return await self._act(request, ClaimBody, decide)

    async def transfer(self, request: Request) -> Any:
        async def decide(who: Identity, body: TransferBody) -> tuple[Action, dict[str, Any]]:
            return await self._hand_over(body), {"type": "transfer",
                                                 "to_rep_id": body.to_rep_id}

        return await self._act(request, TransferBody, decide)

    async def release(self, request: Request) -> Any:
        async def decide(who: Identity, body: ReleaseBody) -> tuple[Action, dict[str, Any]]:
            action = await self._hand_over(body)
            return action, {"type": "release", "pool_id": action.pool_id,
                            "reason": body.reason}

        return await self._act(request, ReleaseBody, decide)

    async def administer(self, request: Request) -> Any:
        async def decide(who: Identity, body: AdminBody) -> tuple[Action, dict[str, Any]]:
            state = await self.reader.customer(body.customer_id)
            if state is None:
                raise Refused(404, f"unknown customer {body.customer_id!r}")
            if body.type == "assign" and body.rep_id is None:
                raise Refused(400, "rep_id: an assignment names the rep")
            fields: dict[str, Any] = {"type": body.type}
            if body.type == "assign":
                fields["rep_id"] = body.rep_id
            return Administer(state.pool_id), fields

        return await self._act(request, AdminBody, decide)

    async def _hand_over(self, body: CommandBody) -> HandOver:
        state = await self.reader.customer(body.customer_id)
        if state is None:
            raise Refused(404, f"unknown customer {body.customer_id!r}")
        return HandOver(state.pool_id, state.owner)

    async def _act(self, request: Request, body_type: type[Body],
                   decide: Callable[[Identity, Body], Awaitable[tuple[Action, dict[str, Any]]]]
                   ) -> aiohttp.web.Response:
        http = cast(aiohttp.web.Request, request)
        try:
            who = self.authenticator.identify(http.headers, http.cookies, {})
            body = _parsed(body_type, await http.read())
            action, fields = await decide(who, body)
            reason = refusal(who, action, self.rules)
            if reason is not None:
                raise Refused(403, reason)
        except Unauthenticated as failure:
            return aiohttp.web.json_response({"error": str(failure)}, status=401)
        except Refused as refused:
            return aiohttp.web.json_response({"error": str(refused)}, status=refused.status)
        command = COMMAND_ADAPTER.validate_python({
            "command_id": f"web-{who.person}-{body.request_id}",
            "customer_id": body.customer_id, "issued_at": datetime.now(UTC),
            "actor": who.person} | fields)
        if await self.store.first_request(who.person, body.request_id):
            try:
                await self.send_command(body.customer_id, to_json(command))
            except BaseException:
                await self.store.forget_request(who.person, body.request_id)
                raise
        return aiohttp.web.json_response({"command_id": command.command_id}, status=202)


def _parsed(body_type: type[Body], raw: bytes) -> Body:
    try:
        return body_type.model_validate_json(raw)
    except ValidationError as invalid:
        first = invalid.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise Refused(400, f"{where}: {first['msg']}") from None
