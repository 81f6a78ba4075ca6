"""Which consumed offsets may be committed: a record's offset counts as done once every
delivery it caused has its outcome recorded (sent, or dead-lettered); the commit point of a
partition is its first record not done yet. Pure."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


@dataclass
class Offsets(Generic[P]):
    # per partition: offset -> deliveries not finished yet (in consumed order)
    open: dict[P, dict[int, int]] = field(default_factory=dict)
    seen: dict[P, int] = field(default_factory=dict)  # the last offset consumed
    committed: dict[P, int] = field(default_factory=dict)

    def consumed(self, partition: P, offset: int, deliveries: int) -> None:
        self.seen[partition] = offset
        if deliveries:
            self.open.setdefault(partition, {})[offset] = deliveries

    def finished(self, partition: P, offset: int) -> None:
        pending = self.open.get(partition, {})
        if offset in pending:
            pending[offset] -= 1
            if pending[offset] == 0:
                del pending[offset]

    def to_commit(self) -> dict[P, int]:
        """Per partition, the next offset to consume after a restart, where it moved since
        the last call."""
        out: dict[P, int] = {}
        for partition, last in self.seen.items():
            pending = self.open.get(partition)
            point = min(pending) if pending else last + 1
            if self.committed.get(partition) != point:
                out[partition] = self.committed[partition] = point
        return out

    def forget(self, partitions: set[P]) -> None:
        """Partitions that went to another consumer: their commit point is its to make."""
        for partition in partitions:
            self.open.pop(partition, None)
            self.seen.pop(partition, None)
            self.committed.pop(partition, None)
