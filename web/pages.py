"""The console's pages, served by the worker's web server: server-rendered HTML (Jinja2), one
stylesheet and one script, no build chain. Sign-in is a token (``crmstream token``) opened
once as ``/console/login?token=...``: it becomes an HttpOnly, SameSite cookie, which also
signs in the page's live stream (a browser's ``EventSource`` cannot send headers).

Pages so far: a rep's own page (My customers with live countdowns, the inbox live, transfer
and release), its pools (their rules, the customers waiting, Claim), a manager's team (each
rep's holdings and what is slipping, the manager's warnings live), and the alert desk for
ops and managers (alerts live, filtered, acknowledged by a person).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import aiohttp.web
import faust
import orjson
from aiohttp_sse import sse_response
from faust.web import Request, View
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, StringConstraints, ValidationError

from analytics.report import Report
from schemas.base import to_json
from schemas.commands import AcknowledgeAlert as AcknowledgeAlertCommand
from state.alerts import ALERT_TYPES
from state.pool_rules import PoolRules
from web import numbers
from web.access import (
    AcknowledgeAlert,
    Administer,
    ReadAlerts,
    ReadCustomer,
    ReadInbox,
    ReadNumbers,
    ReadTeam,
    managed_reps,
    refusal,
)
from web.actions import (
    Actions,
    AdminBody,
    ClaimBody,
    ReleaseBody,
    SendCommand,
    TransferBody,
)
from web.auth import COOKIE, Authenticator
from web.change_feed import ChangeFeed
from web.console_store import ConsoleStore
from web.identity import Identity, Unauthenticated
from web.openapi import openapi
from web.reader import ConsoleReader
from web.views import (
    ACTIVITY_ROWS,
    ADMIN_ACTIONS,
    NOTICE_LABELS,
    AdminPool,
    CustomerRow,
    pool_view,
    rows,
    team,
)
from web.watches import Page, page_watch

STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
STREAM_CHECK_S = 5.0  # how often a live stream notices its page was closed
CHANGE_GAP_S = 0.5
SESSION = timedelta(hours=8)  # the cookie's life at most; the token's expiry still counts
TEMPLATES = Environment(loader=PackageLoader("web", "templates"),
                        autoescape=select_autoescape(default=True))


class ReadBody(BaseModel):
    up_to: Annotated[str, StringConstraints(pattern=r"^\d+-\d+$")]  # a Redis stream id


class AckBody(BaseModel):
    alert_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Console:
    """The pages' handlers: who is signed in, and what each page shows them."""

    def __init__(self, reader: ConsoleReader, store: ConsoleStore, feed: ChangeFeed,
                 authenticator: Authenticator, rules: PoolRules, send_command: SendCommand
                 ) -> None:
        self.reader = reader
        self.store = store
        self.feed = feed
        self.authenticator = authenticator
        self.rules = rules
        self.actions = Actions(reader, store, authenticator, rules, send_command)
        self.send_command = send_command

    def register(self, app: faust.App) -> None:
        # Faust makes each handler its view's GET; a bound method is called (request, ...).
        for path, handler in (("/console/login", self.login), ("/console/", self.home),
                              ("/console/rep", self.rep_page),
                              ("/console/rep/customers", self.rep_customers),
                              ("/console/pool", self.pool_page),
                              ("/console/ops", self.ops_page),
                              ("/console/team", self.team_page),
                              ("/console/admin", self.admin_page),
                              ("/console/customers/{customer_id}", self.customer_page),
                              ("/console/changes", self.changes),
                              ("/console/static/{name}", self.static)):
            app.page(path)(cast(Any, handler))

        for path, (post, _, _) in self.post_routes().items():
            app.page(path)(_post_view(post))
        app.page("/console/api/openapi.json")(cast(Any, self.api_description))

    def post_routes(self) -> dict[str, tuple[Callable[[Request], Awaitable[Any]],
                                             type[BaseModel], str]]:
        """The API the pages call: each path's handler, request model and purpose (README:
        The console; /console/api/openapi.json; tests keep both in step)."""
        actions = self.actions
        return {
            "/console/api/claim": (actions.claim, ClaimBody,
                                   "Claim a waiting customer, for the signed-in rep"),
            "/console/api/transfer": (actions.transfer, TransferBody,
                                      "Transfer a customer (its owner, its pool's admins)"),
            "/console/api/release": (actions.release, ReleaseBody,
                                     "Release a customer to its pool (its owner, its "
                                     "pool's admins)"),
            "/console/api/admin": (actions.administer, AdminBody,
                                   "Assign, freeze, discard, restore, lock or unlock "
                                   "(its pool's admins)"),
            "/console/api/alerts/ack": (self.acknowledge, AckBody,
                                        "Acknowledge an alert, once for everyone (ops, "
                                        "managers)"),
            "/console/api/inbox/read": (self.mark_read, ReadBody,
                                        "Mark one's inbox read up to an entry"),
        }

    async def api_description(self, request: Request) -> Any:
        spec = openapi({path: (model, summary)
                        for path, (_, model, summary) in self.post_routes().items()},
                       {numbers.API: (Report, numbers.API_SUMMARY, numbers.API_QUERY)})
        return aiohttp.web.json_response(spec)

    def signed_in(self, request: Request) -> Identity | aiohttp.web.Response:
        http = cast(aiohttp.web.Request, request)
        try:
            return self.authenticator.identify(http.headers, http.cookies, {})
        except Unauthenticated as failure:
            return _message(401, "请登录 Please sign in", str(failure))

    def a_rep(self, request: Request) -> Identity | aiohttp.web.Response:
        """The signed-in rep, or the page that says why not."""
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        reason = refusal(who, ReadInbox(who.person), self.rules)
        return who if reason is None else _message(403, "无权访问 Not allowed", reason)

    async def login(self, request: Request) -> Any:
        """Trade a token in the URL for the session cookie, and take the token out of
        the address bar at once."""
        token = cast(aiohttp.web.Request, request).query.get("token", "")
        try:
            self.authenticator.identify({}, {}, {"token": token})
        except Unauthenticated as failure:
            return _message(401, "无法登录 Cannot sign in", str(failure))
        response = aiohttp.web.HTTPSeeOther("/console/")
        response.set_cookie(COOKIE, token, max_age=int(SESSION.total_seconds()),
                            httponly=True, samesite="Strict", path="/")
        return response

    async def home(self, request: Request) -> Any:
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        if who.role == "rep":
            return aiohttp.web.HTTPSeeOther("/console/rep")
        if who.role == "manager":
            return aiohttp.web.HTTPSeeOther("/console/team")
        if who.role == "admin":
            return aiohttp.web.HTTPSeeOther("/console/admin")
        if who.role == "ops":
            return aiohttp.web.HTTPSeeOther("/console/ops")
        return aiohttp.web.HTTPSeeOther("/console/ops")

    async def rep_page(self, request: Request) -> Any:
        who = self.a_rep(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        html = TEMPLATES.get_template("rep.html").render(
            rep_id=who.person, customers=await self._rows(who.person),
            notices=await self.reader.notices(who.person), labels=NOTICE_LABELS,
            notice_types=list(NOTICE_LABELS.items()),
            read_up_to=await self.store.read_up_to(who.person),
            labels_json=orjson.dumps(NOTICE_LABELS).decode())
        return aiohttp.web.Response(text=html, content_type="text/html")

    async def rep_customers(self, request: Request) -> Any:
        """My customers' rows alone, for the page to refresh in place."""
        who = self.a_rep(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        html = TEMPLATES.get_template("customer_rows.html").render(
            customers=await self._rows(who.person))
        return aiohttp.web.Response(text=html, content_type="text/html")

    async def pool_page(self, request: Request) -> Any:
        """The pools the rep may claim from: their rules, how much of them the rep has
        used, and the customers waiting, each with a Claim button."""
        who = self.a_rep(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        pools = [p for p in self.rules.pools
                 if p.enabled and self.rules.is_member(p, who.person)]
        held, per_pool = await self.reader.holdings(
            who.person, [p.id for p in pools], f"{datetime.now(UTC):%Y-%m-%d}")
        views = [pool_view(p, await self.reader.waiting_in(p.id), *per_pool[p.id])
                 for p in pools]
        html = TEMPLATES.get_template("pool.html").render(
            rep_id=who.person, pools=views, held=held,
            max_total=self.rules.max_customers_per_rep)
        return aiohttp.web.Response(text=html, content_type="text/html")

    async def team_page(self, request: Request) -> Any:
        """A manager's team: each rep's holdings against the limit and what is slipping,
        the customers inside their pool's warning time, and the manager's own warnings."""
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        reason = refusal(who, ReadTeam(), self.rules)
        if reason is not None:
            return _message(403, "无权访问 Not allowed", reason)
        reps = sorted(managed_reps(who.person, self.rules))
        members, slipping = team(
            {rep: await self.reader.customers_of(rep) for rep in reps}, self.rules,
            datetime.now(UTC))
        html = TEMPLATES.get_template("team.html").render(
            person=who.person, members=members, slipping=slipping,
            notices=await self.reader.notices(who.person), labels=NOTICE_LABELS)
        return aiohttp.web.Response(text=html, content_type="text/html")

    async def admin_page(self, request: Request) -> Any:
        """A pool admin's pools: their owned, waiting and recycled customers, each with the
        admin's actions."""
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        if who.role != "admin":
            return _message(403, "无权访问 Not allowed", f"the {who.role} role administers "
                            "no pool")
        pools = [p for p in self.rules.pools
                 if refusal(who, Administer(p.id), self.rules) is None]
        views = [AdminPool(p.id, p.name, [
            ("已分配 Owned", await self.reader.owned_in(p.id, self.rules.member_reps(p))),
            ("公海中 Waiting", await self.reader.waiting_in(p.id)),
            ("回收站 Recycle bin", await self.reader.recycle_bin(p.id))]) for p in pools]
        html = TEMPLATES.get_template("admin.html").render(
            person=who.person, pools=views, actions=ADMIN_ACTIONS)
        return aiohttp.web.Response(text=html, content_type="text/html")

    async def customer_page(self, request: Request, customer_id: str) -> Any:
        """One customer: its live state, activity windows and RFM, ownership history, and
        the recent notices (in its owner's inbox) and alerts about it."""
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        found = await self.reader.customer_in_full(customer_id)
        if found is None:
            return _message(404, "未找到 Not found", f"no customer {customer_id!r}")
        state, activity = found
        reason = refusal(who, ReadCustomer(state.pool_id, state.owner), self.rules)
        if reason is not None:
            return _message(403, "无权访问 Not allowed", reason)
        [row] = rows([state], self.rules)
        notices = [(i, n) for i, n in await self.reader.notices(state.owner, 200)
                   if n.customer_id == customer_id][:20] if state.owner else []
        alerts = [(i, a) for i, a in await self.reader.recent_alerts(1000)
                  if a.customer_id == customer_id][:20]
        html = TEMPLATES.get_template("customer.html").render(
            c=state, warn_s=row.warn_s, manager_warn_s=row.manager_warn_s, activity=activity,
            activity_rows=ACTIVITY_ROWS, notices=notices, alerts=alerts, labels=NOTICE_LABELS)
        return aiohttp.web.Response(text=html, content_type="text/html")

    async def ops_page(self, request: Request) -> Any:
        """The alert desk: the recent alerts with who acknowledged each, and the riskiest
        customers with the churn model's version."""
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        reason = refusal(who, ReadAlerts(), self.rules)
        if reason is not None:
            return _message(403, "无权访问 Not allowed", reason)
        alerts = await self.reader.recent_alerts()
        html = TEMPLATES.get_template("ops.html").render(
            person=who.person, alerts=alerts,
            acks=await self.store.of([a.alert_id for _, a in alerts]),
            types=sorted({a.type for _, a in alerts} | set(ALERT_TYPES)),
            riskiest=await self.reader.riskiest(),
            churn_version=await self.reader.model_version("churn"))
        return aiohttp.web.Response(text=html, content_type="text/html")

    async def changes(self, request: Request) -> Any:
        """``GET /console/changes?page=rep|pool|team|admin|customer[&customer=ID]``: an
        ``event: changed`` each time a committed batch touches what that page shows (at
        most one every ``CHANGE_GAP_S``), so the page re-reads itself at once."""
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return aiohttp.web.json_response({"error": "sign in first"}, status=401)
        http = cast(aiohttp.web.Request, request)
        page, customer_id = http.query.get("page", ""), http.query.get("customer", "")
        if page not in get_args(Page):
            return aiohttp.web.json_response(
                {"error": f"page: one of {', '.join(get_args(Page))}"}, status=400)
        reason = await self._may_watch(who, cast(Page, page), customer_id)
        if reason is not None:
            return aiohttp.web.json_response({"error": reason}, status=403)
        watch = page_watch(who, cast(Page, page), self.rules, customer_id)
        async with self.feed.watching(watch) as changed, sse_response(
                http, headers={"X-Accel-Buffering": "no"}) as sse:
            while sse.is_connected():
                with suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), STREAM_CHECK_S)
                if changed.is_set():
                    changed.clear()
                    await sse.send("{}", event="changed")
                    await asyncio.sleep(CHANGE_GAP_S)  # a burst of batches: one re-read
        return sse

    async def _may_watch(self, who: Identity, page: Page, customer_id: str) -> str | None:
        match page:
            case "rep" | "pool":
                return refusal(who, ReadInbox(who.person), self.rules) if (
                    who.role == "rep") else f"the {who.role} role has no {page} page"
            case "team":
                return refusal(who, ReadTeam(), self.rules)
            case "admin":
                return None if who.role == "admin" else (
                    f"the {who.role} role administers no pool")
            case "numbers":
                return refusal(who, ReadNumbers(), self.rules)
            case "customer":
                state = await self.reader.customer(customer_id)
                if state is None:
                    return f"no customer {customer_id!r}"
                return refusal(who, ReadCustomer(state.pool_id, state.owner), self.rules)

    async def acknowledge(self, request: Request) -> Any:
        """``POST /console/api/alerts/ack`` ``{alert_id}``: acknowledged by the signed-in
        person, once for everyone (the first stands); answers the acknowledgement."""
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return aiohttp.web.json_response({"error": "sign in first"}, status=401)
        reason = refusal(who, AcknowledgeAlert(), self.rules)
        if reason is not None:
            return aiohttp.web.json_response({"error": reason}, status=403)
        try:
            body = AckBody.model_validate_json(
                await cast(aiohttp.web.Request, request).read())
        except ValidationError:
            return aiohttp.web.json_response({"error": "alert_id is missing"}, status=400)
        ack = await self.store.acknowledge(body.alert_id, who.person, datetime.now(UTC))
        customer_id = alert_customer(body.alert_id)
        if ack.by == who.person and customer_id is not None:
            # Part of the customer's story too (its loss analysis, state/loss.py): the
            # command id is the alert's, so a second acknowledgement adds nothing.
            command = AcknowledgeAlertCommand(
                type="acknowledge_alert", command_id=f"ack-{body.alert_id}"[:256],
                customer_id=customer_id, issued_at=ack.at, actor=who.person,
                alert_id=body.alert_id)
            await self.send_command(customer_id, to_json(command))
        return aiohttp.web.Response(text=ack.model_dump_json(), content_type="application/json")

    async def mark_read(self, request: Request) -> Any:
        """``POST /console/api/inbox/read`` ``{up_to}``: the signed-in person has read its
        inbox up to that entry."""
        who = self.signed_in(request)
        if isinstance(who, aiohttp.web.Response):
            return aiohttp.web.json_response({"error": "sign in first"}, status=401)
        try:
            body = ReadBody.model_validate_json(
                await cast(aiohttp.web.Request, request).read())
        except ValidationError:
            return aiohttp.web.json_response({"error": "up_to: an inbox entry id"},
                                             status=400)
        await self.store.mark_read(who.person, body.up_to)
        return aiohttp.web.json_response({"read_up_to": body.up_to})

    async def static(self, request: Request, name: str) -> Any:
        path = STATIC / name
        if path.parent != STATIC or path.suffix not in STATIC_TYPES or not path.is_file():
            return aiohttp.web.Response(status=404, text="not found")
        return aiohttp.web.Response(body=path.read_bytes(),
                                    content_type=STATIC_TYPES[path.suffix],
                                    headers={"Cache-Control": "max-age=300"})

    async def _rows(self, rep_id: str) -> list[CustomerRow]:
        return rows(await self.reader.customers_of(rep_id), self.rules)


def _post_view(handler: Callable[[Request], Awaitable[Any]]) -> type[View]:
    """A view that answers POST (Faust makes a function's view answer GET only)."""
    class PostView(View):
        async def post(self, request: Request) -> Any:
            return await handler(request)

    return PostView


def alert_customer(alert_id: str) -> str | None:
    """The customer an alert is about: its id is ``customer:version:type`` (a model's
    alerts are about no customer)."""
    if alert_id.startswith("model:") or alert_id.count(":") < 2:
        return None
    return alert_id.rsplit(":", 2)[0]


def _message(status: int, title: str, detail: str) -> aiohttp.web.Response:
    html = TEMPLATES.get_template("message.html").render(title=title, detail=detail)
    return aiohttp.web.Response(status=status, text=html, content_type="text/html")
