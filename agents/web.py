"""The worker's HTTP endpoints on the Faust web server: Prometheus metrics, health, and each
rep's notices as Server-Sent Events."""

from __future__ import annotations

from typing import Any, cast

import aiohttp.web
import faust
from aiohttp_sse import sse_response
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.processor import Processor
from state.inbox import InboxReader

# Redis stream ids are the SSE event ids: a client that reconnects with Last-Event-ID gets
# exactly what it missed (as long as the capped inbox still holds it).
NOTICES_BLOCK_MS = 5000


def register_views(app: faust.App, processor: Processor, inbox: InboxReader) -> None:
    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> Response:
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> Response:
        body: dict[str, Any] = {
            "status": "ok",
            "owned_partitions": sorted(processor.tokens),
            "cached_customers": len(processor.cache),
            "models": processor.models.describe(),
        }
        return web.json(body)

    @app.page("/reps/{rep_id}/notices")
    async def rep_notices(web: View, request: Request, rep_id: str) -> Any:
        """``GET /reps/{rep_id}/notices``: the rep's notices, live. Without Last-Event-ID
        (or ``?since=<id>``, ``?since=0`` for the whole inbox) it starts with the next one."""
        http = cast(aiohttp.web.Request, request)  # Faust's aiohttp driver passes its own
        cursor = http.headers.get("Last-Event-ID") or http.query.get("since") or "$"
        if cursor == "$":  # pin "now" to an id, so nothing between two reads is skipped
            cursor = await inbox.newest_id(rep_id)
        async with sse_response(http) as sse:
            while sse.is_connected():
                for notice_id, notice in await inbox.after(rep_id, cursor, NOTICES_BLOCK_MS):
                    await sse.send(notice, id=notice_id, event="notice")
                    cursor = notice_id
        return sse
