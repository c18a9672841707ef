"""The two backends the behaviour suite runs on: the in-memory broker and real Kafka.

A test gets a ``Backend`` and never asks which one it is: what it observes must be the
same on both. A difference is a bug (or, where inherent, documented in the test).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import anyio

from stream.core import Message, Service
from stream.core.transport import Transport
from stream.testing import MemoryBroker

__all__ = ("Backend", "KafkaBackend", "MemoryBackend")


class Backend(Protocol):
    name: str

    def transport(self) -> Transport:
        """A transport for one service instance."""
        ...

    async def create_topic(self, topic: str, partitions: int) -> None: ...

    async def read(self, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
        """Messages on ``topic`` from the beginning, sorted by (partition, offset), once
        ``count`` are there (or whatever is there when ``timeout`` runs out)."""
        ...

    async def committed(self, group_id: str, topic: str, partition: int) -> int:
        """The next offset ``group_id`` reads from ``topic``'s ``partition`` (0: none)."""
        ...

    async def topics(self) -> set[str]:
        """The names of the topics that exist."""
        ...


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def running(service: Service, backend: Backend) -> AsyncIterator[Service]:
    await service.start(backend.transport())
    try:
        yield service
    finally:
        await service.stop()


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        # One broker for the whole test: services restarted on it keep their group offsets.
        self.broker = MemoryBroker(raise_handler_errors=False)

    def transport(self) -> Transport:
        return self.broker

    async def create_topic(self, topic: str, partitions: int) -> None:
        self.broker.create_topic(topic, partitions)

    async def read(self, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
        # Delivery finished inside publish: there is nothing to wait for.
        return sorted(self.broker.messages(topic), key=lambda m: (m.partition, m.offset))

    async def committed(self, group_id: str, topic: str, partition: int) -> int:
        return self.broker.committed(group_id, topic, partition)

    async def topics(self) -> set[str]:
        return set(self.broker.topics())


class KafkaBackend:
    name = "kafka"

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def transport(self) -> Transport:
        from stream.kafka import KafkaBroker

        return KafkaBroker(self.bootstrap)

    async def create_topic(self, topic: str, partitions: int) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, partitions, 1)])
        finally:
            await admin.close()

    async def topics(self) -> set[str]:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    async def read(self, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        found: list[Message] = []
        try:
            with anyio.move_on_after(timeout):
                partitions = None
                while not partitions:
                    partitions = consumer.partitions_for_topic(topic)
                    if not partitions:
                        await consumer._client.force_metadata_update()
                        await anyio.sleep(0.05)
                consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
                await consumer.seek_to_beginning()
                while len(found) < count:
                    batches = await consumer.getmany(timeout_ms=200)
                    for records in batches.values():
                        found.extend(
                            Message(
                                r.topic,
                                r.partition,
                                r.offset,
                                r.key,
                                r.value,
                                tuple((k, bytes(v)) for k, v in r.headers),
                                r.timestamp,
                            )
                            for r in records
                        )
        finally:
            await consumer.stop()
        return sorted(found, key=lambda m: (m.partition, m.offset))

    async def committed(self, group_id: str, topic: str, partition: int) -> int:
        from aiokafka import TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group_id)
        finally:
            await admin.close()
        found = offsets.get(TopicPartition(topic, partition))
        return found.offset if found is not None and found.offset >= 0 else 0
