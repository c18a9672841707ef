"""Declared topics and dead-letter topics get their partitions on both brokers (issue 11, #11).

A broker that creates topics on first use gives them its default partition count; a
declared topic gets what it declares, and a dead-letter topic its source's, so a dead
letter lands in the partition its key picks on the source.
"""

from __future__ import annotations

import pytest

from stream.core import DeliveryPolicy, Message, Retry, Service, Topic, consume
from stream.testing import partition_for_key
from tests.behaviour.backends import Backend, running, unique

pytestmark = pytest.mark.anyio

PARTITIONS = 3


def key_on_last_partition() -> str:
    """A key the default partitioner puts on the last partition of ``PARTITIONS``."""
    return next(
        key
        for key in (f"k{i}" for i in range(100))
        if partition_for_key(key.encode(), PARTITIONS) == PARTITIONS - 1
    )


async def test_a_declared_topic_gets_its_declared_partitions(backend: Backend) -> None:
    topic = unique("declared")
    seen: list[int] = []

    class Declaring(Service):
        topics = (Topic(topic, partitions=PARTITIONS),)

        @consume(topic)
        async def on_in(self, value: int, message: Message) -> None:
            seen.append(message.partition)

    async with running(Declaring(), backend) as service:
        for partition in range(PARTITIONS):
            await service.publish(partition, topic, partition=partition)
        messages = await backend.read(topic, PARTITIONS)
    assert sorted(m.partition for m in messages) == list(range(PARTITIONS))


async def test_a_dead_letter_topic_gets_its_sources_partitions(backend: Backend) -> None:
    source = unique("in")
    await backend.create_topic(source, PARTITIONS)
    key = key_on_last_partition()

    class Strict(Service):
        @consume(source, delivery=DeliveryPolicy(retry=Retry(attempts=1)))
        async def on_in(self, value: int) -> None:
            pass

    async with running(Strict(), backend) as service:
        await service.publish(b"not json", source, key=key)
        [letter] = await backend.read(f"{source}.dlq", 1)
    assert letter.partition == PARTITIONS - 1
