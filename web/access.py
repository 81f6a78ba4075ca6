"""Who may see and do what: one rule per (role, action), pure, tested as a table.

- a rep reads only its own inbox;
- a manager reads the inboxes of the reps of the pools it manages, and the alerts;
- ops read the alerts;
- an admin administers its pools' customers (its actions come with the console's pages).
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


Action = ReadInbox | ReadAlerts


def refusal(who: Identity, action: Action, rules: PoolRules) -> str | None:
    """Why ``who`` may not do ``action``; None when it may."""
    match action:
        case ReadInbox(rep_id):
            if who.role == "rep":
                return None if who.person == rep_id else "a rep reads only its own inbox"
            if who.role == "manager":
                return None if rep_id in managed_reps(who.person, rules) else (
                    f"{rep_id} is not a rep of a pool you manage")
            return f"the {who.role} role reads no rep's inbox"
        case ReadAlerts():
            return None if who.role in ("ops", "manager") else (
                f"the {who.role} role does not read the alerts")
    raise AssertionError(f"unhandled action {action!r}")  # pragma: no cover


def managed_reps(manager: str, rules: PoolRules) -> set[str]:
    """The reps of every pool ``manager`` manages (its members, teams expanded)."""
    return {rep for pool in rules.pools if manager in pool.managers
            for rep in rules.member_reps(pool)}
