"""What each console page shows, worked out from the read model and the pool rules: pure,
tested without a browser (tests/unit/test_pages.py). The handlers are in ``web.pages``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from state.customer import CustomerState
from state.pool_rules import Pool, PoolRules, human_duration

NOTICE_LABELS = {
    "assigned": "分配 Assigned", "reclaim_warning": "回收预警 Reclaim warning",
    "reclaimed": "已回收 Reclaimed", "transferred_out": "转出 Transferred out",
    "released": "释放 Released", "rejected": "被拒 Rejected",
    "unanswered": "待回复 Unanswered",
}
ACTIVITY_ROWS = (("interactions", "互动 Interactions"), ("sessions", "访问 Sessions"),
                 ("clicks", "点击 Clicks"), ("orders", "订单 Orders"),
                 ("paid_amount", "成交额 Paid"), ("refunds", "退款 Refunds"))


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer as a rep's page shows it: its state, and its pool's warning times."""

    state: CustomerState
    warn_s: float
    manager_warn_s: float

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)


@dataclass(frozen=True, slots=True)
class TeamMember:
    """A rep as its manager sees it: what it holds, and how much of it is slipping."""

    rep_id: str
    held: int
    limit: int | None
    warned: int  # inside its pool's warning time
    manager_warned: int  # inside the manager's warning time
    overdue: int  # past the deadline, not reclaimed (yet, or never: no auto-reclaim)


def team(customers_of: dict[str, list[CustomerState]], rules: PoolRules, now: datetime
         ) -> tuple[list[TeamMember], list[CustomerRow]]:
    """Each rep's numbers, and every customer inside its pool's warning time, soonest
    deadline first."""
    members, slipping = [], []
    for rep_id, customers in sorted(customers_of.items()):
        shown = rows(customers, rules)
        left = [(r, (r.deadline - now).total_seconds()) for r in shown if r.deadline]
        warned = [r for r, s in left if 0 < s <= r.warn_s]
        members.append(TeamMember(
            rep_id, len(customers), rules.max_customers_per_rep, len(warned),
            sum(1 for r, s in left if 0 < s <= r.manager_warn_s),
            sum(1 for _, s in left if s <= 0)))
        slipping += warned + [r for r, s in left if s <= 0]
    return members, sorted(slipping, key=lambda r: r.deadline)


def rows(customers: list[CustomerState], rules: PoolRules) -> list[CustomerRow]:
    """Sorted by the time left until reclaim, soonest first (no deadline last)."""
    def warnings(state: CustomerState) -> tuple[float, float]:
        pool = rules.pool(state.pool_id)
        warn = pool.warn_before if pool else None
        manager = pool.manager_warn_before if pool else None
        return (warn.total_seconds() if warn else 0.0,
                manager.total_seconds() if manager else 0.0)

    ordered = sorted(customers, key=lambda s: (s.deadline is None, s.deadline or s.updated_at))
    return [CustomerRow(s, *warnings(s)) for s in ordered]


@dataclass(frozen=True, slots=True)
class AdminPool:
    id: str
    name: str
    parts: list[tuple[str, list[CustomerState]]]


ADMIN_ACTIONS = (("assign", "分配 Assign →"), ("transfer", "转移 Transfer →"),
                 ("release", "释放 Release"), ("freeze", "冻结 Freeze"),
                 ("discard", "丢弃 Discard"), ("restore", "恢复 Restore"),
                 ("lock", "锁定 Lock"), ("unlock", "解锁 Unlock"))


@dataclass(frozen=True, slots=True)
class PoolView:
    id: str
    name: str
    waiting: list[CustomerState]
    claims_left: int | None
    held: int
    max_held: int | None
    cooldowns: list[str]


def pool_view(pool: Pool, waiting: list[CustomerState], held: int, claimed_today: int
              ) -> PoolView:
    limits = pool.claim
    cooldowns = []
    if limits.previous_owner_cooldown:
        cooldowns.append(f"前任冷却 A previous owner waits "
                         f"{human_duration(limits.previous_owner_cooldown)}")
    if limits.new_customer_cooldown:
        cooldowns.append(f"新入池冷却 Claimable {human_duration(limits.new_customer_cooldown)} "
                         "after entering the pool")
    left = (max(0, limits.max_claims_per_day - claimed_today)
            if limits.max_claims_per_day is not None else None)
    return PoolView(pool.id, pool.name, waiting, left, held, limits.max_customers_per_rep,
                    cooldowns)
