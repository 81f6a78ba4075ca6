"""Driving Debian's Chromium in the console's tests (the fixtures are in conftest.py): a
started console, screenshots as artifacts, and waiting for what a person would see."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from crmstream.settings import Settings
from tests.integration.conftest import ROOT, WorkerProcess, eventually, token_for

SHOTS = ROOT / ".artifacts" / "screenshots"


def chrome(paths: tuple[str, str]) -> webdriver.Chrome:
    chromium, driver = paths
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1100,900", "--lang=zh-CN"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


async def start_console(settings: Settings, worker: Any, tmp_path: Path, rules: str
                        ) -> tuple[WorkerProcess, str]:
    """A worker with these pool rules, owning its partitions; and its web address."""
    path = tmp_path / "rules.yml"
    path.write_text(rules)
    settings.pool_rules_file = path
    started: WorkerProcess = worker()
    await started.wait_owns_partitions()
    return started, f"http://127.0.0.1:{started.port}"


def shot(browser: webdriver.Chrome, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


async def wait_for(check: Any, timeout: float = 30) -> Any:
    """``eventually`` for a synchronous browser check."""
    async def once() -> Any:
        return await asyncio.to_thread(check)
    return await eventually(once, timeout=timeout, every=0.3)


def record_latency(name: str, seconds: float) -> None:
    """A latency a person would feel, measured in a browser test, kept as an artifact
    (.artifacts/console-latency.json) for the issue's and README's numbers."""
    path = ROOT / ".artifacts" / "console-latency.json"
    known = orjson.loads(path.read_bytes()) if path.exists() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(known | {name: round(seconds, 3)}))


async def customers_stored(port: int, rep: str, expected: int = 2) -> bool:
    cookie = {"crmstream_token": token_for(rep, "rep")}
    async with aiohttp.ClientSession(cookies=cookie) as http, http.get(
            f"http://127.0.0.1:{port}/console/rep/customers") as r:
        return r.status == 200 and (await r.text()).count("data-customer") == expected
