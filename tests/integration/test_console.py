"""The console in Debian's Chromium (deploy/browser.sh), as a rep uses it: sign in with a
token, watch a countdown turn amber and then red and a reclaim warning arrive without a
reload, claim from the pool, transfer and release. Screenshots go to .artifacts/screenshots/."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from selenium import webdriver
from selenium.webdriver.common.by import By

from crmstream.settings import Settings
from tests.integration.browser import (
    customers_stored,
    record_latency,
    shot,
    start_console,
    wait_for,
)
from tests.integration.conftest import eventually, produce, read_topic, token_for
from tests.integration.test_pool import now, register

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


async def test_a_rep_watches_its_countdown_turn_red_and_a_warning_arrive_live(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    w, base = await start_console(settings, worker, tmp_path, RULES)
    await produce(settings, [register(settings, "客户-甲", owner="rep-7"),
                             register(settings, "acme-2", level="A", owner="rep-7")])
    await eventually(lambda: customers_stored(w.port, "rep-7"))

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


async def test_a_follow_up_moves_its_customer_down_at_once_and_its_page_follows_live(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    w, base = await start_console(settings, worker, tmp_path, RULES)
    await produce(settings, [register(settings, "早-1", level="A", owner="rep-7")])
    await asyncio.sleep(2)  # 早-1's deadline comes first
    await produce(settings, [register(settings, "晚-2", level="A", owner="rep-7")])
    await eventually(lambda: customers_stored(w.port, "rep-7"))
    browser.get(f"{base}/console/login?token={token_for('rep-7', 'rep')}")

    def listed() -> list[str]:
        return [str(r.get_attribute("data-customer")) for r in browser.find_elements(
            By.CSS_SELECTOR, "#customer-rows tr[data-customer]")]

    assert listed() == ["早-1", "晚-2"]
    await wait_for(lambda: browser.find_element(By.ID, "live").get_attribute("class")
                   == "live on")
    followed_up = time.monotonic()
    await produce(settings, [follow_up(settings, "早-1", "call-1")])
    await wait_for(lambda: listed() == ["晚-2", "早-1"], timeout=5)  # no periodic re-read
    record_latency("follow_up_moves_row_s", time.monotonic() - followed_up)

    browser.find_element(By.CSS_SELECTOR, "tr[data-customer='晚-2'] a.customer-link").click()
    version = browser.find_element(By.CSS_SELECTOR, ".version").text
    assert not browser.find_elements(
        By.XPATH, "//dt[contains(., 'Last follow-up')]/following-sibling::dd[1]/time")
    await wait_for(lambda: browser.find_element(By.ID, "live").get_attribute("class")
                   == "live on")
    await produce(settings, [follow_up(settings, "晚-2", "call-2")])
    await wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".version").text != version,
                   timeout=5)
    assert browser.find_elements(  # the follow-up's time, where "—" was
        By.XPATH, "//dt[contains(., 'Last follow-up')]/following-sibling::dd[1]/time")
    shot(browser, "customer-live")


def follow_up(settings: Settings, customer: str, event_id: str) -> tuple[str, str, bytes]:
    return (settings.topics.interactions, customer, orjson.dumps({
        "event_id": event_id, "customer_id": customer, "occurred_at": now(),
        "channel": "call", "direction": "outbound", "rep_id": "rep-7"}))


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
    _, base = await start_console(settings, worker, tmp_path, CLAIM_RULES)
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

    clicked = time.monotonic()
    claim("池-1")
    await wait_for(lambda: "claimed" in outcome("池-1"), timeout=10)
    record_latency("claim_outcome_s", time.monotonic() - clicked)
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


async def test_a_rep_transfers_and_releases_its_customers_from_its_page(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    w, base = await start_console(settings, worker, tmp_path, CLAIM_RULES)
    await produce(settings, [register(settings, c, owner="rep-7") for c in ("甲-1", "甲-2")])
    await eventually(lambda: customers_stored(w.port, "rep-7"))
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


async def test_a_rep_opening_its_page_again_and_again_gets_it_each_time(
    settings: Settings, worker: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    """Each page keeps two live streams; a page left for the back-forward cache must close
    them, or after three pages the browser's six connections to the host are taken and the
    next page waits (it waited a minute in Chromium). Restored from the cache, it is read
    afresh."""
    w, base = await start_console(settings, worker, tmp_path, RULES)
    await produce(settings, [register(settings, "客户-甲", owner="rep-7")])
    await eventually(lambda: customers_stored(w.port, "rep-7", expected=1))
    browser.get(f"{base}/console/login?token={token_for('rep-7', 'rep')}")
    browser.set_page_load_timeout(20)  # far below the minute it waited
    for _ in range(5):
        browser.get("about:blank")
        browser.get(f"{base}/console/rep")
        await wait_for(lambda: "on" in browser.find_element(By.ID, "live").get_attribute(
            "class").split())
        assert browser.find_elements(By.CSS_SELECTOR, "tr[data-customer='客户-甲']")
    browser.get(f"{base}/console/pool")
    browser.back()  # from the back-forward cache: read afresh, its streams open again
    await wait_for(lambda: browser.current_url == f"{base}/console/rep" and "on" in (
        browser.find_element(By.ID, "live").get_attribute("class") or "").split())
