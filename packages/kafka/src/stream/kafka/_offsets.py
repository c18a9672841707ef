"""Which offsets may be committed: the contiguous prefix of finished work, per partition.

Every fetched chunk of a partition (the records one ``getmany`` returned for it) is
opened here in offset order, with the number of units it was split into (one, or one
per key lane). A unit is finished once its handler returned and every output it
produced was acknowledged. A chunk is done when all its units are; the partition's
commit point moves over the done chunks at the head of its queue and stops at the first
chunk still running, so nothing is committed past unfinished work, whatever order the
lanes finish in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Mapping
from typing import Generic, TypeVar

import anyio

__all__ = ("Chunk", "OffsetTracker")

P = TypeVar("P")
"""A partition's identity (aiokafka's ``TopicPartition`` in the broker)."""


class Chunk:
    """Records fetched together from one partition, handled in ``pending`` units."""

    __slots__ = ("end", "pending")

    def __init__(self, end: int, pending: int) -> None:
        self.end = end
        """The offset after the chunk's last record: what a commit of it stores."""
        self.pending = pending
        """Units not finished yet."""


class OffsetTracker(Generic[P]):
    """Per partition, the chunks in flight and the offset ready to be committed."""

    __slots__ = ("_changed", "_chunks", "_ready")

    def __init__(self) -> None:
        self._chunks: dict[P, deque[Chunk]] = {}
        self._ready: dict[P, int] = {}
        self._changed: anyio.Event | None = None

    def open(self, partition: P, end: int, units: int = 1) -> Chunk:
        """Records a fetched chunk ending before ``end``, to be finished in ``units`` parts."""
        chunk = Chunk(end, units)
        queue = self._chunks.get(partition)
        if queue is None:
            queue = self._chunks[partition] = deque()
        queue.append(chunk)
        return chunk

    def finish(self, partition: P, chunk: Chunk) -> None:
        """Marks one unit of ``chunk`` finished (handled, outputs acknowledged)."""
        chunk.pending -= 1
        if chunk.pending:
            return
        queue = self._chunks.get(partition)
        # An earlier chunk still running holds the commit point back; a chunk of a
        # partition forgotten at a rebalance no longer counts.
        if not queue or queue[0] is not chunk:
            return
        end = chunk.end
        queue.popleft()
        while queue and not queue[0].pending:
            end = queue.popleft().end
        self._ready[partition] = end
        self.wake()

    def take(self) -> dict[P, int]:
        """The offsets to commit now (the next offset to read, per partition); clears them."""
        ready, self._ready = self._ready, {}
        return ready

    def restore(self, offsets: Mapping[P, int]) -> None:
        """Puts back offsets whose commit failed, so the next commit retries them."""
        for partition, offset in offsets.items():
            if partition in self._chunks and offset > self._ready.get(partition, -1):
                self._ready[partition] = offset

    def partitions(self) -> list[P]:
        """Every partition with work in flight or offsets ready."""
        return [*self._chunks, *(p for p in self._ready if p not in self._chunks)]

    def in_flight(self) -> int:
        """Units handed to the handler and not finished yet, over every partition."""
        return sum(chunk.pending for queue in self._chunks.values() for chunk in queue)

    def busy(self, partitions: Collection[P]) -> bool:
        """Whether any chunk of ``partitions`` is still in flight."""
        chunks = self._chunks
        return any(chunks.get(partition) for partition in partitions)

    async def wait_idle(
        self, partitions: Collection[P], *, give_up: Callable[[], bool] = lambda: False
    ) -> None:
        """Waits until no chunk of ``partitions`` is in flight, or ``give_up()`` says to
        stop waiting (checked whenever :meth:`wake` is called); bound it with a timeout."""
        while self.busy(partitions) and not give_up():
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()

    def wake(self) -> None:
        """Lets every :meth:`wait_idle` look again: work finished, was forgotten, or failed."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def forget(self, partitions: Collection[P]) -> None:
        """Drops ``partitions`` (revoked): their unfinished chunks will never commit here."""
        for partition in partitions:
            self._chunks.pop(partition, None)
            self._ready.pop(partition, None)
        self.wake()
