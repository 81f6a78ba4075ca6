"""Local stand-ins for the chat platforms, for tests and the demo (nothing here can reach the
real ones). They check what the real platforms check (the robot's key or token, DingTalk's
and Feishu's signatures and their timestamps' age, the webhook's HMAC, the JSON shape, the
size limits, the rate limits) and answer as they do (HTTP 200 with an error code for WeCom,
DingTalk and Feishu; 429 with Retry-After for Slack). A test can script the next answers of
a robot. ``python -m notify.fake_platforms ROUTES_FILE --port N`` serves the robots of a
routing file whose URLs point at it, printing each message it accepts."""

from __future__ import annotations

import argparse
import asyncio
import hmac
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from notify.platforms import dingtalk_sign, feishu_sign, limits_of, webhook_signature
from notify.routing import Platform, Routing, load_routing
from notify.throttle import Throttle

SIGNATURE_MAX_AGE_S = 3600


@dataclass
class Received:
    robot: str
    platform: Platform
    body: dict[str, Any]
    at: float  # Unix time
    monotonic: float


@dataclass
class FakeRobot:
    name: str
    platform: Platform
    secret: str | None
    throttle: Throttle
    # the next answers: a scripted one, or None to answer as usual
    script: list[tuple[int, dict[str, str], bytes] | None] = field(default_factory=list)


class FakePlatforms:
    def __init__(self, routing: Routing, echo: bool = False) -> None:
        self.echo = echo
        self.received: list[Received] = []
        self.refused: dict[str, list[tuple[float, str]]] = defaultdict(list)  # (monotonic, why)
        self.robots: dict[tuple[str, str], FakeRobot] = {}
        for name, robot in routing.robots.items():
            limits = limits_of(robot)  # a webhook's limit is its owner's: the routing's
            secret = robot.secret.get_secret_value() if robot.secret else None
            fake = FakeRobot(name, robot.platform, secret,
                             Throttle.per(limits.per_minute, limits.per_second))
            self.robots[(robot.platform, _identity(robot.platform,
                                                   robot.url.get_secret_value()))] = fake

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/cgi-bin/webhook/send", self._wecom)
        app.router.add_post("/robot/send", self._dingtalk)
        app.router.add_post("/open-apis/bot/v2/hook/{hook}", self._feishu)
        app.router.add_post("/slack/{path:.*}", self._slack)
        app.router.add_post("/webhook/{path:.*}", self._webhook)
        app.router.add_get("/received", self._summary)
        return app

    async def _summary(self, request: web.Request) -> web.Response:
        """Per robot: how many messages it accepted, the last one, and what it refused."""
        names = sorted({r.name for r in self.robots.values()})
        return web.json_response({name: {
            "accepted": len(self.of(name)),
            "last": self.of(name)[-1].body if self.of(name) else None,
            "refused": len(self.refused[name])} for name in names})

    def answer_next(self, robot: str, *answers: tuple[int, dict[str, str], bytes] | None
                    ) -> None:
        """The robot's next answers (None: as usual), before it answers as usual again."""
        [fake] = [r for r in self.robots.values() if r.name == robot]
        fake.script.extend(answers)

    def of(self, robot: str) -> list[Received]:
        return [r for r in self.received if r.robot == robot]

    # --- the platforms ------------------------------------------------------------------

    async def _wecom(self, request: web.Request) -> web.Response:
        robot = self.robots.get(("wecom", request.query.get("key", "")))
        if robot is None:
            return _code(93000, "invalid webhook url")
        body = await _json(request)
        if body is None or body.get("msgtype") not in ("text", "markdown"):
            return _code(40008, "invalid message type")
        kind = body["msgtype"]
        content = str(body.get(kind, {}).get("content", ""))
        if not content:
            return _code(44004, "empty content")
        if len(content.encode()) > (2048 if kind == "text" else 4096):
            return _code(40058, "content exceed max length")
        return self._accept(robot, body, (200, {}, _error(45009, "api freq out of limit")),
                            _code(0, "ok"))

    async def _dingtalk(self, request: web.Request) -> web.Response:
        robot = self.robots.get(("dingtalk", request.query.get("access_token", "")))
        if robot is None:
            return _code(300001, "token is not exist")
        if robot.secret is not None:
            timestamp, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
            if not _fresh(timestamp, 1000) or not hmac.compare_digest(
                    sign, dingtalk_sign(timestamp, robot.secret)):
                return _code(310000, "sign not match")
        body = await _json(request)
        if body is None or body.get("msgtype") not in ("text", "markdown"):
            return _code(40035, "missing parameter msgtype")
        return self._accept(robot, body, (200, {}, _error(130101, "send too fast")),
                            _code(0, "ok"))

    async def _feishu(self, request: web.Request) -> web.Response:
        robot = self.robots.get(("feishu", request.match_info["hook"]))
        if robot is None:
            return _feishu(19001, "param invalid: incoming webhook access token invalid")
        raw = await request.read()
        if len(raw) > 20 * 1024:
            return _feishu(9499, "request body too large")
        body = _loads(raw)
        if body is None:
            return _feishu(9499, "Bad Request")
        if robot.secret is not None:
            timestamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            if not _fresh(timestamp, 1) or not hmac.compare_digest(
                    sign, feishu_sign(timestamp, robot.secret)):
                return _feishu(19021, "sign match fail or timestamp is not within one hour")
        return self._accept(robot, body, (200, {}, orjson.dumps(
            {"code": 11232, "msg": "frequency limited", "data": {}})), _feishu(0, "success"))

    async def _slack(self, request: web.Request) -> web.Response:
        robot = self.robots.get(("slack", request.match_info["path"]))
        if robot is None:
            return web.Response(status=404, text="no_service")
        body = await _json(request)
        if body is None or not body.get("text"):
            return web.Response(status=400, text="no_text")
        return self._accept(robot, body, (429, {"Retry-After": "1"}, b"rate_limited"),
                            web.Response(text="ok"))

    async def _webhook(self, request: web.Request) -> web.Response:
        robot = self.robots.get(("webhook", request.match_info["path"]))
        if robot is None:
            return web.Response(status=404, text="no such hook")
        raw = await request.read()
        timestamp = request.headers.get("X-Crmstream-Timestamp", "")
        expected = webhook_signature(robot.secret or "", timestamp, raw)
        if not _fresh(timestamp, 1) or not hmac.compare_digest(
                request.headers.get("X-Crmstream-Signature", ""), expected):
            return web.Response(status=401, text="bad signature")
        body = _loads(raw)
        if body is None:
            return web.Response(status=400, text="not JSON")
        return self._accept(robot, body, (429, {"Retry-After": "1"}, b"slow down"),
                            web.Response(status=204))

    def _accept(self, robot: FakeRobot, body: dict[str, Any],
                over_limit: tuple[int, dict[str, str], bytes], ok: web.Response
                ) -> web.Response:
        scripted = robot.script.pop(0) if robot.script else None
        now = time.monotonic()
        if scripted is not None:
            status, headers, answer = scripted
            self.refused[robot.name].append((now, f"{status} {answer.decode()}"))
            return web.Response(status=status, headers=headers, body=answer,
                                content_type="application/json")
        if robot.throttle.wait(now) > 0:
            status, headers, answer = over_limit
            self.refused[robot.name].append((now, "over the rate limit"))
            return web.Response(status=status, headers=headers, body=answer,
                                content_type="application/json")
        robot.throttle.sent(now)
        self.received.append(Received(robot.name, robot.platform, body, time.time(), now))
        if self.echo:
            print(f"[fake {robot.platform} {robot.name}] {orjson.dumps(body).decode()}",
                  flush=True)
        return ok


def _identity(platform: Platform, url: str) -> str:
    """What names a robot in its URL on each platform."""
    parts = urlsplit(url)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    match platform:
        case "wecom":
            return query.get("key", "")
        case "dingtalk":
            return query.get("access_token", "")
        case "feishu":
            return parts.path.rsplit("/", 1)[-1]
        case "slack":
            return parts.path.removeprefix("/slack/")
        case "webhook":
            return parts.path.removeprefix("/webhook/")


def _fresh(timestamp: str, per_second: int) -> bool:
    try:
        return abs(time.time() - int(timestamp) / per_second) < SIGNATURE_MAX_AGE_S
    except ValueError:
        return False


def _loads(raw: bytes) -> dict[str, Any] | None:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


async def _json(request: web.Request) -> dict[str, Any] | None:
    return _loads(await request.read())


def _error(code: int, message: str) -> bytes:
    return orjson.dumps({"errcode": code, "errmsg": message})


def _code(code: int, message: str) -> web.Response:
    return web.Response(body=_error(code, message), content_type="application/json")


def _feishu(code: int, message: str) -> web.Response:
    return web.Response(body=orjson.dumps({"code": code, "msg": message, "data": {}}),
                        content_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("routes", type=Path)
    parser.add_argument("--port", type=int, default=6070)
    args = parser.parse_args()
    fakes = FakePlatforms(load_routing(args.routes), echo=True)
    print(f"[fake platforms] on 127.0.0.1:{args.port} for "
          f"{', '.join(r.name for r in fakes.robots.values())}", flush=True)
    web.run_app(fakes.app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main()
