"""What the exactly-once loop keeps per input partition: a lane of fetched chunks waiting
their turn, and the partition's open transaction.

A partition's chunks are handled in turn, into one transaction that stays open across
fetches until its interval has passed (see :mod:`stream.kafka._exactly_once`). A lane is
the queue between the fetcher and that partition's work: the fetcher hands a chunk over
and goes on with the next fetch, so one partition's commit round trips hold up only its
own next chunks.
"""

from __future__ import annotations

import math
import time
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from stream.core.transport import Record
from stream.kafka._offsets import Chunk
from stream.kafka._sender import Delivery
from stream.kafka._transactions import TransactionalSender

__all__ = ("Lane", "OpenTransaction", "Work")

Work = tuple[list[Record], TransactionalSender, Chunk, int]
"""A fetched chunk for a lane: its messages, the partition's producer when it was fetched,
its chunk in the offset tracker, and the loop's hold count before its fetch."""


class OpenTransaction:
    """One partition's transaction while chunks go into it.

    Args:
        sender: The partition's producer, on which the transaction began.
        first: The offset of its first record: where a failure rewinds to, when the
            group never committed one.
        began: When it began (``time.monotonic()``).
    """

    __slots__ = ("began", "chunks", "deliveries", "first", "sender")

    def __init__(self, sender: TransactionalSender, first: int, began: float) -> None:
        self.sender = sender
        self.first = first
        self.began = began
        self.chunks: list[Chunk] = []
        self.deliveries: list[Delivery] = []

    @property
    def end(self) -> int:
        """The offset after its last chunk: the input offset its commit stores."""
        return self.chunks[-1].end

    def abandon(self) -> None:
        """Nobody waits for its outputs' acks any more (a failed transaction fails them)."""
        for delivery in self.deliveries:
            delivery.abandon()


class Lane:
    """One input partition's queue of fetched chunks and its open transaction.

    Args:
        tp: The partition.
        depth: Chunks that may wait in the queue before the fetcher waits too.

    Attributes:
        transaction: The open transaction, or ``None`` between transactions.
        revoking: A rebalance takes the partition away: commit at once, handle no more.
        held_at: The loop's hold count when this lane last held its records back for a
            pause (chunks fetched before that are stale).
        scope: Cancels the lane's work (a revocation past its bound).
    """

    __slots__ = ("_waiting", "held_at", "inbox", "outbox", "revoking", "scope", "tp", "transaction")

    def __init__(self, tp: Any, depth: int) -> None:
        self.tp = tp
        self.outbox: MemoryObjectSendStream[Work]
        self.inbox: MemoryObjectReceiveStream[Work]
        self.outbox, self.inbox = anyio.create_memory_object_stream[Work](depth)
        self.transaction: OpenTransaction | None = None
        self.revoking = False
        self.held_at = 0
        self.scope = anyio.CancelScope()
        self._waiting: anyio.CancelScope | None = None

    def seconds_left(self, interval: float) -> float:
        """How long the lane may wait for its next chunk before its transaction is due."""
        if self.transaction is None:
            return math.inf
        return max(0.0, interval - (time.monotonic() - self.transaction.began))

    async def next(self, interval: float) -> Work | None:
        """The next chunk, or ``None`` once the open transaction is due (its interval
        passed, or :meth:`commit_soon` was called) before one came.

        Raises:
            anyio.EndOfStream: the fetcher closed the lane (the loop winds down).
        """
        with anyio.move_on_after(self.seconds_left(interval)) as self._waiting:
            return await self.inbox.receive()
        return None

    def commit_soon(self) -> None:
        """Ends the wait for the next chunk, so the open transaction commits now."""
        if self._waiting is not None:
            self._waiting.cancel()
