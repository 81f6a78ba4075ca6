"""The console's pages, served by the worker's web server: server-rendered HTML (Jinja2), one
stylesheet and one script, no build chain. Sign-in is a token (``crmstream token``) opened
once as ``/console/login?token=...``: it becomes an HttpOnly, SameSite cookie, which also
signs in the page's live stream (a browser's ``EventSource`` cannot send headers).

Pages so far: a rep's own page (My customers with live countdowns, the inbox live).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp.web
import faust
import orjson
from faust.web import Request
from jinja2 import Environment, PackageLoader, select_autoescape

from state.customer import CustomerState
from state.pool_rules import PoolRules
from web.access import ReadInbox, refusal
from web.auth import COOKIE, Authenticator
from web.identity import Identity, Unauthenticated
from web.reader import ConsoleReader

STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
NOTICE_LABELS = {
    "assigned": "分配 Assigned", "reclaim_warning": "回收预警 Reclaim warning",
    "reclaimed": "已回收 Reclaimed", "transferred_out": "转出 Transferred out",
    "released": "释放 Released", "rejected": "被拒 Rejected",
}
SESSION = timedelta(hours=8)  # the cookie's life at most; the token's expiry still counts
TEMPLATES = Environment(loader=PackageLoader("web", "templates"),
                        autoescape=select_autoescape(default=True))


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer as a rep's page shows it: its state, and its pool's warning times."""

    state: CustomerState
    warn_s: float
    manager_warn_s: float

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)


def rows(customers: list[CustomerState], rules: PoolRules) -> list[CustomerRow]:
    """Sorted by the time left until reclaim, soonest first (no deadline last)."""
    def warnings(state: CustomerState) -> tuple[float, float]:
        pool = rules.pool(state.pool_id)
        warn = pool.warn_before if pool else None
        manager = pool.manager_warn_before if pool else None
        return (warn.total_seconds() if warn else 0.0,
                manager.total_seconds() if manager else 0.0)

    ordered = sorted(customers, key=lambda s: (s.deadline is None, s.deadline or s.updated_at))
    return [CustomerRow(s, *warnings(s)) for s in ordered]


class Console:
    """The pages' handlers: who is signed in, and what each page shows them."""

    def __init__(self, reader: ConsoleReader, authenticator: Authenticator,
                 rules: PoolRules) -> None:
        self.reader = reader
        self.authenticator = authenticator
        self.rules = rules

    def register(self, app: faust.App) -> None:
        # Faust makes each handler its view's GET; a bound method is called (request, ...).
        for path, handler in (("/console/login", self.login), ("/console/", self.home),
                              ("/console/rep", self.rep_page),
                              ("/console/rep/customers", self.rep_customers),
                              ("/console/static/{name}", self.static)):
            app.page(path)(cast(Any, handler))

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
        return _message(404, "尚无页面 No page yet",
                        f"the {who.role} pages are not built yet; the live streams are "
                        "(README: Access)")

    async def rep_page(self, request: Request) -> Any:
        who = self.a_rep(request)
        if isinstance(who, aiohttp.web.Response):
            return who
        html = TEMPLATES.get_template("rep.html").render(
            rep_id=who.person, customers=await self._rows(who.person),
            notices=await self.reader.notices(who.person), labels=NOTICE_LABELS,
            notice_types=list(NOTICE_LABELS.items()),
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

    async def static(self, request: Request, name: str) -> Any:
        path = STATIC / name
        if path.parent != STATIC or path.suffix not in STATIC_TYPES or not path.is_file():
            return aiohttp.web.Response(status=404, text="not found")
        return aiohttp.web.Response(body=path.read_bytes(),
                                    content_type=STATIC_TYPES[path.suffix],
                                    headers={"Cache-Control": "max-age=300"})

    async def _rows(self, rep_id: str) -> list[CustomerRow]:
        return rows(await self.reader.customers_of(rep_id), self.rules)


def _message(status: int, title: str, detail: str) -> aiohttp.web.Response:
    html = TEMPLATES.from_string(
        '<!doctype html><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/console/static/console.css">'
        '<main><section><h2>{{ title }}</h2><p>{{ detail }}</p></section></main>'
    ).render(title=title, detail=detail)
    return aiohttp.web.Response(status=status, text=html, content_type="text/html")
