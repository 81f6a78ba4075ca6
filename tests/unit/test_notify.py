"""The delivery service's pure parts: routing, messages, the platforms' requests and
answers, the rate windows, and which offsets may be committed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote_plus, urlsplit
from zoneinfo import ZoneInfo

import orjson
import pytest

from notify.messages import Customer, Message, digest, notice_message
from notify.offsets import Offsets
from notify.platforms import fit, request, verdict
from notify.routing import Routing, RoutingError, Target, load_routing
from notify.throttle import Throttle
from schemas.outputs import Alert, Notice

AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
ROUTES = {
    "console_url": "https://crm.example.com",
    "robots": {
        "east-group": {"platform": "wecom", "url": "http://wecom/send?key=K"},
        "zhang": {"platform": "dingtalk", "url": "http://ding/send?access_token=T",
                  "secret": "SEC-ding"},
        "sre": {"platform": "feishu", "url": "http://feishu/hook/1", "secret": "SEC-fs"},
        "intl": {"platform": "slack", "url": "http://slack/hook"},
        "erp": {"platform": "webhook", "url": "http://erp/hook", "secret": "SEC-hook"},
    },
    "reps": {"rep-1": {"robot": "zhang", "mobile": "13800000000"},
             "rep-2": {"mention": "wangwu"},
             "rep-3": {"robot": "intl", "mention": "U123", "language": "en"}},
    "pools": {"east": {"robot": "east-group"}},
    "alerts": [{"types": ["churn_risk"], "min_severity": "critical", "robot": "zhang"},
               {"types": ["model_drift"], "robot": "sre"},
               {"robot": "erp"}],
}
ROUTING = Routing.model_validate(ROUTES)


def notice(rep: str, pool: str = "east", kind: str = "reclaim_warning") -> Notice:
    return Notice(notice_id=f"n-{rep}", rep_id=rep, customer_id="c-1", type=kind,
                  pool_id=pool, reason="no follow-up for 3d", deadline=AT + timedelta(hours=1),
                  at=AT)


@pytest.mark.parametrize(("rep", "pool", "expected"), [
    ("rep-1", "east", [("zhang", None, "13800000000", "zh")]),  # its own robot
    ("rep-2", "east", [("east-group", "wangwu", None, "zh")]),  # its pool's, @mentioned
    ("rep-3", "west", [("intl", "U123", None, "en")]),
    ("rep-9", "east", [("east-group", None, None, "zh")]),  # no route: the pool's group
    ("rep-9", "west", []),  # nowhere: the console's inbox still has it
])
def test_a_notice_goes_to_the_reps_robot_else_its_pools(
    rep: str, pool: str, expected: list[tuple[str, str | None, str | None, str]]
) -> None:
    assert [(t.robot, t.mention, t.mobile, t.language)
            for t in ROUTING.for_notice(notice(rep, pool))] == expected


@pytest.mark.parametrize(("kind", "severity", "robots"), [
    ("churn_risk", "critical", ["zhang", "erp"]),
    ("churn_risk", "warning", ["erp"]),  # below the ops robot's lowest severity
    ("model_drift", "info", ["sre", "erp"]),
])
def test_an_alert_goes_by_type_and_lowest_severity(kind: str, severity: str,
                                                   robots: list[str]) -> None:
    alert = Alert(alert_id="a1", customer_id="c-1", type=kind, severity=severity,  # type: ignore[arg-type]
                  message="m", at=AT)
    assert [t.robot for t in ROUTING.for_alert(alert)] == robots


@pytest.mark.parametrize(("change", "error"), [
    ({"reps": {"rep-1": {"robot": "nobody"}}}, "reps.rep-1: no robot 'nobody'"),
    ({"robots": {"x": {"platform": "webhook", "url": "http://h"}}}, "a webhook needs a secret"),
    ({"robots": {"x": {"platform": "wecom", "url": "http://h", "secret": "s"}}},
     "wecom robots are not signed"),
    ({"robots": {"x": {"platform": "telegram", "url": "http://h"}}}, "robots.x.platform"),
    ({"alerts": [{"robot": "sre", "min_severity": "fatal"}]}, "alerts.0.min_severity"),
    ({"alerts": [{"robot": "sre", "types": ["churn"]}]}, "unknown alert types ['churn']"),
])
def test_a_broken_routing_file_is_refused_with_where_and_why(
    tmp_path: Path, change: dict[str, object], error: str
) -> None:
    path = tmp_path / "routes.yml"
    path.write_text(orjson.dumps(ROUTES | change).decode())  # JSON is YAML
    with pytest.raises(RoutingError, match="invalid routing file") as refused:
        load_routing(path)
    assert error in str(refused.value)
    assert "SEC-" not in str(refused.value)  # no secret quoted


@pytest.mark.parametrize("name", ["notify-routes.yml", "notify-routes.demo.yml"])
def test_the_example_routing_files_are_valid(name: str) -> None:
    routing = load_routing(Path(__file__).parents[2] / "deploy" / name)
    assert {r.platform for r in routing.robots.values()} == {
        "wecom", "dingtalk", "feishu", "slack", "webhook"}


def test_a_warning_says_who_what_when_why_with_a_link_in_the_readers_language() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    zh = notice_message(notice("rep-1"), Customer("华为", "A"), "zh", "https://crm", zone)
    assert zh.title == "⚠️ 客户即将被回收"
    assert zh.lines == ("华为（级别 A）", "截止: 2026-12-07 11:00", "原因: no follow-up for 3d",
                        "公海: east")
    assert zh.link == "https://crm/console/customers/c-1"
    en = notice_message(notice("rep-1"), Customer("Acme", "B"), "en", "https://crm/", zone)
    assert (en.title, en.lines[0], en.lines[1]) == (
        "⚠️ Customer about to be reclaimed", "Acme (level B)", "deadline: 2026-12-07 11:00")


def _request(robot: str, target: Target, message: Message | None = None) -> tuple[str, dict]:
    made = request(ROUTING.robots[robot], message or MESSAGE, target, "n-1:x", 1_700_000_000.5)
    return made.url, orjson.loads(made.body)


MESSAGE = Message("⚠️ 客户即将被回收", ("华为（级别 A）",), "https://crm/console/customers/c-1",
                  "查看客户")


def test_wecom_markdown_mentions_the_userid_and_text_the_mobile() -> None:
    _, body = _request("east-group", Target(robot="east-group", language="zh", mention="wangwu"))
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"].endswith("<@wangwu>")
    assert "[查看客户](https://crm/console/customers/c-1)" in body["markdown"]["content"]
    _, body = _request("east-group", Target(robot="east-group", language="zh", mobile="138"))
    assert body["text"]["mentioned_mobile_list"] == ["138"]


def test_dingtalk_is_signed_in_the_url_as_documented() -> None:
    url, body = _request("zhang", Target(robot="zhang", language="zh", mobile="138"))
    query = parse_qs(urlsplit(url).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    assert timestamp == "1700000000500"  # milliseconds
    expected = hmac.new(b"SEC-ding", f"{timestamp}\nSEC-ding".encode(), hashlib.sha256)
    assert base64.b64decode(unquote_plus(sign) if "%" in sign else sign) == expected.digest()
    assert body["at"] == {"atMobiles": ["138"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("@138")


def test_feishu_is_signed_in_the_body_with_the_key_and_message_swapped() -> None:
    _, body = _request("sre", Target(robot="sre", language="zh", mention="ou_1"))
    assert body["timestamp"] == "1700000000"  # seconds
    key = f"{body['timestamp']}\nSEC-fs".encode()
    assert base64.b64decode(body["sign"]) == hmac.new(key, b"", hashlib.sha256).digest()
    assert body["content"]["text"].endswith('<at user_id="ou_1"></at>')


def test_a_webhook_is_signed_over_its_timestamp_and_body() -> None:
    made = request(ROUTING.robots["erp"], MESSAGE, Target(robot="erp", language="zh"),
                   "n-1:erp", 1_700_000_000)
    mac = hmac.new(b"SEC-hook", b"1700000000." + made.body, hashlib.sha256).hexdigest()
    assert made.headers["X-Crmstream-Signature"] == f"sha256={mac}"
    assert made.headers["X-Crmstream-Delivery"] == "n-1:erp"


def test_slack_links_and_mentions_in_its_own_syntax() -> None:
    _, body = _request("intl", Target(robot="intl", language="en", mention="U123"))
    assert "<https://crm/console/customers/c-1|查看客户>" in body["text"]
    assert body["text"].endswith("<@U123>")


def test_a_message_over_the_platforms_limit_keeps_whole_lines_and_counts_the_rest() -> None:
    long = Message("title", tuple(f"客户-{i} 已被回收" for i in range(400)))
    texts = {"east-group": lambda b: b["markdown"]["content"],
             "zhang": lambda b: b["markdown"]["text"], "intl": lambda b: b["text"]}
    for robot, text_of in texts.items():
        made = request(ROUTING.robots[robot], long, Target(robot=robot, language="zh"), "d", 0)
        text = text_of(orjson.loads(made.body))
        assert len(text.encode()) <= 4096, robot
        assert text.splitlines()[-1].startswith("… (+"), robot
    assert fit("short", 10) == "short"


@pytest.mark.parametrize(("platform", "status", "headers", "body", "outcome", "wait"), [
    ("wecom", 200, {}, b'{"errcode":0,"errmsg":"ok"}', "sent", 0),
    ("wecom", 200, {}, b'{"errcode":45009,"errmsg":"api freq out of limit"}', "throttled", 60),
    ("wecom", 200, {}, b'{"errcode":93000,"errmsg":"invalid webhook url"}', "permanent", 0),
    ("wecom", 200, {}, b'{"errcode":-1,"errmsg":"system busy"}', "retry", 0),
    ("dingtalk", 200, {}, b'{"errcode":130101,"errmsg":"send too fast"}', "throttled", 600),
    ("dingtalk", 200, {}, b'{"errcode":310000,"errmsg":"sign not match"}', "permanent", 0),
    ("feishu", 200, {}, b'{"code":0,"msg":"success"}', "sent", 0),
    ("feishu", 200, {}, b'{"code":19021,"msg":"sign match fail"}', "permanent", 0),
    ("feishu", 200, {}, b'{"code":11232,"msg":"frequency limited"}', "throttled", 60),
    ("slack", 200, {}, b"ok", "sent", 0),
    ("slack", 429, {"Retry-After": "7"}, b"", "throttled", 7),
    ("slack", 404, {}, b"no_service", "permanent", 0),
    ("webhook", 503, {}, b"", "retry", 0),
    ("webhook", 400, {}, b"bad", "permanent", 0),
    ("wecom", 502, {}, b"<html>", "retry", 0),
])
def test_each_platforms_answer_means_what_it_says(
    platform: str, status: int, headers: dict[str, str], body: bytes, outcome: str,
    wait: float,
) -> None:
    answer = verdict(platform, status, headers, body)  # type: ignore[arg-type]
    assert (answer.outcome, answer.wait_s) == (outcome, wait)


def test_a_robot_sends_at_most_its_limit_in_any_window_and_waits_when_told() -> None:
    throttle = Throttle.per(20)
    for i in range(20):
        assert throttle.wait(i * 0.1) == 0
        throttle.sent(i * 0.1)
    assert throttle.wait(2.0) == pytest.approx(58.0)  # the first send leaves the window at 60
    assert throttle.wait(60.05) == 0
    feishu = Throttle.per(100, per_second=5)
    for _ in range(5):
        feishu.sent(10.0)
    assert feishu.wait(10.5) == pytest.approx(0.5)
    feishu.told_to_wait(11.0, 60)
    assert feishu.wait(12.0) == pytest.approx(59.0)


def test_a_digest_keeps_a_line_and_a_link_per_message_and_the_worst_severity() -> None:
    merged = digest([MESSAGE, Message("b", ("x",), "https://l/2", severity="critical")], "en")
    assert merged.title == "2 new messages"
    assert merged.lines == ("⚠️ 客户即将被回收: 华为（级别 A） https://crm/console/customers/c-1",
                            "b: x https://l/2")
    assert merged.severity == "critical"
    zone = ZoneInfo("UTC")
    for_two = digest([notice_message(notice(rep), Customer(rep, "A"), "zh", "u", zone)
                      for rep in ("rep-1", "rep-2")], "zh")  # one group, two reps: named
    assert [line.split(" ")[-2:] for line in for_two.lines] == [
        ["rep-1", "u/console/customers/c-1"], ["rep-2", "u/console/customers/c-1"]]


def test_an_offset_is_committed_only_once_every_delivery_of_it_is_recorded() -> None:
    offsets: Offsets[str] = Offsets()
    offsets.consumed("p0", 10, deliveries=2)
    offsets.consumed("p0", 11, deliveries=0)  # routed nowhere: done at once
    offsets.consumed("p0", 12, deliveries=1)
    assert offsets.to_commit() == {"p0": 10}
    offsets.finished("p0", 12)
    offsets.finished("p0", 10)
    assert offsets.to_commit() == {}  # one of 10's two deliveries is still out
    offsets.finished("p0", 10)
    assert offsets.to_commit() == {"p0": 13}
    offsets.forget({"p0"})
    offsets.finished("p0", 12)  # a lane finishing after a rebalance: nothing to do
    assert offsets.to_commit() == {}


@pytest.mark.parametrize(("assigned", "failing_for", "problems"), [
    (4, None, []),
    (0, None, ["owns no partition of the notices or alerts topics"]),
    (4, 5.0, []),  # a short outage: nothing is sent meanwhile, but not yet unready
    (4, 12.0, ["the delivery ledger (Redis) has been failing for 12 s"]),
])
def test_the_notifier_is_ready_with_partitions_and_a_ledger_that_answers(
    assigned: int, failing_for: float | None, problems: list[str]
) -> None:
    from notify.health import unready

    assert unready(assigned, failing_for, ledger_down_after_s=10) == problems


def test_every_notice_type_has_a_title_and_a_console_label() -> None:
    from typing import get_args

    from notify.messages import NOTICE_TITLES
    from schemas.outputs import NoticeType
    from web.views import NOTICE_LABELS

    assert set(NOTICE_TITLES) == set(get_args(NoticeType)) == set(NOTICE_LABELS)
