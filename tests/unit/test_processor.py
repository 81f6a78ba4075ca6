"""The batch processor against the in-memory store: replays, dead letters, fencing, retries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import orjson
import pytest

from agents.processor import BatchResult, Outgoing, Processor, Record
from crmstream.clock import ManualClock
from crmstream.kafka import default_partitions
from crmstream.settings import Topics
from state.customer import CustomerState
from state.store import BatchWrite, MemoryStore, StoreUnavailable
from tests.factories import T0, as_json, click, command, interaction

TOPICS = Topics("crm.")


class ListSink:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        self.sent.extend(messages)

    def on(self, topic: str) -> list[dict[str, object]]:
        return [orjson.loads(m.value) for m in self.sent if m.topic == topic]


def make(store: MemoryStore | None = None) -> tuple[Processor, MemoryStore, ListSink]:
    store = store or MemoryStore()
    sink = ListSink()
    return Processor(store, sink, TOPICS, ManualClock(T0), retry_delay_s=0), store, sink


def clicks(customer: str, n: int, partition: int = 0, first_offset: int = 0) -> list[Record]:
    return [
        Record(TOPICS.clicks, partition, first_offset + i, customer.encode(),
               as_json(click(customer, event_id=f"{customer}-{first_offset + i}")))
        for i in range(n)
    ]


async def test_a_batch_lands_in_the_store_with_its_offsets() -> None:
    processor, store, _ = make()
    result = await processor.process(clicks("c1", 3) + clicks("c2", 2, partition=1))
    assert result.applied == 5
    assert store.customers["c1"].version == 3
    assert store.applied == {(TOPICS.clicks, 0): 2, (TOPICS.clicks, 1): 1}


async def test_a_replay_after_a_restart_counts_nothing_twice() -> None:
    first, store, _ = make()
    records = clicks("c1", 10)
    await first.process(records[:6])
    restarted, _, _ = make(store)  # a new worker: empty cache, same store
    result = await restarted.process(records)  # Kafka redelivers from an older offset
    assert (result.skipped, result.applied) == (6, 4)
    assert store.customers["c1"].version == 10


async def test_a_redelivered_event_with_a_new_offset_is_dropped_by_its_id() -> None:
    processor, store, _ = make()
    [record] = clicks("c1", 1)
    again = Record(record.topic, 0, 1, record.key, record.value)
    result = await processor.process([record, again])
    assert (result.applied, result.skipped) == (1, 1)
    assert store.customers["c1"].version == 1


async def test_bad_records_become_dead_letters_and_the_batch_goes_on() -> None:
    processor, store, sink = make()
    good = clicks("c1", 2)
    bad = Record(TOPICS.clicks, 0, 2, b"c1", b"\xff\xfe")
    result = await processor.process([good[0], bad, Record(*vars_of(good[1], offset=3))])
    assert result.applied == 2
    [letter] = sink.on(TOPICS.dlq)
    assert (letter["reason"], letter["offset"], letter["source_topic"]) == (
        "undecodable", 2, TOPICS.clicks)
    assert store.applied[(TOPICS.clicks, 0)] == 3  # the dead letter's offset is done too


def vars_of(record: Record, **changes: object) -> tuple[object, ...]:
    fields = {"topic": record.topic, "partition": record.partition, "offset": record.offset,
              "key": record.key, "value": record.value} | changes
    return tuple(fields.values())


async def test_notices_are_published_with_the_batch() -> None:
    processor, _, sink = make()
    register = command("register", customer="c1", pool_id="default", level="C", name="n",
                       owner="rep-1")
    await processor.process([Record(TOPICS.commands, 0, 0, b"c1", as_json(register))])
    [notice] = sink.on(TOPICS.notices)
    assert (notice["type"], notice["rep_id"]) == ("assigned", "rep-1")


async def test_a_fenced_worker_writes_nothing() -> None:
    store = MemoryStore()
    old, _, _ = make(store)
    await old.process(clicks("c1", 1))
    new, _, _ = make(store)
    await new.assign([0])  # the partition moved; the old worker has not noticed yet
    result = await old.process(clicks("c1", 1, first_offset=1))
    assert result.fenced == [0]
    assert store.customers["c1"].version == 1
    assert store.applied[(TOPICS.clicks, 0)] == 0
    # and it does not take the partition back on its own
    await old.process(clicks("c1", 1, first_offset=2))
    assert store.customers["c1"].version == 1


class FlakyStore(MemoryStore):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def commit(self, batch: BatchWrite) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("ConnectionError", "redis went away")
        await super().commit(batch)


async def test_an_unavailable_store_is_retried_until_the_batch_is_written() -> None:
    store = FlakyStore(failures=3)
    processor, _, _ = make(store)
    await processor.process(clicks("c1", 2))
    assert store.customers["c1"].version == 2
    assert store.commits == 1


# --- the pipeline: a batch is applied while the one before it is written -------------------

class GatedSink(ListSink):
    """Holds each publish until the test lets one through; ``fail`` makes them raise."""

    def __init__(self) -> None:
        super().__init__()
        self.turns = asyncio.Semaphore(0)
        self.fail = False

    def let_through(self, publishes: int = 1) -> None:
        for _ in range(publishes):
            self.turns.release()

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        await self.turns.acquire()
        if self.fail:
            raise RuntimeError("kafka is gone")
        await super().publish(messages)


def gated(store: MemoryStore | None = None) -> tuple[Processor, MemoryStore, GatedSink]:
    store = store or MemoryStore()
    sink = GatedSink()
    return Processor(store, sink, TOPICS, ManualClock(T0), retry_delay_s=0), store, sink


def bad(offset: int) -> Record:
    """A record that becomes a dead letter: every batch with one publishes something."""
    return Record(TOPICS.clicks, 0, offset, b"c1", b"not json")


async def test_the_next_batch_is_applied_while_the_last_is_written_and_lands_after_it(
) -> None:
    processor, store, sink = gated()
    first = await processor.submit([*clicks("c1", 2), bad(2)])
    assert not first.done()
    assert store.commits == 0  # written once Kafka has its outputs
    applying = asyncio.ensure_future(processor.submit(clicks("c1", 2, first_offset=3)))
    await asyncio.sleep(0.01)
    assert not applying.done()  # applied, and waiting for the first batch to be durable
    assert processor.unflushed["c1"].version == 4  # on top of the unwritten first batch
    sink.let_through(2)
    second = await applying
    assert (await first).applied == 2
    assert (await second).applied == 2
    assert store.customers["c1"].version == 4
    assert store.applied[(TOPICS.clicks, 0)] == 4
    assert processor.unflushed == {}  # everything applied is written


async def written_in_flight_and_behind(
    processor: Processor,
) -> tuple[asyncio.Future[BatchResult], asyncio.Future[asyncio.Future[BatchResult]]]:
    """c1 written once, a second batch held at its publish, a third applied behind it:
    the second's flush, and the third's submit (waiting for that flush)."""
    await processor.process(clicks("c1", 1))
    in_flight = await processor.submit([*clicks("c1", 1, first_offset=1), bad(2)])
    behind = asyncio.ensure_future(processor.submit(clicks("c1", 1, first_offset=3)))
    await asyncio.sleep(0.01)
    return in_flight, behind


async def test_after_a_failed_write_nothing_unwritten_is_kept_and_the_replay_is_whole(
) -> None:
    store = MemoryStore()
    processor, _, sink = gated(store)
    first, applying = await written_in_flight_and_behind(processor)
    sink.fail = True
    sink.let_through()
    with pytest.raises(RuntimeError):
        await first
    with pytest.raises(RuntimeError):
        await applying  # the worker stops: its next batch raises the failure
    assert processor.unflushed == {}
    assert store.customers["c1"].version == 1
    restarted, _, _ = make(store)  # Kafka redelivers from the last committed offset
    result = await restarted.process([*clicks("c1", 3, first_offset=1)])
    assert result.applied == 3
    assert store.customers["c1"].version == 4


async def test_a_batch_applied_behind_a_fenced_write_is_not_written_either() -> None:
    store = MemoryStore()
    old, _, sink = gated(store)
    first, applying = await written_in_flight_and_behind(old)
    new, _, _ = make(store)
    await new.assign([0])  # the partition moved while the old worker was writing
    sink.let_through(2)
    assert (await first).fenced == [0]
    assert (await (await applying)).fenced == [0]  # applied on the lost partition: dropped
    assert store.customers["c1"].version == 1
    assert old.unflushed == {}
    assert "c1" not in old.cache


class SlowLoadStore(MemoryStore):
    """A store whose loads wait for the test, and which says in what order it was used."""

    def __init__(self) -> None:
        super().__init__()
        self.loads_may_finish = asyncio.Event()
        self.calls: list[str] = []

    async def load(self, customer_ids: Mapping[str, int]) -> dict[str, CustomerState]:
        self.calls.append("load " + ",".join(sorted(customer_ids)))
        await self.loads_may_finish.wait()
        return await super().load(customer_ids)

    async def commit(self, batch: BatchWrite) -> None:
        self.calls.append("commit " + ",".join(sorted(batch.changes)))
        await super().commit(batch)


async def test_a_write_waits_for_the_next_batchs_load_instead_of_delaying_it() -> None:
    store = SlowLoadStore()
    processor, _, sink = gated(store)
    store.loads_may_finish.set()
    first = await processor.submit([*clicks("c1", 1), bad(1)])
    store.loads_may_finish.clear()
    applying = asyncio.ensure_future(processor.submit(clicks("c2", 1, first_offset=2)))
    await asyncio.sleep(0.01)
    sink.let_through()  # the first batch's write is next, while c2 is being loaded
    await asyncio.sleep(0.01)
    assert store.calls == ["load c1", "load c2"]  # it waits: Redis would run it first
    store.loads_may_finish.set()
    await first
    await (await applying)
    assert store.calls == ["load c1", "load c2", "commit c1", "commit c2"]


async def test_a_customer_evicted_while_a_newer_state_is_in_flight_is_not_loaded_stale(
) -> None:
    store = MemoryStore()
    sink = GatedSink()
    processor = Processor(store, sink, TOPICS, ManualClock(T0), cache_size=1,
                          retry_delay_s=0)
    first = await processor.submit([*clicks("c1", 1), *clicks("c2", 1, first_offset=1),
                                    bad(2)])
    second = asyncio.ensure_future(processor.submit([*clicks("c1", 1, first_offset=3),
                                                     bad(4)]))
    await asyncio.sleep(0.01)
    sink.let_through()  # the first batch is written; the cache keeps c2 only
    await first
    await second
    assert "c1" not in processor.cache
    third = asyncio.ensure_future(processor.submit(clicks("c1", 1, first_offset=5)))
    await asyncio.sleep(0.01)
    assert processor.unflushed["c1"].version == 3  # on the state in flight, not the store's
    sink.let_through()
    await (await third)
    assert store.customers["c1"].version == 3


# --- pool timers --------------------------------------------------------------------------

def pool_processor(store: MemoryStore | None = None, clock: ManualClock | None = None
                   ) -> tuple[Processor, MemoryStore, ListSink, ManualClock]:
    from state.pool_rules import PoolRules
    from state.transitions import Policy

    rules = PoolRules.model_validate({
        "levels": ["C"], "default_pool": "default",
        "pools": [{"id": "default", "name": "D", "warn_before": "20s",
                   "rules": [{"type": "no_follow_up", "period": "60s"}]}],
    })
    store = store or MemoryStore()
    clock = clock or ManualClock(T0)
    sink = ListSink()
    processor = Processor(store, sink, TOPICS, clock, policy=Policy(rules=rules),
                          retry_delay_s=0)
    return processor, store, sink, clock


def registered(offset: int = 0) -> Record:
    register = command("register", customer="c1", pool_id="default", level="C", name="n",
                       owner="rep-1", issued_at=T0)
    return Record(TOPICS.commands, 0, offset, b"c1", as_json(register))


async def test_a_due_reclaim_fires_once_with_its_notices_and_inbox() -> None:
    processor, store, sink, clock = pool_processor()
    await processor.process([registered()])
    clock.advance(39)
    assert (await processor.tick()).applied == 0  # nothing due yet
    clock.advance(2)
    await processor.tick()  # the warning, 20 s before
    clock.advance(20)
    await processor.tick()  # the reclaim
    assert [(n["type"], n["rep_id"]) for n in sink.on(TOPICS.notices)] == [
        ("assigned", "rep-1"), ("reclaim_warning", "rep-1"), ("reclaimed", "rep-1")]
    assert store.customers["c1"].owner is None
    assert store.timers[0] == {}
    assert [n.type for n in store.inboxes["rep-1"]] == ["assigned", "reclaim_warning",
                                                        "reclaimed"]
    clock.advance(60)
    assert (await processor.tick()).applied == 0


async def test_a_follow_up_just_before_the_deadline_prevents_the_reclaim() -> None:
    processor, store, sink, clock = pool_processor()
    await processor.process([registered()])
    clock.advance(59)
    follow_up = interaction("c1", rep_id="rep-1", occurred_at=clock.now())
    await processor.process([Record(TOPICS.interactions, 0, 0, b"c1", as_json(follow_up))])
    clock.advance(2)
    await processor.tick()
    assert store.customers["c1"].owner == "rep-1"
    assert "reclaimed" not in [n["type"] for n in sink.on(TOPICS.notices)]


async def test_a_restarted_worker_fires_a_missed_reclaim_once() -> None:
    processor, store, _, clock = pool_processor()
    await processor.process([registered()])
    clock.advance(3600)  # nobody owned the partition while the deadline passed
    again, _, sink, _ = pool_processor(store, clock)
    await again.assign([0])
    await again.tick()
    await again.tick()
    kinds = [n["type"] for n in sink.on(TOPICS.notices)]
    assert kinds == ["reclaim_warning", "reclaimed"]
    assert store.customers["c1"].owner is None


async def test_a_reclaim_in_an_auto_assigning_pool_goes_to_the_least_loaded_member() -> None:
    from state.pool_rules import PoolRules
    from state.transitions import Policy

    rules = PoolRules.model_validate({
        "levels": ["C"], "default_pool": "p",
        "pools": [{"id": "p", "name": "P", "members": ["r1", "r2", "r3"],
                   "auto_assign": "least_loaded",
                   "rules": [{"type": "no_follow_up", "period": "60s"}]}],
    })
    store, clock, sink = MemoryStore(), ManualClock(T0), ListSink()
    processor = Processor(store, sink, TOPICS, clock, policy=Policy(rules=rules),
                          retry_delay_s=0)
    owners = {"a": "r1", "b": "r2", "c": "r2", "d": "r3"}  # r1 and r3 hold one each
    records = [
        Record(TOPICS.commands, 0, n, cid.encode(), as_json(command(
            "register", customer=cid, pool_id="p", level="C", name=cid, owner=rep,
            issued_at=T0 if cid == "a" else T0 + timedelta(seconds=10))))
        for n, (cid, rep) in enumerate(owners.items())
    ]
    clock.advance(10)
    await processor.process(records)
    assert len(store.customers) == 4
    clock.advance(51)
    await processor.tick()
    # "a" leaves r1; r3 holds the fewest among the others (r2 holds two)
    assert store.customers["a"].owner == "r3"
    kinds = [(n["type"], n["rep_id"]) for n in sink.on(TOPICS.notices) if n["customer_id"] == "a"]
    assert kinds[-2:] == [("reclaimed", "r1"), ("assigned", "r3")]


async def test_texts_are_scored_and_rated_ones_teach_the_model() -> None:
    from agents.models import Models
    from scoring.sentiment import SentimentModel

    model = SentimentModel()
    processor = Processor(MemoryStore(), ListSink(), TOPICS, ManualClock(T0),
                          retry_delay_s=0, models=Models(model, None))
    rated = [
        interaction("c1", event_id=f"e{n}", text=text, rating=rating, direction="inbound")
        for n, (text, rating) in enumerate(
            [("质量很好，非常满意", 5), ("太差了，要求退款", 1)] * 40)
    ]
    records = [Record(TOPICS.interactions, 0, n, b"c1", as_json(e)) for n, e in enumerate(rated)]
    await processor.process(records)
    assert model.score("质量很好") > 0.3
    assert model.score("太差了") < -0.3
    state = processor.store.customers["c1"]  # type: ignore[attr-defined]
    assert state.texts_scored == 80
    assert state.sentiment is not None
    # a redelivered event is neither scored nor learned again
    before = model.score("质量很好")
    await processor.process([Record(TOPICS.interactions, 0, 80, b"c1", as_json(rated[-1]))])
    assert model.score("质量很好") == before
    assert processor.store.customers["c1"].texts_scored == 80  # type: ignore[attr-defined]


async def test_a_text_repeated_within_a_batch_is_scored_and_learned_once() -> None:
    from agents.models import Models
    from scoring.sentiment import SentimentModel

    model = SentimentModel()
    processor = Processor(MemoryStore(), ListSink(), TOPICS, ManualClock(T0),
                          retry_delay_s=0, models=Models(model, None))
    event = interaction("c1", event_id="e1", text="太差了", rating=1, direction="inbound")
    other = interaction("c1", event_id="e2", text="很好", direction="inbound")
    records = [Record(TOPICS.interactions, 0, n, b"c1", as_json(e))
               for n, e in enumerate([event, other, event])]  # a producer's retry
    await processor.process(records)
    assert model.learned == 1
    state = processor.store.customers["c1"]  # type: ignore[attr-defined]
    assert state.texts_scored == 2
    assert state.negative_run == 0  # the later positive text came after the negative one


async def test_a_fenced_partition_does_not_take_the_rest_of_the_batch_with_it() -> None:
    store = MemoryStore()
    old, _, _ = make(store)
    await old.process(clicks("c1", 1, partition=0) + clicks("c2", 1, partition=1))
    new, _, _ = make(store)
    await new.assign([0])  # partition 0 moved; partition 1 is still the old worker's
    result = await old.process(clicks("c1", 1, partition=0, first_offset=1)
                               + clicks("c2", 1, partition=1, first_offset=1))
    assert result.fenced == [0]
    assert store.customers["c1"].version == 1  # the moved partition: untouched
    assert store.customers["c2"].version == 2  # the one it still owns: written
    assert store.applied[(TOPICS.clicks, 1)] == 1


async def test_churn_is_scored_once_per_batch_and_learns_from_its_labels() -> None:
    from agents.models import CHURN, Models
    from scoring.churn import ChurnModel
    from state.churn import ChurnRules
    from state.transitions import Policy

    models = Models(None, ChurnModel())
    clock = ManualClock(T0)
    store, sink = MemoryStore(), ListSink()
    policy = Policy(churn=ChurnRules(label_horizon=timedelta(seconds=60)))
    processor = Processor(store, sink, TOPICS, clock, policy=policy, retry_delay_s=0,
                          models=models)
    await processor.process(clicks("c1", 5) + clicks("c2", 2, partition=1)
                            + clicks("c3", 1, partition=2))
    scores = sink.on(TOPICS.scores)
    # once each per batch; c3 was met by its one event: nothing to score yet
    assert sorted(s["customer_id"] for s in scores) == ["c1", "c2"]
    assert store.customers["c3"].churn_risk is None
    assert {s["churn_risk"] for s in scores} == {0.5}  # an empty model knows nothing yet
    assert store.customers["c1"].label_due == T0 + timedelta(seconds=60)
    await processor.process(clicks("c1", 1, first_offset=5))  # same session: not rescored
    assert len(sink.on(TOPICS.scores)) == 2

    clock.advance(61)
    await processor.tick()
    assert models.churn is not None
    assert models.churn.learned == 2
    assert models.quality[CHURN].labels == 2
    from prometheus_client import REGISTRY

    accuracy = REGISTRY.get_sample_value("crmstream_model_accuracy", {"model": CHURN})
    assert accuracy == models.quality[CHURN].snapshot().accuracy  # read at scrape time
    assert store.customers["c1"].label_features is None
    assert store.timers[0] == {}  # nothing left to fire


async def test_alerts_are_published_and_kept_in_the_store() -> None:
    from agents.models import Models
    from scoring.sentiment import SentimentModel

    store, sink = MemoryStore(), ListSink()
    processor = Processor(store, sink, TOPICS, ManualClock(T0), retry_delay_s=0,
                          models=Models(SentimentModel.with_prior(), None))
    texts = ["太差了，要求退款", "客服一直不回复，很失望", "太差了，很失望"]
    records = [
        Record(TOPICS.interactions, 0, n, b"c1",
               as_json(interaction("c1", event_id=f"neg{n}", text=t, direction="inbound")))
        for n, t in enumerate(texts)
    ]
    await processor.process(records)
    [alert] = sink.on(TOPICS.alerts)
    assert (alert["type"], alert["customer_id"]) == ("negative_run", "c1")
    assert [a.alert_id for a in store.alerts] == [alert["alert_id"]]
    await processor.process(records)  # a replay adds nothing
    assert len(store.alerts) == 1


def test_a_label_saved_with_another_feature_layout_is_skipped_not_a_failure() -> None:
    from agents.models import Models
    from scoring.churn import ChurnModel
    from state.churn import ChurnLabel

    models = Models(None, ChurnModel())
    assert models.learn_churn(ChurnLabel("c1", (0.1, 0.2), churned=True), T0) is None
    assert models.churn is not None
    assert models.churn.learned == 0


async def test_a_timer_that_fails_is_retried_later_and_the_others_still_fire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import agents.processor as processor_module
    from state.engine import on_timer

    processor, store, _, clock = pool_processor()
    await processor.process([registered()])
    clock.advance(41)  # the warning is due

    def broken(state: Any, *args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(processor_module, "on_timer", broken)
    assert (await processor.tick()).applied == 0
    assert store.timers[0]["c1"] == clock.now() + processor_module.TIMER_RETRY
    monkeypatch.setattr(processor_module, "on_timer", on_timer)
    clock.advance(61)
    assert (await processor.tick()).applied == 1  # fixed: it fires on the retry


async def test_a_scoring_bug_loses_no_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.models import Models
    from scoring.churn import ChurnModel
    from scoring.sentiment import SentimentModel

    models = Models(SentimentModel(), ChurnModel())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(models, "text", broken)
    monkeypatch.setattr(models, "churn_risks", broken)
    store, sink = MemoryStore(), ListSink()
    processor = Processor(store, sink, TOPICS, ManualClock(T0), retry_delay_s=0,
                          models=models)
    said = interaction("c1", event_id="said", text="太差了", direction="inbound")
    result = await processor.process(
        [*clicks("c1", 2), Record(TOPICS.interactions, 0, 0, b"c1", as_json(said))])
    assert result.applied == 3
    assert sink.on(TOPICS.dlq) == []
    assert store.customers["c1"].version == 3
    assert store.customers["c1"].churn_risk is None  # no score, nothing lost


async def test_a_batch_reports_how_long_it_waited_and_how_long_it_took() -> None:
    from prometheus_client import REGISTRY

    def observed(name: str) -> tuple[float, float]:
        return (REGISTRY.get_sample_value(f"{name}_count") or 0.0,
                REGISTRY.get_sample_value(f"{name}_sum") or 0.0)

    processor, _, _ = make()
    processor.clock = ManualClock(T0 + timedelta(seconds=30))  # the clicks occurred at T0
    pickup, took = observed("crmstream_batch_pickup_seconds"), observed(
        "crmstream_batch_processing_seconds")
    await processor.process(clicks("c1", 3))
    pickup_after = observed("crmstream_batch_pickup_seconds")
    assert pickup_after[0] == pickup[0] + 1  # one observation per batch, not per event
    assert pickup_after[1] - pickup[1] == pytest.approx(30.0)
    assert observed("crmstream_batch_processing_seconds")[0] == took[0] + 1


async def test_a_record_off_its_home_partition_is_forwarded_home_not_applied() -> None:
    store, sink = MemoryStore(), ListSink()
    processor = Processor(store, sink, TOPICS, ManualClock(T0), retry_delay_s=0,
                          partition_count=lambda topic: 4)
    [home] = default_partitions([b"c1"], 4)
    stray = (home + 1) % 4
    records = [*clicks("c1", 1, partition=home),
               Record(*vars_of(clicks("c1", 1, partition=stray, first_offset=1)[0], key=None))]
    result = await processor.process(records)
    assert result.applied == 1
    assert store.customers["c1"].version == 1  # the stray one was not applied there
    [forwarded] = [m for m in sink.sent if m.topic == TOPICS.clicks]
    assert forwarded == Outgoing(TOPICS.clicks, "c1", records[1].value)
    assert store.applied[(TOPICS.clicks, stray)] == 1  # and its offset is done
    too_big = Record(TOPICS.clicks, stray, 2, None, records[1].value + b" " * 600_000)
    await processor.process([too_big])
    assert [d["reason"] for d in sink.on(TOPICS.dlq)] == ["wrong_partition"]


async def test_a_decoder_bug_is_a_dead_letter_not_a_failed_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    processor, store, sink = make()

    def broken(*args: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr("agents.processor.decode", broken)
    result = await processor.process(clicks("c1", 2))
    assert [(d["reason"], d["error"]) for d in sink.on(TOPICS.dlq)] == [
        ("processing_error", "RuntimeError: boom")] * 2
    assert result.applied == 0
    assert store.applied[(TOPICS.clicks, 0)] == 1
