"""Choosing who gets a reclaimed customer when its pool auto-assigns. Pure: the caller
brings how many customers each candidate holds now (from the store)."""

from __future__ import annotations

from state.pool_rules import Pool, PoolRules


def under_limits(rules: PoolRules, pool: Pool, held: int) -> bool:
    limits = (rules.max_customers_per_rep, pool.claim.max_customers_per_rep)
    return all(limit is None or held < limit for limit in limits)


def choose(
    rules: PoolRules, pool: Pool, held: dict[str, int], turn: int, previous_owner: str | None
) -> str | None:
    """The member to assign to, or None when every member is at a limit. ``turn`` counts
    the pool's assignments so far (round-robin); ``held`` is updated by the caller."""
    candidates = [
        rep for rep in rules.member_reps(pool)
        if rep != previous_owner and under_limits(rules, pool, held.get(rep, 0))
    ]
    if not candidates:
        return None
    if pool.auto_assign == "round_robin":
        return candidates[turn % len(candidates)]
    return min(candidates, key=lambda rep: (held.get(rep, 0), rep))
