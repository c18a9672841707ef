"""Kafka transactions for ``Guarantee.EXACTLY_ONCE``: one transactional producer per
input partition, and the fencing that makes a partition's new owner safe.

What exactly-once means here: for a subscription consuming topic ``T`` and producing
with ``@produce``, the chunks of records of one partition of ``T`` fetched within one
transaction interval are handled, and their outputs (results and dead-letter messages)
and the input offset after them are written in **one** Kafka transaction: either all of
them become visible (to ``read_committed`` readers) and the offset moves on, or none does
and the chunks are handled again. A crash, a rebalance
or a broker restart can make a handler *run* twice; it cannot make an output *committed*
twice, nor lose one.

How a partition changes hands safely. aiokafka commits offsets in a transaction with
``TxnOffsetCommit`` v0, which carries no consumer-group generation: the broker cannot
tell a partition's current owner from a stale one (that is KIP-447, which aiokafka does
not implement). So fencing is done the classic way (KIP-98): the transactional id is
derived from the *input partition* — ``"<prefix>-<group>-<topic>-<partition>"``, the same
on every instance of the service — and whoever takes a partition first registers that
id (``InitProducerId``). The broker then bumps its epoch: the previous owner's open
transaction is aborted (or finished, if it was already committing) and every later
request of the previous owner fails with ``ProducerFenced``. Only *after* that does the
new owner read the committed offset and seek to it, so it never starts from an offset
that a transaction still in flight was about to move (aiokafka's own offset fetch may
run before the fencing, so records fetched before it are dropped and fetched again).

What aiokafka cannot give, and so stream does not promise:

* no KIP-447: one producer (and one connection set) per assigned input partition,
  instead of one per consumer; fine for tens of partitions, heavy for thousands;
* no KIP-890 (server-side defence): a zombie's produce request that was already on the
  wire when it was fenced is still refused by epoch, but the broker cannot verify that a
  partition was added to the transaction before data arrived;
* exactly-once covers what the handler *returns* (and dead letters). Anything a handler
  does itself — ``Publisher.publish``, a database write, an HTTP call — happens once per
  *attempt*, i.e. at least once;
* readers of the outputs must read with ``isolation_level="read_committed"``, or they
  also see records of aborted transactions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping
from typing import Any

import anyio
from aiokafka.errors import ProducerFenced

from stream.kafka._rebalance import describe_partitions
from stream.kafka._sender import Sender

__all__ = ("PartitionProducers", "TransactionalSender", "transactional_id")

logger = logging.getLogger("stream.kafka")

_CLOSE_TIMEOUT = 10.0
"""Seconds closing one producer may take (it flushes, and the broker may be away)."""
_BACKOFF = 0.2
_MAX_BACKOFF = 5.0


def transactional_id(prefix: str, group_id: str, topic: str, partition: int) -> str:
    """The transactional id of one input partition: the same on every instance.

    The client id is left out on purpose: instances often get distinct client ids (a
    host name), and two ids for one partition would never fence each other.
    """
    return f"{prefix}-{group_id}-{topic}-{partition}"


class TransactionalSender(Sender):
    """A :class:`Sender` whose producer has a transactional id: send inside transactions.

    ``start`` registers the id with the broker (``InitProducerId``), which fences every
    earlier producer of the same id and aborts its open transaction.
    """

    __slots__ = ("_open", "transactional_id")

    def __init__(
        self, client_kwargs: dict[str, Any], producer_kwargs: dict[str, Any], txn_id: str
    ) -> None:
        super().__init__(client_kwargs, {**producer_kwargs, "transactional_id": txn_id})
        self.transactional_id = txn_id
        self._open = False

    async def begin(self) -> None:
        """Begins a transaction."""
        await self._producer.begin_transaction()
        self._open = True

    async def send_offsets(self, offsets: Mapping[Any, int], group_id: str) -> None:
        """Adds ``offsets`` (the next offset to read, per partition) of ``group_id``."""
        await self._producer.send_offsets_to_transaction(dict(offsets), group_id)

    async def commit(self) -> None:
        """Commits the transaction: its outputs and offsets become visible together."""
        await self._producer.commit_transaction()
        self._open = False

    async def discard(self) -> None:
        """Aborts an open transaction (best effort) and disconnects; bounded, never raises.

        An abort that cannot reach the broker is no loss: the next owner of the id
        aborts the transaction when it registers, or the broker does at its timeout.
        """
        if self._open and self._producer is not None:
            # Bounded apart from the close: an abort the broker never answers must not
            # keep the producer from closing (it would leak its connections).
            with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
                try:
                    await self._producer.abort_transaction()
                except Exception as error:  # fenced or broken: nothing left to abort here
                    logger.debug("%s: abort failed: %r", self.transactional_id, error)
        self._open = False
        producer = self._producer
        with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True) as scope:
            try:
                await self.stop()
            except Exception as error:
                logger.debug("%s: closing failed: %r", self.transactional_id, error)
        if scope.cancelled_caught and producer is not None:
            # Its batches could not be flushed (the broker is away): drop its connections.
            with anyio.CancelScope(shield=True):
                await producer.client.close()


class PartitionProducers:
    """The transactional producers of one subscription, one per assigned partition.

    A partition is *pending* from its assignment (or a failed transaction) until
    :meth:`prepare` has fenced its previous owners and moved the consumer to its committed
    offset; only then is it *ready* and its records handed over. Records fetched for a
    pending partition are dropped (the seek fetches them again).

    Args:
        settings: A started broker :class:`Sender`, whose connection and producer
            settings every transactional producer copies.
        prefix: The transactional id prefix.
        group_id: The subscription's consumer group.
        name: The subscription's name, for logs.
        max_failures: Failed transactions in a row on one partition before the
            subscription gives up (each followed by a re-registration and a backoff).
    """

    def __init__(
        self, settings: Sender, prefix: str, group_id: str, name: str, max_failures: int
    ) -> None:
        self._client_kwargs = settings.client_kwargs
        self._producer_kwargs = settings.producer_kwargs
        self._prefix = prefix
        self._group_id = group_id
        self._name = name
        self._max_failures = max_failures
        self._ready: dict[Any, TransactionalSender] = {}
        self._pending: dict[Any, float] = {}  # partition -> not before (monotonic)
        self._rewind: dict[Any, int] = {}  # first offset fetched but not committed
        self._failures: dict[Any, int] = {}
        self._generation = 0  # moves at every assignment change

    def sender(self, tp: Any) -> TransactionalSender | None:
        """The ready producer of ``tp``, or ``None`` while ``tp`` is pending."""
        return self._ready.get(tp)

    @property
    def pending(self) -> bool:
        """Whether some assigned partition still waits to be prepared."""
        return bool(self._pending)

    def assign(self, partitions: Collection[Any]) -> None:
        """Marks newly assigned ``partitions`` pending.

        Called from the rebalance listener, possibly inside the consumer's first
        ``start()``: the consumer is not at hand, so records fetched meanwhile are dropped
        by the loop rather than paused here.
        """
        self._generation += 1
        for tp in partitions:
            self._pending[tp] = 0.0

    async def revoke(self, partitions: Collection[Any]) -> None:
        """Forgets ``partitions`` and closes their producers."""
        self._generation += 1
        closing = [self._ready.pop(tp) for tp in partitions if tp in self._ready]
        for tp in partitions:
            self._pending.pop(tp, None)
            self._rewind.pop(tp, None)
            self._failures.pop(tp, None)
        await _discard_all(closing)

    def dropped(self, tp: Any, offset: int) -> None:
        """Notes that records of pending ``tp`` from ``offset`` on were fetched, not handled."""
        if offset < self._rewind.get(tp, offset + 1):
            self._rewind[tp] = offset

    def committed(self, tp: Any) -> None:
        """Notes a committed transaction of ``tp``: its failure count starts again."""
        self._failures.pop(tp, None)
        self._rewind.pop(tp, None)

    async def failed(self, consumer: Any, tp: Any, first_offset: int, error: Exception) -> bool:
        """Discards ``tp``'s producer after a failed transaction and makes ``tp`` pending
        again (after a backoff), so it is fenced and rewound before its next records.

        Returns:
            ``False`` once ``tp`` failed ``max_failures`` times in a row: give up.
        """
        sender = self._ready.pop(tp, None)
        if tp not in consumer.assignment():
            # Revoked meanwhile: its new owner starts from the committed offset anyway.
            if sender is not None:
                await sender.discard()
            return True
        failures = self._failures[tp] = self._failures.get(tp, 0) + 1
        self.dropped(tp, first_offset)
        if failures >= self._max_failures:
            if sender is not None:
                await sender.discard()
            return False
        delay = min(_BACKOFF * 2 ** (failures - 1), _MAX_BACKOFF)
        what = (
            "was fenced: another instance registered its transactional id, so it took the "
            "partition over (this one missed a rebalance?)"
            if isinstance(error, ProducerFenced)
            else f"failed: {error!r}"
        )
        logger.warning(
            "%s: the transaction of %s %s; aborted, handling it again from the committed "
            "offset in %.1fs (failure %d of %d in a row)",
            self._name,
            describe_partitions((tp,)),
            what,
            delay,
            failures,
            self._max_failures,
        )
        self._pending[tp] = time.monotonic() + delay
        consumer.pause(tp)  # nothing to fetch for it until it is prepared again
        if sender is not None:
            await sender.discard()
        return True

    async def prepare(self, consumer: Any) -> None:
        """Readies the pending partitions that are due: registers each one's
        transactional id (fencing the previous owner), then seeks to the committed offset.

        Raises:
            Exception: a producer or an offset fetch failed beyond aiokafka's retries.
        """
        now = time.monotonic()
        assigned = consumer.assignment()
        for tp in [tp for tp in self._pending if tp not in assigned]:
            del self._pending[tp]  # revoked before it was ever prepared
        due = [tp for tp, not_before in self._pending.items() if not_before <= now]
        if not due:
            return
        generation = self._generation
        opened: dict[Any, TransactionalSender] = {}
        offsets: dict[Any, int | None] = {}
        try:
            async with anyio.create_task_group() as group:
                for tp in due:
                    group.start_soon(self._open, tp, opened)
            # Read only after fencing: the previous owner's last transaction, if any, is
            # now committed or aborted, so this offset is final.
            async with anyio.create_task_group() as group:
                for tp in due:
                    group.start_soon(_fetch_committed, consumer, tp, offsets)
        except ExceptionGroup as errors:
            # Several partitions failed alike (the broker is away): raise one, so the
            # outage policy can tell a transient error.
            await _discard_all(opened.values())
            raise _first(errors) from errors
        except BaseException:
            await _discard_all(opened.values())
            raise
        if generation != self._generation:
            # The assignment changed meanwhile; the new one is pending and prepared next.
            await _discard_all(opened.values())
            return
        for tp in due:
            self._seek(consumer, tp, offsets[tp])
            self._ready[tp] = opened[tp]
            del self._pending[tp]
        consumer.resume(*due)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: ready for transactions: %s", self._name, describe_partitions(due))

    async def close(self) -> None:
        """Discards every producer (open transactions are aborted, best effort)."""
        closing = list(self._ready.values())
        self._ready.clear()
        self._pending.clear()
        self._failures.clear()
        await _discard_all(closing)

    def _seek(self, consumer: Any, tp: Any, committed: int | None) -> None:
        rewind = self._rewind.pop(tp, None)
        if committed is not None:
            consumer.seek(tp, committed)
        elif rewind is not None:
            # Nothing committed yet: start again from the first record fetched, which
            # came from the group's auto_offset_reset position.
            consumer.seek(tp, rewind)

    async def _open(self, tp: Any, opened: dict[Any, TransactionalSender]) -> None:
        txn_id = transactional_id(self._prefix, self._group_id, tp.topic, tp.partition)
        sender = TransactionalSender(self._client_kwargs, self._producer_kwargs, txn_id)
        await sender.start()
        opened[tp] = sender


def _first(errors: BaseExceptionGroup[Exception]) -> Exception:
    error = errors.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error


async def _fetch_committed(consumer: Any, tp: Any, into: dict[Any, int | None]) -> None:
    into[tp] = await consumer.committed(tp)


async def _discard_all(senders: Collection[TransactionalSender]) -> None:
    if not senders:
        return
    with anyio.CancelScope(shield=True):
        async with anyio.create_task_group() as group:
            for sender in senders:
                group.start_soon(sender.discard)
