"""The Faust worker: one agent consumes every input topic, batch by batch, into the processor.

Faust brings the consumer group (co-partitioned assignment of the four input topics), the
rebalance protocol, offset commits of acknowledged records, and the web server. Everything
the worker decides is in ``agents.processor`` and the pure core under ``state``.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import faust
import mode
from faust.types import TP
from faust.web.base import BlueprintManager
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from agents import metrics
from agents.batches import DurableAcks, event_batches
from agents.health import Health
from agents.health_watch import crash_on_failure, export_stalled, watch_progress
from agents.kafka_transport import Fetch, FetchPolicy, SameLoopTransport
from agents.models import CHURN, SENTIMENT, Models
from agents.processor import Outgoing, Processor
from agents.sink import KafkaSink
from agents.web import register_views
from analytics.exporter import show_standing
from analytics.segment_edges import current_edges
from analytics.stats_store import StatsStore
from analytics.tally import TallyRules
from crmstream.clock import SystemClock
from crmstream.kafka import kafka_ssl_context
from crmstream.settings import LOCAL_CONSOLE_SECRET, LOCAL_FORGET_KEY, Settings
from scoring import churn, sentiment
from scoring.churn import ChurnModel
from scoring.sentiment import SentimentModel
from state.alerts import AlertRules
from state.churn import ChurnRules
from state.keys import Keys
from state.model_checkpoints import load_checkpoint, save_checkpoint
from state.pool_rules import PoolRules, PoolRulesError, load_pool_rules, without_reclaims
from state.redis_connection import connect
from state.redis_store import RedisStore
from state.segments import SegmentEdges
from state.streams import StreamReader
from state.transitions import Policy
from web.auth import Authenticator
from web.change_feed import ChangeFeed
from web.console_store import ConsoleStore
from web.numbers import Numbers
from web.pages import TEMPLATES, Console
from web.reader import ConsoleReader

log = logging.getLogger(__name__)


def broker_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = kafka_ssl_context(settings)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    password = settings.kafka_sasl_password
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=password.get_secret_value() if password else None,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=context,
    )


def redis_client(settings: Settings) -> Redis:
    return connect(
        settings.redis_url.get_secret_value(),
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
        # Reconnect quietly through short outages; longer ones surface to the processor,
        # which keeps retrying the batch and counts the failures.
        retry=Retry(ExponentialBackoff(cap=1.0), retries=3),
        retry_on_error=[RedisConnectionError, OSError],
    )


def load_policy(settings: Settings) -> Policy:
    """The pool rules the worker enforces; a broken rules file stops it with the reason."""
    if settings.pool_rules_file is None:
        log.warning(
            "CRMSTREAM_POOL_RULES_FILE is not set: one pool %r, and no customer is ever "
            "reclaimed (see deploy/pool-rules.yml)", settings.default_pool,
        )
        rules = without_reclaims(settings.default_pool, settings.default_level)
    else:
        rules = load_pool_rules(settings.pool_rules_file)
    if settings.default_level not in rules.levels:
        raise PoolRulesError(
            f"CRMSTREAM_DEFAULT_LEVEL {settings.default_level!r} is not one of the rules' "
            f"levels {rules.levels}"
        )
    alerts = AlertRules(
        churn_high=settings.churn_alert_high, churn_low=settings.churn_alert_low,
        churn_critical=settings.churn_alert_critical,
        churn_after_labels=settings.churn_alert_after_labels,
        churn_min_roc_auc=settings.churn_alert_min_roc_auc,
        negative_text=settings.negative_text_score, high_value=settings.high_value_monetary,
        negative_run=settings.negative_run_length,
        cooldown=timedelta(seconds=settings.alert_cooldown_s),
    )
    churn_rules = ChurnRules(
        label_horizon=timedelta(seconds=settings.churn_label_horizon_s),
        publish_delta=settings.score_publish_delta,
        rescore_after=timedelta(seconds=settings.churn_rescore_after_s),
        min_events=settings.churn_min_events,
    )
    segments = SegmentEdges(recency_days=settings.rfm_recency_days,
                            min_customers=settings.rfm_min_customers)
    return Policy(rules, settings.default_level, settings.recent_event_ids, alerts, churn_rules,
                  segments)


def tally_rules(settings: Settings, rules: PoolRules) -> TallyRules:
    return TallyRules(rules, ZoneInfo(settings.business_timezone),
                      timedelta(days=settings.conversion_window_days))


def authenticator(settings: Settings) -> Authenticator:
    secret = settings.console_secret.get_secret_value()
    if secret == LOCAL_CONSOLE_SECRET and settings.identity_header is None:
        log.warning("CRMSTREAM_CONSOLE_SECRET is the local default: set a secret of your own "
                    "in production (it signs the tokens of the people using the console)")
    return Authenticator(secret, settings.identity_header, settings.identity_role_header)


def forget_key(settings: Settings) -> bytes:
    key = settings.forget_key.get_secret_value()
    if key == LOCAL_FORGET_KEY:
        log.warning("CRMSTREAM_FORGET_KEY is the local default: set a secret of your own "
                    "in production (it keys the hashes of forgotten customers' ids)")
    return key.encode()


def load_models(settings: Settings, keys: Keys) -> Models:
    """Each model from its checkpoint of this version if there is one, else fresh (the
    sentiment model from its shipped prior)."""
    if not settings.scoring:
        return Models(None, None)
    url = settings.redis_url.get_secret_value()

    def restored(name: str, version: str) -> tuple[Any, int] | None:
        saved = load_checkpoint(url, keys, name, version)
        log.info("%s: %s", name, f"checkpoint of {version} loaded ({saved[1]} labels learned)"
                 if saved else f"no checkpoint of {version}; starting fresh")
        return saved

    text = restored(SENTIMENT, sentiment.VERSION)
    trained = restored(CHURN, churn.VERSION)
    return Models(
        SentimentModel(*text) if text else SentimentModel.with_prior(),
        ChurnModel(*trained) if trained else ChurnModel(),
        drift_cooldown=timedelta(seconds=settings.drift_alert_cooldown_s),
    )


def fetch_policy(settings: Settings) -> FetchPolicy | None:
    if settings.kafka_caught_up_fetch_min_bytes <= 1:
        return None
    return FetchPolicy(
        caught_up_fetch=Fetch(settings.kafka_caught_up_fetch_min_bytes,
                              settings.kafka_caught_up_fetch_max_wait_ms),
        caught_up_below=settings.kafka_caught_up_lag, behind_above=settings.kafka_behind_lag)


def create_app(settings: Settings) -> tuple[faust.App, Processor]:
    servers = ";".join(s.strip() for s in settings.kafka_bootstrap_servers.split(","))
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{servers}",
        broker_credentials=broker_credentials(settings),
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        datadir=str(settings.state_dir),
        producer_acks=-1,
        producer_linger_ms=1,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=settings.kafka_session_timeout_s / 10,
        stream_buffer_maxsize=8192,
        autodiscover=False,
    )
    # Only crmstream's own views on the web port: none of Faust's (routing to other workers,
    # table contents, statistics, a "/" that says OK whatever the worker's state), which
    # would answer anyone who can reach the port.
    app.web.blueprints = BlueprintManager(())
    if not settings.kafka_consumer_thread:
        # Before anything asks the app for its transport (declaring a topic does).
        app.transport = SameLoopTransport(app.conf.broker_consumer, app)
        app.transport.fetch_policy = fetch_policy(settings)
    topics = settings.topics
    redis = redis_client(settings)
    keys = Keys(settings.redis_key_prefix)
    sink = KafkaSink(settings)

    health = Health(stall_after_s=settings.stall_after_s,
                    store_down_after_s=settings.redis_down_after_s)
    policy = load_policy(settings)
    processor = Processor(
        store=RedisStore(redis, keys, forget_key(settings), settings.stats_retention_days),
        sink=sink,
        topics=topics,
        clock=SystemClock(),
        policy=policy,
        tally_rules=tally_rules(settings, policy.rules),
        max_future_skew=timedelta(seconds=settings.max_future_skew_s),
        max_past_age=timedelta(days=settings.max_event_age_days),
        cache_size=settings.cache_max_customers,
        models=load_models(settings, keys),
        partition_count=lambda topic: partition_count(app, topic),
        health=health,
    )
    _start_and_stop_with(app, settings, sink, processor)
    inputs = app.topic(
        *topics.inputs, key_type=bytes, value_type=bytes, key_serializer="raw",
        value_serializer="raw", partitions=settings.partitions,
    )

    async def ingest(stream: faust.StreamT[bytes]) -> None:
        batches = event_batches(stream, settings.batch_max_events, settings.batch_within_s)
        acks = DurableAcks(stream)
        async with crash_on_failure(app, health):
            async for batch in batches:
                # Applied when this returns; written (then acknowledged) while the next is.
                durable = await processor.submit([e.message for e in batch])
                acks.once_done(durable, batch)

    app.agent(inputs, name="ingest", concurrency=1)(ingest)

    async def pool_clock() -> None:
        # Fires what is due in one go; a backlog larger than a tick is drained tick by tick.
        await processor.tick()

    app.timer(interval=settings.timer_tick_s)(pool_clock)

    _housekeeping(app, settings, processor, redis, keys)
    _numbers(app, settings, processor, StatsStore(redis, keys, settings.partitions))
    exported: set[int] = set()
    export_stalled(processor.health)

    async def progress() -> None:
        await watch_progress(app, processor, exported)

    app.timer(interval=1.0)(progress)

    def inputs_of(assignment: set[TP]) -> set[int]:
        return {tp.partition for tp in assignment if tp.topic in topics.kind_of}

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await processor.assign(inputs_of(args[0] if args else kwargs["assigned"]))

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await processor.drain()  # what was applied lands before the partitions move on
        processor.revoke(inputs_of(args[0] if args else kwargs["revoked"]))

    people = authenticator(settings)
    register_views(app, processor, StreamReader(redis), keys, health, people)
    async def send_command(customer_id: str, command: bytes) -> None:
        await sink.publish([Outgoing(topics.commands, customer_id, command)])

    feed = ChangeFeed(redis, keys.all_changes())
    reader = ConsoleReader(redis, keys, settings.partitions)
    Console(reader, ConsoleStore(redis, keys), feed, people, processor.policy.rules,
            send_command).register(app)
    Numbers(reader, people, processor.policy.rules, ZoneInfo(settings.business_timezone),
            TEMPLATES).register(app)
    return app, processor


def partition_count(app: faust.App, topic: str) -> int | None:
    """The topic's partition count in the consumer's cluster metadata. (Faust's
    ``topic_partitions`` reads the group coordinator's snapshot, which only the group's
    leader fills in.)"""
    consumer: Any = app.consumer
    kafka = consumer._thread._consumer  # aiokafka's consumer, once started
    partitions = kafka.partitions_for_topic(topic) if kafka is not None else None
    return len(partitions) if partitions else None


def _start_and_stop_with(app: faust.App, settings: Settings, sink: KafkaSink,
                         processor: Processor) -> None:
    @app.service
    class OutputProducer(mode.Service):
        """Starts the outputs' producer with the worker; when it stops, lets the batch in
        flight finish its write, then flushes the producer."""

        async def on_start(self) -> None:
            # Once Faust has set up logging; secrets stay masked.
            log.info("settings: %s", settings.redacted())
            await sink.start()

        async def on_stop(self) -> None:
            await processor.drain()
            await sink.stop()


def _numbers(app: faust.App, settings: Settings, processor: Processor, stats: StatsStore
             ) -> None:
    """The numbers' timers: the RFM quintiles of every customer seen, and the standing
    numbers of the worker's own partitions as Prometheus gauges."""
    defaults = processor.policy.segments

    async def refresh_segment_edges() -> None:
        try:
            standing = await stats.standing()
        except (RedisError, OSError) as exc:
            log.warning("could not read the RFM histograms (%s); keeping the edges", exc)
            return
        processor.policy = replace(processor.policy,
                                   segments=current_edges(standing, defaults))

    async def export_standing() -> None:
        try:
            show_standing(await stats.standing(sorted(processor.tokens)))
        except (RedisError, OSError) as exc:
            log.warning("could not read the standing numbers (%s)", exc)

    app.timer(interval=settings.segment_edges_refresh_s)(refresh_segment_edges)
    app.timer(interval=settings.business_metrics_interval_s)(export_standing)


def _housekeeping(app: faust.App, settings: Settings, processor: Processor, redis: Redis,
                  keys: Keys) -> None:
    """The worker's timers besides the pool clock: model checkpoints and the collector."""
    # The customer cache holds millions of objects with no reference cycles (refcounting
    # frees a replaced state at once), yet every full collection walked all of them:
    # measured 13 full collections of ~260 ms in a 50 s benchmark, the whole p99 tail.
    # Freezing survivors every second (gc.freeze is O(1)) takes them out of the collector's
    # view: p99 produce-to-Redis went from 678 ms to 70 ms. A thaw and full collection every
    # 15 minutes reclaims any cyclic garbage (asyncio, Faust) that was frozen with them.
    # Young collections every 700 allocations (Python's default) ran ~55 times a second
    # and cost ~2.5% of the worker; most of a batch's objects die before 50,000.
    gc.set_threshold(settings.gc_young_threshold)

    async def freeze_survivors() -> None:
        gc.freeze()

    async def thaw_and_collect() -> None:
        gc.unfreeze()
        gc.collect()

    models = processor.models
    saved = {name: model.learned for name, model in models.present()}

    async def checkpoint_models() -> None:
        for name, model in models.present():
            if model.learned == saved[name]:
                continue
            size = await save_checkpoint(redis, keys, name, model.version, model.model,
                                         model.learned)
            saved[name] = model.learned
            metrics.MODEL_CHECKPOINT_BYTES.labels(name).set(size)

    app.timer(interval=settings.model_checkpoint_interval_s)(checkpoint_models)
    app.timer(interval=settings.gc_freeze_interval_s)(freeze_survivors)
    app.timer(interval=settings.gc_full_collect_interval_s)(thaw_and_collect)
