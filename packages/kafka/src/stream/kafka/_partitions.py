"""A subscription's say over its partitions: the service's hooks, pause and resume.

aiokafka's ``pause`` stops fetching a partition, and the records of it already buffered
are dropped (they are fetched again from the position). Records ``getmany`` already
returned are not: :meth:`PartitionControl.hold` puts those back with a seek, so a pause
asked by a handler holds every record not yet handed over. Kafka forgets the pause of
a revoked partition; a pause of the whole subscription is re-applied to partitions it
is assigned later.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aiokafka.structs import TopicPartition as KafkaPartition

from stream.core.transport import RecordHandler, TopicPartition

__all__ = ("PartitionControl",)


def _ours(partitions: Collection[Any]) -> frozenset[TopicPartition]:
    return frozenset(TopicPartition(tp.topic, tp.partition) for tp in partitions)


class PartitionControl:
    """Pauses and partition hooks of one consumer.

    Args:
        handler: The core's handler, whose hooks tell the service.

    Attributes:
        consumer: The subscription's ``AIOKafkaConsumer``, once it is connected.
        paused: The partitions paused now (aiokafka's), empty in the usual case.
    """

    __slots__ = ("_handler", "_owned", "_paused_all", "consumer", "paused")

    def __init__(self, handler: RecordHandler) -> None:
        self.consumer: Any = None
        self.paused: set[Any] = set()
        self._handler = handler
        self._paused_all = False
        # What the service was told it owns: told again (revoked) at the close.
        self._owned: set[Any] = set()

    async def assigned(self, partitions: Collection[Any]) -> None:
        """Re-applies a whole-subscription pause, then tells the service (may raise)."""
        if self._paused_all and partitions:
            self.consumer.pause(*partitions)
            self.paused.update(partitions)
        self._owned.update(partitions)
        await self._handler.partitions_assigned(_ours(partitions))

    async def revoked(self, partitions: Collection[Any]) -> None:
        """Forgets the partitions' pauses (as Kafka does), then tells the service."""
        self.paused.difference_update(partitions)
        self._owned.difference_update(partitions)
        await self._handler.partitions_revoked(_ours(partitions))

    async def close(self) -> None:
        """Tells the service that what it still owns is gone (the consumer stops)."""
        owned, self._owned = self._owned, set()
        self.paused.clear()
        if owned:
            await self._handler.partitions_revoked(_ours(owned))

    def pause(self, partitions: Collection[TopicPartition] | None) -> None:
        """Pauses ``partitions`` of those assigned; ``None``: all, also those to come."""
        assigned = self.consumer.assignment()
        if partitions is None:
            self._paused_all = True
            chosen = set(assigned)
        else:
            chosen = {KafkaPartition(tp.topic, tp.partition) for tp in partitions} & assigned
        if chosen:
            self.consumer.pause(*chosen)
            self.paused.update(chosen)

    def resume(self, partitions: Collection[TopicPartition] | None) -> None:
        """Resumes ``partitions``; ``None``: all of them."""
        if partitions is None:
            self._paused_all = False
            chosen = set(self.paused)
        else:
            chosen = {KafkaPartition(tp.topic, tp.partition) for tp in partitions}
            # Resuming some of a wholly paused subscription keeps the others paused.
            self._paused_all = False
            chosen &= self.paused
        if chosen:
            self.consumer.resume(*chosen)
            self.paused.difference_update(chosen)

    def hold(self, tp: Any, records: list[Any]) -> bool:
        """Whether ``tp`` is paused; if so its fetched ``records`` go back (a seek to the
        first), to be fetched again once it is resumed."""
        if tp not in self.paused:
            return False
        self.consumer.seek(tp, records[0].offset)
        return True
