"""The broker's one producer: sends without waiting, then waits for acks when asked.

Every subscription and every ``publish`` share it. Outputs join the open record batch
of their partition (:mod:`stream.kafka._accumulator`), whoever sent them, so the outputs
of many handled units cost one delivery future per batch instead of one per message;
whoever needs the ack awaits those futures (the consume loop does, before committing).
Partitions are chosen as Kafka's default partitioner does: murmur2 of the key, and for
keyless messages one partition per call (sticky, as KIP-480), in turn.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio
from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from aiokafka.record.default_records import (
    DefaultRecordBatchBuilder,
)

from stream.core import NotRunningError
from stream.core.transport import OutgoingMessage
from stream.kafka._accumulator import Delivery, PartitionBatches
from stream.kafka._errors import MessageTooLargeError

__all__ = ("Delivery", "Sender", "oversize", "ping", "record_size")

logger = logging.getLogger("stream.kafka")

_estimate_size = DefaultRecordBatchBuilder.estimate_size_in_bytes
_HASH_CACHE_SIZE = 65_536
# aiokafka's C record builder takes headers as a list, never changing it: records
# without headers (the usual case) share this one instead of a new empty list each.
_NO_HEADERS: list[tuple[str, bytes]] = []
# The most a record batch of one record adds to its key, value and header bytes: the
# batch header (61) and the record's varints and attributes (36 at most); per header,
# its two length varints.
_MAX_FRAMING = 97
_MAX_HEADER_FRAMING = 10


def record_size(message: OutgoingMessage) -> int:
    """``message``'s size as the producer counts it against ``max_request_size``: key,
    value, headers and the record batch's framing."""
    headers = list(message.headers) if message.headers else _NO_HEADERS
    return int(_estimate_size(message.key, message.value, headers))


def oversize(message: OutgoingMessage, limit: int) -> int | None:
    """``message``'s size if it is over ``limit`` bytes, else ``None``.

    Checked for every output: a bound from the lengths alone clears the usual message
    without the exact count (a list of its headers and aiokafka's estimate).
    """
    bound = _MAX_FRAMING + len(message.key or b"") + len(message.value or b"")
    for name, value in message.headers:
        bound += _MAX_HEADER_FRAMING + 4 * len(name) + len(value or b"")  # UTF-8: 4 bytes a char
    if bound <= limit:
        return None
    size = record_size(message)
    return size if size > limit else None


class Sender:
    """Wraps one ``AIOKafkaProducer`` with stream's messages and errors.

    Args:
        client_kwargs: Address, client id and security, as every client gets them.
        producer_kwargs: The producer's own settings (see ``producer_kwargs``).
    """

    __slots__ = (
        "_client_kwargs",
        "_hashes",
        "_limit",
        "_producer",
        "_producer_kwargs",
        "_topics",
        "_turn",
        "_turn_timeout",
    )

    def __init__(self, client_kwargs: dict[str, Any], producer_kwargs: dict[str, Any]) -> None:
        self._client_kwargs = client_kwargs
        self._producer_kwargs = producer_kwargs
        self._limit: int = producer_kwargs["max_request_size"]
        # How long a batch may wait for its partition's turn: as long as aiokafka's
        # send_batch would (its request timeout; aiokafka's default when not given).
        self._turn_timeout = producer_kwargs.get("request_timeout_ms", 40_000) / 1000
        self._producer: Any = None
        self._turn = 0
        # murmur2 is pure Python in aiokafka (~2 µs); keys repeat, so remember them.
        self._hashes: dict[bytes, int] = {}
        # Per topic, its partitions' open batches, by partition number.
        self._topics: dict[str, list[PartitionBatches]] = {}

    @property
    def client_kwargs(self) -> dict[str, Any]:
        """Address, client id and security, as the producer got them."""
        return self._client_kwargs

    @property
    def producer_kwargs(self) -> dict[str, Any]:
        """The producer's own settings (see ``producer_kwargs``)."""
        return self._producer_kwargs

    @property
    def client(self) -> Any:
        """The running producer's ``AIOKafkaClient``, or ``None``."""
        return None if self._producer is None else self._producer.client

    async def start(self) -> None:
        """Connects the producer."""
        producer = AIOKafkaProducer(**self._client_kwargs, **self._producer_kwargs)
        try:
            await producer.start()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await producer.stop()
            raise
        self._producer = producer
        self._topics = {}

    async def stop(self) -> None:
        """Hands aiokafka what is still queued, waits for its acks and disconnects."""
        producer, self._producer = self._producer, None
        if producer is not None:
            for batches in self._topics.values():
                for partition in batches:
                    await partition.drain()
            await producer.stop()

    async def queue(self, messages: Sequence[OutgoingMessage]) -> list[Delivery]:
        """Appends ``messages`` to their partitions' open batches, in order per partition;
        returns the deliveries of the batches that hold them (await them for the acks).

        Never waits for the network once the topics' partitions are known: the batches
        go out as aiokafka takes them (see :mod:`stream.kafka._accumulator`), together
        with whatever else is queued for the same partitions meanwhile.

        Sizes are not checked here: a handler's outputs were, by the core, through
        ``KafkaBroker.refusal``; :meth:`publish_many` checks what it is given.

        Raises:
            ValueError: a message names a partition its topic does not have.
            NotRunningError: the broker is not started.
        """
        producer = self._require()
        self._turn += 1
        deliveries: dict[Delivery, None] = {}
        last: Delivery | None = None
        topic: str | None = None
        batches: list[PartitionBatches] = []
        for message in messages:
            if message.topic != topic:
                topic = message.topic
                batches = await self._batches_of(producer, topic)
            headers = message.headers
            delivery = batches[self._partition_of(message, len(batches))].append(
                message.timestamp,
                message.key,
                message.value,
                list(headers) if headers else _NO_HEADERS,
            )
            if delivery is not last:
                deliveries[delivery] = None
                last = delivery
        return list(deliveries)

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[Delivery]:
        """Hands ``messages`` to aiokafka in batches of their own, closed now, in order per
        partition; returns their deliveries (await them for the acks).

        For a transaction: when it returns, every batch is in aiokafka, so a commit after
        the acks covers all of them, and nothing of them is left behind in an open
        batch that a later transaction would carry. Everything else uses :meth:`queue`.

        Raises:
            ValueError: a message names a partition its topic does not have.
            NotRunningError: the broker is not started.
        """
        producer = self._require()
        self._turn += 1
        batches: dict[tuple[str, int], Any] = {}
        deliveries: list[Delivery] = []
        partitions: dict[str, int] = {}
        for message in messages:
            topic, key, value = message.topic, message.key, message.value
            count = partitions.get(topic)
            if count is None:
                count = partitions[topic] = len(await producer.partitions_for(topic))
            partition = self._partition_of(message, count)
            headers = list(message.headers) if message.headers else _NO_HEADERS
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[topic, partition] = producer.create_batch()
            appended = batch.append(
                timestamp=message.timestamp, key=key, value=value, headers=headers
            )
            if appended is not None:
                continue
            # Full: send it, and start the next batch of this partition with the message.
            deliveries.append(await self._send_batch(batch, topic, partition))
            batch = batches[topic, partition] = producer.create_batch()
            batch.append(timestamp=message.timestamp, key=key, value=value, headers=headers)
        for (topic, partition), batch in batches.items():
            deliveries.append(await self._send_batch(batch, topic, partition))
        return deliveries

    async def publish(self, message: OutgoingMessage) -> None:
        """Sends one message and waits for its ack."""
        await self.publish_many((message,))

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Queues every message, then waits for every ack.

        Raises:
            MessageTooLargeError: a message is larger than ``max_request_size``.
        """
        for message in messages:
            size = oversize(message, self._limit)
            if size is not None:
                raise MessageTooLargeError(message.topic, size, self._limit)
        for delivery in await self.queue(messages):
            await delivery.wait()

    def _require(self) -> Any:
        producer = self._producer
        if producer is None:
            raise NotRunningError("KafkaBroker is not started; start the service first")
        return producer

    async def _batches_of(self, producer: Any, topic: str) -> list[PartitionBatches]:
        # Known partitions answer at once; a topic's first use waits for its metadata.
        # Kafka numbers a topic's partitions 0..n-1, and a topic only ever gains some.
        count = len(await producer.partitions_for(topic))
        batches = self._topics.get(topic)
        if batches is None:
            batches = self._topics[topic] = []
        while len(batches) < count:
            batches.append(PartitionBatches(producer, topic, len(batches), self._turn_timeout))
        return batches

    def _partition_of(self, message: OutgoingMessage, count: int) -> int:
        """The partition ``message`` goes to, of its topic's ``count``: the one it names,
        else its key's (murmur2, as Kafka's default partitioner), else this call's turn
        (keyless messages of one call stick to one partition, as KIP-480)."""
        partition = message.partition
        if partition is None:
            key = message.key
            return self._turn % count if key is None else self._hash(key) % count
        if not 0 <= partition < count:
            raise ValueError(f"partition {partition} does not exist; {message.topic!r} has {count}")
        return partition

    def _hash(self, key: bytes) -> int:
        hashes = self._hashes
        hashed = hashes.get(key)
        if hashed is None:
            if len(hashes) >= _HASH_CACHE_SIZE:
                hashes.clear()
            hashed = hashes[key] = murmur2(key) & 0x7FFFFFFF
        return hashed

    async def _send_batch(self, batch: Any, topic: str, partition: int) -> Delivery:
        batch.close()  # complete: no linger, it goes with the next request
        future = await self._producer.send_batch(batch, topic, partition=partition)
        return Delivery(topic, int(batch.size()), future)


async def ping(client: Any, client_kwargs: dict[str, Any], timeout: float) -> bool:
    """Whether the cluster answers a metadata request within ``timeout`` seconds.

    Uses ``client`` (a running producer's) when given, else a short-lived client.
    """
    own = None
    try:
        with anyio.fail_after(timeout):
            if client is None:
                own = client = AIOKafkaClient(**client_kwargs)
                await client.bootstrap()
            else:
                await client.fetch_all_metadata()
    except (TimeoutError, KafkaError, OSError) as error:
        logger.debug("ping failed: %r", error)
        return False
    finally:
        if own is not None:
            with anyio.CancelScope(shield=True):
                await own.close()
    return True
