"""Direct Kafka access for the CLI tests: topics with N partitions, records on chosen partitions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

__all__ = ("create_topic", "send_to_partitions")


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Creates ``topic`` with ``partitions`` partitions."""

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, partitions, 1)])
        finally:
            await admin.close()

    asyncio.run(create())


def send_to_partitions(bootstrap: str, topic: str, records: Sequence[tuple[int, bytes]]) -> None:
    """Sends each ``(partition, value)`` and waits for every ack."""

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            futures = [await producer.send(topic, value, partition=p) for p, value in records]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    asyncio.run(send())
