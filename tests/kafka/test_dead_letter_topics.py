"""A dead-letter topic that cannot take what its source sends is a start-up error (issue 11, #7).

Without the check, the first poison message stops the subscription, and again at every
restart. The broker of this module creates no topics, as production brokers often do not.
"""

from __future__ import annotations

import pytest
from tests.kafka.conftest import Kafka

from stream.core import BindError, Service, consume
from stream.kafka import KafkaBroker

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]


def consumer_of(kafka: Kafka, topic: str) -> Service:
    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(topic, group_id=kafka.unique("group"))
        async def on_in(self, value: bytes) -> None:
            pass

    return Svc()


async def test_a_missing_dead_letter_topic_is_named_at_start_when_the_broker_creates_none(
    strict_kafka: Kafka,
) -> None:
    # A dead-letter topic is created like its source (tests/kafka/test_topics.py), so it
    # stays missing only when its source does too.
    source = strict_kafka.unique("in")
    with pytest.raises(BindError, match=rf"dead-letter topic '{source}\.dlq' does not exist"):
        await consumer_of(strict_kafka, source).start()


async def test_a_dead_letter_topic_taking_smaller_messages_than_its_source_is_named_at_start(
    strict_kafka: Kafka,
) -> None:
    source = await strict_kafka.create_topic("in", configs={"max.message.bytes": "2000000"})
    await strict_kafka.create_topic_named(source + ".dlq", configs={"max.message.bytes": "1000"})
    with pytest.raises(BindError, match=r"takes messages up to 1000 bytes .* \(2000000\)"):
        await consumer_of(strict_kafka, source).start()


async def test_a_dead_letter_topic_like_its_source_starts(strict_kafka: Kafka) -> None:
    source = await strict_kafka.create_topic("in")
    await strict_kafka.create_topic_named(source + ".dlq")
    service = consumer_of(strict_kafka, source)
    await service.start()
    await service.stop()
