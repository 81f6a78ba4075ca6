"""The numbers: ``GET /console/numbers`` (the overview page) and ``GET /console/api/numbers``
(the same report as JSON), for managers, ops and admins (web/access.py). Query: ``days``
(1-90, default 30), ``zone`` (``local``: the business time zone, or ``utc``), and any of
``pool``, ``level``, ``team``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import aiohttp.web
import faust
import orjson
from faust.web import Request
from jinja2 import Environment

from analytics.report import Report, Where, Zone, today_in
from state.pool_rules import PoolRules
from web.access import ReadNumbers, refusal
from web.auth import Authenticator
from web.identity import Identity, Unauthenticated
from web.reader import ConsoleReader

MAX_DAYS = 90
API = "/console/api/numbers"
API_SUMMARY = "The live numbers (managers, ops, admins)"
API_QUERY = {
    "days": f"the window in days, 1-{MAX_DAYS} (30)",
    "zone": "local (the business time zone) or utc",
    "pool": "only this pool's numbers", "level": "only this level's",
    "team": "only those of this owner's team",
}


class BadQuery(ValueError):
    pass


def report_query(query: Mapping[str, str]) -> tuple[Zone, int, Where]:
    """The report a query asks for, or ``BadQuery`` saying what is wrong."""
    zone = query.get("zone", "local")
    if zone not in ("local", "utc"):
        raise BadQuery("zone: local or utc")
    try:
        days = int(query.get("days", "30"))
    except ValueError:
        raise BadQuery(f"days: a whole number from 1 to {MAX_DAYS}") from None
    if not 1 <= days <= MAX_DAYS:
        raise BadQuery(f"days: a whole number from 1 to {MAX_DAYS}")
    where = Where(query.get("pool") or None, query.get("level") or None,
                  query.get("team") or None)
    return cast(Zone, zone), days, where


class Numbers:
    def __init__(self, reader: ConsoleReader, authenticator: Authenticator, rules: PoolRules,
                 business_zone: ZoneInfo, templates: Environment) -> None:
        self.reader = reader
        self.authenticator = authenticator
        self.rules = rules
        self.business_zone = business_zone
        self.templates = templates

    def register(self, app: faust.App) -> None:
        app.page("/console/numbers")(cast(Any, self.page))
        app.page(API)(cast(Any, self.api))

    async def _report(self, request: Request) -> Report | aiohttp.web.Response:
        http = cast(aiohttp.web.Request, request)
        try:
            who: Identity = self.authenticator.identify(http.headers, http.cookies, {})
        except Unauthenticated as failure:
            return aiohttp.web.json_response({"error": str(failure)}, status=401)
        reason = refusal(who, ReadNumbers(), self.rules)
        if reason is not None:
            return aiohttp.web.json_response({"error": reason}, status=403)
        try:
            zone, days, where = report_query(http.query)
        except BadQuery as bad:
            return aiohttp.web.json_response({"error": str(bad)}, status=400)
        today = today_in(zone, self.business_zone, datetime.now(UTC))
        return await self.reader.numbers(zone, today, days, where)

    async def api(self, request: Request) -> Any:
        report = await self._report(request)
        if isinstance(report, aiohttp.web.Response):
            return report
        return aiohttp.web.Response(text=report.model_dump_json(),
                                    content_type="application/json")

    async def page(self, request: Request) -> Any:
        report = await self._report(request)
        if isinstance(report, aiohttp.web.Response):
            detail = orjson.loads(report.text or "{}").get("error", "")
            html = self.templates.get_template("message.html").render(
                title="请登录 Please sign in" if report.status == 401 else "无权访问 Not allowed",
                detail=detail)
            return aiohttp.web.Response(status=report.status, text=html,
                                        content_type="text/html")
        html = self.templates.get_template("numbers.html").render(
            report=report, levels=self.rules.levels, pools=[p.id for p in self.rules.pools],
            teams=sorted(self.rules.teams))
        return aiohttp.web.Response(text=html, content_type="text/html")
