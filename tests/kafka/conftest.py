"""Helpers for tests on a real Kafka broker.

The broker itself comes from the ``kafka_bootstrap`` session fixture of stream-testing's
pytest plugin (``STREAM_KAFKA_BOOTSTRAP`` when set, else one ``LocalKafka`` per session).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stream.kafka_local import LocalKafka, LocalKafkaConfig

WAIT = 30.0
"""Seconds a test waits for something the broker should deliver (group joins included)."""


def unique(prefix: str) -> str:
    """A topic or group name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Seen:
    """What a handler saw, with a way to wait until it saw enough."""

    items: list[Any] = field(default_factory=list)
    _waiters: list[tuple[int, anyio.Event]] = field(default_factory=list)

    def add(self, item: Any) -> None:
        self.items.append(item)
        for count, event in self._waiters:
            if len(self.items) >= count:
                event.set()

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[Any]:
        """Waits until ``count`` items were seen; fails the test after ``timeout``."""
        if len(self.items) < count:
            event = anyio.Event()
            self._waiters.append((count, event))
            with anyio.fail_after(timeout):
                await event.wait()
        return self.items


@dataclass(frozen=True)
class Kafka:
    """The session's broker, with the admin chores tests need."""

    bootstrap: str
    wait: float = WAIT

    @staticmethod
    def unique(prefix: str) -> str:
        """A topic or group name no other test uses."""
        return unique(prefix)

    @staticmethod
    def seen() -> Seen:
        """A fresh record of what a handler saw."""
        return Seen()

    async def create_topic(
        self, prefix: str = "topic", partitions: int = 1, configs: dict[str, str] | None = None
    ) -> str:
        """Creates a topic of its own (with topic-level ``configs``) and returns its name."""
        name = unique(prefix)
        await self.create_topic_named(name, partitions, configs)
        return name

    async def create_topic_named(
        self, name: str, partitions: int = 1, configs: dict[str, str] | None = None
    ) -> None:
        """Creates topic ``name`` (with topic-level ``configs``)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})])
        finally:
            await admin.close()

    async def produce(self, topic: str, *records: tuple[bytes | None, bytes | None]) -> None:
        """Sends ``(key, value)`` records to ``topic`` and waits for their acks."""
        await self.produce_to(topic, *((key, value, None) for key, value in records))

    async def produce_headers(
        self, topic: str, *records: tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]
    ) -> None:
        """Sends ``(key, value, headers)`` records with aiokafka's own producer."""
        await self._send(topic, [(key, value, None, headers) for key, value, headers in records])

    async def produce_to(
        self, topic: str, *records: tuple[bytes | None, bytes | None, int | None]
    ) -> None:
        """Sends ``(key, value, partition)`` records and waits for their acks."""
        await self._send(
            topic, [(key, value, partition, None) for key, value, partition in records]
        )

    async def _send(
        self,
        topic: str,
        records: list[
            tuple[bytes | None, bytes | None, int | None, list[tuple[str, bytes]] | None]
        ],
    ) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            futures = [
                await producer.send(topic, value, key=key, partition=partition, headers=headers)
                for key, value, partition, headers in records
            ]
            for future in futures:
                await future
        finally:
            await producer.stop()

    async def read(self, topic: str, count: int, timeout: float = WAIT) -> list[Any]:
        """The first ``count`` records of ``topic`` (all partitions), without a group."""
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        records: list[Any] = []
        try:
            with anyio.fail_after(timeout):
                while len(records) < count:
                    batches = await consumer.getmany(timeout_ms=200)
                    for batch in batches.values():
                        records.extend(batch)
        finally:
            await consumer.stop()
        return records

    async def read_all(self, topic: str, partitions: int = 1) -> list[Any]:
        """Every record ``topic`` holds now (its ``partitions``), without a group."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            records: list[Any] = []
            with anyio.fail_after(self.wait):
                for tp, end in ends.items():
                    while await consumer.position(tp) < end:
                        for batch in (await consumer.getmany(tp, timeout_ms=200)).values():
                            records.extend(batch)
            return records
        finally:
            await consumer.stop()

    async def committed(self, group: str, topic: str, partitions: int = 1) -> list[int | None]:
        """The group's committed offset of each partition of ``topic``."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            return [await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)]
        finally:
            await consumer.stop()

    async def wait_committed(
        self, group: str, topic: str, expected: list[int], timeout: float = WAIT
    ) -> None:
        """Waits until the group's committed offsets of ``topic`` are ``expected``."""
        committed: list[int | None] = []
        with anyio.fail_after(timeout):
            while committed != expected:
                committed = await self.committed(group, topic, len(expected))
                if committed != expected:
                    await anyio.sleep(0.2)  # polling the broker, not waiting for a message


@pytest.fixture
def kafka(kafka_bootstrap: str) -> Kafka:
    """The session's broker, with helpers, for one test."""
    return Kafka(kafka_bootstrap)


@pytest.fixture(scope="session")
def strict_kafka() -> Iterator[Kafka]:
    """A broker of its own with ``auto.create.topics.enable=false``, as production brokers
    often are; started once for the modules that need one."""
    kafka = LocalKafka(LocalKafkaConfig(extra_properties={"auto.create.topics.enable": "false"}))
    kafka.start()
    try:
        yield Kafka(kafka.bootstrap_servers)
    finally:
        kafka.stop()
