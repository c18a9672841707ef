"""Topics are made as declared, never by accident (issue 11, #11).

aiokafka's metadata requests let the broker create whatever topic they name: a mistyped
topic gets the broker's defaults (or the service idles on it), and ``<topic>.dlq`` is made
at the first poison message with the broker's partition count and replication factor.
"""

from __future__ import annotations

import logging

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from tests.kafka.conftest import Kafka

from stream.core import BindError, Service, Topic, consume
from stream.kafka import KafkaBroker

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]


def consumer_of(
    kafka: Kafka, topic: str, *declared: Topic, missing_topics: str = "warn"
) -> Service:
    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap, missing_topics=missing_topics)  # type: ignore[arg-type]
        topics = declared

        @consume(topic, group_id=kafka.unique("group"))
        async def on_in(self, value: bytes) -> None:
            pass

    return Svc()


async def started_and_stopped(service: Service) -> None:
    await service.start()
    await service.stop()


async def shape(kafka: Kafka, topic: str, config: str) -> tuple[int, str | None] | None:
    """``(partitions, value of config)`` of ``topic``, or ``None`` when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return None
        [described] = await admin.describe_topics([topic])
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={config: None})]
        )
    finally:
        await admin.close()
    values = {entry[0]: entry[1] for entry in response.resources[0][4]}
    return len(described["partitions"]), values.get(config)


async def test_a_declared_topic_and_its_dead_letter_topic_are_created_as_declared(
    kafka: Kafka,
) -> None:
    topic = kafka.unique("declared")
    declared = Topic(topic, partitions=3, config={"retention.ms": "3600000"})
    await started_and_stopped(consumer_of(kafka, topic, declared))
    assert await shape(kafka, topic, "retention.ms") == (3, "3600000")
    assert await shape(kafka, f"{topic}.dlq", "retention.ms") == (3, "3600000")


async def test_a_dead_letter_topic_is_created_at_start_like_its_existing_source(
    kafka: Kafka,
) -> None:
    source = await kafka.create_topic("in", 4, {"max.message.bytes": "2000000"})
    await started_and_stopped(consumer_of(kafka, source))
    assert await shape(kafka, f"{source}.dlq", "max.message.bytes") == (4, "2000000")


async def test_an_existing_topic_is_left_alone_and_another_partition_count_is_a_warning(
    kafka: Kafka, caplog: pytest.LogCaptureFixture
) -> None:
    topic = await kafka.create_topic("existing", 2)
    declared = Topic(topic, partitions=4, config={"retention.ms": "3600000"})
    await started_and_stopped(consumer_of(kafka, topic, declared))
    assert f"topic '{topic}' has 2 partitions, not the 4 declared" in caplog.text
    partitions, retention = await shape(kafka, topic, "retention.ms") or (0, None)
    assert (partitions, retention) == (2, "604800000")  # the broker's default, as it was
    # Its dead-letter topic is made like the topic that is, not the one declared.
    assert await shape(kafka, f"{topic}.dlq", "retention.ms") == (2, "604800000")


async def test_a_missing_consumed_topic_is_a_warning_naming_it(
    kafka: Kafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "stream.kafka")
    topic = kafka.unique("mistyped")
    await started_and_stopped(consumer_of(kafka, topic))
    assert (
        f"Svc.on_in: topic '{topic}' does not exist; the broker will create it with its "
        "defaults at the first request" in caplog.text
    )


async def test_a_missing_consumed_topic_refuses_the_start_when_asked(strict_kafka: Kafka) -> None:
    topic = strict_kafka.unique("mistyped")
    service = consumer_of(strict_kafka, topic, missing_topics="fail")
    with pytest.raises(BindError, match=rf"Svc.on_in: topic '{topic}' does not exist. Declare"):
        await service.start()
    assert await shape(strict_kafka, f"{topic}.dlq", "retention.ms") is None


async def test_declared_topics_are_created_where_the_broker_creates_none(
    strict_kafka: Kafka,
) -> None:
    topic = strict_kafka.unique("declared")
    service = consumer_of(strict_kafka, topic, Topic(topic, 2), missing_topics="fail")
    await started_and_stopped(service)
    assert await shape(strict_kafka, f"{topic}.dlq", "cleanup.policy") == (2, "delete")


async def test_a_topic_that_cannot_be_created_as_declared_is_a_start_up_error(
    kafka: Kafka,
) -> None:
    topic = kafka.unique("replicated")
    service = consumer_of(kafka, topic, Topic(topic, replication_factor=3))
    with pytest.raises(BindError, match=rf"could not create topic '{topic}': InvalidReplication"):
        await service.start()
