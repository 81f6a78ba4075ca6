"""Every record of a customer belongs on the customer's home partition, the one Kafka's
default partitioner picks for the customer id: ``murmur2(customer_id) % partitions``.

A worker owns its partitions' customers alone; that is what makes its cached state and its
writes safe. A record that arrives elsewhere (produced with no key, or by a client that
hashes keys its own way: librdkafka's clients in Go, Node, .NET and confluent-kafka use
CRC32 unless told otherwise) would be applied by a second worker to a customer the first
one holds, and one of them would overwrite the other. Such a record is not applied where
it landed: the worker forwards it, keyed by its customer, to its home partition (counted by
``crmstream_records_forwarded_total``, so the producer can be fixed), and the home
partition's owner applies it like any other record (a forward repeated after a crash is
a duplicate event id there, applied once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from crmstream.kafka import default_partitions

# A forwarded record gains a key; one this large is dead-lettered instead, so the forward
# never exceeds what the broker accepts (1 MiB by default).
FORWARD_MAX_BYTES = 512 * 1024


def misplaced(records: Sequence[tuple[str, int, str]],
              partition_count: Callable[[str], int | None]) -> list[bool]:
    """For each (topic, partition, customer id): whether the record is off its customer's
    home partition. A topic whose partition count is unknown is not checked."""
    verdicts = [False] * len(records)
    by_topic: dict[str, list[int]] = {}
    for index, (topic, _, _) in enumerate(records):
        by_topic.setdefault(topic, []).append(index)
    for topic, indices in by_topic.items():
        count = partition_count(topic)
        if not count:
            continue
        homes = default_partitions([records[i][2].encode() for i in indices], count)
        for i, home in zip(indices, homes, strict=True):
            verdicts[i] = records[i][1] != home
    return verdicts
