"""``make bench-scoring``: what scoring costs the worker, on the mixed stream.

The same records (about 60% clicks, 30% interactions with texts, 10% orders, over 100,000
customers) are produced once; then the worker reads all of them with scoring off and with
scoring on (sentiment of every text, churn risk of every customer worth rescoring, the
alert rules), alternating, each run in a fresh consumer group and Redis namespace. The cost
is the median over the rounds of each round's difference in time per event (on minus off).
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import uuid

from redis.asyncio import Redis

from bench.throughput import compact_redis, fresh_worker, log, produce, worker_run
from crmstream.kafka import create_topics
from crmstream.namespace import drop_namespace
from crmstream.settings import Settings
from crmstream.traffic import Traffic


async def one_run(settings: Settings, redis: Redis, events: int, scoring: bool, app_id: str
                  ) -> tuple[float, float]:
    """The worker's events per second over every record, in a namespace of its own, and
    its CPU µs per event."""
    async with fresh_worker(settings, redis, app_id,
                            CRMSTREAM_SCORING="true" if scoring else "false") as (run, proc):
        return await worker_run(run, redis, events, proc)


async def bench(events: int, customers: int, rounds: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(topic_prefix=f"bench{tag}.", redis_key_prefix=f"bench{tag}:")
    app = f"bench-scoring-{tag}"
    await create_topics(settings)
    traffic = Traffic(settings.topics, customers=customers, seed=11, bad_share=0,
                      commands_share=0, prefix="b")
    log(f"producing {events} events over {customers} customers to {settings.topic_prefix}*")
    await produce(settings, traffic, events)
    redis = Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    us: dict[bool, list[float]] = {False: [], True: []}
    cpu_us: dict[bool, list[float]] = {False: [], True: []}
    try:
        await compact_redis(redis)
        for round_ in range(rounds):
            for scoring in (False, True):
                rate, cpu = await one_run(settings, redis, events, scoring,
                                          f"{app}-{round_}-{'on' if scoring else 'off'}")
                us[scoring].append(1e6 / rate)
                cpu_us[scoring].append(cpu)
                log(f"round {round_ + 1}, scoring {'on ' if scoring else 'off'}: "
                    f"{rate:,.0f} events/s ({1e6 / rate:.1f} µs/event, CPU {cpu:.1f} µs/event)")
    finally:
        await drop_namespace(settings, apps=[app])
        await redis.aclose()
    on, off, cost = _paired(" µs per event", us[True], us[False])
    cpu_on, cpu_off, cpu_cost = _paired(" µs of the worker's CPU per event",
                                        cpu_us[True], cpu_us[False])
    return {"events": events, "per_event_us_on": round(on, 1),
            "per_event_us_off": round(off, 1), "scoring_us_per_event": round(cost, 1),
            "cpu_us_per_event_on": round(cpu_on, 1), "cpu_us_per_event_off": round(cpu_off, 1),
            "scoring_cpu_us_per_event": round(cpu_cost, 1)}


def _paired(unit: str, on: list[float], off: list[float]) -> tuple[float, float, float]:
    """The medians of each side, and the cost: the median of the rounds' own differences
    (off, then on a minute later: a slow minute of the machine hits both halves of a pair,
    where the difference of the two medians pairs one round's run with another's)."""
    cost = statistics.median(a - b for a, b in zip(on, off, strict=True))
    on_median, off_median = statistics.median(on), statistics.median(off)
    log(f"scoring costs {cost:.1f}{unit}, the median round's (the difference of the medians: "
        f"{on_median - off_median:.1f}; on {on_median:.1f}, off {off_median:.1f}; spread of "
        f"the runs: on {min(on):.0f}-{max(on):.0f}, off {min(off):.0f}-{max(off):.0f})")
    return on_median, off_median, cost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.events, args.customers, args.rounds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
