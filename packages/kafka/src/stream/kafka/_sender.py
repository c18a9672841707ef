"""The broker's one producer: sends without waiting, then waits for acks when asked.

Every subscription and every ``publish`` share it. A handler's outputs go out as record
batches built here, one per partition (aiokafka's public ``create_batch``/``send_batch``),
so a chunk of outputs costs one delivery future per partition instead of one per
message; whoever needs the ack awaits those futures (the consume loop does, before
committing). Partitions are chosen as Kafka's default partitioner does: murmur2 of the
key, and for keyless messages one partition per call (sticky, as KIP-480), in turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import anyio
from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.partitioner import murmur2
from aiokafka.record.default_records import (
    DefaultRecordBatchBuilder,
)

from stream.core import NotRunningError
from stream.core.transport import OutgoingMessage
from stream.kafka._errors import MessageTooLargeError

__all__ = ("Delivery", "Sender", "ping", "record_size")

logger = logging.getLogger("stream.kafka")

_estimate_size = DefaultRecordBatchBuilder.estimate_size_in_bytes
_HASH_CACHE_SIZE = 65_536


def record_size(message: OutgoingMessage) -> int:
    """``message``'s size as the producer counts it against ``max_request_size``: key,
    value, headers and the record batch's framing."""
    # aiokafka's C record builder takes a list of headers, not a tuple.
    headers = list(message.headers) if message.headers else []
    return int(_estimate_size(message.key, message.value, headers))


class Delivery:
    """One record batch on its way: its topic, size, and the future of its ack."""

    __slots__ = ("future", "size", "topic")

    def __init__(self, topic: str, size: int, future: asyncio.Future[Any]) -> None:
        self.topic = topic
        self.size = size
        self.future = future

    def acked(self) -> bool:
        """Whether the broker already acknowledged it (no waiting needed)."""
        future = self.future
        return future.done() and not future.cancelled() and future.exception() is None

    def abandon(self) -> None:
        """Marks its outcome as seen, for a delivery nobody will wait for any more (its
        transaction failed); asyncio would otherwise report the error it ends with."""
        self.future.add_done_callback(_mark_seen)

    async def wait(self) -> None:
        """Waits for the ack; a broker's size refusal becomes ``MessageTooLargeError``."""
        try:
            await self.future
        except MessageSizeTooLargeError as error:
            raise MessageTooLargeError(self.topic, self.size, None) from error


class Sender:
    """Wraps one ``AIOKafkaProducer`` with stream's messages and errors.

    Args:
        client_kwargs: Address, client id and security, as every client gets them.
        producer_kwargs: The producer's own settings (see ``producer_kwargs``).
    """

    __slots__ = ("_client_kwargs", "_hashes", "_limit", "_producer", "_producer_kwargs", "_turn")

    def __init__(self, client_kwargs: dict[str, Any], producer_kwargs: dict[str, Any]) -> None:
        self._client_kwargs = client_kwargs
        self._producer_kwargs = producer_kwargs
        self._limit: int = producer_kwargs["max_request_size"]
        self._producer: Any = None
        self._turn = 0
        # murmur2 is pure Python in aiokafka (~2 µs); keys repeat, so remember them.
        self._hashes: dict[bytes, int] = {}

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

    async def stop(self) -> None:
        """Sends what is still queued, waits for its acks and disconnects."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[Delivery]:
        """Queues ``messages`` in record batches, in order per partition; returns their
        deliveries (await them for the acks).

        Sizes are not checked here: a handler's outputs were, by the core, through
        ``KafkaBroker.refusal``; :meth:`publish_many` checks what it is given.

        Raises:
            ValueError: a message names a partition its topic does not have.
            NotRunningError: the broker is not started.
        """
        producer = self._producer
        if producer is None:
            raise NotRunningError("KafkaBroker is not started; start the service first")
        self._turn += 1
        batches: dict[tuple[str, int], Any] = {}
        deliveries: list[Delivery] = []
        partitions: dict[str, list[int]] = {}
        for message in messages:
            topic, key, value = message.topic, message.key, message.value
            known = partitions.get(topic)
            if known is None:
                known = partitions[topic] = sorted(await producer.partitions_for(topic))
            partition = message.partition
            if partition is None:
                partition = known[
                    self._turn % len(known) if key is None else self._slot(key, known)
                ]
            elif partition not in known:
                raise ValueError(
                    f"partition {partition} does not exist; {topic!r} has {len(known)}"
                )
            # aiokafka's C record builder takes a list of headers, not a tuple.
            headers = list(message.headers) if message.headers else []
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
            size = record_size(message)
            if size > self._limit:
                raise MessageTooLargeError(message.topic, size, self._limit)
        for delivery in await self.send_all(messages):
            await delivery.wait()

    def _slot(self, key: bytes, known: list[int]) -> int:
        hashes = self._hashes
        hashed = hashes.get(key)
        if hashed is None:
            if len(hashes) >= _HASH_CACHE_SIZE:
                hashes.clear()
            hashed = hashes[key] = murmur2(key) & 0x7FFFFFFF
        return hashed % len(known)

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


def _mark_seen(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
