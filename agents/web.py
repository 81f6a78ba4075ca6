"""The worker's HTTP endpoints on the Faust web server: Prometheus metrics and health."""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.processor import Processor


def register_views(app: faust.App, processor: Processor) -> None:
    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> Response:
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> Response:
        body: dict[str, Any] = {
            "status": "ok",
            "owned_partitions": sorted(processor.tokens),
            "cached_customers": len(processor.cache),
        }
        return web.json(body)
