"""The numbers page in Debian's Chromium: a manager sees today's numbers and the loss
table, and they move live when the stream does; a rep may not see them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from selenium import webdriver
from selenium.webdriver.common.by import By

from crmstream.settings import Settings
from tests.integration.browser import record_latency, shot, start_console, wait_for
from tests.integration.conftest import produce, token_for
from tests.integration.test_pool import register

RULES = """
levels: [A, B, C]
default_pool: public
teams: {east: [rep-1, rep-2]}
pools:
  - id: public
    name: 公海 Public
    members: [team:east]
    managers: [mgr]
    rules:
      - type: no_follow_up
        period: 1d
"""


def command(settings: Settings, customer: str, kind: str, n: int) -> tuple[str, str, bytes]:
    return settings.topics.commands, customer, orjson.dumps({
        "command_id": f"{customer}-{kind}-{n}", "customer_id": customer, "type": kind,
        "issued_at": datetime.now(UTC).isoformat(), "actor": "admin"})


def paid(settings: Settings, customer: str) -> tuple[str, str, bytes]:
    return settings.topics.orders, customer, orjson.dumps({
        "event_id": f"{customer}-paid", "customer_id": customer, "order_id": "o1",
        "occurred_at": datetime.now(UTC).isoformat(), "status": "paid",
        "amount": "1280.00", "currency": "CNY"})


async def test_a_manager_watches_the_numbers_move(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    _, base = await start_console(settings, worker, tmp_path, RULES)
    customers = [f"客户-{n}" for n in range(6)]
    await produce(settings, [
        *(register(settings, c, level="AB"[n % 2], owner="rep-1")
          for n, c in enumerate(customers)),
        paid(settings, customers[0]), paid(settings, customers[1]),
        command(settings, customers[0], "mark_won", 1),
        command(settings, customers[2], "mark_churned", 1),
        command(settings, customers[3], "mark_churned", 1),
    ])
    browser.get(f"{base}/console/login?token={token_for('mgr', 'manager')}")
    browser.get(f"{base}/console/numbers?zone=utc&days=7")

    def card(metric: str) -> str:
        found = browser.find_elements(By.CSS_SELECTOR, f".card[data-metric='{metric}'] b")
        return found[0].text if found else ""

    await wait_for(lambda: card("new") == "6" and card("lost") == "2" and card("won") == "1")
    assert card("paid_amount") == "2,560"
    stages = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#loss tbody tr")]
    assert any("未跟进 Owned, neglected" in row and "2" in row for row in stages), stages
    conversion = browser.find_element(
        By.CSS_SELECTOR, "tr[data-conversion='registration_to_paid']").text
    assert "33.3%" in conversion, conversion
    # live: a customer won on the stream shows without a reload
    sent = time.monotonic()
    await produce(settings, [command(settings, customers[1], "mark_won", 1)])
    await wait_for(lambda: card("won") == "2", timeout=20)
    record_latency("numbers_page_won_moves_s", time.monotonic() - sent)
    browser.set_window_size(1100, 2300)  # the whole page in the screenshot
    shot(browser, "numbers")
    # a lost customer's own page keeps its loss: stage, signals, whether anyone tried
    browser.set_window_size(1100, 900)
    browser.get(f"{base}/console/customers/{customers[2]}")
    loss = browser.find_element(By.ID, "loss").text
    assert "neglected" in loss, loss
    assert "no_follow_up" in loss, loss
    shot(browser, "customer-lost")
    browser.get(f"{base}/console/login?token={token_for('rep-1', 'rep')}")
    browser.get(f"{base}/console/numbers")
    assert "does not read the team" in browser.page_source
