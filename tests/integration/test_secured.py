"""A worker through Kafka with SASL/SCRAM-SHA-512 over TLS and Redis over TLS with an ACL
user (``deploy/stack.sh secure-up``): events become state, offsets commit, and no secret
shows in its log, /healthz, /metrics, or the errors of a worker given wrong passwords."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from crmstream.kafka import client_options, create_topics, producer
from crmstream.namespace import drop_namespace
from crmstream.settings import Settings
from tests.integration.conftest import ROOT, WorkerProcess, eventually, free_port


@pytest.fixture(scope="session")
def secured_env(stack: None) -> dict[str, str]:
    """The secured pair, started by the project's script; the settings it wrote for them."""
    env = os.environ | {"PYTHON": sys.executable}
    subprocess.run([str(ROOT / "deploy/stack.sh"), "secure-up"], check=True, env=env)
    lines = (ROOT / ".stack/secure/env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture
async def secured(secured_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Settings]:
    tag = uuid.uuid4().hex[:10]
    made = Settings(
        **{name.removeprefix("CRMSTREAM_").lower(): value
           for name, value in secured_env.items()},  # type: ignore[arg-type]
        app_id=f"crmstream-secure-{tag}", topic_prefix=f"s{tag}.",
        redis_key_prefix=f"s{tag}:", partitions=2, state_dir=tmp_path / "worker",
        web_port=free_port(), batch_within_s=0.02,
    )
    await create_topics(made)
    yield made
    await drop_namespace(made, apps=[made.app_id])


def secrets_of(env: dict[str, str]) -> list[str]:
    url = env["CRMSTREAM_REDIS_URL"]
    return [env["CRMSTREAM_KAFKA_SASL_PASSWORD"], url.split(":")[2].split("@")[0]]


async def test_a_worker_runs_through_secured_kafka_and_redis_and_shows_no_secret(
    secured: Settings, secured_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.integration.conftest import settings_env

    worker = WorkerProcess(secured, tmp_path / "secure.log")
    worker.start(env=secured_env | settings_env(secured))
    try:
        await worker.wait_owns_partitions()
        now = "2026-12-07T00:00:00Z"
        async with producer(secured) as out:
            for n in range(20):
                await out.send(secured.topics.clicks, orjson.dumps({
                    "event_id": f"e{n}", "customer_id": f"c{n % 4}", "occurred_at": now,
                    "session_id": "s", "page": "/pricing"}), key=f"c{n % 4}".encode())
            await out.flush()
        redis = Redis.from_url(secured.redis_url.get_secret_value(), decode_responses=True)
        try:
            async def all_applied() -> bool:
                versions = [await redis.hget(f"{secured.redis_key_prefix}customer:c{c}",
                                             "version") for c in range(4)]
                return versions == ["5"] * 4

            await eventually(all_applied, timeout=60)
        finally:
            await redis.aclose()
        assert await eventually(lambda: committed(secured), timeout=30) == 20
        exposed = [worker.log_path.read_text(errors="replace"),
                   orjson.dumps(await worker.health()).decode(), await worker.metrics()]
    finally:
        worker.stop()
    assert "'kafka_sasl_password': '**********'" in exposed[0]  # the settings are logged
    for secret in secrets_of(secured_env):
        assert all(secret not in text for text in exposed)


@pytest.mark.parametrize("wrong", ["kafka", "redis"])
async def test_a_wrong_password_fails_with_an_error_that_does_not_show_it(
    secured: Settings, secured_env: dict[str, str], tmp_path: Path, wrong: str
) -> None:
    from tests.integration.conftest import settings_env

    bad = f"wrong-{wrong}-pw-4711"
    kafka_password, redis_password = secrets_of(secured_env)
    env = secured_env | settings_env(secured) | (
        {"CRMSTREAM_KAFKA_SASL_PASSWORD": bad} if wrong == "kafka" else
        {"CRMSTREAM_REDIS_URL": secured_env["CRMSTREAM_REDIS_URL"].replace(
            f":{redis_password}@", f":{bad}@")})
    worker = WorkerProcess(secured, tmp_path / "wrong.log")
    worker.start(env=env)
    try:
        await eventually(lambda: _said_why(worker), timeout=60)
    finally:
        worker.stop()
    log = worker.log_path.read_text(errors="replace")
    for secret in (bad, kafka_password, redis_password):
        assert secret not in log


async def _said_why(worker: WorkerProcess) -> bool:
    log = worker.log_path.read_text(errors="replace").lower()
    return "authentication" in log or "wrongpass" in log


async def committed(settings: Settings) -> int:
    """The records of the input topics whose offsets the worker's group has committed."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        offsets: dict[Any, Any] = await admin.list_consumer_group_offsets(settings.app_id)
        return sum(meta.offset for tp, meta in offsets.items()
                   if tp.topic in settings.topics.inputs and meta.offset > 0)
    finally:
        await admin.close()
