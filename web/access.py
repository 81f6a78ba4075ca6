"""Who may see and do what: one rule per (role, action), pure, tested as a table.

- a rep reads only its own inbox, claims only for itself from the pools it is a member
  of, and transfers or releases only its own customers;
- everyone reads its own inbox; a manager also the inboxes and customers of the reps of
  the pools it manages (its team), and the alerts;
- ops (and managers) read and acknowledge the alerts, and ops read any customer's page;
- managers, ops and admins read the numbers (won, lost and why, conversion, segments);
- an admin assigns, transfers, releases, freezes, discards, restores, locks and unlocks
  its pools' customers.
"""

from __future__ import annotations

from dataclasses import dataclass

from state.pool_rules import PoolRules
from web.identity import Identity


@dataclass(frozen=True, slots=True)
class ReadInbox:
    rep_id: str


@dataclass(frozen=True, slots=True)
class ReadAlerts:
    pass


@dataclass(frozen=True, slots=True)
class ReadNumbers:
    """The live numbers (analytics/report.py): managers, ops and admins."""


@dataclass(frozen=True, slots=True)
class ReadTeam:
    """The reps of the pools the signed-in manager manages, and their customers."""


@dataclass(frozen=True, slots=True)
class ReadCustomer:
    """One customer's page: it is in ``pool_id`` and owned by ``owner``."""

    pool_id: str
    owner: str | None


@dataclass(frozen=True, slots=True)
class ClaimFrom:
    """Claim a customer waiting in ``pool_id`` (always for the signed-in rep itself)."""

    pool_id: str


@dataclass(frozen=True, slots=True)
class AcknowledgeAlert:
    pass


@dataclass(frozen=True, slots=True)
class HandOver:
    """Transfer or release a customer, who is in ``pool_id`` and owned by ``owner``."""

    pool_id: str
    owner: str | None


@dataclass(frozen=True, slots=True)
class Administer:
    """Assign, freeze, discard, restore, lock or unlock a customer of ``pool_id``."""

    pool_id: str


Action = (ReadInbox | ReadAlerts | ReadNumbers | ReadTeam | ReadCustomer | ClaimFrom
          | AcknowledgeAlert | HandOver | Administer)


def refusal(who: Identity, action: Action, rules: PoolRules) -> str | None:
    """Why ``who`` may not do ``action``; None when it may."""
    match action:
        case ReadInbox(rep_id):
            return _inbox(who, rep_id, rules)
        case ReadAlerts():
            return None if who.role in ("ops", "manager") else (
                f"the {who.role} role does not read the alerts")
        case ReadTeam():
            return None if who.role == "manager" else f"the {who.role} role has no team"
        case ReadNumbers():
            return None if who.role in ("manager", "ops", "admin") else (
                f"the {who.role} role does not read the team's numbers")
        case HandOver(pool_id, owner):
            return _hand_over(who, pool_id, owner, rules)
        case ReadCustomer(pool_id, owner):
            return _customer(who, pool_id, owner, rules)
        case Administer(pool_id):
            pool = rules.pool(pool_id)
            return None if who.role == "admin" and pool is not None and (
                who.person in pool.admins) else f"not an admin of pool {pool_id!r}"
        case AcknowledgeAlert():
            return None if who.role in ("ops", "manager") else (
                f"the {who.role} role does not acknowledge alerts")
        case ClaimFrom(pool_id):
            return _claim(who, pool_id, rules)
    raise AssertionError(f"unhandled action {action!r}")  # pragma: no cover


def _inbox(who: Identity, rep_id: str, rules: PoolRules) -> str | None:
    if who.person == rep_id:  # one's own inbox (a manager's holds its warnings)
        return None
    if who.role == "rep":
        return "a rep reads only its own inbox"
    if who.role == "manager":
        return None if rep_id in managed_reps(who.person, rules) else (
            f"{rep_id} is not a rep of a pool you manage")
    return f"the {who.role} role reads no rep's inbox"


def _hand_over(who: Identity, pool_id: str, owner: str | None, rules: PoolRules
               ) -> str | None:
    if who.role == "rep":
        return None if owner == who.person else (
            "a rep transfers or releases only its own customers")
    if who.role == "admin":
        pool = rules.pool(pool_id)
        return None if pool is not None and who.person in pool.admins else (
            f"not an admin of pool {pool_id!r}")
    return f"the {who.role} role transfers and releases no customer"


def _customer(who: Identity, pool_id: str, owner: str | None, rules: PoolRules
              ) -> str | None:
    """A rep sees its own customers and those waiting in its pools; a manager its team's
    and its pools'; an admin its pools'; ops every customer (alerts name them)."""
    pool = rules.pool(pool_id)
    match who.role:
        case "ops":
            return None
        case "rep" if owner == who.person or (
                owner is None and pool is not None and rules.is_member(pool, who.person)):
            return None
        case "manager" if (pool is not None and who.person in pool.managers) or (
                owner in managed_reps(who.person, rules)):
            return None
        case "admin" if pool is not None and who.person in pool.admins:
            return None
    return "not a customer of yours, your team's or your pools'"


def _claim(who: Identity, pool_id: str, rules: PoolRules) -> str | None:
    if who.role != "rep":
        return f"the {who.role} role claims no customer"
    pool = rules.pool(pool_id)
    if pool is None:
        return f"unknown pool {pool_id!r}"
    return None if rules.is_member(pool, who.person) else f"not a member of pool {pool_id!r}"


def managed_reps(manager: str, rules: PoolRules) -> set[str]:
    """The reps of every pool ``manager`` manages (its members, teams expanded)."""
    return {rep for pool in rules.pools if manager in pool.managers
            for rep in rules.member_reps(pool)}
