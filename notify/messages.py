"""What people read: a notice or an alert as a short message in the reader's language, with
the customer's name and level, the deadline in local time, the reason, and a link to the
customer's page; and a burst of them merged into one digest. Platform-neutral: each
platform's shape and size limit is applied in ``notify.platforms``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from notify.routing import Language
from schemas.outputs import Alert, Notice

NOTICE_TITLES: dict[str, tuple[str, str]] = {  # type: (zh, en)
    "reclaim_warning": ("⚠️ 客户即将被回收", "⚠️ Customer about to be reclaimed"),
    "reclaimed": ("客户已被回收到公海", "Customer reclaimed to the pool"),
    "assigned": ("新客户分配给你", "Customer assigned to you"),
    "transferred_out": ("客户已转出", "Customer transferred away"),
    "released": ("客户已释放回公海", "Customer released to the pool"),
    "rejected": ("操作被拒绝", "Request refused"),
    "unanswered": ("⚠️ 客户的问题还没有回复", "⚠️ A customer's question waits for an answer"),
}
WARNINGS = frozenset({"reclaim_warning", "rejected", "unanswered"})  # the rest are news
WORDS: dict[str, tuple[str, str]] = {
    "level": ("级别", "level"), "deadline": ("截止", "deadline"), "reason": ("原因", "reason"),
    "pool": ("公海", "pool"), "open": ("查看客户", "open the customer"),
    "value": ("数值", "value"),
}


@dataclass(frozen=True, slots=True)
class Customer:
    """What a message says of its customer (from the read model; the id when unknown)."""

    name: str
    level: str


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    lines: tuple[str, ...]
    link: str | None = None
    link_text: str = ""
    severity: str = "info"
    summary: str = ""  # the message in one line, for a digest (the title's line otherwise)
    recipient: str = ""  # the rep it is for (a digest to a group robot names each)


def word(name: str, language: Language) -> str:
    zh, en = WORDS[name]
    return zh if language == "zh" else en


def customer_link(console_url: str, customer_id: str) -> str:
    return f"{console_url.rstrip('/')}/console/customers/{quote(customer_id, safe='')}"


def notice_message(notice: Notice, customer: Customer, language: Language, console_url: str,
                   zone: ZoneInfo) -> Message:
    zh, en = NOTICE_TITLES[notice.type]
    lines = [f"{customer.name}（{word('level', language)} {customer.level}）"
             if language == "zh" else f"{customer.name} ({word('level', language)} "
             f"{customer.level})"]
    if notice.deadline is not None:
        lines.append(f"{word('deadline', language)}: {_local(notice.deadline, zone)}")
    if notice.reason:
        lines.append(f"{word('reason', language)}: {notice.reason}")
    lines.append(f"{word('pool', language)}: {notice.pool_id}")
    return Message(title=zh if language == "zh" else en, lines=tuple(lines),
                   link=customer_link(console_url, notice.customer_id),
                   link_text=word("open", language),
                   severity="warning" if notice.type in WARNINGS else "info",
                   summary=lines[0], recipient=notice.rep_id)


def alert_message(alert: Alert, customer: Customer, language: Language, console_url: str,
                  zone: ZoneInfo) -> Message:
    lines = [alert.message, f"{customer.name} · {_local(alert.at, zone)}"]
    if alert.value is not None:
        lines.append(f"{word('value', language)}: {alert.value:g}")
    return Message(title=f"[{alert.severity}] {alert.type}", lines=tuple(lines),
                   link=customer_link(console_url, alert.customer_id),
                   link_text=word("open", language), severity=alert.severity,
                   summary=f"{customer.name}: {alert.message}")


def digest(messages: list[Message], language: Language) -> Message:
    """A burst merged into one message: a line per message, each with its link; none left
    out (a platform's size limit cuts lines, and says how many, in ``notify.platforms``)."""
    title = (f"{len(messages)} 条新消息" if language == "zh"
             else f"{len(messages)} new messages")
    several = len({m.recipient for m in messages}) > 1
    lines = tuple(f"{m.title}: {m.summary or m.lines[0]}"
                  + (f" → {m.recipient}" if several and m.recipient else "")
                  + (f" {m.link}" if m.link else "") for m in messages)
    worst = max((m.severity for m in messages), key=("info", "warning", "critical").index)
    return Message(title=title, lines=lines, severity=worst)


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
