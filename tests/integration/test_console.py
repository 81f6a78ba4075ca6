"""The console in Debian's Chromium (deploy/browser.sh): a rep signs in with a token, sees
its customers with live countdowns that turn amber and then red, and a reclaim warning
arrives in its inbox without a reload. Screenshots go to .artifacts/screenshots/."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from crmstream.settings import Settings
from tests.integration.conftest import ROOT, eventually, produce, read_topic, token_for
from tests.integration.test_pool import register

SHOTS = ROOT / ".artifacts" / "screenshots"
RULES = """
levels: [A, C]
default_pool: public
pools:
  - id: public
    name: 公海 Public
    managers: [mgr]
    rules:
      - type: no_follow_up
        periods: {A: 600s, C: 24s}
    warn_before: 18s
    manager_warn_before: 9s
"""


@pytest.fixture(scope="session")
def browser_paths() -> tuple[str, str]:
    found = subprocess.run([str(ROOT / "deploy/browser.sh")], check=True, text=True,
                           capture_output=True).stdout.split()
    return found[0], found[1]


def chrome(paths: tuple[str, str]) -> webdriver.Chrome:
    chromium, driver = paths
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1100,900", "--lang=zh-CN"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture
def browser(browser_paths: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    opened = chrome(browser_paths)
    yield opened
    opened.quit()


@pytest.fixture
def second_browser(browser_paths: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    opened = chrome(browser_paths)
    yield opened
    opened.quit()


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


async def test_a_rep_watches_its_countdown_turn_red_and_a_warning_arrive_live(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    settings.pool_rules_file = rules
    w = worker()
    await w.wait_owns_partitions()
    base = f"http://127.0.0.1:{w.port}"
    await produce(settings, [register(settings, "客户-甲", owner="rep-7"),
                             register(settings, "acme-2", level="A", owner="rep-7")])
    await eventually(lambda: _customers_stored(w.port, "rep-7"))

    browser.get(f"{base}/console/login?token={token_for('rep-7', 'rep')}")
    assert browser.current_url == f"{base}/console/rep"  # the token left the address bar
    rows = browser.find_elements(By.CSS_SELECTOR, "#customer-rows tr[data-customer]")
    assert [r.get_attribute("data-customer") for r in rows] == ["客户-甲", "acme-2"]
    def countdown_of(customer: str) -> str:
        """The countdown's classes (found afresh: the rows are refreshed in place)."""
        return str(browser.execute_script(
            "return document.querySelector(`[data-customer='${arguments[0]}'] .countdown`)"
            ".className", customer))

    await wait_for(lambda: "amber" in countdown_of("客户-甲"))
    shot(browser, "rep-amber")
    # the warning is pushed at warn_before: it appears without a reload
    await wait_for(lambda: browser.find_elements(By.CSS_SELECTOR,
                                                 "#notices .notice.reclaim_warning"))
    def unread(kind: str) -> str:
        return str(browser.find_element(By.CSS_SELECTOR, f'.badge[data-type="{kind}"] b').text)

    assert unread("reclaim_warning") == "1"
    await wait_for(lambda: "red" in countdown_of("客户-甲"))
    shot(browser, "rep-red")
    assert countdown_of("acme-2") == "countdown"  # 10 minutes left: neither amber nor red
    browser.find_element(By.ID, "mark-read").click()
    await wait_for(lambda: unread("reclaim_warning") == "0")
    browser.refresh()  # read marks are kept on the server
    assert (unread("reclaim_warning"), unread("assigned")) == ("0", "0")

    # another rep signed in cannot open rep-7's inbox
    browser.get(f"{base}/console/login?token={token_for('rep-8', 'rep')}")
    browser.get(f"{base}/reps/rep-7/notices?since=0")
    assert "a rep reads only its own inbox" in browser.page_source
    browser.get(f"{base}/console/rep")
    assert "暂无客户 No customers yet" in browser.page_source
    browser.set_window_size(375, 800)  # a rep's phone
    browser.get(f"{base}/console/login?token={token_for('rep-7', 'rep')}")
    shot(browser, "rep-phone")


async def _customers_stored(port: int, rep: str, expected: int = 2) -> bool:
    cookie = {"crmstream_token": token_for(rep, "rep")}
    async with aiohttp.ClientSession(cookies=cookie) as http, http.get(
            f"http://127.0.0.1:{port}/console/rep/customers") as r:
        return r.status == 200 and (await r.text()).count("data-customer") == expected


CLAIM_RULES = """
levels: [C]
default_pool: public
pools:
  - id: public
    name: 公海 Public
    members: [rep-7]
    auto_reclaim: false
    claim:
      max_claims_per_day: 1
      previous_owner_cooldown: 1h
"""


async def test_a_rep_claims_from_its_pool_and_sees_the_outcome_within_seconds(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(CLAIM_RULES)
    settings.pool_rules_file = rules
    w = worker()
    await w.wait_owns_partitions()
    base = f"http://127.0.0.1:{w.port}"
    await produce(settings, [register(settings, c, owner=None) for c in ("池-1", "池-2")])
    commands_before = len(await read_topic(settings, settings.topics.commands, expect=2))

    browser.get(f"{base}/console/login?token={token_for('rep-7', 'rep')}")
    browser.get(f"{base}/console/pool")
    await wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "tr[data-customer]")) == 2
                   or browser.refresh())
    assert "今日可领 Claims left today 1" in browser.find_element(By.CSS_SELECTOR, ".rules").text

    def claim(customer: str) -> None:
        browser.find_element(By.CSS_SELECTOR, f"tr[data-customer='{customer}'] button").click()

    def outcome(customer: str) -> str:
        return str(browser.find_element(
            By.CSS_SELECTOR, f"tr[data-customer='{customer}'] .outcome").text)

    claim("池-1")
    await wait_for(lambda: "claimed" in outcome("池-1"), timeout=10)
    claim("池-2")  # over the pool's one claim a day: the worker says no, with the reason
    await wait_for(lambda: "limit reached" in outcome("池-2"), timeout=10)
    shot(browser, "pool")
    browser.get(f"{base}/console/rep")
    assert browser.find_elements(By.CSS_SELECTOR, "tr[data-customer='池-1']")

    # a rep of no pool is refused before Kafka; a claim names no one but the signed-in rep
    async with aiohttp.ClientSession() as http:
        async def post(person: str, body: dict[str, str]) -> int:
            async with http.post(f"{base}/console/api/claim", json=body, cookies={
                    "crmstream_token": token_for(person, "rep")}) as r:
                return r.status

        assert await post("rep-8", {"customer_id": "池-2", "pool_id": "public",
                                    "request_id": "r1"}) == 403
        for _ in range(2):  # the same request twice: one command
            assert await post("rep-7", {"customer_id": "池-2", "pool_id": "public",
                                        "request_id": "r2", "rep_id": "rep-8"}) == 202
    commands = await read_topic(settings, settings.topics.commands, expect=commands_before + 4,
                                timeout=5)
    claims = [c for c in commands if c["type"] == "claim"]
    assert [(c["rep_id"], c["actor"]) for c in claims] == [("rep-7", "rep-7")] * 3


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


async def test_a_rep_transfers_and_releases_its_customers_from_its_page(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(CLAIM_RULES)
    settings.pool_rules_file = rules
    w = worker()
    await w.wait_owns_partitions()
    base = f"http://127.0.0.1:{w.port}"
    await produce(settings, [register(settings, c, owner="rep-7") for c in ("甲-1", "甲-2")])
    await eventually(lambda: _customers_stored(w.port, "rep-7"))
    browser.get(f"{base}/console/login?token={token_for('rep-7', 'rep')}")

    def act(customer: str, form: str, value: str) -> None:
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-customer='{customer}']")
        row.find_element(By.TAG_NAME, "summary").click()
        row.find_element(By.CSS_SELECTOR, f"form.{form} input").send_keys(value)
        shot(browser, f"rep-{form}")
        row.find_element(By.CSS_SELECTOR, f"form.{form} button").click()

    def listed() -> list[str]:
        return [str(r.get_attribute("data-customer")) for r in browser.find_elements(
            By.CSS_SELECTOR, "#customer-rows tr[data-customer]")]

    act("甲-1", "transfer", "rep-8")
    await wait_for(lambda: listed() == ["甲-2"], timeout=15)
    act("甲-2", "release", "客户要求暂停 paused")
    await wait_for(lambda: listed() == [], timeout=15)
    kinds = [n.get_attribute("data-type") for n in browser.find_elements(
        By.CSS_SELECTOR, "#notices .notice")]
    assert kinds[:2] == ["released", "transferred_out"]

    browser.get(f"{base}/console/login?token={token_for('rep-8', 'rep')}")
    assert listed() == ["甲-1"]  # the transfer arrived
    browser.find_element(By.CSS_SELECTOR, "tr[data-customer='甲-1'] a.customer-link").click()
    history = browser.find_element(By.CSS_SELECTOR, ".history").text
    assert "rep-7 → rep-8 transferred · rep-7" in history
    assert "公海 pool → rep-7 registered" in history
    shot(browser, "customer")
    browser.get(f"{base}/console/login?token={token_for('rep-9', 'rep')}")
    browser.get(f"{base}/console/customers/甲-1")
    assert "not a customer of yours" in browser.page_source
    async with aiohttp.ClientSession(cookies={"crmstream_token": token_for("rep-9", "rep")}
                                     ) as http, http.post(
            f"{base}/console/api/transfer",
            json={"customer_id": "甲-1", "to_rep_id": "rep-9", "request_id": "x"}) as r:
        assert (r.status, (await r.json())["error"]) == (
            403, "a rep transfers or releases only its own customers")


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
    rules = tmp_path / "rules.yml"
    rules.write_text(TEAM_RULES)
    settings.pool_rules_file = rules
    w = worker()
    await w.wait_owns_partitions()
    base = f"http://127.0.0.1:{w.port}"
    await produce(settings, [register(settings, "乙-1", owner="rep-7"),
                             register(settings, "乙-2", level="A", owner="rep-8")])
    await eventually(lambda: _customers_stored(w.port, "rep-7", expected=1))
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
    rules = tmp_path / "rules.yml"
    rules.write_text(ADMIN_RULES)
    settings.pool_rules_file = rules
    w = worker()
    await w.wait_owns_partitions()
    base = f"http://127.0.0.1:{w.port}"
    await produce(settings, [register(settings, "丙-1", owner=None),
                             register(settings, "丙-2", owner="rep-7")])
    await eventually(lambda: _customers_stored(w.port, "rep-7", expected=1))
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
