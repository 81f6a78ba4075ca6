"""One robot's lane: its deliveries queue here and leave under the platform's rate limits.
What queued while the robot had to wait leaves as one digest; a throttle answer is waited
out as told; network errors and 5xx are retried with exponential backoff and jitter; a
permanent failure, or the last attempt, sends the deliveries to the dead letters. Each
delivery's outcome is recorded (the ledger) before it is reported finished."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from notify import metrics
from notify.ledger import Ledger
from notify.messages import Message, digest
from notify.platforms import HttpRequest, Verdict, limits_of, request, verdict
from notify.routing import Robot, Target
from notify.throttle import Throttle

log = logging.getLogger(__name__)
DIGEST_MAX = 25  # lines in one digest; more wait for the next message


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str  # "<notice or alert id>:<robot>"
    kind: Literal["notice", "alert"]
    message: Message
    target: Target
    at: float  # the notice's or alert's time (Unix seconds), for the latency
    payload: str  # the original JSON, for the dead letter
    source: tuple[Any, int]  # (partition, offset): finished once the outcome is recorded


Finished = Callable[[Delivery], None]
DeadLetter = Callable[[list[Delivery], str, int], Awaitable[None]]


class Lane:
    def __init__(self, name: str, robot: Robot, http: aiohttp.ClientSession, ledger: Ledger,
                 dead_letter: DeadLetter, finished: Finished, max_attempts: int,
                 retry_base_s: float, timeout_s: float) -> None:
        self.name, self.robot, self.http, self.ledger = name, robot, http, ledger
        self.dead_letter, self.finished = dead_letter, finished
        self.max_attempts, self.retry_base_s, self.timeout_s = (
            max_attempts, retry_base_s, timeout_s)
        limits = limits_of(robot)
        self.throttle = Throttle.per(limits.per_minute, limits.per_second)
        self.queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(), name=f"lane-{name}")

    def put(self, delivery: Delivery) -> None:
        self.queue.put_nowait(delivery)
        metrics.QUEUED.labels(self.name).set(self.queue.qsize())

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            try:
                await self._deliver(batch)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug: never lose the batch silently
                log.exception("delivering to %s failed; dead-lettering %d", self.name,
                              len(batch))
                await self._give_up(batch, "the notifier failed (a bug, logged)", 0)

    def _take_queued(self, batch: list[Delivery]) -> None:
        # a webhook's receiver is a program: one JSON per notice or alert, never a digest
        most = 1 if self.robot.platform == "webhook" else DIGEST_MAX
        while len(batch) < most and not self.queue.empty():
            batch.append(self.queue.get_nowait())
        metrics.QUEUED.labels(self.name).set(self.queue.qsize())

    async def _deliver(self, batch: list[Delivery]) -> None:
        attempts = 0
        while True:
            await asyncio.sleep(self.throttle.wait(time.monotonic()))
            self._take_queued(batch)
            batch[:] = await self._claimed(batch)
            if not batch:
                return
            answer = await self._send(batch)
            now = time.monotonic()
            platform = self.robot.platform
            if answer.outcome == "sent":
                self.throttle.sent(now)
                await self.ledger.finish([d.delivery_id for d in batch], "sent")
                accepted = time.time()
                for d in batch:
                    metrics.DELIVERY_LATENCY.observe(max(0.0, accepted - d.at))
                    self.finished(d)
                metrics.DELIVERIES.labels(platform, "sent").inc(len(batch))
                if len(batch) > 1:
                    metrics.DIGESTS.labels(platform).inc()
                return
            if answer.outcome == "throttled":  # waited out as told; not an attempt
                metrics.DELIVERIES.labels(platform, "throttled").inc(len(batch))
                log.warning("%s throttled (%s): waiting %.0f s", self.name, answer.reason,
                            answer.wait_s)
                self.throttle.told_to_wait(now, answer.wait_s)
                metrics.QUEUED.labels(self.name).set(self.queue.qsize() + len(batch))
                continue
            attempts += 1
            if answer.outcome == "permanent" or attempts >= self.max_attempts:
                metrics.DELIVERIES.labels(platform, "failed").inc(len(batch))
                await self._give_up(batch, answer.reason, attempts)
                return
            metrics.DELIVERIES.labels(platform, "retried").inc(len(batch))
            backoff = self.retry_base_s * 2 ** (attempts - 1)
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))

    async def _claimed(self, batch: list[Delivery]) -> list[Delivery]:
        """The deliveries this lane may send now: those finished before (a replay) are
        reported finished; those another sender holds wait for its lease to run out."""
        claims = await self.ledger.claim([d.delivery_id for d in batch],
                                         lease_s=self.timeout_s * 2)
        mine = []
        for delivery, claim in zip(batch, claims, strict=True):
            if claim == "mine":
                mine.append(delivery)
            elif claim == "busy":
                asyncio.get_running_loop().call_later(self.timeout_s, self.put, delivery)
            else:
                self.finished(delivery)
        return mine

    async def _send(self, batch: list[Delivery]) -> Verdict:
        first = batch[0]
        if len(batch) == 1:
            message, target = first.message, first.target
        else:
            message = digest([d.message for d in batch], first.target.language)
            mentions = {(d.target.mention, d.target.mobile) for d in batch}
            target = first.target if len(mentions) == 1 else first.target.model_copy(
                update={"mention": None, "mobile": None})
        delivery_id = first.delivery_id if len(batch) == 1 else (
            f"digest:{first.delivery_id}:{len(batch)}")
        http_request = request(self.robot, message, target, delivery_id, time.time())
        return await self._post(http_request)

    async def _post(self, http_request: HttpRequest) -> Verdict:
        try:
            async with self.http.post(
                    http_request.url, data=http_request.body, headers=http_request.headers,
                    timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as response:
                body = await response.read()
                headers = {"Retry-After": response.headers.get("Retry-After", "")}
                return verdict(self.robot.platform, response.status, headers, body,
                               self.robot.throttle_wait_s)
        except (aiohttp.ClientError, TimeoutError, OSError) as failure:
            # the URL holds the robot's key: name the robot, never the URL
            return Verdict("retry", f"{type(failure).__name__} reaching {self.name}")

    async def _give_up(self, batch: list[Delivery], reason: str, attempts: int) -> None:
        await self.dead_letter(batch, reason, attempts)
        await self.ledger.finish([d.delivery_id for d in batch], "dead")
        metrics.DELIVERIES.labels(self.robot.platform, "dead_lettered").inc(len(batch))
        for d in batch:
            self.finished(d)
