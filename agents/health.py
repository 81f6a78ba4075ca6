"""Whether the worker is alive and whether it is ready, as Kubernetes asks (``/livez``,
``/readyz``), decided from what the worker records about its own progress.

- Alive: the process answers and its ingest agent has not failed. A failed agent crashes
  the worker (it exits non-zero, its supervisor restarts it and Kafka redelivers what was
  not committed); until it is gone, it is neither alive nor ready.
- Ready: it owns partitions, the state store has not been failing for longer than
  ``store_down_after_s``, and no owned partition has been behind (records on the broker
  not yet durable in the store) for ``stall_after_s`` without a batch of it becoming
  durable.

Times are the worker's monotonic clock, in seconds. No I/O here: the worker feeds in what it
sees (``agents.app``), the rules below decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass
class Health:
    stall_after_s: float = 60.0
    store_down_after_s: float = 10.0
    ingest_failure: str | None = None
    store_failing_since: float | None = None
    # per owned partition: when a batch of it last became durable (or it was assigned) ...
    progressed_at: dict[int, float] = field(default_factory=dict)
    # ... and since when it has had records on the broker that are not durable yet
    behind_since: dict[int, float] = field(default_factory=dict)

    # --- what the worker records -----------------------------------------------------------

    def ingest_failed(self, failure: BaseException) -> None:
        self.ingest_failure = f"{type(failure).__name__}: {failure}"

    def store_failed(self, now: float) -> None:
        if self.store_failing_since is None:
            self.store_failing_since = now

    def store_answered(self) -> None:
        self.store_failing_since = None

    def owned(self, partitions: Iterable[int], now: float) -> None:
        """The partitions owned from now on (new ones start with a clean record)."""
        keep = set(partitions)
        self.progressed_at = {p: self.progressed_at.get(p, now) for p in keep}
        self.behind_since = {p: t for p, t in self.behind_since.items() if p in keep}

    def progressed(self, partitions: Iterable[int], now: float) -> None:
        for p in partitions:
            if p in self.progressed_at:
                self.progressed_at[p] = now

    def lagging(self, lag: Mapping[int, int], now: float) -> None:
        """The records behind on each owned partition, as last measured."""
        for p in self.progressed_at:
            if lag.get(p, 0) <= 0:
                self.behind_since.pop(p, None)
            else:
                self.behind_since.setdefault(p, now)

    # --- what it concludes -----------------------------------------------------------------

    def stalled(self, now: float) -> list[int]:
        """Owned partitions behind for ``stall_after_s`` with no durable batch meanwhile."""
        return sorted(
            p for p, since in self.behind_since.items()
            if now - max(since, self.progressed_at.get(p, since)) >= self.stall_after_s)

    def alive(self) -> list[str]:
        """Why the process should be restarted; empty when it need not be."""
        return [f"the ingest agent failed ({self.ingest_failure})"] if self.ingest_failure else []

    def unready(self, now: float) -> list[str]:
        """Why the worker is not ready; empty when it is."""
        problems = self.alive()
        if not self.progressed_at:
            problems.append("owns no partition")
        if (self.store_failing_since is not None
                and now - self.store_failing_since >= self.store_down_after_s):
            problems.append(
                f"the state store has been failing for {now - self.store_failing_since:.0f} s")
        stalled = self.stalled(now)
        if stalled:
            problems.append(
                f"partitions {stalled} are behind with no batch durable for "
                f"{self.stall_after_s:.0f} s")
        return problems
