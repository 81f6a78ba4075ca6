"""Who gets what, where: the routing file (``CRMSTREAM_NOTIFY_ROUTES_FILE``), validated at
start-up like the pool rules. Robots are named once (platform, URL, signing secret); a rep
names its robot and how to @mention it there; a pool names a group robot for the notices of
reps with none of their own; ops alerts go by type and lowest severity. Example:
deploy/notify-routes.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from schemas.outputs import Alert, Notice, Severity
from state.alerts import ALERT_TYPES
from state.config_file import ConfigFileError, load_config

Platform = Literal["wecom", "dingtalk", "feishu", "slack", "webhook"]
Language = Literal["zh", "en"]
SIGNED: frozenset[str] = frozenset({"dingtalk", "feishu", "webhook"})
SEVERITIES: tuple[str, ...] = get_args(Severity)


class RoutingError(ConfigFileError):
    """The routing file is missing, not YAML, or not valid; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Robot(_Strict):
    platform: Platform
    url: SecretStr  # the robot's key or token is part of it: never logged
    secret: SecretStr | None = None  # DingTalk's and Feishu's signing secret; the webhook's
    per_minute: int | None = Field(default=None, ge=1)  # the platform's limit unless set
    # how long a throttle code (WeCom 45009, DingTalk 130101, Feishu 11232) is waited out;
    # the platform's documented time unless set (an HTTP Retry-After is always obeyed)
    throttle_wait_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _signed_where_required(self) -> Robot:
        if self.platform == "webhook" and self.secret is None:
            raise ValueError("a webhook needs a secret: its messages are signed (HMAC-SHA256)")
        if self.secret is not None and self.platform not in SIGNED:
            raise ValueError(f"{self.platform} robots are not signed: remove the secret")
        return self


class RepRoute(_Strict):
    robot: str | None = None  # none: its pool's group robot, @mentioning it there
    mention: str | None = None  # WeCom userid, Feishu user_id, Slack member id
    mobile: str | None = None  # WeCom and DingTalk @ by mobile
    language: Language | None = None


class PoolRoute(_Strict):
    robot: str


class AlertRoute(_Strict):
    robot: str
    types: list[str] = Field(default_factory=list)  # none: every type
    min_severity: Severity = "info"

    @model_validator(mode="after")
    def _known_types(self) -> AlertRoute:
        unknown = sorted(set(self.types) - set(ALERT_TYPES))
        if unknown:
            raise ValueError(f"unknown alert types {unknown} (known: {', '.join(ALERT_TYPES)})")
        return self


class Target(BaseModel):
    """One delivery of one message: to this robot, @mentioning these, in this language."""

    model_config = ConfigDict(frozen=True)
    robot: str
    language: Language
    mention: str | None = None
    mobile: str | None = None


class Routing(_Strict):
    console_url: str = "http://127.0.0.1:6066"  # links in messages go to its customer pages
    language: Language = "zh"
    time_zone: str = "Asia/Shanghai"  # deadlines are shown in local time
    robots: dict[str, Robot] = Field(default_factory=dict)
    reps: dict[str, RepRoute] = Field(default_factory=dict)
    pools: dict[str, PoolRoute] = Field(default_factory=dict)
    alerts: list[AlertRoute] = Field(default_factory=list)

    @model_validator(mode="after")
    def _robots_named(self) -> Routing:
        named = [(f"reps.{rep}", r.robot) for rep, r in self.reps.items() if r.robot]
        named += [(f"pools.{pool}", r.robot) for pool, r in self.pools.items()]
        named += [(f"alerts.{i}", r.robot) for i, r in enumerate(self.alerts)]
        unknown = [f"{where}: no robot {robot!r}" for where, robot in named
                   if robot not in self.robots]
        if unknown:
            raise ValueError("; ".join(unknown) + f" (robots: {', '.join(self.robots)})")
        return self

    def for_notice(self, notice: Notice) -> list[Target]:
        """The rep's own robot; else its pool's group robot (with the rep @mentioned there
        when the routing knows how); else none: the console's inbox still has it."""
        rep = self.reps.get(notice.rep_id) or RepRoute()
        pool = self.pools.get(notice.pool_id)
        robot = rep.robot or (pool.robot if pool else None)
        if robot is None:
            return []
        return [Target(robot=robot, language=rep.language or self.language,
                       mention=rep.mention, mobile=rep.mobile)]

    def for_alert(self, alert: Alert) -> list[Target]:
        """Every alert route the alert's type and severity match, each robot once."""
        robots = dict.fromkeys(
            r.robot for r in self.alerts
            if (not r.types or alert.type in r.types)
            and SEVERITIES.index(alert.severity) >= SEVERITIES.index(r.min_severity))
        return [Target(robot=robot, language=self.language) for robot in robots]


def load_routing(path: Path) -> Routing:
    return load_config(path, Routing, "routing file", RoutingError)
