"""Where the worker's outputs go: Kafka, through a producer of its own.

Messages are packed into one record batch per topic partition, partitioned like every Kafka
client (murmur2 of the key), then sent together: about 5 µs a message against 16 µs through
``send`` one message at a time (measured with 20,000 scores on the local broker). Scores make
that matter: most changed customers publish one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from agents.processor import Outgoing
from crmstream.kafka import producer
from crmstream.settings import Settings


class KafkaSink:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        self._partitions: dict[str, list[int]] = {}
        self._partitioner = DefaultPartitioner()

    async def start(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                started = producer(self.settings, linger_ms=1)
                await started.start()
                self._producer = started
            return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        """Send all messages and return once Kafka has acknowledged every one."""
        out = self._producer or await self.start()
        partitions = {topic: await self._partitions_of(out, topic)
                      for topic in {m.topic for m in messages}}
        batches: dict[tuple[str, int], Any] = {}
        sent: list[asyncio.Future[Any]] = []

        async def send(topic: str, partition: int) -> None:
            batch = batches.pop((topic, partition))
            batch.close()
            sent.append(await out.send_batch(batch, topic, partition=partition))

        for m in messages:
            key = m.key.encode()
            partition = self._partitioner(key, partitions[m.topic], partitions[m.topic])
            where = (m.topic, partition)
            if where not in batches:
                batches[where] = out.create_batch()
            if batches[where].append(key=key, value=m.value, timestamp=None) is None:  # full
                await send(*where)
                batches[where] = out.create_batch()
                batches[where].append(key=key, value=m.value, timestamp=None)
        for where in list(batches):
            await send(*where)
        await asyncio.gather(*sent)

    async def _partitions_of(self, out: AIOKafkaProducer, topic: str) -> list[int]:
        known = self._partitions.get(topic)
        if known is None:
            known = self._partitions[topic] = sorted(await out.partitions_for(topic))
        return known
