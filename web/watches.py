"""Which committed changes concern an open page: each page watches the reps, customers and
pools it shows, and re-reads itself when a batch touches one of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.outputs import StateChanged
from state.pool_rules import PoolRules
from web.access import managed_reps
from web.identity import Identity

Page = Literal["rep", "pool", "team", "admin", "customer", "numbers"]


@dataclass(frozen=True, slots=True)
class Watch:
    reps: frozenset[str] = frozenset()
    customers: frozenset[str] = frozenset()
    pools: frozenset[str] = frozenset()
    everything: bool = False  # the numbers: every change moves them

    def concerns(self, changed: StateChanged) -> bool:
        return self.everything or not (self.reps.isdisjoint(changed.reps)
                    and self.customers.isdisjoint(changed.customers)
                    and self.pools.isdisjoint(changed.pools))


def page_watch(who: Identity, page: Page, rules: PoolRules, customer_id: str = "") -> Watch:
    """What ``page``, opened by ``who``, shows. Access to the page itself is checked by the
    caller; the stream says only "re-read", and the re-read is checked again."""
    match page:
        case "rep":  # My customers: a row moves when its customer's state does
            return Watch(reps=frozenset({who.person}))
        case "pool":  # the pools' waiting customers, and the rep's own holdings
            return Watch(reps=frozenset({who.person}), pools=frozenset(
                p.id for p in rules.pools if rules.is_member(p, who.person)))
        case "team":
            return Watch(reps=frozenset(managed_reps(who.person, rules)))
        case "admin":
            return Watch(pools=frozenset(p.id for p in rules.pools if who.person in p.admins))
        case "customer":
            return Watch(customers=frozenset({customer_id}))
        case "numbers":
            return Watch(everything=True)
