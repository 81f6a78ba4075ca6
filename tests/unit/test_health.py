"""Liveness and readiness as the worker decides them, from what it recorded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agents.health import Health

Step = Callable[[Health], None]


def owns(*partitions: int, at: float = 0) -> Step:
    return lambda h: h.owned(partitions, at)


def lag(at: float, **behind: int) -> Step:
    return lambda h: h.lagging({int(p[1:]): n for p, n in behind.items()}, at)


def durable(*partitions: int, at: float) -> Step:
    return lambda h: h.progressed(partitions, at)


@pytest.mark.parametrize(("steps", "now", "unready"), [
    ([], 0, ["owns no partition"]),
    ([owns(0, 1)], 0, []),
    # behind, but a batch became durable within the window: progressing
    ([owns(0), lag(10, p0=500), durable(0, at=65)], 100, []),
    # an idle partition that just got records is not stalled
    ([owns(0), lag(1000, p0=3)], 1001, []),
    # behind for 60 s with nothing durable: stalled
    ([owns(0, 1), lag(10, p0=5, p1=0), lag(20, p0=5)], 70, ["partitions [0] are behind"]),
    # caught up again: no longer behind
    ([owns(0), lag(10, p0=5), lag(50, p0=0)], 200, []),
    # a revoked partition is not this worker's problem
    ([owns(0, 1), lag(10, p1=5), owns(0, at=20)], 100, []),
    ([owns(0), lambda h: h.store_failed(5)], 14, []),
    ([owns(0), lambda h: h.store_failed(5)], 15, ["the state store has been failing for 10 s"]),
    ([owns(0), lambda h: h.store_failed(5), lambda h: h.store_answered()], 100, []),
    ([owns(0), lambda h: h.ingest_failed(RuntimeError("boom"))], 0,
     ["the ingest agent failed (RuntimeError: boom)"]),
])
def test_readiness(steps: list[Step], now: float, unready: list[str]) -> None:
    health = Health(stall_after_s=60, store_down_after_s=10)
    for step in steps:
        step(health)
    problems = health.unready(now)
    assert len(problems) == len(unready)
    for problem, expected in zip(problems, unready, strict=True):
        assert problem.startswith(expected)


def test_only_a_failed_ingest_agent_makes_the_worker_not_alive() -> None:
    health = Health(store_down_after_s=1)
    health.store_failed(0)
    health.owned([0], 0)
    health.lagging({0: 10}, 0)
    assert health.alive() == []
    health.ingest_failed(ValueError("x"))
    assert health.alive() == ["the ingest agent failed (ValueError: x)"]
