"""Real Kafka and Redis, started once per test session by the project's own script.

Each test gets its own topic prefix, Redis key prefix and consumer group, so tests never see
each other's data. Workers run as real subprocesses (``crmstream worker``) so a test can
SIGKILL one the way a crash would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from crmstream.kafka import create_topics, producer
from crmstream.namespace import drop_namespace
from crmstream.settings import Settings
from web.identity import Identity, Role, issue

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def stack() -> None:
    """Bring the local stack up (idempotent: an already running stack is reused)."""
    env = os.environ | {"PYTHON": sys.executable}
    subprocess.run([str(ROOT / "deploy/stack.sh"), "up"], check=True, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def settings(stack: None, tmp_path: Path) -> AsyncIterator[Settings]:
    tag = uuid.uuid4().hex[:10]
    made = Settings(
        app_id=f"crmstream-test-{tag}", topic_prefix=f"t{tag}.", redis_key_prefix=f"t{tag}:",
        partitions=4, state_dir=tmp_path / "worker", web_port=free_port(),
        batch_within_s=0.02, model_checkpoint_interval_s=1, redis_down_after_s=2,
        # a SIGKILLed worker's partitions move on after this long
        kafka_session_timeout_s=10, notify_group=f"crmstream-test-{tag}-notify",
    )
    await create_topics(made)
    yield made
    await drop_namespace(made, apps=[made.app_id])  # leave the shared stack as we found it


@pytest.fixture
async def redis(stack: None) -> AsyncIterator[Redis]:
    client = Redis.from_url(
        "redis://127.0.0.1:6379/0", decode_responses=True,
        retry=Retry(ExponentialBackoff(cap=1.0), retries=10),
        retry_on_error=[RedisConnectionError, OSError],
    )
    yield client
    await client.aclose()


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "CRMSTREAM_APP_ID": settings.app_id,
        "CRMSTREAM_TOPIC_PREFIX": settings.topic_prefix,
        "CRMSTREAM_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "CRMSTREAM_PARTITIONS": str(settings.partitions),
        "CRMSTREAM_WEB_PORT": str(settings.web_port),
        "CRMSTREAM_STATE_DIR": str(settings.state_dir),
        "CRMSTREAM_BATCH_WITHIN_S": str(settings.batch_within_s),
        "CRMSTREAM_MODEL_CHECKPOINT_INTERVAL_S": str(settings.model_checkpoint_interval_s),
        "CRMSTREAM_KAFKA_SESSION_TIMEOUT_S": str(settings.kafka_session_timeout_s),
        "CRMSTREAM_CHURN_LABEL_HORIZON_S": str(settings.churn_label_horizon_s),
        "CRMSTREAM_REDIS_DOWN_AFTER_S": str(settings.redis_down_after_s),
        "CRMSTREAM_STALL_AFTER_S": str(settings.stall_after_s),
        "CRMSTREAM_NOTIFY_GROUP": settings.notify_group,
    } | ({"CRMSTREAM_POOL_RULES_FILE": str(settings.pool_rules_file)}
         if settings.pool_rules_file else {})


class WorkerProcess:
    """``crmstream worker`` as a child process, with its log kept for failure reports."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, web_port: int | None = None,
              module: str = "crmstream.cli", env: dict[str, str] | None = None,
              command: str = "worker") -> WorkerProcess:
        env = os.environ | settings_env(self.settings) | (env or {})
        if web_port is not None:
            env["CRMSTREAM_WEB_PORT"] = str(web_port)
            env["CRMSTREAM_STATE_DIR"] = f"{self.settings.state_dir}-{web_port}"
        self.port = int(env["CRMSTREAM_WEB_PORT"])
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, command, "--loglevel", "info"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        return self

    async def wait_owns_partitions(self, timeout: float = 120) -> list[int]:
        """Wait until the worker answers /healthz and owns at least one partition."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc is not None
                assert self.proc.poll() is None, f"worker exited\n{self.tail()}"
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                        body = await r.json()
                        if body["owned_partitions"]:
                            return list(body["owned_partitions"])
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.3)
        raise AssertionError(f"worker did not take partitions in {timeout}s\n{self.tail()}")

    async def health(self, path: str = "/healthz") -> dict[str, Any]:
        """The JSON of a health endpoint, with its HTTP status as ``http_status``."""
        async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{self.port}{path}"
        ) as r:
            body: dict[str, Any] = await r.json()
            return body | {"http_status": r.status}

    async def metrics(self) -> str:
        async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{self.port}/metrics"
        ) as r:
            return await r.text()

    def kill(self) -> None:
        """What a crash does: no shutdown, no flush, no commit."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(name: str = "worker", web_port: int | None = None, **options: Any
              ) -> WorkerProcess:
        process = WorkerProcess(settings, tmp_path / f"{name}.log").start(web_port, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


async def produce(settings: Settings, messages: list[tuple[str, str, bytes]]) -> None:
    async with producer(settings) as out:
        for topic, key, value in messages:
            await out.send(topic, value, key=key.encode())
        await out.flush()


async def read_topic(settings: Settings, topic: str, expect: int, timeout: float = 30,
                     where: Callable[[dict[str, Any]], bool] | None = None,
                     ) -> list[dict[str, Any]]:
    """Read an output topic from the start until ``expect`` messages (those ``where``
    accepts, if given) are there, or the timeout passes; return them."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(settings.partitions)])
        await consumer.seek_to_beginning()
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(found) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            messages = (orjson.loads(r.value) for rs in batch.values() for r in rs)
            found.extend(m for m in messages if where is None or where(m))
        return found
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], Any], timeout: float = 60, every: float = 0.25) -> Any:
    """Poll an async check until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met in {timeout}s; last value: {last!r}")


def token_for(person: str, role: Role, ttl_s: float = 600) -> str:
    """A token as ``crmstream token`` issues it, signed with the workers' (default) secret."""
    secret = Settings().console_secret.get_secret_value()
    return issue(Identity(person, role), secret, timedelta(seconds=ttl_s), datetime.now(UTC))


async def sse_events(port: int, path: str, want: int, headers: dict[str, str] | None = None,
                     who: tuple[str, Role] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(id, JSON) of the first ``want`` Server-Sent Events of the worker's ``path``, read as
    ``who`` (person, role)."""
    events: list[tuple[str, dict[str, Any]]] = []
    event_id, data = "", ""
    auth = {"Authorization": f"Bearer {token_for(*who)}"} if who else {}
    async with aiohttp.ClientSession() as http, http.get(
        f"http://127.0.0.1:{port}{path}", headers=(headers or {}) | auth,
        timeout=aiohttp.ClientTimeout(total=30),
    ) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif not line and data:
                events.append((event_id, orjson.loads(data)))
                data = ""
                if len(events) == want:
                    break
    return events


@pytest.fixture(scope="session")
def browser_paths() -> tuple[str, str]:
    """Debian's Chromium and its driver, installed by the project's script when missing."""
    found = subprocess.run([str(ROOT / "deploy/browser.sh")], check=True, text=True,
                           capture_output=True).stdout.split()
    return found[0], found[1]


@pytest.fixture
def browser(browser_paths: tuple[str, str]) -> Iterator[Any]:
    from tests.integration.browser import chrome

    opened = chrome(browser_paths)
    yield opened
    opened.quit()


@pytest.fixture
def second_browser(browser_paths: tuple[str, str]) -> Iterator[Any]:
    from tests.integration.browser import chrome

    opened = chrome(browser_paths)
    yield opened
    opened.quit()
