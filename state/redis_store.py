"""The Redis store: durable customer state, the read model other applications use, and the
per-partition offsets and fencing tokens that make a replay exact."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import orjson
from prometheus_client import Counter
from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas.base import to_json
from state.activity import epoch_day
from state.changes import state_changes
from state.customer import STORED_APART, CustomerState
from state.features import recency_days
from state.forget import Tombstone, from_tombstone, tombstone, tombstone_field
from state.keys import NOW, Keys
from state.read_model import activity_layout, flat_defaults
from state.store import (
    BatchWrite,
    Change,
    ClaimRequest,
    Fenced,
    StoreUnavailable,
    TopicPartition,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
UNREADABLE_STATES = Counter(
    "crmstream_unreadable_states_total",
    "Stored customer states that could not be read back and were started over",
)
# How each field kept beside the document is written and read back, and its value when
# the hash has no such field (nothing was ever written apart).
_APART: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(CustomerState.model_fields[name].rebuild_annotation())
    for name in STORED_APART}
_APART_DEFAULTS = {name: CustomerState.model_fields[name].get_default()
                   for name in STORED_APART}
COMMIT_SCRIPT = (Path(__file__).parent / "commit_batch.lua").read_text(encoding="utf-8")
RESERVE_SCRIPT = (Path(__file__).parent / "reserve_claim.lua").read_text(encoding="utf-8")
LOAD_SCRIPT = (Path(__file__).parent / "load_customers.lua").read_text(encoding="utf-8")
# The read model's flat fields and their text when absent, for the commit script's header.
FLAT_DEFAULTS: list[str] = [text for pair in flat_defaults() for text in pair]
ACTIVITY_LAYOUT = activity_layout()
LOAD_CHUNK = 500  # customers per read: one short script, so Redis never stalls on it
INBOX_LENGTH = 1000  # notices kept per rep
RECENT_ALERTS = 10_000  # alerts kept in the recent-alerts stream


class _Section:
    """One section of the script's program: how many operations, then their arguments."""

    def __init__(self) -> None:
        self.count = 0
        self.args: list[str | bytes | int | float] = []

    def add(self, *args: str | bytes | int | float) -> None:
        self.args += args
        self.count += 1


def _pairs(fields: Mapping[str, str | bytes]) -> tuple[str | bytes | int, ...]:
    return (len(fields), *chain.from_iterable(fields.items()))


class _Program:
    """The arguments of ``commit_batch.lua``: one round trip and one reply per batch, checked
    and applied atomically by Redis (a MULTI/EXEC would need WATCH round trips and one reply
    per command). Sections in the order the script reads them."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._index: dict[str, int] = {}
        self._fences = _Section()
        self._customers = _Section()
        self._hashes = _Section()
        self._members = _Section()
        self._entries = _Section()
        self._scrubs = _Section()
        self._tallies = _Section()
        self._publishes = _Section()

    def _key(self, key: str) -> int:
        index = self._index.get(key)
        if index is None:
            self.keys.append(key)
            index = self._index[key] = len(self.keys)
        return index

    def fence(self, key: str, token: int, partition: int) -> None:
        self._fences.add(self._key(key), str(token), partition)

    def customer(self, key: str, doc: bytes, recency_days: float,
                 fields: Mapping[str, str | bytes]) -> None:
        self._customers.add(self._key(key), doc, recency_days, *_pairs(fields))

    def hset(self, key: str, fields: Mapping[str, str | bytes]) -> None:
        self._hashes.add(self._key(key), *_pairs(fields))

    def member(self, op: str, key: str, member: str | None = None,
               score: float | None = None) -> None:
        """``op`` on ``key``: sadd, srem, zrem, hdel (of ``member``), zadd (of ``member`` at
        ``score``), or del (the key)."""
        if member is None:
            self._members.add(op, self._key(key))
        elif score is None:
            self._members.add(op, self._key(key), member)
        else:
            self._members.add(op, self._key(key), score, member)

    def stream_entry(self, ids_key: str, stream_key: str, cap: int, entry_id: str, at: float,
                     payload: bytes) -> None:
        self._entries.add(self._key(ids_key), self._key(stream_key), cap, entry_id, at,
                          payload)

    def scrub(self, stream_key: str, ids_key: str, needle: bytes, id_prefix: str) -> None:
        self._scrubs.add(self._key(stream_key), self._key(ids_key), needle, id_prefix)

    def tally(self, key: str, ttl_s: int, increments: Mapping[str, int]) -> None:
        pairs: list[str | int] = []
        for name, n in increments.items():
            if n:
                pairs += (name, n)
        if pairs:
            self._tallies.add(self._key(key), ttl_s, len(pairs) // 2, *pairs)

    def publish(self, channel: str, message: bytes) -> None:
        self._publishes.add(channel, message)

    def args(self, today: int) -> list[str | bytes | int | float]:
        """``today``: the batch's day since the epoch, the activity windows' end."""
        out: list[str | bytes | int | float] = [self._fences.count, *self._fences.args]
        if self._customers.count:
            out += [len(FLAT_DEFAULTS) // 2, *FLAT_DEFAULTS, today, *ACTIVITY_LAYOUT]
        else:
            out.append(0)
        for section in (self._customers, self._hashes, self._members, self._entries,
                        self._scrubs, self._tallies, self._publishes):
            out += (section.count, *section.args)
        return out


@asynccontextmanager
async def _store_errors() -> AsyncIterator[None]:
    """Redis and network failures leave the store as ``StoreUnavailable`` (retried above)."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(type(exc).__name__, str(exc)) from exc


class RedisStore:
    def __init__(self, redis: Redis, keys: Keys, forget_key: bytes = b"",
                 stats_retention_days: int = 400) -> None:
        self.redis = redis
        self.keys = keys
        self.forget_key = forget_key  # keys the tombstones' hashes (state/forget.py)
        self.stats_ttl_s = stats_retention_days * 86_400  # of a day's numbers
        self._commit_script = redis.register_script(COMMIT_SCRIPT)
        self._reserve_script = redis.register_script(RESERVE_SCRIPT)
        self._load_script = redis.register_script(LOAD_SCRIPT)

    async def _each(self, items: Sequence[T], command: Callable[[Any, T], object]) -> list[Any]:
        """One round trip: ``command(pipeline, item)`` for every item, and their replies."""
        async with _store_errors(), self.redis.pipeline(transaction=False) as pipe:
            for item in items:
                command(pipe, item)
            replies: list[Any] = await pipe.execute()
            return replies

    async def acquire(self, partitions: Iterable[int]) -> dict[int, int]:
        parts = list(partitions)
        tokens = await self._each(parts, lambda pipe, p: pipe.incr(self.keys.fence(p)))
        return dict(zip(parts, (int(t) for t in tokens), strict=True))

    async def offsets(self, partitions: Iterable[int]) -> dict[TopicPartition, int]:
        parts = list(partitions)
        stored = await self._each(parts, lambda pipe, p: pipe.hgetall(self.keys.offsets(p)))
        return {
            (topic.decode(), p): int(offset)
            for p, by_topic in zip(parts, stored, strict=True)
            for topic, offset in by_topic.items()
        }

    async def load(self, customers: Mapping[str, int]) -> dict[str, CustomerState]:
        ids = list(customers)
        found: dict[str, CustomerState] = {}
        for start in range(0, len(ids), LOAD_CHUNK):
            chunk = ids[start:start + LOAD_CHUNK]
            # One script call, not a pipeline of HMGETs: packed and parsed in C (hiredis)
            # instead of one redis-py command object per customer.
            keys = [self.keys.customer(c) for c in chunk] + [
                self.keys.forgotten(customers[c]) for c in chunk]
            fields = [tombstone_field(c, self.forget_key) for c in chunk]
            async with _store_errors():
                rows = await self._load_script(
                    keys=keys, args=[len(STORED_APART), *STORED_APART, *fields])
            for cid, (doc, *apart, kept) in zip(chunk, rows, strict=True):
                if doc is not None:
                    state = _readable(cid, doc, apart)
                elif kept:
                    state = from_tombstone(cid, Tombstone.model_validate_json(kept))
                else:
                    state = None
                if state is not None:
                    found[cid] = state
        return found

    async def commit(self, batch: BatchWrite) -> None:
        program = _Program()
        for partition, token in batch.fences.items():
            program.fence(self.keys.fence(partition), token, partition)
        for change in batch.changes.values():
            self._write_customer(program, change, batch)
        for cid, (partition, at) in batch.reschedule.items():
            self._schedule(program, partition, cid, at)
        for n in batch.notices:
            program.stream_entry(self.keys.inbox_ids(n.rep_id), self.keys.inbox(n.rep_id),
                                 INBOX_LENGTH, n.notice_id, n.at.timestamp(),
                                 to_json(n))
        for a in batch.alerts:
            program.stream_entry(self.keys.alert_ids(), self.keys.alerts(), RECENT_ALERTS,
                                 a.alert_id, a.at.timestamp(), to_json(a))
        for cid, reps in batch.erase.items():
            self._scrub(program, cid, reps)
        for (topic, partition), offset in batch.offsets.items():
            program.hset(self.keys.offsets(partition), {topic: str(offset)})
        for (partition, period), increments in batch.tallies.items():
            program.tally(self.keys.stats(partition, period),
                          0 if period == NOW else self.stats_ttl_s, increments)
        for partition, changed in state_changes(batch.changes.values()).items():
            program.publish(self.keys.changes(partition), to_json(changed))
        async with _store_errors():
            stale = await self._commit_script(keys=program.keys,
                                              args=program.args(epoch_day(batch.now)))
        if stale:
            raise Fenced(int(p) for p in stale)

    def _write_customer(self, program: _Program, change: Change, batch: BatchWrite) -> None:
        after, before = change.after, change.before
        if after.status == "forgotten" or (before and before.status == "forgotten"):
            self._forget_or_restart(program, change)
            if after.status == "forgotten":
                return
        doc = to_json(after, exclude_defaults=True)
        fields: dict[str, str | bytes] = {}
        for name, adapter in _APART.items():  # absent until the first value
            value = getattr(after, name)
            old = getattr(before, name) if before else _APART_DEFAULTS[name]
            if value is not old and value != old:
                fields[name] = adapter.serializer.to_json(value)  # as to_json does
        program.customer(self.keys.customer(after.customer_id), doc,
                         recency_days(after, batch.now), fields)
        self._write_memberships(program, before, after)
        if after.churn_risk is not None and (before is None
                                             or before.churn_risk != after.churn_risk):
            program.member("zadd", self.keys.riskiest(), after.customer_id, after.churn_risk)
        if (before.timer_at if before else None) != after.timer_at:
            self._schedule(program, change.partition, after.customer_id, after.timer_at)

    def _forget_or_restart(self, program: _Program, change: Change) -> None:
        """A customer forgotten: its record and its places in every set go, its tombstone
        stays. One registered again: its tombstone goes."""
        cid, tombstones = change.after.customer_id, self.keys.forgotten(change.partition)
        field = tombstone_field(cid, self.forget_key)
        if change.after.status != "forgotten":
            program.member("hdel", tombstones, field)
            return
        if change.before is not None and change.before.status == "forgotten":
            return  # nothing stored but the tombstone
        program.member("del", self.keys.customer(cid))
        if change.before is not None:
            self._write_memberships(program, change.before, change.after)
        program.member("zrem", self.keys.riskiest(), cid)
        self._schedule(program, change.partition, cid, None)
        program.hset(tombstones, {field: to_json(tombstone(change.after))})

    def _scrub(self, program: _Program, cid: str, reps: Iterable[str]) -> None:
        """The notices and alerts about a forgotten customer leave the inboxes and the
        recent alerts (ids start with the customer id; payloads hold it as a JSON field)."""
        needle, prefix = b'"customer_id":' + orjson.dumps(cid), f"{cid}:"
        for rep in sorted(reps):
            program.scrub(self.keys.inbox(rep), self.keys.inbox_ids(rep), needle, prefix)
        program.scrub(self.keys.alerts(), self.keys.alert_ids(), needle, prefix)

    def _schedule(self, program: _Program, partition: int, cid: str, at: datetime | None
                  ) -> None:
        if at is None:
            program.member("zrem", self.keys.timers(partition), cid)
        else:
            program.member("zadd", self.keys.timers(partition), cid, at.timestamp())

    async def reserve_claim(self, claim: ClaimRequest) -> str | None:
        keys = [
            self.keys.rep_customers(claim.rep_id),
            self.keys.rep_pool_customers(claim.rep_id, claim.pool_id),
            self.keys.rep_pending_claims(claim.rep_id),
            self.keys.claims_today(claim.pool_id, claim.rep_id, f"{claim.at:%Y-%m-%d}"),
        ]
        limits = [-1 if n is None else n
                  for n in (claim.max_total, claim.max_in_pool, claim.max_per_day)]
        async with _store_errors():
            refusal = await self._reserve_script(
                keys=keys, args=[claim.command_id, claim.customer_id, claim.at.timestamp(),
                                 *limits])
        text = refusal.decode() if isinstance(refusal, bytes) else str(refusal)
        return text or None

    async def holdings(self, reps: Iterable[str]) -> dict[str, int]:
        names = list(reps)
        counts = await self._each(names, lambda pipe, rep: pipe.scard(self.keys.rep_customers(rep)))
        return {rep: int(n) for rep, n in zip(names, counts, strict=True)}

    async def due(self, partitions: Iterable[int], now: datetime, limit: int
                  ) -> dict[int, list[str]]:
        parts = list(partitions)
        found = await self._each(parts, lambda pipe, p: pipe.zrangebyscore(
            self.keys.timers(p), "-inf", now.timestamp(), start=0, num=limit))
        return {p: [c.decode() for c in cids] for p, cids in zip(parts, found, strict=True)
                if cids}

    def _write_memberships(
        self, program: _Program, before: CustomerState | None, after: CustomerState
    ) -> None:
        """Keep each rep's set and each pool's sorted sets in step with the customer."""
        cid = after.customer_id
        old_owner = before.owner if before else None
        if old_owner != after.owner:
            if old_owner is not None:
                program.member("srem", self.keys.rep_customers(old_owner), cid)
            if after.owner is not None:
                program.member("sadd", self.keys.rep_customers(after.owner), cid)
                program.member("zrem", self.keys.rep_pending_claims(after.owner), cid)
        old_pool = before.pool_id if before else None
        if (old_owner, old_pool) != (after.owner, after.pool_id):
            if old_owner is not None and old_pool is not None:
                program.member("srem", self.keys.rep_pool_customers(old_owner, old_pool), cid)
            if after.owner is not None:
                program.member("sadd", self.keys.rep_pool_customers(after.owner, after.pool_id),
                               cid)
        old_place = _pool_place(before) if before else None
        new_place = _pool_place(after)
        if old_place != new_place:
            if old_place is not None:
                program.member("zrem", self._place_key(old_place), cid)
            if new_place is not None:
                since = after.pooled_since or after.updated_at
                program.member("zadd", self._place_key(new_place), cid, since.timestamp())

    def _place_key(self, place: tuple[str, bool]) -> str:
        pool_id, in_recycle_bin = place
        return (self.keys.pool_recycle_bin(pool_id) if in_recycle_bin
                else self.keys.pool_members(pool_id))


def _pool_place(state: CustomerState) -> tuple[str, bool] | None:
    """(pool, in its recycle bin?) for a customer waiting in a pool; None when it is owned."""
    if state.status == "pooled":
        return (state.pool_id, False)
    if state.status in ("frozen", "discarded"):
        return (state.pool_id, True)
    return None


def _readable(cid: str, doc: bytes, apart: list[bytes | None]) -> CustomerState | None:
    """The stored state (its document, and the ``STORED_APART`` fields in that order), or
    None when it cannot be read back (written by an incompatible version, or edited by
    hand): the customer starts over rather than stopping every customer of the partition."""
    try:
        state = CustomerState.model_validate_json(doc)
        update = {name: _APART[name].validate_json(text)
                  for name, text in zip(STORED_APART, apart, strict=True) if text}
        if update:
            state = state.model_copy(update=update)
    except ValidationError as exc:
        log.error("stored state of %s is unreadable, starting it over: %s",
                  cid, exc.errors(include_url=False)[:1])
        UNREADABLE_STATES.inc()
        return None
    return state
