"""Start-up topic work: declared topics made, dead-letter topics made like their sources,
and a consumed topic that does not exist said at once.

aiokafka's metadata requests let the broker create any topic they name, so without this a
mistyped topic is created with the broker's defaults (or the service idles on it), and
``<topic>.dlq`` gets the broker's partition count and replication factor at the first
poison message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import anyio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from stream.core import BindError
from stream.core.transport import Subscription, Topic
from stream.kafka._dead_letter_topics import (
    broker_config,
    check_dead_letter_topics,
    config_values,
    creates_topics,
    dead_letter_pairs,
)

__all__ = ("MissingTopics", "prepare_topics")

logger = logging.getLogger("stream.kafka")

MissingTopics = Literal["warn", "fail"]
"""What ``KafkaBroker.start`` does about a consumed topic that neither exists nor is
declared: log a WARNING, or refuse to start (``BindError``)."""

# A dead letter copies its input: its topic must take messages as large as its source's.
_COPIED_CONFIG = "max.message.bytes"
_DEFAULT_REPLICATION = "default.replication.factor"
_CREATED_WAIT = 10.0
"""Seconds a created topic may take to appear in the brokers' metadata."""


async def prepare_topics(
    client_kwargs: dict[str, Any],
    declared: Sequence[Topic],
    subscriptions: Sequence[Subscription],
    missing: MissingTopics,
) -> None:
    """Creates the declared topics and the dead-letter topics that are missing, reports
    consumed topics that do not exist, then checks the dead-letter topics.

    Raises:
        BindError: a consumed topic does not exist (with ``missing="fail"``), a topic
            could not be created, or a dead-letter topic cannot take what its source sends.
    """
    if not declared and not any(s.options.topics for s in subscriptions):
        return
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        await _prepare(admin, declared, subscriptions, missing)
        await check_dead_letter_topics(admin, subscriptions)
    finally:
        await admin.close()


async def _prepare(
    admin: Any,
    declared: Sequence[Topic],
    subscriptions: Sequence[Subscription],
    missing: MissingTopics,
) -> None:
    try:
        # All topics: a metadata request that names a topic may create it.
        existing = set(await admin.list_topics())
        wanted = {topic.name: topic for topic in declared}
        await _missing_consumed_topics(admin, subscriptions, existing | set(wanted), missing)
        await _warn_of_other_partition_counts(admin, [t for t in declared if t.name in existing])
        create = [topic for topic in declared if topic.name not in existing]
        create += await _dead_letter_topics(admin, subscriptions, existing, wanted)
        if create:
            await _create(admin, create)
            await _wait_until_listed(admin, {topic.name for topic in create})
    except KafkaError as error:
        # E.g. a client not allowed to describe the cluster: the consumers will say more.
        logger.warning("could not create or check the topics: %r", error)


async def _missing_consumed_topics(
    admin: Any, subscriptions: Sequence[Subscription], known: set[str], missing: MissingTopics
) -> None:
    absent = [
        (subscription.name, topic)
        for subscription in subscriptions
        for topic in subscription.options.topics
        if topic not in known
    ]
    if not absent:
        return
    name, topic = absent[0]
    advice = "Declare it in the service's topics = (Topic(...),), or correct the name"
    if missing == "fail":
        raise BindError(f"{name}: topic {topic!r} does not exist. {advice}")
    then = (
        "the broker will create it with its defaults at the first request"
        if await creates_topics(admin)
        else "the subscription waits until it is created"
    )
    for name, topic in absent:
        logger.warning(
            "%s: topic %r does not exist; %s. %s (KafkaBroker(missing_topics='fail') "
            "refuses to start instead)",
            name,
            topic,
            then,
            advice,
        )


async def _warn_of_other_partition_counts(admin: Any, declared: Sequence[Topic]) -> None:
    if not declared:
        return
    counts = await _partitions_and_replicas(admin, [topic.name for topic in declared])
    for topic in declared:
        have = counts.get(topic.name, (topic.partitions,))[0]
        if have != topic.partitions:
            logger.warning(
                "topic %r has %d partitions, not the %d declared; it is left as it is "
                "(add partitions with kafka-topics.sh --alter, or change the declaration)",
                topic.name,
                have,
                topic.partitions,
            )


async def _dead_letter_topics(
    admin: Any,
    subscriptions: Sequence[Subscription],
    existing: set[str],
    declared: Mapping[str, Topic],
) -> list[Topic]:
    """The missing dead-letter topics, each like its source: an existing source's
    partitions, replication and message size, or a new source's declaration."""
    pairs = {
        dead_letter: source
        for _, source, dead_letter in dead_letter_pairs(subscriptions)
        if dead_letter not in existing and dead_letter not in declared
    }
    like = {dlq: declared[source] for dlq, source in pairs.items() if source in declared}
    described = sorted({source for source in pairs.values() if source in existing})
    if described:
        shapes = await _partitions_and_replicas(admin, described)
        limits = await config_values(admin, ConfigResourceType.TOPIC, described, _COPIED_CONFIG)
        for dlq, source in pairs.items():
            if source in shapes:
                partitions, replicas = shapes[source]
                config = {_COPIED_CONFIG: limits[source]} if source in limits else {}
                like[dlq] = Topic(source, partitions, replicas, config=config)
    return [
        Topic(dlq, source.partitions, source.replication_factor, config=source.config)
        for dlq, source in like.items()
    ]


async def _wait_until_listed(admin: Any, names: set[str]) -> None:
    """Returns once the brokers' metadata names every topic of ``names``.

    The controller answers CreateTopics before the brokers' metadata has the topic; a
    consumer (or the dead-letter check) asking in between would find it missing.
    """
    with anyio.move_on_after(_CREATED_WAIT):
        # Polling: the metadata has no event to wait on.
        while not names <= set(await admin.list_topics()):  # noqa: ASYNC110
            await anyio.sleep(0.05)


async def _partitions_and_replicas(admin: Any, topics: list[str]) -> dict[str, tuple[int, int]]:
    """``{topic: (partitions, replication factor)}`` of topics that exist."""
    found: dict[str, tuple[int, int]] = {}
    for described in await admin.describe_topics(topics):
        partitions = described["partitions"]
        if partitions:  # none when the client may not describe it
            found[described["topic"]] = (len(partitions), len(partitions[0]["replicas"]))
    return found


async def _create(admin: Any, topics: Sequence[Topic]) -> None:
    default_replication = 1
    if any(topic.replication_factor is None for topic in topics):
        # aiokafka's NewTopic takes no "broker's default" (-1): ask the broker for it.
        default_replication = int(await broker_config(admin, _DEFAULT_REPLICATION) or "1")
    response = await admin.create_topics(
        [
            NewTopic(
                topic.name,
                topic.partitions,
                topic.replication_factor or default_replication,
                topic_configs=dict(topic.config),
            )
            for topic in topics
        ]
    )
    for name, code, *detail in response.topic_errors:
        error = for_code(code) if code else None
        if error is None:
            logger.info("created topic %r", name)
        elif error is not TopicAlreadyExistsError:  # else another instance was first
            raise BindError(
                f"could not create topic {name!r}: {error.__name__} {detail[:1]}; fix its "
                "declaration (e.g. a replication_factor above the number of brokers), "
                "or create it"
            )
