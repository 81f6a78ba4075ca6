"""What a committed batch changed, told to the console's open pages: per partition, the
reps whose customers changed (owners before and after), the customers, and their pools."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.outputs import StateChanged
from state.store import Change


def state_changes(changes: Iterable[Change]) -> dict[int, StateChanged]:
    """One signal per partition the batch touched (a Redis Cluster layout keeps each
    partition's signal with its keys)."""
    touched: dict[int, tuple[set[str], set[str], set[str]]] = {}
    for change in changes:
        reps, customers, pools = touched.setdefault(change.partition, (set(), set(), set()))
        customers.add(change.after.customer_id)
        for state in (change.before, change.after):
            if state is None:
                continue
            if state.pool_id:
                pools.add(state.pool_id)
            if state.owner:
                reps.add(state.owner)
    return {partition: StateChanged(reps=tuple(sorted(reps)),
                                    customers=tuple(sorted(customers)),
                                    pools=tuple(sorted(pools)))
            for partition, (reps, customers, pools) in touched.items()}
