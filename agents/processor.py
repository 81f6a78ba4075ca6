"""One batch of input records in, durable state and published effects out.

This is the worker's whole job, free of Faust so it can be tested with the in-memory store:

1. skip what the store already applied (offset at or below the recorded one: a replay);
2. decode and validate; what fails becomes a dead letter with its reason;
3. apply every event to its customer with the pure transitions, in partition order;
4. publish effects and dead letters, and wait until Kafka has them;
5. write the changed customers and the processed offsets to the store in one atomic step.

Steps 1-3 run under the processor's lock; 4-5 (the batch's flush) run after the previous
batch's flush, while the next batch is applied: the worker does not sit idle while Redis
and Kafka take a batch (see ``submit``). The caller acknowledges the records to Kafka only
once their flush is done, so Kafka never commits an offset the store has not recorded. A
crash between 4 and 5 replays the batch: the effects go out again with the same ids, and
consumers drop the duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, TypeVar

from agents import metrics
from agents.batch_scoring import BatchScoring
from agents.health import Health
from agents.home_partitions import FORWARD_MAX_BYTES, misplaced
from agents.models import Models
from analytics.exporter import count_flows
from analytics.tally import Tally, TallyRules
from crmstream.clock import Clock
from crmstream.settings import Topics
from schemas.base import to_json
from schemas.commands import Claim
from schemas.decode import InputKind, InvalidRecord, dead_letter, decode
from schemas.outputs import Alert, DeadLetter, Notice
from state.assignment import choose
from state.customer import CustomerState
from state.engine import on_event, on_timer
from state.forget import FORGOTTEN, inboxes_to_scrub
from state.forget import REFUSAL as FORGOTTEN_REFUSAL
from state.store import (
    BatchWrite,
    Change,
    ClaimRequest,
    Fenced,
    StateStore,
    StoreUnavailable,
    TopicPartition,
)
from state.timers import needs_assignee
from state.transitions import Effect, Event, Outcome, Policy, Signals, claim_refusal

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_POLICY = Policy()
TIMERS_PER_TICK = 2000
TIMER_RETRY = timedelta(minutes=1)
# A batch is applied in one stretch of the event loop otherwise; the write of the batch
# before it (built and sent by another task) goes out to Redis only when this one awaits.
YIELD_EVERY_EVENTS = 100


class InputRecord(Protocol):
    """An input record as the processor reads it. The worker hands Faust's own messages over
    as they are (no copy per record); tests build ``Record``s."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class Record(NamedTuple):
    """An input record built by hand (tests, tools)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Outgoing(NamedTuple):
    topic: str
    key: str
    value: bytes


class Sink(Protocol):
    async def publish(self, messages: Sequence[Outgoing]) -> None:
        """Send all messages and return once Kafka has acknowledged every one."""
        ...


@dataclass(slots=True)
class BatchResult:
    applied: int = 0
    skipped: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    outputs: list[Outgoing] = field(default_factory=list)
    forwarded: list[Outgoing] = field(default_factory=list)  # records off their home
    fenced: list[int] = field(default_factory=list)


class Processor:
    def __init__(
        self,
        store: StateStore,
        sink: Sink,
        topics: Topics,
        clock: Clock,
        policy: Policy = DEFAULT_POLICY,
        max_future_skew: timedelta = timedelta(minutes=5),
        max_past_age: timedelta = timedelta(days=365 * 30),
        cache_size: int = 200_000,
        retry_delay_s: float = 0.2,
        models: Models | None = None,
        partition_count: Callable[[str], int | None] = lambda topic: None,
        health: Health | None = None,
        tally_rules: TallyRules | None = None,
    ) -> None:
        self.store = store
        self.sink = sink
        self.topics = topics
        self.clock = clock
        self.policy = policy
        self.models = models or Models(None, None)
        self.scoring = BatchScoring(self.models)
        # The numbers each change adds (analytics/tally.py), written with the batch.
        self.tally = Tally(tally_rules or TallyRules(policy.rules))
        # Batches and timer ticks take turns: a due reclaim and a follow-up for the same
        # customer are decided in one order, never interleaved across an await.
        self.lock = asyncio.Lock()
        self.turns: dict[str, int] = {}  # round-robin position per auto-assigning pool
        self.max_future_skew = max_future_skew
        self.max_past_age = max_past_age
        self.cache_size = cache_size
        self.retry_delay_s = retry_delay_s
        self.partition_count = partition_count  # of an input topic, as the consumer sees it
        self.health = health or Health()
        self.tokens: dict[int, int] = {}
        self.lost: set[int] = set()
        self.applied: dict[TopicPartition, int] = {}
        # Customers as the store holds them (written), most recently used last ...
        self.cache: OrderedDict[str, CustomerState] = OrderedDict()
        # ... and as applied by a batch whose flush is not done yet: newer than the store.
        self.unflushed: dict[str, CustomerState] = {}
        self.partition_of: dict[str, int] = {}
        self._flushing: asyncio.Future[BatchResult] | None = None
        self._reading: asyncio.Future[None] | None = None  # a batch's load from the store

    # --- partition ownership ---------------------------------------------------------------

    async def assign(self, partitions: Iterable[int]) -> None:
        """Take ownership: fence out any older writer, and learn what it already applied."""
        new = sorted(set(partitions) - set(self.tokens))
        if not new:
            return
        # The offsets read below must include this worker's own write in flight, and the
        # new token must not fence that write out.
        await self.drain()
        self.lost.difference_update(new)
        self._evict_partitions(new)
        self.tokens.update(await self.store.acquire(new))
        self.applied.update(await self.store.offsets(new))
        metrics.OWNED_PARTITIONS.set(len(self.tokens))
        self.health.owned(self.tokens, time.monotonic())

    def revoke(self, partitions: Iterable[int]) -> None:
        """Forget partitions another worker takes over; their state is already in the store."""
        gone = [p for p in partitions if p in self.tokens]
        for p in gone:
            del self.tokens[p]
        self._evict_partitions(gone)
        metrics.OWNED_PARTITIONS.set(len(self.tokens))
        self.health.owned(self.tokens, time.monotonic())

    def _evict_partitions(self, partitions: Iterable[int]) -> None:
        dropped = set(partitions)
        if not dropped:
            return
        self.applied = {tp: o for tp, o in self.applied.items() if tp[1] not in dropped}
        for cid in [c for c, p in self.partition_of.items() if p in dropped]:
            del self.partition_of[cid]
            self.cache.pop(cid, None)
            self.unflushed.pop(cid, None)

    # --- the batch -------------------------------------------------------------------------

    async def process(self, records: Sequence[InputRecord]) -> BatchResult:
        """Apply a batch and return once it is durable."""
        return await (await self.submit(records))

    async def submit(self, records: Sequence[InputRecord]) -> asyncio.Future[BatchResult]:
        """Apply a batch now; return once the batch before it is durable, with a future
        that is done when this one is. At most one batch is ahead of the store, and the
        next is applied while it is written. A flush that failed makes this raise."""
        async with self.lock:
            return await self._submit(records)

    async def _submit(self, records: Sequence[InputRecord]) -> asyncio.Future[BatchResult]:
        now = self.clock.now()
        result = BatchResult()
        metrics.BATCH_SIZE.observe(len(records))
        await self.assign({r.partition for r in records} - self.lost)

        offsets: dict[TopicPartition, int] = {}
        decoded: list[tuple[InputRecord, Event]] = []
        for record in records:
            tp = (record.topic, record.partition)
            if record.partition in self.lost:
                continue
            if record.offset <= self.applied.get(tp, -1):
                result.skipped += 1
                metrics.DUPLICATES.labels(record.topic, "offset").inc()
                continue
            offsets[tp] = max(offsets.get(tp, -1), record.offset)
            try:
                decoded.append((record, self._decode(record, now)))
            except InvalidRecord as failure:
                result.dead_letters.append(self._dead(record, failure, now))
            except Exception as exc:  # a bug must not stop the stream or lose the record
                result.dead_letters.append(self._bug(record, exc, now))
        events = self._at_home(decoded, result, now)

        if events:
            oldest = min(event.occurred_at for _, event in events)
            metrics.BATCH_PICKUP.observe(max(0.0, (now - oldest).total_seconds()))
        batch = BatchWrite(now=now, offsets=offsets)
        effects = await self._apply_all(events, batch, result, now)
        self.scoring.churn(batch, effects, now, self.policy)

        def durable() -> None:
            done = self._count(events, result)
            metrics.BATCH_SECONDS.observe((done - now).total_seconds())

        return await self._flush_after_the_last(
            batch, result, effects, {tp[1] for tp in offsets}, durable)

    async def _flush_after_the_last(
        self, batch: BatchWrite, result: BatchResult, effects: list[Effect],
        partitions: set[int], on_durable: Callable[[], None],
    ) -> asyncio.Future[BatchResult]:
        """Queue an applied batch's flush behind the one in flight; return once that one
        is done (so no more than one batch is ahead of the store), with the new flush."""
        gone = {p for p in partitions if p not in self.tokens}  # revoked while applying
        if gone:
            _without_partitions(batch, gone)
        self.tally.settle(batch.tallies, batch.changes.values())
        result.outputs = self._outputs(result.dead_letters, effects) + result.forwarded
        batch.notices = [e for e in effects if isinstance(e, Notice)]
        batch.alerts = [e for e in effects if isinstance(e, Alert)]
        # The tokens as they are now: a partition lost before the write fails its check.
        batch.fences = {p: self.tokens[p] for p in partitions - gone}
        for cid, change in batch.changes.items():
            self.unflushed[cid] = change.after
        previous = self._flushing
        try:
            if previous is not None:
                await previous
        except BaseException:
            self._forget_unflushed()
            raise
        flushing = self._flushing = asyncio.ensure_future(
            self._flush(batch, result, on_durable))
        return flushing

    async def _flush(self, batch: BatchWrite, result: BatchResult,
                     on_durable: Callable[[], None]) -> BatchResult:
        """Effects go to Kafka first (a crash before the commit repeats them with the same
        ids), then the state, the reps' inboxes and the offsets go to the store at once."""
        try:
            if result.outputs:
                await self.sink.publish(result.outputs)
            if self._reading is not None:
                await self._reading
            written = await self._commit(batch, result)
        except BaseException:
            self._forget_unflushed()
            raise
        if written:
            self._remember(batch)
            on_durable()
        return result

    async def drain(self) -> None:
        """Wait until the batch in flight is durable, or has failed (its next ``submit``
        raises the failure)."""
        flushing = self._flushing
        if flushing is not None:
            await asyncio.wait([flushing])

    def _forget_unflushed(self) -> None:
        """After a failed flush nothing unwritten is kept: the records are not acknowledged,
        and their replay starts from the store's state."""
        self.unflushed.clear()

    # --- pool timers -----------------------------------------------------------------------

    async def tick(self) -> BatchResult:
        """Fire the due warnings and reclaims of the owned partitions. The look-up runs
        outside the lock (batches go on meanwhile); what it finds is recomputed under it."""
        owned = [p for p in self.tokens if p not in self.lost]
        if not owned:
            return BatchResult()
        now = self.clock.now()
        due = await self._retrying(lambda: self.store.due(owned, now, TIMERS_PER_TICK))
        if not due:
            return BatchResult()
        async with self.lock:
            due = {p: cids for p, cids in due.items() if p in self.tokens}
            if not due:  # revoked meanwhile
                return BatchResult()
            durable = await self._tick(due, now)
        return await durable

    async def _tick(self, due: dict[int, list[str]], now: datetime
                    ) -> asyncio.Future[BatchResult]:
        result = BatchResult()
        partition_of = {cid: p for p, cids in due.items() for cid in cids}
        missing = {c: p for c, p in partition_of.items() if not self._known(c)}
        loaded = await self._load(missing) if missing else {}
        batch = BatchWrite(now=now)
        effects: list[Effect] = []
        fired: list[tuple[str, datetime]] = []
        states = {cid: self._before_batch(cid, loaded) for cid in partition_of}
        pick = await self._assigner({c: s for c, s in states.items() if s is not None}, now)
        for cid, partition in partition_of.items():
            state = states[cid]
            if state is None:
                batch.reschedule[cid] = (partition, None)
                continue
            try:
                outcome = self.scoring.explained(
                    state, on_timer(state, now, self.policy, pick(state)), now)
            except Exception:  # a bug must not stop the clock for every other customer
                log.exception("timer of %s failed; retrying in %s", cid, TIMER_RETRY)
                metrics.TIMER_ERRORS.inc()
                batch.reschedule[cid] = (partition, now + TIMER_RETRY)
                continue
            if not outcome.changed:  # stale: a follow-up or a claim moved the clock
                batch.reschedule[cid] = (partition, state.timer_at)
                continue
            assert state.timer_kind is not None  # on_timer changes only a timed state
            assert state.timer_at is not None
            fired.append((state.timer_kind, state.timer_at))
            self.partition_of[cid] = partition
            batch.changes[cid] = Change(state, outcome.state, partition)
            self.tally.step(batch.tallies, partition, state, outcome.state, None)
            effects.extend(outcome.effects)
            self.scoring.learn(outcome.label, effects, now)
        self.scoring.churn(batch, effects, now, self.policy)

        def durable() -> None:
            done = self.clock.now()
            for kind, at in fired:
                metrics.TIMERS_FIRED.labels(kind).inc()
                metrics.TIMER_LAG.labels(kind).observe(max(0.0, (done - at).total_seconds()))
            result.applied = len(fired)
            self._count([], result)

        return await self._flush_after_the_last(batch, result, effects, set(due), durable)

    def _decode(self, record: InputRecord, now: datetime) -> Event:
        kind: InputKind = self.topics.kind_of[record.topic]
        return decode(kind, record.key, record.value, now, self.max_future_skew,
                      self.max_past_age)

    def _at_home(self, decoded: list[tuple[InputRecord, Event]], result: BatchResult,
                 now: datetime) -> list[tuple[InputRecord, Event]]:
        """The events on their customer's home partition (``agents.home_partitions``). The
        others are forwarded there with the batch's outputs, or dead-lettered when too
        large to forward."""
        stray = misplaced([(r.topic, r.partition, e.customer_id) for r, e in decoded],
                          self.partition_count)
        if not any(stray):
            return decoded
        home: list[tuple[InputRecord, Event]] = []
        for (record, event), elsewhere in zip(decoded, stray, strict=True):
            if not elsewhere:
                home.append((record, event))
            elif len(record.value or b"") > FORWARD_MAX_BYTES:
                failure = InvalidRecord(
                    "wrong_partition", f"partition {record.partition} is not customer "
                    f"{event.customer_id!r}'s, and the record is too large to forward")
                result.dead_letters.append(self._dead(record, failure, now))
            else:
                metrics.FORWARDED.labels(record.topic).inc()
                result.forwarded.append(
                    Outgoing(record.topic, event.customer_id, record.value or b""))
        return home

    def _bug(self, record: InputRecord, exc: Exception, now: datetime) -> DeadLetter:
        log.exception("processing failed for %s@%s", record.topic, record.offset)
        failure = InvalidRecord("processing_error", f"{type(exc).__name__}: {exc}")
        return self._dead(record, failure, now)

    def _dead(self, record: InputRecord, failure: InvalidRecord, now: datetime) -> DeadLetter:
        metrics.DEAD_LETTERS.labels(record.topic, failure.reason).inc()
        return dead_letter(
            record.topic, record.partition, record.offset, record.key, record.value,
            failure, now,
        )

    async def _apply_all(
        self, events: list[tuple[InputRecord, Event]], batch: BatchWrite, result: BatchResult,
        now: datetime,
    ) -> list[Effect]:
        missing = {e.customer_id: r.partition for r, e in events
                   if not self._known(e.customer_id)}
        loaded = await self._load(missing) if missing else {}
        working: dict[str, CustomerState | None] = {}
        effects: list[Effect] = []
        sentiments = self.scoring.texts(
            [event for _, event in events], lambda cid: self._before_batch(cid, loaded),
            effects, now)
        for applied, (record, event) in enumerate(events, 1):
            if applied % YIELD_EVERY_EVENTS == 0:
                await asyncio.sleep(0)  # the write in flight goes out while this is applied
            cid = event.customer_id
            if cid not in working:
                working[cid] = self._before_batch(cid, loaded)
                self.partition_of[cid] = record.partition
            before = working[cid]
            try:
                limit = (await self._claim_limit(before, event, now)
                         if isinstance(event, Claim) else None)
                # A duplicate's text was not scored; the first of an id takes its score.
                signals = Signals(limit, sentiments.pop(event.event_id, None))
                outcome = self.scoring.explained(
                    before, on_event(before, event, now, self.policy, signals), now)
                self.scoring.learn(outcome.label, effects, now)
            except Exception as exc:  # a bug must not stop the stream or lose the record
                result.dead_letters.append(self._bug(record, exc, now))
                continue
            if outcome.rejection == FORGOTTEN:
                failure = InvalidRecord("forgotten", FORGOTTEN_REFUSAL)
                result.dead_letters.append(self._dead(record, failure, now))
                continue
            if outcome.state.status == "forgotten" and before is not None and (
                    before.status != "forgotten"):
                batch.erase[cid] = inboxes_to_scrub(before, self.policy.rules)
            self._account(outcome, event, record, result)
            if outcome.changed:
                self.tally.step(batch.tallies, record.partition, before, outcome.state, event)
                working[cid] = outcome.state
                first = batch.changes.get(cid)
                batch.changes[cid] = Change(
                    first.before if first else before, outcome.state, record.partition
                )
            effects.extend(outcome.effects)
        return effects

    def _known(self, customer_id: str) -> bool:
        """Whether the worker holds the customer's latest state (no need to load it)."""
        return customer_id in self.unflushed or customer_id in self.cache

    def _before_batch(self, customer_id: str, loaded: dict[str, CustomerState]
                      ) -> CustomerState | None:
        """A customer's state before the batch: as applied by a batch not yet written, else
        as cached, else as the store had it."""
        return (self.unflushed.get(customer_id) or self.cache.get(customer_id)
                or loaded.get(customer_id))

    async def _assigner(
        self, states: dict[str, CustomerState], now: datetime
    ) -> Callable[[CustomerState], str | None]:
        """For this tick's reclaims into auto-assigning pools: who gets each customer. The
        reps' holdings are read once, then counted here, so a burst is spread evenly."""
        rules = self.policy.rules
        pools = {cid: p for cid, s in states.items()
                 if (p := needs_assignee(s, rules, now)) is not None}
        if not pools:
            return lambda state: None
        reps = {rep for pool in pools.values() for rep in rules.member_reps(pool)}
        held = await self._retrying(lambda: self.store.holdings(reps))

        def pick(state: CustomerState) -> str | None:
            pool = pools.get(state.customer_id)
            if pool is None:
                return None
            turn = self.turns.get(pool.id, 0)
            rep = choose(rules, pool, held, turn, state.owner)
            if rep is not None:
                self.turns[pool.id] = turn + 1
                held[rep] = held.get(rep, 0) + 1
            return rep

        return pick

    async def _claim_limit(
        self, state: CustomerState | None, event: Claim, now: datetime
    ) -> str | None:
        """For a claim the customer's own rules allow, a slot under the limits that span
        customers (held in the store, shared by every worker); None when granted."""
        if state is None or event.event_id in state.recent_event_ids:
            return None
        rules = self.policy.rules
        pool = rules.pool(state.pool_id)
        if pool is None or claim_refusal(state, event.rep_id, rules, now) is not None:
            return None
        request = ClaimRequest(
            command_id=event.command_id, customer_id=state.customer_id, rep_id=event.rep_id,
            pool_id=pool.id, at=now, max_total=rules.max_customers_per_rep,
            max_in_pool=pool.claim.max_customers_per_rep,
            max_per_day=pool.claim.max_claims_per_day,
        )
        if (request.max_total, request.max_in_pool, request.max_per_day) == (None, None, None):
            return None
        return await self._retrying(lambda: self.store.reserve_claim(request))

    async def _load(self, customers: dict[str, int]) -> dict[str, CustomerState]:
        """The customers' states from the store. A batch's write waits for a load in
        progress: the store (Redis) runs one command at a time, and a write queued first
        would make the next batch wait for all of it before it could be applied (measured:
        a 1,000-customer load took 70 ms instead of 5, and the worker idled a third of its
        time)."""
        reading = self._reading = asyncio.get_running_loop().create_future()
        try:
            return await self._retrying(lambda: self.store.load(customers))
        finally:
            self._reading = None
            reading.set_result(None)

    async def _retrying(self, read: Callable[[], Awaitable[T]]) -> T:
        """A store read that waits out an outage instead of failing the batch."""
        while True:
            try:
                answer = await read()
            except StoreUnavailable as exc:
                metrics.REDIS_ERRORS.labels(exc.kind).inc()
                self.health.store_failed(time.monotonic())
                log.warning("state store read failed (%s); retrying", exc)
                await asyncio.sleep(self.retry_delay_s)
                continue
            self.health.store_answered()
            return answer

    @staticmethod
    def _account(outcome: Outcome, event: Event, record: InputRecord, result: BatchResult) -> None:
        if outcome.rejection is not None:
            metrics.REJECTED_COMMANDS.labels(getattr(event, "type", "?")).inc()
        if outcome.changed:
            result.applied += 1
        elif outcome.rejection is None:
            result.skipped += 1
            metrics.DUPLICATES.labels(record.topic, "event_id").inc()

    def _outputs(
        self, dead: list[DeadLetter], effects: list[Effect]
    ) -> list[Outgoing]:
        out = [
            Outgoing(self.topics.dlq, d.key or "", to_json(d)) for d in dead
        ]
        for effect in effects:
            if isinstance(effect, Notice):
                metrics.NOTICES.labels(effect.type).inc()
                out.append(Outgoing(self.topics.notices, effect.rep_id,
                                    to_json(effect)))
            elif isinstance(effect, Alert):
                metrics.ALERTS.labels(effect.type).inc()
                out.append(Outgoing(self.topics.alerts, effect.customer_id,
                                    to_json(effect)))
            else:
                out.append(Outgoing(self.topics.scores, effect.customer_id,
                                    to_json(effect)))
        return out

    async def _commit(self, batch: BatchWrite, result: BatchResult) -> bool:
        """Write the batch, retrying until the store takes it: giving up would let the
        stream acknowledge records whose state was never stored. A partition another worker
        took over is dropped from the batch (and forgotten); the rest is written."""
        while True:
            started = self.clock.now()
            try:
                await self.store.commit(batch)
            except Fenced as fenced:
                metrics.FENCED.inc(len(fenced.partitions))
                log.warning("%s; dropping their part of the batch", fenced)
                self.lost.update(fenced.partitions)
                self.revoke(fenced.partitions)
                result.fenced = sorted({*result.fenced, *fenced.partitions})
                _without_partitions(batch, set(fenced.partitions))
                if not batch.fences:
                    return False
                continue
            except StoreUnavailable as exc:
                metrics.REDIS_ERRORS.labels(exc.kind).inc()
                self.health.store_failed(time.monotonic())
                log.warning("state store write failed (%s); retrying", exc)
                await asyncio.sleep(self.retry_delay_s)
                continue
            self.health.store_answered()
            metrics.REDIS_BATCHES.inc()
            metrics.REDIS_WRITE_SECONDS.observe((self.clock.now() - started).total_seconds())
            return True

    def _remember(self, batch: BatchWrite) -> None:
        """A written batch: its offsets are applied, its states are the store's now."""
        self.applied.update(batch.offsets)
        count_flows(batch.tallies)
        self.health.progressed({tp[1] for tp in batch.offsets}, time.monotonic())
        for cid, change in batch.changes.items():
            self.cache[cid] = change.after
            self.cache.move_to_end(cid)
            if self.unflushed.get(cid) is change.after:  # not changed again since
                del self.unflushed[cid]
        while len(self.cache) > self.cache_size:
            cid, _ = self.cache.popitem(last=False)
            if cid not in self.unflushed:
                self.partition_of.pop(cid, None)
        metrics.CACHED_CUSTOMERS.set(len(self.cache))

    def _count(self, events: list[tuple[InputRecord, Event]], result: BatchResult
               ) -> datetime:
        """Count the batch's events and outputs, and their latency; return when it was done."""
        done = self.clock.now()
        per_topic: dict[str, int] = {}
        for record, event in events:
            per_topic[record.topic] = per_topic.get(record.topic, 0) + 1
            metrics.EVENT_LATENCY.observe(max(0.0, (done - event.occurred_at).total_seconds()))
        for topic, count in per_topic.items():
            metrics.EVENTS_PROCESSED.labels(topic).inc(count)
        for topic, count in Counter(output.topic for output in result.outputs).items():
            metrics.OUTPUTS.labels(topic).inc(count)
        return done


def _without_partitions(batch: BatchWrite, gone: set[int]) -> None:
    """Drop everything of the ``gone`` partitions from the batch: their new owner replays
    those records from the offsets the store holds."""
    changed_partition = {cid: change.partition for cid, change in batch.changes.items()}
    batch.changes = {c: ch for c, ch in batch.changes.items() if ch.partition not in gone}
    batch.offsets = {tp: o for tp, o in batch.offsets.items() if tp[1] not in gone}
    batch.fences = {p: t for p, t in batch.fences.items() if p not in gone}
    batch.reschedule = {c: r for c, r in batch.reschedule.items() if r[0] not in gone}
    batch.notices = [n for n in batch.notices
                     if changed_partition.get(n.customer_id) not in gone]
    batch.alerts = [a for a in batch.alerts
                    if changed_partition.get(a.customer_id) not in gone]
    batch.erase = {c: reps for c, reps in batch.erase.items()
                   if changed_partition.get(c) not in gone}
    batch.tallies = {where: n for where, n in batch.tallies.items() if where[0] not in gone}
