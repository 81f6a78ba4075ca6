"""``make bench-delivery``: notices per second through ``crmstream notify``, and the delivery
latency at half that rate.

A notifier (its own process, as deployed) reads a fresh notices topic and delivers to
``--robots`` signed webhooks served by the local fake platforms (in this process; they
check every signature and answer at once). Phase 1: ``--notices`` notices wait on the topic,
then the notifier starts: delivered per second, from the first message to arrive to the
last. Phase 2: notices produced at half that rate for ``--seconds``, each stamped with its
time: latency = the fake's acceptance minus the notice's time. Webhooks get one message per
notice (never a digest), so every notice is a request. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web

from bench.throughput import free_port
from crmstream.kafka import create_topics, producer
from crmstream.namespace import drop_namespace
from crmstream.settings import Settings
from notify.fake_platforms import FakePlatforms
from notify.messages import Message
from notify.platforms import request
from notify.routing import Routing, Target

ROOT = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def routing(port: int, robots: int) -> dict[str, object]:
    return {
        "robots": {f"hook-{i}": {"platform": "webhook", "secret": f"secret-{i}",
                                 "url": f"http://127.0.0.1:{port}/webhook/hook-{i}",
                                 "per_minute": 1_000_000} for i in range(robots)},
        "reps": {f"rep-{i}": {"robot": f"hook-{i}"} for i in range(robots)},
    }


def notice(n: int, robots: int, phase: str, at: datetime) -> tuple[str, bytes]:
    rep = f"rep-{n % robots}"
    return rep, orjson.dumps({
        "notice_id": f"{phase}-{n}", "rep_id": rep, "customer_id": f"c-{n}",
        "type": "reclaimed", "pool_id": "default", "reason": "no follow-up for 3d",
        "at": at.isoformat()})


def delivered(fakes: FakePlatforms, phase: str) -> dict[str, float]:
    """Notice id -> when the fake accepted it (Unix time)."""
    return {str(r.body["delivery_id"]).rsplit(":", 1)[0]: r.at for r in fakes.received
            if str(r.body.get("delivery_id", "")).startswith(f"{phase}-")}


async def wait_all(fakes: FakePlatforms, phase: str, count: int, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while len(delivered(fakes, phase)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(delivered(fakes, phase))} of {count} delivered")
        await asyncio.sleep(0.2)


async def bench(settings: Settings, routes: dict[str, object], routes_file: Path, port: int,
                notices: int, seconds: float, robots: int) -> dict[str, float | int]:
    await create_topics(settings)
    fakes = FakePlatforms(Routing.model_validate(routes))
    runner = web.AppRunner(fakes.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    notifier: asyncio.subprocess.Process | None = None
    try:
        bare = await bare_rate(Routing.model_validate(routes), robots, min(notices, 5000))
        log(f"baseline: {bare:,.0f} requests/s from {robots} bare senders to the same fakes")
        fakes.received.clear()
        now = datetime.now(UTC)
        async with producer(settings) as out:
            for n in range(notices):
                key, value = notice(n, robots, "burst", now)
                await out.send(settings.topics.notices, value, key=key.encode())
        log(f"{notices} notices on the topic; starting the notifier")
        env = os.environ | {
            "CRMSTREAM_TOPIC_PREFIX": settings.topic_prefix,
            "CRMSTREAM_REDIS_KEY_PREFIX": settings.redis_key_prefix,
            "CRMSTREAM_NOTIFY_GROUP": settings.notify_group,
            "CRMSTREAM_NOTIFY_ROUTES_FILE": str(routes_file),
            "CRMSTREAM_NOTIFY_WEB_PORT": "0"}
        notifier = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "crmstream.cli", "notify", env=env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await wait_all(fakes, "burst", notices, within_s=600)
        arrived = sorted(delivered(fakes, "burst").values())
        rate = (notices - 1) / (arrived[-1] - arrived[0])
        log(f"phase 1: {rate:,.0f} notices/s delivered")

        half, stamped = rate / 2, dict[str, float]()
        log(f"phase 2: {half:,.0f} notices/s for {seconds:.0f} s")
        started = time.monotonic()
        async with producer(settings, linger_ms=0) as out:
            while (elapsed := time.monotonic() - started) < seconds:
                while len(stamped) < elapsed * half:
                    at = datetime.now(UTC)
                    key, value = notice(len(stamped), robots, "paced", at)
                    stamped[f"paced-{len(stamped)}"] = at.timestamp()
                    await out.send(settings.topics.notices, value, key=key.encode())
                await asyncio.sleep(0.005)
        sent = len(stamped)
        await wait_all(fakes, "paced", sent, within_s=120)
        accepted = delivered(fakes, "paced")
        latencies = sorted(accepted[notice_id] - at for notice_id, at in stamped.items())
        p50 = statistics.median(latencies)
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        duplicates = len(fakes.received) - notices - sent
        log(f"phase 2: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms over {sent} notices; "
            f"{duplicates} sent twice")
        return {"notices": notices, "delivered_per_s": round(rate, 1),
                "bare_senders_per_s": round(bare, 1), "ratio_to_bare": round(rate / bare, 3),
                "latency_p50_s": round(p50, 4), "latency_p99_s": round(p99, 4),
                "paced_notices": sent, "robots": robots, "duplicates": duplicates}
    finally:
        if notifier is not None and notifier.returncode is None:
            notifier.terminate()
            await notifier.wait()
        await runner.cleanup()
        await drop_namespace(settings)


async def bare_rate(routing: Routing, robots: int, requests: int) -> float:
    """The ceiling on this machine: ``robots`` senders, each posting signed webhook requests
    one after another to the same fakes, with nothing else to do (no Kafka, no ledger)."""
    async def sender(robot: str, count: int) -> None:
        for n in range(count):
            made = request(routing.robots[robot], Message("t", (f"line {n}",)),
                           Target(robot=robot, language="zh"), f"bare-{robot}-{n}", time.time())
            async with http.post(made.url, data=made.body, headers=made.headers) as r:
                assert r.status < 300, r.status

    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        await asyncio.gather(*(sender(f"hook-{i}", requests // robots) for i in range(robots)))
        return (requests // robots * robots) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--robots", type=int, default=8)
    args = parser.parse_args()
    tag, port = uuid.uuid4().hex[:8], free_port()
    settings = Settings(topic_prefix=f"bd{tag}.", redis_key_prefix=f"bd{tag}:",
                        app_id=f"bench-delivery-{tag}", notify_group=f"bench-delivery-{tag}")
    routes = routing(port, args.robots)
    routes_file = Path(f"/tmp/bench-delivery-{tag}.json")
    routes_file.write_bytes(orjson.dumps(routes))
    try:
        result = asyncio.run(bench(settings, routes, routes_file, port, args.notices,
                                   args.seconds, args.robots))
    finally:
        routes_file.unlink(missing_ok=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
