"""Direct Kafka access for the CLI tests: topics with N partitions, records on chosen partitions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

__all__ = ("create_topic", "read_value_for_key", "send_at_times", "send_to_partitions")


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


def send_at_times(bootstrap: str, topic: str, records: Sequence[tuple[int, bytes]]) -> None:
    """Sends each ``(timestamp in ms, value)``, as if written at that time, and waits for
    every ack."""

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for timestamp, value in records:
                await producer.send_and_wait(topic, value, timestamp_ms=timestamp)
        finally:
            await producer.stop()

    asyncio.run(send())


def read_value_for_key(
    bootstrap: str, topic: str, key: bytes, timeout: float = 30.0
) -> bytes | None:
    """The value of the first record of ``topic`` with ``key``, read from the beginning."""

    async def read() -> bytes | None:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for records in (await consumer.getmany(timeout_ms=200)).values():
                        for record in records:
                            if record.key == key:
                                return bytes(record.value)
        finally:
            await consumer.stop()

    return asyncio.run(read())
