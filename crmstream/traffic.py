"""Realistic synthetic CRM traffic: customers browsing, buying and talking to their reps.

About 60% clicks (in browsing sessions), 30% interactions (Chinese and English texts, some
rated; reps who follow up on time and reps who do not), 10% orders (placed, then mostly paid,
some cancelled or refunded), plus the CRM's ownership commands and a small share of bad
messages. Some customers are leaving: they complain more, look at the pricing and cancel
pages, then go silent (and a rep marks some of them churned), which is what the churn model
has to learn. Deterministic for a given seed, so benchmarks replay the same stream.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from crmstream.settings import Topics

POSITIVE_TEXTS = (
    "质量很好，物流也很快，非常满意", "客服态度很好，问题很快解决了", "价格合理，下次还会再买",
    "Great service, thanks for the quick follow-up!", "The demo was really helpful, we love it",
    "非常感谢，great product 很好用", "包装很好，推荐给朋友了",
    "Happy with the new plan, works well",
)
NEGATIVE_TEXTS = (
    "太慢了，等了一个星期还没到货", "质量很差，要求退款", "客服一直不回复，很失望",
    "This is the third time I report the same bug, very disappointed",
    "Too expensive, we are considering cancelling", "系统老是出错，考虑换供应商了",
    "Nobody called me back, terrible support", "退货流程太麻烦了 what a mess",
)
NEUTRAL_TEXTS = (
    "请问这个型号还有货吗", "Can you send me the invoice for last month?", "明天下午方便通话吗",
    "We need a quote for 50 seats", "想了解一下企业版的价格", "Please update our billing address",
)
PAGES = (
    ("/products/{n}", "product", 0.45), ("/pricing", "pricing", 0.15),
    ("/cart", "cart", 0.1), ("/checkout", "checkout", 0.05),
    ("/help/{n}", "support", 0.12), ("/account/cancel", "cancel", 0.03),
    ("/blog/{n}", "other", 0.1),
)
PAGE_WEIGHTS = [p[2] for p in PAGES]
# Leaving customers compare prices and look for the way out.
LEAVING_PAGE_WEIGHTS = [
    w * {"pricing": 3, "cancel": 8, "support": 2}.get(page_type, 1)
    for _, page_type, w in PAGES
]
CHANNELS = ("call", "email", "sms", "chat", "wechat", "visit", "meeting", "ticket")
LEVELS = ("A", "B", "C")


@dataclass
class Customer:
    customer_id: str
    owner: str | None
    mood: float  # probability that a text is negative
    leaving: bool = False  # on the way out: more complaints, pricing and cancel pages
    gone: bool = False  # left: sends nothing any more
    session: str | None = None
    session_clicks: int = 0
    open_orders: list[str] = field(default_factory=list)
    paid_orders: list[tuple[str, float]] = field(default_factory=list)


Message = tuple[str, str, bytes]  # topic, key, value


class Traffic:
    def __init__(
        self, topics: Topics, customers: int = 2000, reps: int = 20, seed: int = 7,
        bad_share: float = 0.005, commands_share: float = 0.02, punctual_share: float = 0.7,
        pools: tuple[str, ...] = ("default",), prefix: str = "cust",
        leaving_share: float = 0.15, leave_chance: float = 0.15,
    ) -> None:
        self.topics = topics
        self.rng = random.Random(seed)
        self.reps = [f"rep-{i:03d}" for i in range(reps)]
        # Reps who follow up on time most of the time, and those who let customers slip.
        self.punctual = {r for r in self.reps if self.rng.random() < punctual_share}
        self.pools = pools
        self.bad_share = bad_share
        self.commands_share = commands_share
        self.leave_chance = leave_chance
        self.customers = [
            Customer(f"{prefix}-{i:06d}", self.rng.choice(self.reps)
                     if self.rng.random() < 0.7 else None, self.rng.betavariate(2, 5))
            for i in range(customers)
        ]
        for c in self.customers:
            if self.rng.random() < leaving_share:
                c.leaving, c.mood = True, self.rng.betavariate(5, 2)
        self.seq = 0

    def _id(self, kind: str) -> str:
        self.seq += 1
        return f"{kind}-{self.seq:010d}"

    @staticmethod
    def _encode(body: Mapping[str, object]) -> bytes:
        return orjson.dumps(body)

    def registrations(self, now: datetime) -> Iterator[Message]:
        """One register command per customer, so every customer has a pool and a level."""
        for c in self.customers:
            body: dict[str, object] = {
                "command_id": f"reg-{c.customer_id}", "customer_id": c.customer_id,
                "issued_at": now.isoformat(), "type": "register", "actor": "crm-import",
                "pool_id": self.rng.choice(self.pools), "level": self.rng.choice(LEVELS),
                "name": f"Customer {c.customer_id[-6:]}",
            }
            if c.owner is not None:
                body["owner"] = c.owner
            yield (self.topics.commands, c.customer_id, self._encode(body))

    def next(self, now: datetime) -> Message:
        """The next message of the stream, stamped ``now``."""
        roll = self.rng.random()
        if roll < self.bad_share:
            return self._bad(now)
        c = self._someone_still_here()
        if c.leaving and self.rng.random() < self.leave_chance:
            c.gone = True  # this is the last the stream hears of them, bar a churn mark
            if self.rng.random() < 0.5:
                return self._mark_churned(c, now)
        if roll < self.bad_share + self.commands_share:
            return self._command(c, now)
        kind = self.rng.random()
        if kind < 0.6:
            return self._click(c, now)
        if kind < 0.9:
            return self._interaction(c, now)
        return self._order(c, now)

    def _someone_still_here(self) -> Customer:
        for _ in range(20):
            c = self.rng.choice(self.customers)
            if not c.gone:
                return c
        return c  # nearly everyone left: let the stream go on with whoever was drawn

    def _mark_churned(self, c: Customer, now: datetime) -> Message:
        body = {"command_id": self._id("cmd"), "customer_id": c.customer_id,
                "issued_at": now.isoformat(), "type": "mark_churned",
                "actor": c.owner or "admin"}
        return (self.topics.commands, c.customer_id, self._encode(body))

    def _click(self, c: Customer, now: datetime) -> Message:
        if c.session is None or c.session_clicks > self.rng.randint(3, 12):
            c.session, c.session_clicks = self._id("sess"), 0
        c.session_clicks += 1
        weights = LEAVING_PAGE_WEIGHTS if c.leaving else PAGE_WEIGHTS
        path, page_type, _ = self.rng.choices(PAGES, weights=weights)[0]
        body = {
            "event_id": self._id("clk"), "customer_id": c.customer_id,
            "occurred_at": now.isoformat(), "session_id": c.session,
            "page": path.format(n=self.rng.randint(1, 500)), "page_type": page_type,
            "dwell_ms": int(self.rng.expovariate(1 / 20_000)),
        }
        return (self.topics.clicks, c.customer_id, self._encode(body))

    def _interaction(self, c: Customer, now: datetime) -> Message:
        inbound = self.rng.random() < 0.45
        negative = self.rng.random() < c.mood
        texts = NEGATIVE_TEXTS if negative else (
            POSITIVE_TEXTS if self.rng.random() < 0.6 else NEUTRAL_TEXTS
        )
        body: dict[str, object] = {
            "event_id": self._id("int"), "customer_id": c.customer_id,
            "occurred_at": now.isoformat(), "channel": self.rng.choice(CHANNELS),
            "direction": "inbound" if inbound else "outbound",
            "text": self.rng.choice(texts), "duration_s": round(self.rng.expovariate(1 / 180), 1),
        }
        if not inbound:
            # Punctual reps log their own follow-ups; others' customers hear from someone else.
            owner_follows_up = c.owner is not None and (
                c.owner in self.punctual or self.rng.random() < 0.3
            )
            body["rep_id"] = c.owner if owner_follows_up else self.rng.choice(self.reps)
        if self.rng.random() < 0.25:
            body["rating"] = self.rng.randint(1, 2) if negative else self.rng.randint(3, 5)
        return (self.topics.interactions, c.customer_id, self._encode(body))

    def _order(self, c: Customer, now: datetime) -> Message:
        roll = self.rng.random()
        if c.open_orders and roll < 0.6:
            order_id = c.open_orders.pop(0)
            status = "paid" if self.rng.random() < 0.85 else "cancelled"
            amount = round(self.rng.lognormvariate(6, 1), 2)
            if status == "paid":
                c.paid_orders.append((order_id, amount))
        elif c.paid_orders and roll < 0.65:
            order_id, amount = c.paid_orders.pop(0)
            status = "refunded"
        else:
            order_id, status = self._id("ord"), "placed"
            amount = round(self.rng.lognormvariate(6, 1), 2)
            c.open_orders.append(order_id)
        body = {
            "event_id": self._id("ordev"), "customer_id": c.customer_id,
            "occurred_at": now.isoformat(), "order_id": order_id, "status": status,
            "amount": f"{amount:.2f}", "currency": "CNY",
        }
        return (self.topics.orders, c.customer_id, self._encode(body))

    def _command(self, c: Customer, now: datetime) -> Message:
        """What reps and admins do in the CRM. The simulator does not see the worker's
        state, so some commands are refused (a claim of a customer someone else holds):
        exactly what happens when two reps look at the same pool list."""
        common: dict[str, object] = {"command_id": self._id("cmd"),
                                     "customer_id": c.customer_id,
                                     "issued_at": now.isoformat()}
        roll = self.rng.random()
        rep = self.rng.choice(self.reps)
        body: dict[str, object]
        if roll < 0.35:  # grab from the pool list
            body = common | {"type": "claim", "rep_id": rep, "actor": rep}
            c.owner = rep
        elif roll < 0.55:
            body = common | {"type": "transfer", "to_rep_id": rep, "actor": "manager"}
            c.owner = rep
        elif roll < 0.65:
            body = common | {"type": "release", "pool_id": self.rng.choice(self.pools),
                             "reason": "no budget this year", "actor": c.owner or "admin"}
            c.owner = None
        elif roll < 0.72:
            body = common | {"type": self.rng.choice(("lock", "unlock")), "actor": "admin"}
        elif roll < 0.79:
            body = common | {"type": self.rng.choice(("freeze", "discard")), "actor": "admin"}
            c.owner = None
        elif roll < 0.86:
            body = common | {"type": "restore", "actor": "admin"}
        elif roll < 0.93:
            body = common | {"type": "assign", "rep_id": rep, "actor": "admin"}
            c.owner = rep
        else:
            body = common | {"type": "mark_won", "actor": c.owner or "admin"}
        return (self.topics.commands, c.customer_id, self._encode(body))

    def _bad(self, now: datetime) -> Message:
        """One of the kinds of bad input a real producer sends now and then."""
        c = self.rng.choice(self.customers)
        kind = self.rng.randrange(5)
        if kind == 0:
            return (self.topics.clicks, c.customer_id, b"\xff\xfe not utf-8 \x00")
        if kind == 1:
            return (self.topics.interactions, c.customer_id, b'{"event_id": "x", oops')
        if kind == 2:
            return (self.topics.orders, c.customer_id, self._encode(
                {"event_id": self._id("bad"), "customer_id": c.customer_id,
                 "occurred_at": now.isoformat(), "order_id": "o", "status": "paid",
                 "amount": "-10", "currency": "CNY"}))
        if kind == 3:
            future = (now + timedelta(days=400)).isoformat()
            return (self.topics.clicks, c.customer_id, self._encode(
                {"event_id": self._id("bad"), "customer_id": c.customer_id,
                 "occurred_at": future, "session_id": "s", "page": "/"}))
        return (self.topics.interactions, "someone-else", self._encode(
            {"event_id": self._id("bad"), "customer_id": c.customer_id,
             "occurred_at": now.isoformat(), "channel": "call", "direction": "inbound"}))
