"""``make bench-numbers``: what keeping the numbers costs the worker per event, in-process.

The simulator's stream (registrations, then about 60% clicks, 30% interactions, 10% orders,
2% commands) goes through the batch processor with the in-memory store, once counting the
numbers (analytics/tally.py: flows per day in two time zones, standing moves) and once with
a counter that counts nothing, alternating; each round has a fresh processor and store.
The cost is the median over the rounds of each round's difference in CPU time per event.
Scoring is off in both (its cost is bench-scoring's). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from agents.processor import Processor, Record
from crmstream.clock import ManualClock
from crmstream.kafka import default_partitions
from crmstream.settings import Topics
from crmstream.traffic import Traffic
from state.customer import CustomerState
from state.store import BatchWrite, Change, MemoryStore
from state.transitions import Event

PARTITIONS = 8
BATCH = 1000


class NoSink:
    async def publish(self, messages: Iterable[object]) -> None:
        return None


class LeanStore(MemoryStore):
    """The in-memory store keeping only what the processor reads back (states, offsets,
    tokens) and the counts: its inboxes' duplicate checks would dominate the time."""

    async def commit(self, batch: BatchWrite) -> None:
        self.customers.update({c: ch.after for c, ch in batch.changes.items()})
        self.applied.update(batch.offsets)
        for where, counts in batch.tallies.items():
            kept = self.tallies.setdefault(where, {})
            for name, increment in counts.items():
                kept[name] = kept.get(name, 0) + increment


class CountsNothing:
    """The processor's counter with nothing to count: the baseline."""

    def step(self, tallies: dict[tuple[int, str], dict[str, int]], partition: int,
             before: CustomerState | None, after: CustomerState, cause: Event | None) -> None:
        return None

    def settle(self, tallies: dict[tuple[int, str], dict[str, int]],
               changes: Iterable[Change]) -> None:
        return None


def stream(customers: int, events: int) -> list[Record]:
    topics = Topics("crm.")
    traffic = Traffic(topics, customers=customers, bad_share=0.0)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    messages = list(traffic.registrations(now))
    for n in range(events):
        messages.append(traffic.next(now + timedelta(milliseconds=10 * n)))
    homes = default_partitions([key.encode() for _, key, _ in messages], PARTITIONS)
    offsets: dict[tuple[str, int], int] = {}
    records = []
    for (topic, key, value), partition in zip(messages, homes, strict=True):
        offset = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = offset + 1
        records.append(Record(topic, partition, offset, key.encode(), value))
    return records


async def one_run(records: list[Record], counting: bool) -> float:
    """CPU µs per event through the processor."""
    end = datetime(2026, 11, 2, tzinfo=UTC)
    processor = Processor(LeanStore(), NoSink(), Topics("crm."), ManualClock(end),
                          retry_delay_s=0)
    if not counting:
        processor.tally = CountsNothing()  # type: ignore[assignment]
    gc.collect()
    gc.freeze()  # as the worker does (agents/app.py): the collector leaves the states alone
    started = time.process_time()
    for start in range(0, len(records), BATCH):
        await processor.process(records[start:start + BATCH])
        gc.freeze()
    spent = time.process_time() - started
    gc.unfreeze()
    return spent / len(records) * 1e6


async def bench(customers: int, events: int, rounds: int) -> dict[str, float]:
    gc.set_threshold(50_000)  # the worker's young-generation threshold
    records = stream(customers, events)
    print(f"[numbers] {len(records):,} records over {customers:,} customers, "
          f"{rounds} rounds", flush=True)
    on: list[float] = []
    off: list[float] = []
    for n in range(1, rounds + 1):
        off.append(await one_run(records, counting=False))
        on.append(await one_run(records, counting=True))
        print(f"[numbers] round {n}: {off[-1]:.1f} µs per event without the numbers, "
              f"{on[-1]:.1f} with them (+{on[-1] - off[-1]:.1f})", flush=True)
    cost = statistics.median(a - b for a, b in zip(on, off, strict=True))
    print(f"[numbers] the numbers cost {cost:.1f} µs of CPU per event "
          f"({cost / statistics.median(off) * 100:.1f}% of the processor's own time)")
    return {"events": len(records), "us_per_event_without": round(statistics.median(off), 1),
            "us_per_event_with": round(statistics.median(on), 1),
            "numbers_cost_us_per_event": round(cost, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.customers, args.events, args.rounds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
