"""Every panel of both Grafana dashboards answers: Debian's Prometheus scrapes a live
worker under simulated traffic (the demo's pool rules, so timers fire), and each panel's
query must parse and return series. (Grafana itself is not in Debian's archive here.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crmstream.settings import Settings
from dashboards.panels import DASHBOARDS, queries
from tests.integration.conftest import ROOT, eventually, free_port, settings_env

TRAFFIC_S = 45


@pytest.fixture
def prometheus(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """Debian's prometheus (installed by deploy/stack.sh when missing), scraping the
    worker every second."""
    subprocess.run([str(ROOT / "deploy/stack.sh"), "ensure-prometheus"], check=True)
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: crmstream
    static_configs: [{{targets: ["127.0.0.1:{settings.web_port}"]}}]
""")
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path}/tsdb",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(20)


async def query(http: aiohttp.ClientSession, base: str, expr: str) -> dict[str, Any]:
    async with http.get(f"{base}/api/v1/query", params={"query": expr}) as r:
        body: dict[str, Any] = await r.json()
        return body


async def test_every_panel_of_both_dashboards_returns_series(
        settings: Settings, worker: Any, prometheus: str) -> None:
    settings.pool_rules_file = ROOT / "deploy/pool-rules.demo.yml"
    w = worker(env={"CRMSTREAM_BUSINESS_METRICS_INTERVAL_S": "1",
                    "CRMSTREAM_CHURN_LABEL_HORIZON_S": "8",
                    "CRMSTREAM_CHURN_RESCORE_AFTER_S": "2"})
    await w.wait_owns_partitions()
    env = os.environ | settings_env(settings)
    simulate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crmstream.cli", "simulate", "--rate", "250",
        "--duration", str(TRAFFIC_S), "--customers", "600", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL)
    assert await simulate.wait() == 0
    every = [(d.title, title, expr) for d in DASHBOARDS for title, expr in queries(d)]
    async with aiohttp.ClientSession() as http:
        async def scraped() -> bool:
            up = await query(http, prometheus, 'up{job="crmstream"}')
            return bool(up.get("data", {}).get("result"))

        await eventually(scraped, timeout=30)

        async def all_answer() -> list[str]:
            missing = []
            for dashboard, title, expr in every:
                body = await query(http, prometheus, expr)
                assert body["status"] == "success", (title, expr, body)  # it parses
                if not body["data"]["result"]:
                    missing.append(f"{dashboard} / {title}: {expr}")
            return missing

        try:
            await eventually(lambda: _none(all_answer), timeout=60, every=2)
        except AssertionError:
            raise AssertionError("panels with no series:\n" + "\n".join(
                await all_answer()) + f"\n{w.tail()}") from None
    assert len(every) >= 25


async def _none(check: Any) -> bool:
    return not await check()
