"""Where customer state lives between batches: the interface, and its in-memory twin.

The worker is the only writer of its partitions' customers. Each batch is written in one
atomic step together with the offsets it processed, guarded by the partitions' fencing
tokens: a worker that lost a partition (and did not notice yet) cannot overwrite the state
its successor already read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from schemas.outputs import Alert, Notice
from state.customer import CustomerState
from state.forget import Tombstone, from_tombstone, tombstone, tombstone_field

TopicPartition = tuple[str, int]


class Fenced(Exception):
    """Another worker took over a partition: this worker must not write it any more."""

    def __init__(self, partitions: Iterable[int]) -> None:
        self.partitions = sorted(partitions)
        super().__init__(f"partitions {self.partitions} are owned by another worker now")


class StoreUnavailable(Exception):
    """The store could not be reached or failed; the same call may succeed later."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class Change(NamedTuple):
    """One customer in a batch: as the store holds it now (None: new), and as it is to be."""

    before: CustomerState | None
    after: CustomerState
    partition: int


@dataclass(slots=True)
class BatchWrite:
    """One batch's effect on the store, written all or nothing."""

    now: datetime
    changes: dict[str, Change] = field(default_factory=dict)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    fences: dict[int, int] = field(default_factory=dict)
    # Timer entries found stale (the customer's state holds another time): set them right.
    reschedule: dict[str, tuple[int, datetime | None]] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # Customers forgotten in this batch, with the reps whose inboxes to clear of them.
    erase: dict[str, set[str]] = field(default_factory=dict)
    # What the batch adds to the numbers (analytics/tally.py): (partition, period) -> field
    # -> increment, written with the state so a replay counts nothing twice.
    tallies: dict[tuple[int, str], dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A claim that passed the per-customer rules and needs a slot under the limits."""

    command_id: str
    customer_id: str
    rep_id: str
    pool_id: str
    at: datetime
    max_total: int | None
    max_in_pool: int | None
    max_per_day: int | None


class StateStore(Protocol):
    async def acquire(self, partitions: Iterable[int]) -> dict[int, int]:
        """Take ownership of partitions: new fencing tokens that outrank every older one."""
        ...

    async def offsets(self, partitions: Iterable[int]) -> dict[TopicPartition, int]:
        """The last applied offset of every input topic-partition that has one."""
        ...

    async def load(self, customers: Mapping[str, int]) -> dict[str, CustomerState]:
        """The stored states of those customers (id -> partition) that exist; a forgotten
        one as its tombstone (``state.forget``)."""
        ...

    async def commit(self, batch: BatchWrite) -> None:
        """Write the batch atomically, or raise ``Fenced`` and write nothing."""
        ...

    async def due(self, partitions: Iterable[int], now: datetime, limit: int
                  ) -> dict[int, list[str]]:
        """Per partition, up to ``limit`` customers whose timer is due at ``now``."""
        ...

    async def reserve_claim(self, claim: ClaimRequest) -> str | None:
        """Take a slot under the claim limits for every worker at once: None when granted
        (also when this command was granted before), else why not."""
        ...

    async def holdings(self, reps: Iterable[str]) -> dict[str, int]:
        """How many customers each rep owns now, across every worker."""
        ...


class MemoryStore:
    """The in-memory twin of the Redis store, for tests of everything above it."""

    def __init__(self, forget_key: bytes = b"test") -> None:
        self.forget_key = forget_key
        self.tombstones: dict[int, dict[str, Tombstone]] = {}
        self.customers: dict[str, CustomerState] = {}
        self.timers: dict[int, dict[str, datetime]] = {}
        self.inboxes: dict[str, list[Notice]] = {}
        self.alerts: list[Alert] = []
        self.claims: dict[tuple[str, str], list[str]] = {}
        self.applied: dict[TopicPartition, int] = {}
        self.tokens: dict[int, int] = {}
        self.tallies: dict[tuple[int, str], dict[str, int]] = {}
        self.commits = 0

    async def acquire(self, partitions: Iterable[int]) -> dict[int, int]:
        for p in partitions:
            self.tokens[p] = self.tokens.get(p, 0) + 1
        return {p: self.tokens[p] for p in partitions}

    async def offsets(self, partitions: Iterable[int]) -> dict[TopicPartition, int]:
        wanted = set(partitions)
        return {tp: o for tp, o in self.applied.items() if tp[1] in wanted}

    async def load(self, customers: Mapping[str, int]) -> dict[str, CustomerState]:
        found = {c: self.customers[c] for c in customers if c in self.customers}
        for cid, partition in customers.items():
            kept = self.tombstones.get(partition, {}).get(tombstone_field(cid, self.forget_key))
            if cid not in found and kept is not None:
                found[cid] = from_tombstone(cid, kept)
        return found

    async def commit(self, batch: BatchWrite) -> None:
        stale = [p for p, token in batch.fences.items() if self.tokens.get(p) != token]
        if stale:
            raise Fenced(stale)
        self.customers.update({c: ch.after for c, ch in batch.changes.items()})
        for cid, change in batch.changes.items():
            self._schedule(change.partition, cid, change.after.timer_at)
            self._file_tombstone(cid, change)
        for cid, (partition, at) in batch.reschedule.items():
            self._schedule(partition, cid, at)
        for n in batch.notices:
            inbox = self.inboxes.setdefault(n.rep_id, [])
            if all(old.notice_id != n.notice_id for old in inbox):
                inbox.append(n)
        known = {a.alert_id for a in self.alerts}
        self.alerts += [a for a in batch.alerts if a.alert_id not in known]
        self.applied.update(batch.offsets)
        for cid, reps in batch.erase.items():
            for rep in reps:
                self.inboxes[rep] = [n for n in self.inboxes.get(rep, []) if n.customer_id != cid]
            self.alerts = [a for a in self.alerts if a.customer_id != cid]
        for where, counts in batch.tallies.items():
            kept = self.tallies.setdefault(where, {})
            for name, increment in counts.items():
                kept[name] = kept.get(name, 0) + increment
        self.commits += 1

    def _file_tombstone(self, cid: str, change: Change) -> None:
        """A forgotten customer leaves only its tombstone; one registered again, its record."""
        field_ = tombstone_field(cid, self.forget_key)
        kept = self.tombstones.setdefault(change.partition, {})
        if change.after.status == "forgotten":
            del self.customers[cid]
            kept[field_] = tombstone(change.after)
        else:
            kept.pop(field_, None)

    async def reserve_claim(self, claim: ClaimRequest) -> str | None:
        granted = self.claims.setdefault((claim.rep_id, claim.pool_id), [])
        if claim.command_id in granted:
            return None
        mine = [s for s in self.customers.values() if s.owner == claim.rep_id]
        if claim.max_total is not None and len(mine) >= claim.max_total:
            return f"limit reached: holds {len(mine)} customers (at most {claim.max_total})"
        in_pool = sum(1 for s in mine if s.pool_id == claim.pool_id)
        if claim.max_in_pool is not None and in_pool >= claim.max_in_pool:
            return (f"limit reached: holds {in_pool} customers of this pool "
                    f"(at most {claim.max_in_pool})")
        if claim.max_per_day is not None and len(granted) >= claim.max_per_day:
            return f"limit reached: {len(granted)} claims today from this pool"
        granted.append(claim.command_id)
        return None

    async def holdings(self, reps: Iterable[str]) -> dict[str, int]:
        wanted = set(reps)
        held = dict.fromkeys(wanted, 0)
        for state in self.customers.values():
            if state.owner in wanted:
                held[state.owner] += 1
        return held

    def _schedule(self, partition: int, cid: str, at: datetime | None) -> None:
        timers = self.timers.setdefault(partition, {})
        if at is None:
            timers.pop(cid, None)
        else:
            timers[cid] = at

    async def due(self, partitions: Iterable[int], now: datetime, limit: int
                  ) -> dict[int, list[str]]:
        found = {}
        for p in partitions:
            ready = sorted((at, c) for c, at in self.timers.get(p, {}).items() if at <= now)
            if ready:
                found[p] = [c for _, c in ready[:limit]]
        return found


