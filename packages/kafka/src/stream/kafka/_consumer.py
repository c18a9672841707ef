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

__all__ = ("end_offset", "has_joined", "open_consumer", "start_offset")

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


def has_joined(consumer: Any, subscription: Subscription) -> bool:
    """Whether ``consumer`` is in its group: it knows the group's coordinator and has an
    assignment (maybe empty). Always for hand-assigned partitions, which need no group.

    aiokafka has no public call for this; its coordinator forgets the coordinator's node
    as soon as a request to it fails (a heartbeat, every few seconds), which is what a
    readiness probe must see.
    """
    if subscription.options.partitions is not None:
        return True
    coordinator = getattr(consumer, "_coordinator", None)
    state = getattr(consumer, "_subscription", None)
    current = getattr(state, "subscription", None)
    return (
        getattr(coordinator, "coordinator_id", None) is not None
        and current is not None
        and current.assignment is not None
    )


def end_offset(consumer: Any, tp: Any) -> int | None:
    """The offset after ``tp``'s last readable record, from the consumer's last fetch: the
    last stable offset under ``read_committed``, else the high watermark."""
    stable = consumer.last_stable_offset(tp)
    if stable is not None and stable >= 0:
        return int(stable)
    end = consumer.highwater(tp)
    return None if end is None else int(end)


def start_offset(consumer: Any, tp: Any) -> int | None:
    """Where ``tp``'s reading started or stands (its fetch position), when the consumer has
    one: the committed offset before the first fetch of an assignment."""
    assignment = consumer._subscription.subscription.assignment
    state = assignment.state_value(tp) if assignment is not None else None
    if state is None or not state.has_valid_position:
        return None
    return int(state.position)
