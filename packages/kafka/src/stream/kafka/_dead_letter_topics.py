"""A start-up check that every dead-letter topic can take what its source sends.

A dead-letter topic that does not exist while the broker creates no topics, or that takes
smaller messages (``max.message.bytes``) than its source, would stop the subscription at
its first poison message, and again at every restart. Said at start instead, naming the
topic and what to change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from stream.core import BindError
from stream.core.transport import Subscription

__all__ = (
    "broker_config",
    "check_dead_letter_topics",
    "config_values",
    "creates_topics",
    "dead_letter_pairs",
)

logger = logging.getLogger("stream.kafka")

_MAX_MESSAGE_BYTES = "max.message.bytes"
_AUTO_CREATE = "auto.create.topics.enable"


def dead_letter_pairs(subscriptions: Iterable[Subscription]) -> list[tuple[str, str, str]]:
    """``(subscription, source topic, dead-letter topic)`` of every named source topic."""
    return [
        (subscription.name, topic, dead_letter.topic_for(topic))
        for subscription in subscriptions
        if (dead_letter := subscription.options.delivery.dead_letter) is not None
        for topic in subscription.options.topics
    ]


async def check_dead_letter_topics(admin: Any, subscriptions: Sequence[Subscription]) -> None:
    """Raises ``BindError`` when a dead-letter topic is missing and will not be created,
    or takes smaller messages than its source topic.

    Pattern subscriptions are not checked: their topics are known only once assigned.
    A client not allowed to describe topics or configs skips the check (a WARNING says
    so): it must not keep a service from starting.
    """
    pairs = dead_letter_pairs(subscriptions)
    if not pairs:
        return
    try:
        existing = set(await admin.list_topics())
        missing = [(name, dlq) for name, _, dlq in pairs if dlq not in existing]
        if missing and not await creates_topics(admin):
            name, dlq = missing[0]
            raise BindError(
                f"{name}: dead-letter topic {dlq!r} does not exist and the broker does not "
                f"create topics ({_AUTO_CREATE}=false); create it (like its source topic), "
                "or set DeadLetter(topic=...) to one that exists"
            )
        both = [(n, s, d) for n, s, d in pairs if s in existing and d in existing]
        limits = await _max_message_bytes(admin, {t for _, s, d in both for t in (s, d)})
    except KafkaError as error:
        logger.warning("could not check the dead-letter topics: %r", error)
        return
    for name, source, dlq in both:
        if limits[dlq] < limits[source]:
            raise BindError(
                f"{name}: dead-letter topic {dlq!r} takes messages up to {limits[dlq]} bytes "
                f"({_MAX_MESSAGE_BYTES}), less than its source {source!r} ({limits[source]}); "
                "a dead letter copies its input, so raise the dead-letter topic's "
                f"{_MAX_MESSAGE_BYTES} to at least the source's"
            )


async def creates_topics(admin: Any) -> bool:
    """Whether the broker creates a topic on first use (``auto.create.topics.enable``)."""
    return (await broker_config(admin, _AUTO_CREATE) or "true").lower() == "true"


async def broker_config(admin: Any, key: str) -> str | None:
    """The value of ``key`` in the configuration of the first broker the cluster names."""
    cluster = await admin.describe_cluster()
    broker = str(cluster["brokers"][0]["node_id"])
    return (await config_values(admin, ConfigResourceType.BROKER, [broker], key)).get(broker)


async def _max_message_bytes(admin: Any, topics: set[str]) -> dict[str, int]:
    if not topics:
        return {}
    configs = await config_values(
        admin, ConfigResourceType.TOPIC, sorted(topics), _MAX_MESSAGE_BYTES
    )
    return {topic: int(value) for topic, value in configs.items()}


async def config_values(admin: Any, kind: Any, names: list[str], key: str) -> dict[str, str]:
    """``{resource name: value of key}`` from a DescribeConfigs request."""
    resources = [ConfigResource(kind, name, configs={key: None}) for name in names]
    found: dict[str, str] = {}
    for response in await admin.describe_configs(resources):
        for _error, _message, _type, name, entries in (r[:5] for r in response.resources):
            for entry in entries:
                if entry[0] == key and entry[1] is not None:
                    found[name] = entry[1]
    return found
