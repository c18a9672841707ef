"""Errors the Kafka transport raises on purpose, each saying what happened and what to change."""

from __future__ import annotations

from stream.core import StreamError

__all__ = (
    "KafkaTransportError",
    "MessageTooLargeError",
    "SubscriptionFailedError",
    "UndecodableRecordError",
)


class KafkaTransportError(StreamError):
    """Base class of the Kafka transport's errors."""


class MessageTooLargeError(KafkaTransportError, ValueError):
    """A message is larger than the producer or the broker accepts.

    Attributes:
        topic: Where it was going.
        size: Its size in bytes, as Kafka counts it (key, value and headers).
        limit: The limit it broke, in bytes, or ``None`` when the broker refused it and
            only the broker knows its limit.
    """

    def __init__(self, topic: str, size: int, limit: int | None) -> None:
        self.topic = topic
        self.size = size
        self.limit = limit
        if limit is not None:
            what = (
                f"the producer's limit of {limit} bytes; raise "
                "ProducerOptions(max_request_size=...) and the broker's message.max.bytes "
                "together, or send less"
            )
        else:
            # The broker checks a whole record batch, and outputs of many messages
            # share one: the batch size is a limit of its own to lower.
            what = (
                "what the broker accepts for this topic (its max.message.bytes, or the "
                "broker's message.max.bytes) in one record batch; raise that limit, lower "
                "ProducerOptions(max_batch_size=...) below it, or send less"
            )
        super().__init__(f"a message of {size} bytes to topic {topic!r} exceeds {what}")


class SubscriptionFailedError(KafkaTransportError, RuntimeError):
    """A subscription stopped because a message could not be handled or its outputs sent.

    Raised by :meth:`KafkaBroker.stop` (so ``Service.stop``/``Service.run`` end with it);
    the original error is the ``__cause__``. Nothing after the failed message was
    committed: the next start handles it again.

    Attributes:
        subscription: The subscription's name, ``"<Service>.<method>"``.
    """

    def __init__(self, subscription: str, error: BaseException) -> None:
        self.subscription = subscription
        super().__init__(
            f"{subscription} stopped: {type(error).__name__}: {error}; nothing after the "
            "failed message was committed, so it is handled again on the next start"
        )


class UndecodableRecordError(KafkaTransportError, ValueError):
    """A fetched record cannot be decoded: aiokafka reads header names as UTF-8, and one of
    this record's is not (librdkafka and kcat send names as the bytes they are given), or
    one of a record before it in the same batch is (aiokafka must read those to reach it).

    With a dead-letter topic the record is skipped and its coordinates dead-lettered under
    this error's name; without one the subscription stops on it.

    Attributes:
        topic: The record's topic.
        partition: Its partition.
        offset: Its offset (or, when offsets before it hold no record, the first of those).
    """

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        super().__init__(
            f"record {offset} of {topic}[{partition}] cannot be decoded: a header name of it "
            "or of a record before it in its batch is not UTF-8 (have the producer send UTF-8 "
            "names; with a dead-letter topic such records are skipped and their coordinates "
            "dead-lettered)"
        )
