"""One open record batch per output partition, which the outputs of every unit join.

aiokafka takes one batch per partition at a time: ``send_batch`` waits while the
partition still has a batch that no request has carried yet, and a broker connection
carries one request at a time. A unit that closed and handed over its own batch per
partition therefore waited a round trip whenever the partition was busy, and under
``concurrency > 1`` every lane's share of a chunk went out as a batch of its own
(issue 13: 101k msg/s at concurrency 1, 18.6k at 8, at a 3 ms round trip).

Here a unit appends its outputs to the partition's open batch and leaves with the
batch's :class:`Delivery` (the future of its ack); appending never waits for the network.
A flusher task per busy partition hands the batches to aiokafka in the order they were
opened: each as soon as aiokafka takes it, so while one batch waits for the partition's
turn the next one fills with whatever every lane appends meanwhile. That is Kafka's own
accumulator rule (a batch is sent when the connection is free or the batch is full),
with no linger time to tune.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from stream.kafka._errors import MessageTooLargeError

__all__ = ("Delivery", "PartitionBatches")


class Delivery:
    """One record batch on its way: its topic, size, and the future of its ack.

    The future is settled when the broker acknowledges the batch, or with the error
    that kept it from being sent or stored; every unit with a record in the batch
    holds the same delivery, so a failed batch fails each of them.
    """

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
            # Shielded: the future is shared by every unit with a record in the batch,
            # and one waiter's cancellation must not cancel it for the others.
            await asyncio.shield(self.future)
        except MessageSizeTooLargeError as error:
            raise MessageTooLargeError(self.topic, self.size, None) from error

    def settle(self, acked: asyncio.Future[Any]) -> None:
        """Takes the outcome of aiokafka's future for the batch (a done callback)."""
        future = self.future
        if future.done():
            return
        if acked.cancelled():
            future.cancel()
        elif (error := acked.exception()) is not None:
            future.set_exception(error)
        else:
            future.set_result(acked.result())


class PartitionBatches:
    """The batches of one output partition that aiokafka has not taken yet.

    Args:
        producer: The running ``AIOKafkaProducer``.
        topic: The partition's topic.
        partition: Its number.
        timeout: Seconds a batch may wait for its turn (the producer's request timeout,
            as aiokafka's ``send_batch`` allows) before it fails with
            ``KafkaTimeoutError``: a broker outage reaches the subscriptions' outage path
            instead of holding every handler silently.
    """

    __slots__ = (
        "_flusher",
        "_full",
        "_handed",
        "_open",
        "_producer",
        "_timeout",
        "partition",
        "topic",
    )

    def __init__(self, producer: Any, topic: str, partition: int, timeout: float) -> None:
        self._producer = producer
        self._timeout = timeout
        self.topic = topic
        self.partition = partition
        self._open: tuple[Any, Delivery] | None = None  # the open batch and its delivery
        self._full: deque[tuple[Any, Delivery]] = deque()  # full, waiting for their turn
        self._flusher: asyncio.Task[None] | None = None
        # The acks of the batches handed to aiokafka and not yet acknowledged, oldest
        # first: one in a request, one waiting for the next request at most.
        self._handed: deque[asyncio.Future[Any]] = deque()

    def append(
        self, timestamp: int | None, key: bytes | None, value: bytes | None, headers: list[Any]
    ) -> Delivery:
        """Adds a record to the open batch (opening one if needed); returns its delivery."""
        current = self._open
        if current is not None:
            builder, delivery = current
            appended = builder.append(timestamp=timestamp, key=key, value=value, headers=headers)
            if appended is not None:
                return delivery
            # Full: it goes as it is, after the batches before it.
            self._full.append(current)
        loop = asyncio.get_running_loop()
        builder = self._producer.create_batch()
        future = loop.create_future()
        # A failed batch fails every unit with a record in it, but after the first the
        # subscription winds down and nobody awaits the others: that is no lost error.
        future.add_done_callback(_mark_seen)
        delivery = Delivery(self.topic, 0, future)
        self._open = builder, delivery
        # An empty batch takes any one record (a larger one is refused by size checks first).
        builder.append(timestamp=timestamp, key=key, value=value, headers=headers)
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        return delivery

    async def drain(self) -> None:
        """Waits until aiokafka has taken every batch appended so far."""
        flusher = self._flusher
        if flusher is not None:
            await asyncio.shield(flusher)

    async def _flush(self) -> None:
        # Runs while there is something to hand over: the full batches first (they are
        # older), then the open one, closed at the moment aiokafka can take it.
        producer, topic, partition = self._producer, self.topic, self.partition
        handed = self._handed
        try:
            while True:
                while handed and handed[0].done():
                    handed.popleft()
                if len(handed) > 1:
                    # One batch is in a request and one waits for the next: aiokafka
                    # would make a third wait, closed. Left open, it keeps collecting
                    # until the older one's ack lets the waiting one go.
                    done, _ = await asyncio.wait((handed[0],), timeout=self._timeout)
                    if not done and (late := self._take()) is not None:
                        late[1].future.set_exception(
                            KafkaTimeoutError(f"{topic}-{partition}: no turn to send in time")
                        )
                    continue
                taken = self._take()
                if taken is None:
                    return
                builder, delivery = taken
                try:
                    acked = await producer.send_batch(builder, topic, partition=partition)
                except Exception as error:
                    # Not taken (a timeout waiting for the partition's turn, a stopped
                    # producer): every unit holding this delivery fails, none commits.
                    delivery.future.set_exception(error)
                    continue
                acked.add_done_callback(delivery.settle)
                handed.append(acked)
        finally:
            self._flusher = None

    def _take(self) -> tuple[Any, Delivery] | None:
        """The next batch to hand over, closed: the oldest full one, else the open one."""
        if self._full:
            taken = self._full.popleft()
        elif self._open is not None:
            taken, self._open = self._open, None
        else:
            return None
        builder, delivery = taken
        builder.close()
        delivery.size = int(builder.size())
        return taken


def _mark_seen(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
