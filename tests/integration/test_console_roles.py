"""The console in Debian's Chromium for the other roles: ops acknowledging alerts on two
desks, a manager watching its team, a pool admin acting on its pool's customers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from crmstream.settings import Settings
from tests.integration.browser import customers_stored, shot, start_console, wait_for
from tests.integration.conftest import eventually, produce, token_for
from tests.integration.test_pool import register


def angry_texts(settings: Settings, customer: str) -> list[tuple[str, str, bytes]]:
    """Three negative texts in a row: a ``negative_run`` alert (state/alerts.py)."""
    now = datetime.now(UTC).isoformat()
    return [(settings.topics.interactions, customer, orjson.dumps({
        "event_id": f"{customer}-{n}", "customer_id": customer, "occurred_at": now,
        "channel": "ticket", "direction": "inbound", "text": text}))
        for n, text in enumerate(["太差了，要求退款", "客服一直不回复，很失望", "太差了，很失望"])]


async def test_ops_acknowledge_an_alert_and_every_desk_sees_it(
    settings: Settings, worker: Any, browser: webdriver.Chrome,
    second_browser: webdriver.Chrome,
) -> None:
    w = worker()
    await w.wait_owns_partitions()
    base = f"http://127.0.0.1:{w.port}"
    for person, opened in (("ops-1", browser), ("ops-2", second_browser)):
        opened.get(f"{base}/console/login?token={token_for(person, 'ops')}")
        assert opened.current_url == f"{base}/console/ops"

    def rows_of(opened: webdriver.Chrome) -> list[Any]:
        return list(opened.find_elements(By.CSS_SELECTOR, "#alert-rows tr.alert"))

    await produce(settings, angry_texts(settings, "angry-1"))
    for opened in (browser, second_browser):  # pushed live to both desks
        await wait_for(lambda opened=opened: len(rows_of(opened)) == 1)
    browser.find_element(By.CSS_SELECTOR, "button.acknowledge").click()
    await wait_for(lambda: "✓ ops-1" in rows_of(browser)[0].text, timeout=10)
    await wait_for(lambda: "✓ ops-1" in rows_of(second_browser)[0].text, timeout=10)
    second_browser.refresh()  # and it stays acknowledged
    assert "✓ ops-1" in rows_of(second_browser)[0].text
    shot(second_browser, "ops")
    Select(second_browser.find_element(By.ID, "severity-filter")).select_by_value("critical")
    assert not rows_of(second_browser)[0].is_displayed()  # a warning, filtered out

    alert_id = rows_of(browser)[0].get_attribute("data-alert")
    async with aiohttp.ClientSession() as http:
        for person, role, status in (("rep-1", "rep", 403), ("ops-2", "ops", 200)):
            async with http.post(f"{base}/console/api/alerts/ack", json={"alert_id": alert_id},
                                 cookies={"crmstream_token": token_for(person, role)}) as r:
                assert r.status == status
                if status == 200:
                    assert (await r.json())["by"] == "ops-1"  # the first stands


TEAM_RULES = """
levels: [A, C]
default_pool: public
pools:
  - id: public
    name: 公海 Public
    members: [rep-7, rep-8]
    managers: [mgr]
    rules:
      - type: no_follow_up
        periods: {A: 600s, C: 20s}
    warn_before: 15s
    manager_warn_before: 8s
"""


async def test_a_manager_sees_its_team_slip_and_its_warnings_arrive(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    w, base = await start_console(settings, worker, tmp_path, TEAM_RULES)
    await produce(settings, [register(settings, "乙-1", owner="rep-7"),
                             register(settings, "乙-2", level="A", owner="rep-8")])
    await eventually(lambda: customers_stored(w.port, "rep-7", expected=1))
    browser.get(f"{base}/console/login?token={token_for('mgr', 'manager')}")
    assert browser.current_url == f"{base}/console/team"

    def cells(rep: str) -> list[str]:
        return [c.text for c in browser.find_elements(
            By.CSS_SELECTOR, f"tr[data-rep='{rep}'] td")]

    assert cells("rep-8") == ["rep-8", "1", "0", "0", "0"]
    # the manager's own warning comes 8 s before the deadline: live, and the page re-reads
    await wait_for(lambda: browser.find_elements(By.CSS_SELECTOR,
                                                 "#notices .notice.reclaim_warning"))
    await wait_for(lambda: cells("rep-7")[3] == "1")
    slipping = browser.find_elements(By.CSS_SELECTOR, "#slipping tr[data-customer]")
    assert [s.get_attribute("data-customer") for s in slipping] == ["乙-1"]
    shot(browser, "team")
    browser.get(f"{base}/console/login?token={token_for('rep-7', 'rep')}")
    browser.get(f"{base}/console/team")
    assert "the rep role has no team" in browser.page_source


ADMIN_RULES = """
levels: [C]
default_pool: public
pools:
  - id: public
    name: 公海 Public
    members: [rep-7]
    admins: [adm]
    auto_reclaim: false
  - id: other
    name: 别的 Other
    admins: [adm-2]
    auto_reclaim: false
"""


async def test_a_pool_admin_freezes_restores_locks_and_assigns(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    w, base = await start_console(settings, worker, tmp_path, ADMIN_RULES)
    await produce(settings, [register(settings, "丙-1", owner=None),
                             register(settings, "丙-2", owner="rep-7")])
    await eventually(lambda: customers_stored(w.port, "rep-7", expected=1))
    browser.get(f"{base}/console/login?token={token_for('adm', 'admin')}")
    assert browser.current_url == f"{base}/console/admin"

    def status_of(customer: str) -> str:
        rows = browser.find_elements(By.CSS_SELECTOR, f"tr[data-customer='{customer}']")
        if not rows:
            return "absent"
        return f"{rows[0].get_attribute('data-status')}:{rows[0].get_attribute('data-locked')}"

    def act(customer: str, action: str, rep: str = "") -> None:
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-customer='{customer}']")
        Select(row.find_element(By.NAME, "type")).select_by_value(action)
        if rep:
            row.find_element(By.NAME, "rep_id").send_keys(rep)
        row.find_element(By.TAG_NAME, "button").click()

    await wait_for(lambda: status_of("丙-1") == "pooled:0" or browser.refresh())
    act("丙-1", "freeze")
    await wait_for(lambda: status_of("丙-1") == "frozen:0", timeout=10)
    act("丙-1", "restore")
    await wait_for(lambda: status_of("丙-1") == "pooled:0", timeout=10)
    act("丙-2", "lock")
    await wait_for(lambda: status_of("丙-2") == "active:1", timeout=10)
    act("丙-1", "assign", "rep-7")
    await wait_for(lambda: status_of("丙-1") == "active:0", timeout=10)
    shot(browser, "admin")

    async with aiohttp.ClientSession(cookies={"crmstream_token": token_for("adm-2", "admin")}
                                     ) as http, http.post(
            f"{base}/console/api/admin",
            json={"customer_id": "丙-1", "type": "freeze", "request_id": "x"}) as r:
        assert (r.status, (await r.json())["error"]) == (403, "not an admin of pool 'public'")
