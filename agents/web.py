"""The worker's HTTP endpoints on the Faust web server: Prometheus metrics, health, each
rep's notices and the alerts for ops as Server-Sent Events."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast, get_args

import aiohttp.web
import faust
import orjson
from aiohttp_sse import sse_response
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.health import Health
from agents.processor import Processor
from schemas.outputs import Severity
from state.keys import Keys
from state.pool_rules import PoolRules
from state.streams import StreamReader
from web.access import Action, ReadAlerts, ReadInbox, refusal
from web.auth import Authenticator
from web.identity import Unauthenticated

# Redis stream ids are the SSE event ids: a client that reconnects with Last-Event-ID gets
# exactly what it missed (as long as the capped stream still holds it).
STREAM_BLOCK_MS = 5000
SEVERITIES: tuple[str, ...] = get_args(Severity)


def register_views(app: faust.App, processor: Processor, streams: StreamReader, keys: Keys,
                   health: Health, authenticator: Authenticator) -> None:
    def forbidden(web: View, request: Request, action: Action) -> Response | None:
        return _forbidden(web, request, action, authenticator, processor.policy.rules)

    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> Response:
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/livez")
    async def livez(web: View, request: Request) -> Response:
        """200 while the process need not be restarted (Kubernetes' liveness probe)."""
        return _verdict(web, health.alive())

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> Response:
        """200 while the worker owns partitions and they make progress (readiness)."""
        return _verdict(web, health.unready(time.monotonic()))

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> Response:
        now = time.monotonic()
        problems = health.unready(now)
        body: dict[str, Any] = {
            "status": "unready" if problems else "ok",
            "problems": problems,
            "owned_partitions": sorted(processor.tokens),
            "stalled_partitions": health.stalled(now),
            "seconds_since_progress": {
                str(p): round(now - at, 1) for p, at in sorted(health.progressed_at.items())},
            "cached_customers": len(processor.cache),
            "models": processor.models.describe(),
        }
        return web.json(body)

    @app.page("/reps/{rep_id}/notices")
    async def rep_notices(web: View, request: Request, rep_id: str) -> Any:
        """``GET /reps/{rep_id}/notices``: the rep's notices, live. Without Last-Event-ID
        (or ``?since=<id>``, ``?since=0`` for the whole inbox) it starts with the next one.
        For the rep itself and the managers of its pools."""
        refused = forbidden(web, request, ReadInbox(rep_id))
        if refused is not None:
            return refused
        return await _stream_events(request, streams, keys.inbox(rep_id), "notice")

    @app.page("/alerts")
    async def alerts(web: View, request: Request) -> Any:
        """``GET /alerts``: the alerts for ops, live, resumable like the notices;
        ``?type=churn_risk`` (repeatable) and ``?severity=critical`` (that or higher) filter.
        For ops and managers."""
        refused = forbidden(web, request, ReadAlerts())
        if refused is not None:
            return refused
        wanted = _alert_filter(cast(aiohttp.web.Request, request))
        return await _stream_events(request, streams, keys.alerts(), "alert", wanted)

    @app.page("/alerts/acks")
    async def alert_acks(web: View, request: Request) -> Any:
        """``GET /alerts/acks``: who acknowledged which alert, live (``event: ack``), for
        every open alert desk; resumable like the alerts."""
        refused = forbidden(web, request, ReadAlerts())
        if refused is not None:
            return refused
        return await _stream_events(request, streams, keys.alert_ack_stream(), "ack")


def _alert_filter(http: aiohttp.web.Request) -> Callable[[str], bool]:
    """``?type=`` (repeatable) and ``?severity=`` (that or higher) as a test of a payload."""
    types = set(http.query.getall("type", []))
    lowest = SEVERITIES.index(http.query.get("severity", "info"))

    def wanted(payload: str) -> bool:
        alert = orjson.loads(payload)
        return (not types or alert["type"] in types) and (
            SEVERITIES.index(alert["severity"]) >= lowest)

    return wanted


def _forbidden(web: View, request: Request, action: Action, authenticator: Authenticator,
               rules: PoolRules) -> Response | None:
    """401 without a trusted identity, 403 with the reason when it may not do this; None
    when it may."""
    http = cast(aiohttp.web.Request, request)
    try:
        who = authenticator.identify(http.headers, http.cookies, http.query)
    except Unauthenticated as failure:
        return web.json({"error": str(failure)}, status=401)
    reason = refusal(who, action, rules)
    return web.json({"error": reason}, status=403) if reason else None


def _verdict(web: View, problems: list[str]) -> Response:
    return web.json({"status": "fail" if problems else "ok", "problems": problems},
                    status=503 if problems else 200)


async def _stream_events(
    request: Request, reader: StreamReader, key: str, event: str,
    wanted: Callable[[str], bool] = lambda payload: True,
) -> Any:
    http = cast(aiohttp.web.Request, request)  # Faust's aiohttp driver passes its own
    cursor = http.headers.get("Last-Event-ID") or http.query.get("since") or "$"
    if cursor == "$":  # pin "now" to an id, so nothing between two reads is skipped
        cursor = await reader.newest_id(key)
    # Proxies (nginx) would buffer the stream and deliver nothing live without this.
    async with sse_response(http, headers={"X-Accel-Buffering": "no"}) as sse:
        while sse.is_connected():
            for entry_id, payload in await reader.after(key, cursor, STREAM_BLOCK_MS):
                if wanted(payload):
                    await sse.send(payload, id=entry_id, event=event)
                cursor = entry_id
    return sse
