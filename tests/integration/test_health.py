"""/livez and /readyz tell the truth: a partition that stops making progress, or a Redis
that stays away, makes the worker unready (and says why); it is ready again once they
recover. Faust's own web routes are not served."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from crmstream.settings import Settings
from tests.integration.conftest import ROOT, eventually
from tests.integration.test_odd_input import produce_raw


async def status(w: Any, path: str) -> tuple[int, list[str]]:
    body = await w.health(path)
    return body["http_status"], body.get("problems", [])


async def test_a_stalled_partition_makes_the_worker_unready(
    settings: Settings, worker: Any, tmp_path: Path
) -> None:
    fault = {"CRMSTREAM_TEST_FAULT": "hang", "CRMSTREAM_STALL_AFTER_S": "3",
             "CRMSTREAM_TEST_FAULT_MARKER": str(tmp_path / "hung-once")}
    w = worker("hung", module="tests.integration.faulty_worker", env=fault)
    await w.wait_owns_partitions()
    assert await status(w, "/readyz") == (200, [])
    value = orjson.dumps({"event_id": "s1", "customer_id": "c-stall", "session_id": "s",
                          "occurred_at": "2026-12-07T00:00:00Z", "page": "/"})
    await produce_raw(settings, [(settings.topics.clicks, b"c-stall", value)])

    async def unready() -> list[str] | None:
        code, problems = await status(w, "/readyz")
        return problems if code == 503 else None

    problems = await eventually(unready, timeout=30)
    assert any("behind with no batch durable" in p for p in problems), problems
    assert await status(w, "/livez") == (200, [])  # a restart is the supervisor's call
    metrics = await w.metrics()
    assert "crmstream_partitions_stalled 1.0" in metrics
    assert any(line.startswith("crmstream_partition_lag_records{") and
               not line.endswith(" 0.0") for line in metrics.splitlines())


async def test_redis_away_longer_than_the_threshold_makes_the_worker_unready(
    settings: Settings, worker: Any
) -> None:
    w = worker()
    await w.wait_owns_partitions()
    await eventually(lambda: _code(w, "/readyz", 200))
    shutdown = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", "6379", "shutdown", stdout=asyncio.subprocess.DEVNULL)
    await shutdown.wait()
    try:
        problems = await eventually(lambda: _problems_if(w, 503), timeout=30)
        assert any("state store has been failing" in p for p in problems), problems
    finally:
        up = await asyncio.create_subprocess_exec(
            str(ROOT / "deploy/stack.sh"), "up", env=os.environ | {"PYTHON": sys.executable},
            stdout=asyncio.subprocess.DEVNULL)
        assert await up.wait() == 0
    await eventually(lambda: _code(w, "/readyz", 200), timeout=30)
    assert w.proc.poll() is None


async def test_only_crmstreams_own_views_are_served(settings: Settings, worker: Any) -> None:
    w = worker()
    await w.wait_owns_partitions()
    async with aiohttp.ClientSession() as http:
        for path, expected in [("/router", 404), ("/table/x", 404), ("/stats/", 404),
                               ("/graph", 404), ("/", 404), ("/livez", 200),
                               ("/healthz", 200), ("/metrics", 200)]:
            async with http.get(f"http://127.0.0.1:{w.port}{path}") as r:
                assert r.status == expected, path


async def _code(w: Any, path: str, expected: int) -> bool:
    return (await w.health(path))["http_status"] == expected


async def _problems_if(w: Any, expected: int) -> list[str] | None:
    body = await w.health("/readyz")
    return body["problems"] if body["http_status"] == expected else None
