"""``crmstream``: run the worker, create the topics, send simulated traffic, issue tokens,
print the numbers."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter

from crmstream.settings import Settings
from state.pool_rules import Duration
from web.identity import ROLES, Identity, issue


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from agents.app import create_app
    from agents.metrics import watch_gc_pauses
    from crmstream.faust_worker import faust_worker

    watch_gc_pauses()
    app, _ = create_app(settings)
    faust_worker(app, args.loglevel or settings.log_level).execute_from_commandline()
    return 0


def _notify(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from agents.app import redis_client
    from notify.routing import RoutingError, load_routing
    from notify.service import serve

    logging.basicConfig(level=(args.loglevel or settings.log_level).upper(),
                        format="[%(asctime)s] [notify] %(levelname)s %(message)s")
    if settings.notify_routes_file is None:
        print("CRMSTREAM_NOTIFY_ROUTES_FILE is not set: the notifier has nowhere to deliver "
              "(see deploy/notify-routes.yml)", file=sys.stderr)
        return 2
    try:
        routing = load_routing(settings.notify_routes_file)
    except RoutingError as failure:
        print(failure, file=sys.stderr)
        return 2
    asyncio.run(serve(settings, routing, redis_client(settings)))
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from zoneinfo import ZoneInfo

    from agents.app import redis_client
    from analytics.report import Where, today_in
    from analytics.terminal import one_line, render
    from state.keys import Keys
    from web.reader import ConsoleReader

    async def read() -> str:
        redis = redis_client(settings)
        try:
            today = today_in(args.zone, ZoneInfo(settings.business_timezone),
                             datetime.now(UTC))
            reader = ConsoleReader(redis, Keys(settings.redis_key_prefix), settings.partitions)
            report = await reader.numbers(args.zone, today, args.days,
                                          Where(args.pool, args.level, args.team))
        finally:
            await redis.aclose()
        if args.json:
            return report.model_dump_json(indent=2)
        return one_line(report) if args.line else render(report)

    print(asyncio.run(read()))
    return 0


def _recount(args: argparse.Namespace, settings: Settings) -> int:
    from zoneinfo import ZoneInfo

    from agents.app import load_policy, redis_client
    from analytics.recount import recount_standing
    from analytics.tally import Tally, TallyRules
    from state.keys import Keys

    rules = load_policy(settings).rules
    counter = Tally(TallyRules(rules, ZoneInfo(settings.business_timezone)))

    async def recount() -> dict[int, dict[str, int]]:
        redis = redis_client(settings)
        try:
            return await recount_standing(redis, Keys(settings.redis_key_prefix),
                                          settings.partitions, counter)
        finally:
            await redis.aclose()

    found = asyncio.run(recount())
    for partition, counts in found.items():
        customers = sum(n for name, n in counts.items() if name.startswith("customers:"))
        print(f"partition {partition}: {customers} customers")
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    ttl = TypeAdapter(Duration).validate_python(args.ttl)
    print(issue(Identity(args.person, args.role), settings.console_secret.get_secret_value(),
                ttl, datetime.now(UTC)))
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from crmstream.kafka import create_topics

    created = asyncio.run(create_topics(settings))
    every = (*settings.topics.inputs, *settings.topics.outputs)
    print(f"{len(created)} created, {len(every) - len(created)} already there: {', '.join(every)}")
    return 0


async def _send(settings: Settings, rate: float, duration: float, customers: int,
                reps: int, seed: int, register: bool) -> dict[str, float]:
    from crmstream.clock import SystemClock
    from crmstream.kafka import producer
    from crmstream.traffic import Traffic

    traffic = Traffic(settings.topics, customers=customers, reps=reps, seed=seed)
    clock = SystemClock()
    sent = 0
    async with producer(settings) as out:
        if register:
            for topic, key, value in traffic.registrations(clock.now()):
                await out.send(topic, value, key=key.encode())
                sent += 1
        started = time.perf_counter()
        interval = 1.0 / rate
        next_at = started
        while time.perf_counter() - started < duration:
            topic, key, value = traffic.next(clock.now())
            await out.send(topic, value, key=key.encode())
            sent += 1
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await out.flush()
    elapsed = time.perf_counter() - started
    return {"sent": sent, "seconds": round(elapsed, 2), "rate": round(sent / elapsed, 1)}


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    result = asyncio.run(_send(settings, args.rate, args.duration, args.customers, args.reps,
                               args.seed, not args.no_register))
    print(f"simulate: sent {result['sent']} messages in {result['seconds']}s "
          f"({result['rate']}/s)")
    return 0


def _check_rules(args: argparse.Namespace, settings: Settings) -> int:
    from state.pool_rules import PoolRulesError, load_pool_rules

    try:
        rules = load_pool_rules(args.file)
    except PoolRulesError as exc:
        print(exc, file=sys.stderr)
        return 1
    for pool in rules.pools:
        reasons = sorted({r.reason(level) for r in pool.rules for level in rules.levels})
        state = "reclaims" if pool.enabled and pool.auto_reclaim else "never reclaims"
        print(f"{pool.id}: {pool.name}; {state}: {', '.join(reasons) or '-'}")
    return 0


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from scoring.evaluate import EvaluationError, evaluate_churn, evaluate_sentiment

    try:
        if args.model == "sentiment":
            result = evaluate_sentiment(args.file, args.text, args.label, args.shuffle,
                                        args.prior, args.first)
        else:
            result = evaluate_churn(args.file, args.label, frozenset(args.ignore),
                                    args.shuffle)
    except EvaluationError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    start = "the shipped prior" if getattr(args, "prior", False) else "an empty model"
    print(f"{args.model} on {args.file}: n={result['n']} accuracy={result['accuracy']} "
          f"roc_auc={result['roc_auc']} log_loss={result['log_loss']} "
          f"({result['events_per_s']:,.0f} events/s, predict then learn, from {start})")
    print(json.dumps(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmstream",
        description="Real-time customer stream processor. Settings come from CRMSTREAM_* "
                    "environment variables (see the README).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    worker = sub.add_parser("worker", help="run the Faust worker (consumes every input topic)")
    worker.add_argument("--loglevel", default=None, help="log level (default: settings)")
    worker.set_defaults(run=_worker)
    notify = sub.add_parser("notify", help="run the delivery service (notices and alerts to "
                            "chat robots and webhooks, by CRMSTREAM_NOTIFY_ROUTES_FILE)")
    notify.add_argument("--loglevel", default=None, help="log level (default: settings)")
    notify.set_defaults(run=_notify)
    topics = sub.add_parser("topics", help="create every topic with the configured partitions")
    topics.set_defaults(run=_topics)
    check = sub.add_parser("check-rules", help="validate a pool rules file and summarise it")
    check.add_argument("file", type=Path, help="the YAML rules file")
    check.set_defaults(run=_check_rules)
    evaluate = sub.add_parser(
        "evaluate", help="progressive validation of a crmstream model on a labelled file")
    models = evaluate.add_subparsers(dest="model", required=True)
    sentiment = models.add_parser("sentiment", help="the interaction-text sentiment model")
    sentiment.add_argument("file", type=Path, help="CSV, JSONL or Parquet")
    sentiment.add_argument("--text", required=True, help="the column with the text")
    sentiment.add_argument("--label", required=True,
                           help="the column with the label (yes/no, positive/negative, 1/0)")
    sentiment.add_argument("--shuffle", type=int, default=None, metavar="SEED",
                           help="shuffle the rows with this seed first")
    sentiment.add_argument("--prior", action="store_true",
                           help="start from the shipped prior instead of an empty model")
    sentiment.add_argument("--first", type=int, default=None, metavar="N",
                           help="only the first N rows (how the model does early on)")
    sentiment.set_defaults(run=_evaluate)
    churn = models.add_parser("churn", help="the churn model (every other column is a feature)")
    churn.add_argument("file", type=Path, help="CSV, JSONL or Parquet")
    churn.add_argument("--label", required=True,
                       help="the column with the label (yes/no, churn/stayed, 1/0)")
    churn.add_argument("--ignore", action="append", default=[], metavar="COLUMN",
                       help="a column that is not a feature (an id); may be repeated")
    churn.add_argument("--shuffle", type=int, default=None, metavar="SEED",
                       help="shuffle the rows with this seed first")
    churn.set_defaults(run=_evaluate)
    token = sub.add_parser(
        "token", help="issue a signed token for a person (CRMSTREAM_CONSOLE_SECRET)")
    token.add_argument("person", help="the person's id (a rep's id for a rep)")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--ttl", default="8h", help="how long it is valid: 90s, 15m, 8h, 30d")
    token.set_defaults(run=_token)
    report = sub.add_parser("report", help="the live numbers: won, lost and why, conversion, "
                            "segments (README: The numbers)")
    report.add_argument("--days", type=int, default=30, choices=range(1, 91),
                        metavar="1-90", help="the window, in days (30)")
    report.add_argument("--zone", choices=("local", "utc"), default="local",
                        help="days of the business time zone (local) or of UTC")
    report.add_argument("--pool")
    report.add_argument("--level")
    report.add_argument("--team", help="the owner's team")
    report.add_argument("--json", action="store_true", help="the API's JSON instead")
    report.add_argument("--line", action="store_true", help="today's headline on one line")
    report.set_defaults(run=_report)
    recount = sub.add_parser(
        "recount-standing", help="count the standing numbers again from the stored "
        "customers (after an upgrade; with the workers stopped)")
    recount.set_defaults(run=_recount)
    sim = sub.add_parser("simulate", help="send realistic synthetic traffic to Kafka")
    sim.add_argument("--rate", type=float, default=200, help="messages per second (200)")
    sim.add_argument("--duration", type=float, default=60, help="seconds to run (60)")
    sim.add_argument("--customers", type=int, default=2000, help="distinct customers (2000)")
    sim.add_argument("--reps", type=int, default=20, help="sales reps (20)")
    sim.add_argument("--seed", type=int, default=7, help="random seed (7)")
    sim.add_argument("--no-register", action="store_true",
                     help="skip the initial register command of every customer")
    sim.set_defaults(run=_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "worker":
        # Faust's worker parses sys.argv itself; hand it only the program name.
        sys.argv = sys.argv[:1]
    settings = Settings()
    code: int = args.run(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
