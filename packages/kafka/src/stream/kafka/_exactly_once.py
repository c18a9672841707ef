"""The consume loop under ``Guarantee.EXACTLY_ONCE``: per partition chunk, one transaction
holding the chunk's outputs and its input offset.

One pass of the loop: ready the partitions that were assigned (fencing, see
:mod:`stream.kafka._transactions`), fetch, then for every partition in the fetch at once:
run the handler over its chunk (at most ``concurrency`` handlers at a time), then begin
a transaction on the partition's own producer, send the outputs and dead letters, add
the offset after the chunk, wait for the outputs' acks, commit. The next fetch waits
until every transaction of this one ended (aiokafka keeps prefetching meanwhile).

How it differs from the at-least-once loop, and why:

* a chunk is one unit, never split into key lanes: it commits as one transaction, and
  a producer holds one open transaction at a time, so a partition's chunks go in turn;
  ``concurrency`` runs different partitions at once;
* a failed transaction is not the end: it is aborted, the partition is fenced again
  and rewound to its committed offset, and the chunk is handled again (bounded; after
  ``max_failures`` in a row the subscription stops). Outputs that cannot be sent at
  all (too large, a partition that does not exist) stop the subscription at once; once
  the retries are spent, a transient error (the broker is away) only interrupts the loop
  until it is back, as :mod:`stream.kafka._outage` says;
* a handler that raises with no dead-letter topic stops the subscription before any
  transaction began.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from typing import Any

import anyio

from stream.core.transport import (
    OutgoingMessage,
    Record,
    RecordHandler,
    Subscription,
    TransportObserver,
)
from stream.kafka._loop import ConsumeLoop, messages_of
from stream.kafka._offsets import Chunk
from stream.kafka._sender import Sender
from stream.kafka._transactions import PartitionProducers, TransactionalSender
from stream.kafka._watchdog import handler_task_name

__all__ = ("TransactionalSubscriber",)

logger = logging.getLogger("stream.kafka")

_MAX_FAILURES = 8
"""Failed transactions in a row on one partition before the subscription stops (the
backoffs between them add up to about 20 s, longer than a broker restart)."""


class TransactionalSubscriber(ConsumeLoop):
    """Runs one ``EXACTLY_ONCE`` subscription: a consumer, and a transactional producer
    per assigned partition.

    Args:
        subscription: What to consume and how.
        handler: The core's handler for it.
        sender: The broker's producer; the transactional producers copy its settings.
        transactional_id_prefix: Starts every transactional id (see
            :func:`~stream.kafka._transactions.transactional_id`).
        rebalance_timeout: The longest a rebalance waits for transactions in flight on
            revoked partitions before cancelling them (they never commit, then).
        outage_timeout: The longest a transient broker outage is ridden out.
    """

    def __init__(
        self,
        subscription: Subscription,
        handler: RecordHandler,
        sender: Sender,
        *,
        transactional_id_prefix: str,
        rebalance_timeout: float,
        outage_timeout: float = 300.0,
        observers: tuple[TransportObserver, ...] = (),
    ) -> None:
        super().__init__(
            subscription,
            handler,
            rebalance_timeout=rebalance_timeout,
            outage_timeout=outage_timeout,
            observers=observers,
        )
        self._producers = PartitionProducers(
            sender,
            transactional_id_prefix,
            subscription.group_id,
            subscription.name,
            max_failures=_MAX_FAILURES,
        )
        self._limiter = anyio.CapacityLimiter(subscription.options.concurrency)
        self._scopes: dict[Any, anyio.CancelScope] = {}
        self._transactions = 0

    async def start(self, client_kwargs: dict[str, Any], consumer_kwargs: dict[str, Any]) -> None:
        """Creates and connects the consumer; manually assigned partitions start pending."""
        await super().start(client_kwargs, consumer_kwargs)
        if self.subscription.options.partitions is not None:
            self._producers.assign(self._consumer.assignment())

    async def run(self) -> None:
        """Consumes until :meth:`request_stop` or a failure; every transaction begun is
        committed or aborted before it returns (or cancelled at the shutdown timeout)."""
        try:
            await self._transact_loop()
        finally:
            with anyio.CancelScope(shield=True):
                await self._producers.close()

    async def _partitions_assigned(self, assigned: Collection[Any]) -> None:
        # Newly assigned partitions wait to be fenced and rewound before their records count.
        self._producers.assign(assigned)

    async def _partitions_revoked(self, revoked: Collection[Any]) -> None:
        # In-flight work had its chance to finish; what still runs must not commit under
        # the new owner: cancel it and close the partitions' producers.
        for tp in revoked:
            scope = self._scopes.get(tp)
            if scope is not None:
                scope.cancel()
        await self._producers.revoke(revoked)

    def _progress(self) -> int:
        return self._transactions

    async def _rewind(self) -> None:
        # The producers were closed as run() ended: every assigned partition is fenced
        # and rewound again before its records count.
        await super()._rewind()
        self._producers.assign(self._consumer.assignment())

    async def _before_fetch(self) -> None:
        if self._producers.pending:
            await self._producers.prepare(self._consumer)

    async def _transact_loop(self) -> None:
        producers = self._producers
        listener = self._listener
        tracker = self._tracker
        while not self._stopping:
            batches = await self._fetch()
            if batches is None:
                break
            epoch = listener.epoch
            work: list[tuple[Any, list[Record], TransactionalSender]] = []
            for tp, records in batches.items():
                if self.partitions.paused and self.partitions.hold(tp, records):
                    continue
                sender = producers.sender(tp)
                if sender is None:
                    # Fetched before the partition was fenced and rewound: maybe from a
                    # stale offset. The seek in prepare() fetches them again.
                    producers.dropped(tp, records[0].offset)
                    continue
                self._first_fetch(tp, records)
                work.append((tp, messages_of(records), sender))
            if not work or self._stopping or listener.epoch != epoch:
                continue
            async with anyio.create_task_group() as group:
                for tp, messages, sender in work:
                    chunk = tracker.open(tp, messages[-1].offset + 1)
                    if self._observers:
                        self._received(tp, len(messages))
                    group.start_soon(
                        self._process,
                        tp,
                        messages,
                        sender,
                        chunk,
                        name=handler_task_name(self.subscription.name),
                    )

    async def _process(
        self, tp: Any, messages: list[Record], sender: TransactionalSender, chunk: Chunk
    ) -> None:
        try:
            with anyio.CancelScope() as self._scopes[tp]:
                if await self._handle_in_transaction(tp, messages, sender, chunk.end):
                    self._transactions += 1
                    self._committer.committed[tp] = chunk.end
                    self._producers.committed(tp)
                    self._tracker.finish(tp, chunk)
        finally:
            del self._scopes[tp]

    async def _handle_in_transaction(
        self, tp: Any, messages: list[Record], sender: TransactionalSender, end: int
    ) -> bool:
        try:
            async with self._limiter:
                outputs = await self._outputs(messages)
        except Exception as error:  # no dead-letter topic: stop, nothing committed
            self._fail(error)
            return False
        try:
            await self._transact(sender, tp, outputs, end)
        except ValueError as error:
            # Too large, or a partition that does not exist: no retry can send it.
            self._fail(error)
            return False
        except Exception as error:
            self._tracker.forget((tp,))
            if not await self._producers.failed(self._consumer, tp, messages[0].offset, error):
                self._interrupt(error)
            return False
        return True

    async def _transact(
        self, sender: TransactionalSender, tp: Any, outputs: Sequence[OutgoingMessage], end: int
    ) -> None:
        await sender.begin()
        deliveries = await sender.send_all(outputs) if outputs else []
        try:
            # Sent while the outputs are on the wire: the coordinator takes one at a time.
            await sender.send_offsets({tp: end}, self.subscription.group_id)
            for delivery in deliveries:
                # aiokafka would commit a transaction that lost a failed batch: check first.
                await delivery.wait()
        except BaseException:
            # A fenced or failed transaction fails its batches too; nobody waits for them.
            for delivery in deliveries:
                delivery.abandon()
            raise
        began = time.perf_counter()
        try:
            await sender.commit()
        finally:
            self._committer.took(time.perf_counter() - began)
