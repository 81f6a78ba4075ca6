"""The shared-pool rules: pools, who may claim from them, and when customers are reclaimed.

Read from a YAML file (``CRMSTREAM_POOL_RULES_FILE``) and validated at start-up. A rule
that could never fire, a period of 0, an unknown pool or level is an error with a message
naming the pool and rule, never a silently disabled rule. Example: deploy/pool-rules.yml.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from state.config_file import ConfigFileError, load_config

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def parse_duration(value: object) -> object:
    """``90s``, ``15m``, ``48h``, ``30d`` (or a number of seconds) -> timedelta."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration like 90s, 15m, 48h or 30d")
        return timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def human_duration(period: timedelta) -> str:
    seconds = int(period.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReclaimRule(_Strict):
    """Reclaim a customer whose owner did not follow up (or did not close a deal) in time."""

    type: Literal["no_follow_up", "no_deal"]
    period: Duration | None = None
    periods: dict[str, Duration] = Field(default_factory=dict)
    exempt_won: bool = True
    exempt_open_orders: bool = False

    def period_for(self, level: str) -> timedelta:
        return self.periods.get(level) or self.period or timedelta(0)

    def reason(self, level: str) -> str:
        what = "no follow-up" if self.type == "no_follow_up" else "no deal"
        return f"{what} for {human_duration(self.period_for(level))}"


class ClaimLimits(_Strict):
    max_customers_per_rep: int | None = Field(default=None, ge=1)
    max_claims_per_day: int | None = Field(default=None, ge=1)
    previous_owner_cooldown: Duration | None = None
    new_customer_cooldown: Duration | None = None


class Pool(_Strict):
    id: str
    name: str
    members: list[str] = Field(default_factory=list)
    admins: list[str] = Field(default_factory=list)
    managers: list[str] = Field(default_factory=list)
    enabled: bool = True
    auto_reclaim: bool = True
    rules: list[ReclaimRule] = Field(default_factory=list)
    warn_before: Duration | None = None
    manager_warn_before: Duration | None = None
    claim: ClaimLimits = ClaimLimits()
    reclaim_to: str | None = None
    # Hand a reclaimed customer straight to a member (never its previous owner) who is
    # under the limits: in turn, or to whoever holds fewest customers now.
    auto_assign: Literal["none", "round_robin", "least_loaded"] = "none"


class AnswerRules(_Strict):
    """How long an inbound question may wait for its owner's answer, per level, before the
    owner is alerted (``within``) and then the pool's managers (``escalate_after``, counted
    from the question too). A level left out is never alerted about."""

    within: dict[str, Duration] = Field(default_factory=dict)
    escalate_after: dict[str, Duration] = Field(default_factory=dict)


class PoolRules(_Strict):
    levels: list[str] = Field(min_length=1)
    default_pool: str
    max_customers_per_rep: int | None = Field(default=None, ge=1)
    teams: dict[str, list[str]] = Field(default_factory=dict)
    pools: list[Pool] = Field(min_length=1)
    answers: AnswerRules | None = None  # state/answers.py

    @model_validator(mode="after")
    def _consistent(self) -> PoolRules:
        problems: list[str] = []
        ids = [p.id for p in self.pools]
        if len(set(ids)) != len(ids):
            problems.append(f"pool ids repeat: {ids}")
        known = set(ids)
        if self.default_pool not in known:
            problems.append(f"default_pool {self.default_pool!r} is not a pool ({sorted(known)})")
        for pool in self.pools:
            problems += _pool_problems(pool, known, set(self.levels), set(self.teams))
        if self.answers is not None:
            problems += _answer_problems(self.answers, set(self.levels))
        if problems:
            raise ValueError("\n  - " + "\n  - ".join(problems))
        return self

    def team_of(self, rep_id: str | None) -> str:
        """The first team listing the rep ("-" for none or no rep): a dimension of the
        numbers (analytics/tally.py)."""
        return self._teams.get(rep_id, "-") if rep_id is not None else "-"

    @cached_property
    def _teams(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for team, reps in self.teams.items():
            for rep in reps:
                found.setdefault(rep, team)
        return found

    def pool(self, pool_id: str) -> Pool | None:
        return self._by_id.get(pool_id)

    @cached_property
    def _by_id(self) -> dict[str, Pool]:
        # Looked up for every event (the customer's timers): a dict, not a scan.
        return {p.id: p for p in self.pools}

    def member_reps(self, pool: Pool) -> list[str]:
        """The reps a pool's members name, teams expanded, in a stable order."""
        reps: list[str] = []
        for member in pool.members:
            named = self.teams.get(member[5:], []) if member.startswith("team:") else [member]
            reps += [rep for rep in named if rep not in reps]
        return reps

    def is_member(self, pool: Pool, rep_id: str) -> bool:
        """A rep may claim from a pool it is a member of, directly or through a team. A pool
        with no members listed is open to every rep."""
        if not pool.members:
            return True
        for member in pool.members:
            if member == rep_id:
                return True
            if member.startswith("team:") and rep_id in self.teams.get(member[5:], ()):
                return True
        return False


def _pool_problems(pool: Pool, pools: set[str], levels: set[str], teams: set[str]) -> list[str]:
    where = f"pool {pool.id!r}"
    problems: list[str] = []
    if pool.reclaim_to is not None and pool.reclaim_to not in pools:
        problems.append(f"{where}: reclaim_to {pool.reclaim_to!r} is not a pool")
    problems += [
        f"{where}: unknown team {m[5:]!r}" for m in pool.members
        if m.startswith("team:") and m[5:] not in teams
    ]
    if pool.manager_warn_before is not None and not pool.managers:
        problems.append(f"{where}: manager_warn_before needs managers to warn")
    if pool.auto_assign != "none" and not pool.members:
        problems.append(f"{where}: auto_assign needs members to assign to")
    if pool.auto_reclaim and pool.enabled and not pool.rules:
        problems.append(f"{where}: auto_reclaim is on but there are no rules")
    periods: list[timedelta] = []
    for n, rule in enumerate(pool.rules, 1):
        problems += _rule_problems(f"{where} rule {n} ({rule.type})", rule, levels)
        periods += [p for p in map(rule.period_for, levels) if p > timedelta(0)]
    shortest = min(periods, default=None)
    for name in ("warn_before", "manager_warn_before"):
        warn: timedelta | None = getattr(pool, name)
        if warn is not None and warn <= timedelta(0):
            problems.append(f"{where}: {name} must be positive")
        elif warn is not None and shortest is not None and warn >= shortest:
            problems.append(
                f"{where}: {name} {human_duration(warn)} is not shorter than the shortest period "
                f"{human_duration(shortest)}: the warning could never come before the reclaim"
            )
    for name in ("previous_owner_cooldown", "new_customer_cooldown"):
        cooldown: timedelta | None = getattr(pool.claim, name)
        if cooldown is not None and cooldown <= timedelta(0):
            problems.append(f"{where}: claim.{name} must be positive (omit it to disable)")
    return problems


def _answer_problems(answers: AnswerRules, levels: set[str]) -> list[str]:
    problems: list[str] = []
    for name in ("within", "escalate_after"):
        periods: dict[str, timedelta] = getattr(answers, name)
        unknown = set(periods) - levels
        if unknown:
            problems.append(f"answers.{name}: unknown levels {sorted(unknown)}")
        problems += [f"answers.{name}.{level} must be positive"
                     for level, period in periods.items() if period <= timedelta(0)]
    problems += [
        f"answers.escalate_after.{level} is not later than answers.within.{level}"
        for level, escalate in answers.escalate_after.items()
        if level in answers.within and escalate <= answers.within[level]
    ]
    return problems


def _rule_problems(at: str, rule: ReclaimRule, levels: set[str]) -> list[str]:
    problems: list[str] = []
    unknown = set(rule.periods) - levels
    if unknown:
        problems.append(f"{at}: unknown levels {sorted(unknown)} (levels: {sorted(levels)})")
    problems += [
        f"{at}: no period for level {level!r} (a period of 0 never means disabled; give "
        "`period` or a positive `periods` entry)"
        for level in sorted(levels) if rule.period_for(level) <= timedelta(0)
    ]
    return problems


class PoolRulesError(ConfigFileError):
    """The rules file is missing, unreadable or invalid: the message says exactly where."""


def load_pool_rules(path: Path) -> PoolRules:
    return load_config(path, PoolRules, "pool rules", PoolRulesError)


def without_reclaims(default_pool: str, level: str) -> PoolRules:
    """The rules when no file is configured: one open pool, nothing is ever reclaimed."""
    return PoolRules(
        levels=[level], default_pool=default_pool,
        pools=[Pool(id=default_pool, name=default_pool, auto_reclaim=False)],
    )
