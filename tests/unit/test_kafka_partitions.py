"""Outputs land on the partition every Kafka client would choose for their key."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner

from crmstream.kafka import default_partitions


@pytest.mark.parametrize("count", [1, 3, 8, 64])
def test_the_partition_of_every_key_is_kafkas_default(count: int) -> None:
    rng = random.Random(count)
    keys = [b"", b"a", "客户-7".encode(), b"customer-000123456"] + [
        bytes(rng.randrange(256) for _ in range(rng.randrange(40))) for _ in range(3000)]
    partitions = list(range(count))
    kafka = DefaultPartitioner()
    assert default_partitions(keys, count) == [kafka(k, partitions, partitions) for k in keys]
    assert default_partitions([], count) == []
