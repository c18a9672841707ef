"""Creating and connecting one subscription's ``AIOKafkaConsumer``."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from stream.core import BindError
from stream.core.transport import Subscription
from stream.kafka._rebalance import RebalanceListener, describe_partitions

__all__ = ("open_consumer",)

logger = logging.getLogger("stream.kafka")


async def open_consumer(
    subscription: Subscription,
    client_kwargs: dict[str, Any],
    consumer_kwargs: dict[str, Any],
    listener: RebalanceListener,
) -> Any:
    """A connected consumer for ``subscription``: subscribed (topics or pattern, with
    ``listener``) or, with ``partitions``, assigned those partitions of its topics.

    Raises:
        BindError: aiokafka refused an option, or an assigned partition does not exist.
    """
    name = subscription.name
    try:
        consumer = AIOKafkaConsumer(**client_kwargs, **consumer_kwargs)
    except (TypeError, ValueError) as error:
        raise BindError(f"{name}: aiokafka refused the consumer options: {error}") from error
    try:
        if subscription.options.partitions is not None:
            consumer.assign(
                [
                    TopicPartition(topic, partition)
                    for topic in subscription.options.topics
                    for partition in subscription.options.partitions
                ]
            )
        else:
            consumer.subscribe(
                topics=list(subscription.options.topics),
                pattern=subscription.options.pattern,
                listener=listener,
            )
        await consumer.start()
        if subscription.options.partitions is not None:
            await _check_partitions(consumer, subscription)
            assigned = describe_partitions(consumer.assignment())
            logger.info("%s: partitions assigned: %s", name, assigned)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await consumer.stop()
        raise
    return consumer


async def _check_partitions(consumer: Any, subscription: Subscription) -> None:
    await consumer.topics()  # refreshes the metadata of every topic
    for topic in subscription.options.topics:
        have = consumer.partitions_for_topic(topic) or set()
        missing = sorted(set(subscription.options.partitions or ()) - have)
        if missing:
            raise BindError(
                f"{subscription.name}: partitions {missing} of topic {topic!r} do not exist; "
                f"it has {len(have)} partition(s)"
            )
