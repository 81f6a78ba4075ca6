"""Each platform as it is spoken to: the request for a message (its JSON, its @mention, its
signature, within its size limit) and what its answer means (sent, throttled, worth a
retry, or a permanent failure). Pure: the HTTP call is the sender's (people.md has the
platforms' documented formats and codes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote_plus

import orjson

from notify.messages import Message
from notify.routing import Platform, Robot, Target

Outcome = Literal["sent", "throttled", "retry", "permanent"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str = ""
    wait_s: float = 0.0  # throttled: how long the platform asks us to wait


@dataclass(frozen=True, slots=True)
class Limits:
    per_minute: int  # the platform's documented rate per robot
    per_second: int | None  # and its burst limit, where it has one
    max_bytes: int  # the message text's limit (UTF-8 bytes)


LIMITS: dict[Platform, Limits] = {
    "wecom": Limits(20, None, 4096),  # markdown 4,096 bytes (text 2,048)
    "dingtalk": Limits(20, None, 4096),  # over 20/min the robot is muted for 10 minutes
    "feishu": Limits(100, 5, 18_000),  # the body at most 20 KB
    "slack": Limits(60, 1, 3900),  # about one a second, short bursts
    "webhook": Limits(600, None, 60_000),
}
WECOM_TEXT_BYTES = 2048
WECOM_THROTTLED, WECOM_BUSY = 45009, -1
DINGTALK_THROTTLED = 130101
DINGTALK_THROTTLE_S = 600.0
FEISHU_THROTTLED = 11232


def limits_of(robot: Robot) -> Limits:
    documented = LIMITS[robot.platform]
    if robot.per_minute is None:
        return documented
    return Limits(robot.per_minute, documented.per_second, documented.max_bytes)


def request(robot: Robot, message: Message, target: Target, delivery_id: str, now_s: float
            ) -> HttpRequest:
    """The platform's request for ``message`` to ``target`` (signed at ``now_s``)."""
    url = robot.url.get_secret_value()
    limit = limits_of(robot).max_bytes
    match robot.platform:
        case "wecom":
            if target.mobile and not target.mention:  # only text @mentions by mobile
                text = fit(plain(message), WECOM_TEXT_BYTES)
                return _json(url, {"msgtype": "text", "text": {
                    "content": text, "mentioned_mobile_list": [target.mobile]}})
            at = f"\n<@{target.mention}>" if target.mention else ""
            return _json(url, {"msgtype": "markdown", "markdown": {
                "content": fit(markdown(message, wecom_colours=True), limit - len(at)) + at}})
        case "dingtalk":
            at_text = f"\n\n@{target.mobile}" if target.mobile else ""
            body: dict[str, Any] = {"msgtype": "markdown", "markdown": {
                "title": message.title,
                "text": fit(markdown(message), limit - len(at_text)) + at_text}}
            if target.mobile:
                body["at"] = {"atMobiles": [target.mobile], "isAtAll": False}
            return _json(_dingtalk_signed(url, robot, now_s), body)
        case "feishu":
            at = f'\n<at user_id="{target.mention}"></at>' if target.mention else ""
            body = {"msg_type": "text", "content": {"text": fit(plain(message), limit) + at}}
            if robot.secret is not None:
                timestamp = str(int(now_s))
                body |= {"timestamp": timestamp,
                         "sign": feishu_sign(timestamp, robot.secret.get_secret_value())}
            return _json(url, body)
        case "slack":
            at = f"\n<@{target.mention}>" if target.mention else ""
            text = fit(slack_text(message), limit - len(at)) + at
            return _json(url, {"text": text})
        case "webhook":
            payload = orjson.dumps({"delivery_id": delivery_id, "title": message.title,
                                    "lines": list(message.lines), "link": message.link,
                                    "severity": message.severity})
            secret = robot.secret.get_secret_value() if robot.secret else ""
            timestamp = str(int(now_s))
            return HttpRequest(url, payload, {
                "Content-Type": "application/json", "X-Crmstream-Delivery": delivery_id,
                "X-Crmstream-Timestamp": timestamp,
                "X-Crmstream-Signature": webhook_signature(secret, timestamp, payload)})


def verdict(platform: Platform, status: int, headers: dict[str, str], body: bytes,
            throttle_wait_s: float | None = None) -> Verdict:
    """What the platform's answer means for this delivery (a throttle code is waited out
    for ``throttle_wait_s`` when given, else for the platform's documented time)."""
    if status == 429:
        return Verdict("throttled", "HTTP 429", _retry_after(headers))
    if status >= 500 or status == 408:
        return Verdict("retry", f"HTTP {status}")
    if status >= 400:
        return Verdict("permanent", f"HTTP {status}: {body[:200].decode(errors='replace')}")
    if platform in ("slack", "webhook"):
        return Verdict("sent")
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Verdict("retry", f"an unreadable answer: {body[:100]!r}")
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    message = answer.get("errmsg", answer.get("msg", answer.get("StatusMessage", "")))
    if code == 0:
        return Verdict("sent")
    reason = f"{platform} error {code}: {message}"
    if (platform, code) in (("wecom", WECOM_THROTTLED), ("feishu", FEISHU_THROTTLED)):
        return Verdict("throttled", reason, throttle_wait_s or 60.0)
    if (platform, code) == ("dingtalk", DINGTALK_THROTTLED):
        return Verdict("throttled", reason, throttle_wait_s or DINGTALK_THROTTLE_S)
    if (platform, code) == ("wecom", WECOM_BUSY):
        return Verdict("retry", reason)
    return Verdict("permanent", reason)  # a bad key, a bad signature, a bad message


def dingtalk_sign(timestamp_ms: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(timestamp_s: str, secret: str) -> str:
    # Feishu's key is the string to sign, and its message empty (DingTalk's the other way).
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(secret: str, timestamp_s: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp_s.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def plain(message: Message) -> str:
    link = f"\n{message.link_text}: {message.link}" if message.link else ""
    return "\n".join((message.title, *message.lines)) + link


def markdown(message: Message, wecom_colours: bool = False) -> str:
    colour = {"critical": "warning", "warning": "warning"}.get(message.severity)
    title = (f'<font color="{colour}">{message.title}</font>' if wecom_colours and colour
             else message.title)
    link = f"\n[{message.link_text}]({message.link})" if message.link else ""
    return "\n".join((f"**{title}**", *(f"> {line}" for line in message.lines))) + link


def slack_text(message: Message) -> str:
    link = f"\n<{message.link}|{message.link_text}>" if message.link else ""
    return "\n".join((f"*{message.title}*", *message.lines)) + link


def fit(text: str, max_bytes: int) -> str:
    """``text`` within ``max_bytes`` of UTF-8: whole lines kept from the top, and the count
    of those left out said on the last line."""
    if len(text.encode()) <= max_bytes:
        return text
    lines = text.split("\n")
    for keep in range(len(lines) - 1, 0, -1):
        cut = "\n".join(lines[:keep]) + f"\n… (+{len(lines) - keep})"
        if len(cut.encode()) <= max_bytes:
            return cut
    return text.encode()[:max_bytes - 3].decode(errors="ignore") + "…"


def _dingtalk_signed(url: str, robot: Robot, now_s: float) -> str:
    if robot.secret is None:
        return url
    timestamp = str(int(now_s * 1000))
    sign = quote_plus(dingtalk_sign(timestamp, robot.secret.get_secret_value()))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _json(url: str, body: dict[str, Any]) -> HttpRequest:
    return HttpRequest(url, orjson.dumps(body), {"Content-Type": "application/json"})


def _retry_after(headers: dict[str, str]) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", "") or 60))
    except ValueError:
        return 60.0
