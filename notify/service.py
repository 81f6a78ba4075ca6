"""``crmstream notify``: the delivery service. Its own consumer group reads ``crm.notices``
and ``crm.alerts``; each message goes, rendered for its reader, to the robots its routing
names (one lane per robot, ``notify.sender``); a record's offset is committed only once
every delivery it caused is recorded sent or dead-lettered, so a notifier killed at any
moment loses nothing, and the ledger keeps a replay from sending anything twice."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from crmstream.kafka import client_options, producer
from crmstream.settings import Settings
from notify import metrics
from notify.health import unready
from notify.ledger import Ledger
from notify.messages import Customer, alert_message, notice_message
from notify.offsets import Offsets
from notify.routing import Routing
from notify.sender import Delivery, Lane
from schemas.base import to_json
from schemas.outputs import Alert, DeliveryDeadLetter, Notice
from state.keys import Keys
from web.reader import ConsoleReader

log = logging.getLogger(__name__)
FETCH_MS = 200


class Notifier:
    def __init__(self, settings: Settings, routing: Routing, redis: Redis) -> None:
        self.settings, self.routing = settings, routing
        self.topics = settings.topics
        self.keys = Keys(settings.redis_key_prefix)
        self.reader = ConsoleReader(redis, self.keys)
        self.ledger = Ledger(redis, self.keys, sender=uuid.uuid4().hex[:12])
        self.zone = ZoneInfo(routing.time_zone)
        self.offsets: Offsets[TopicPartition] = Offsets()
        self.lanes: dict[str, Lane] = {}
        self.consumer = AIOKafkaConsumer(  # subscribed in run(), with its rebalance listener
            **client_options(settings),
            group_id=settings.notify_group, enable_auto_commit=False,
            auto_offset_reset="earliest")
        self.producer = producer(settings)

    async def run(self, stop: asyncio.Event) -> None:
        await self.producer.start()
        async with aiohttp.ClientSession() as http:
            self.lanes = {
                name: Lane(name, robot, http, self.ledger, self._dead_letter, self._finished,
                           self.settings.notify_max_attempts, self.settings.notify_retry_base_s,
                           self.settings.notify_timeout_s)
                for name, robot in self.routing.robots.items()}
            self.consumer.subscribe([self.topics.notices, self.topics.alerts],
                                    listener=_Rebalance(self))
            await self.consumer.start()
            try:
                while not stop.is_set():
                    found = await self.consumer.getmany(timeout_ms=FETCH_MS)
                    for tp, records in found.items():
                        await self._route(tp, records)
                    await self.commit()
            finally:
                for lane in self.lanes.values():
                    await lane.close()
                await self.commit()
                await self.consumer.stop()
                await self.producer.stop()

    async def commit(self) -> None:
        points = self.offsets.to_commit()
        if points:
            await self.consumer.commit(points)

    async def _route(self, tp: TopicPartition, records: list[Any]) -> None:
        parsed = [(record, await self._read(tp, record)) for record in records]
        known = await self._names(sorted({m.customer_id for _, m in parsed if m is not None}))
        for record, message in parsed:
            deliveries = [] if message is None else self._deliveries(message, known, (
                tp, record.offset))
            self.offsets.consumed(tp, record.offset, len(deliveries))
            for delivery in deliveries:
                self.lanes[delivery.target.robot].put(delivery)

    async def _names(self, customer_ids: list[str]) -> dict[str, tuple[str, str]]:
        """The customers' names and levels; their ids alone while Redis is away (a message
        that names the id is better than one that waits)."""
        try:
            return await self.reader.names_and_levels(customer_ids)
        except (RedisError, OSError) as failure:
            log.warning("customer names unavailable (%s): messages name the ids",
                        type(failure).__name__)
            return {}

    async def _read(self, tp: TopicPartition, record: Any) -> Notice | Alert | None:
        model = Notice if tp.topic == self.topics.notices else Alert
        try:
            return model.model_validate_json(record.value or b"")
        except ValidationError as failure:
            await self._unreadable(tp, record, failure)
            return None

    def _deliveries(self, message: Notice | Alert, known: dict[str, tuple[str, str]],
                    source: tuple[TopicPartition, int]) -> list[Delivery]:
        name, level = known.get(message.customer_id, (message.customer_id, "?"))
        customer, url, payload = Customer(name, level), self.routing.console_url, (
            message.model_dump_json())
        if isinstance(message, Notice):
            return [Delivery(f"{message.notice_id}:{target.robot}", "notice",
                             notice_message(message, customer, target.language, url, self.zone),
                             target, message.at.timestamp(), payload, source)
                    for target in self.routing.for_notice(message)]
        return [Delivery(f"{message.alert_id}:{target.robot}", "alert",
                         alert_message(message, customer, target.language, url, self.zone),
                         target, message.at.timestamp(), payload, source)
                for target in self.routing.for_alert(message)]

    def _finished(self, delivery: Delivery) -> None:
        tp, offset = delivery.source
        self.offsets.finished(tp, offset)

    async def _dead_letter(self, batch: list[Delivery], reason: str, attempts: int) -> None:
        """Each delivery of the batch to crm.delivery_dlq, all acknowledged by the broker
        before the lane records them dead."""
        now = datetime.now(UTC)
        sending = [await self.producer.send(
            self.topics.delivery_dlq, to_json(DeliveryDeadLetter(
                delivery_id=d.delivery_id, kind=d.kind, robot=d.target.robot,
                platform=self.routing.robots[d.target.robot].platform, reason=reason,
                attempts=attempts, payload=d.payload, at=now)),
            key=d.target.robot.encode()) for d in batch]
        await asyncio.gather(*sending)
        log.warning("%d deliveries to %s dead-lettered after %d attempts: %s", len(batch),
                    batch[0].target.robot, attempts, reason)

    async def _unreadable(self, tp: TopicPartition, record: Any, failure: Exception) -> None:
        metrics.UNREADABLE.inc()
        value = record.value or b""
        letter = DeliveryDeadLetter(
            delivery_id=f"{tp.topic}:{tp.partition}:{record.offset}",
            kind="notice" if tp.topic == self.topics.notices else "alert", robot="",
            platform="", reason=f"not a valid message: {str(failure)[:300]}", attempts=0,
            payload=value[:65_536].decode(errors="replace"), at=datetime.now(UTC))
        await self.producer.send_and_wait(self.topics.delivery_dlq, to_json(letter))


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.notifier.commit()
        self.notifier.offsets.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


async def serve(settings: Settings, routing: Routing, redis: Redis) -> None:
    """Run until SIGTERM or SIGINT; what is not recorded yet is redelivered next time."""
    notifier = Notifier(settings, routing, redis)
    runner = web.AppRunner(health_app(notifier, settings.redis_down_after_s))
    if settings.notify_web_port:
        await runner.setup()
        await web.TCPSite(runner, settings.web_host, settings.notify_web_port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await notifier.run(stop)
    finally:
        await runner.cleanup()


def health_app(notifier: Notifier, ledger_down_after_s: float) -> web.Application:
    """``/metrics``, ``/livez``, ``/readyz`` and ``/healthz`` (the detail) of the notifier."""
    def problems() -> list[str]:
        since = notifier.ledger.failing_since
        return unready(len(notifier.consumer.assignment()),
                       None if since is None else time.monotonic() - since,
                       ledger_down_after_s)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def livez(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "problems": []})

    async def readyz(request: web.Request) -> web.Response:
        found = problems()
        return web.json_response({"status": "fail" if found else "ok", "problems": found},
                                 status=503 if found else 200)

    async def healthz(request: web.Request) -> web.Response:
        found = problems()
        return web.json_response({
            "status": "unready" if found else "ok", "problems": found,
            "assigned": sorted(f"{tp.topic}:{tp.partition}"
                               for tp in notifier.consumer.assignment()),
            "queued": {name: lane.queue.qsize() for name, lane in notifier.lanes.items()}})

    app = web.Application()
    for path, handler in (("/metrics", metrics), ("/livez", livez), ("/readyz", readyz),
                          ("/healthz", healthz)):
        app.router.add_get(path, handler)
    return app
