"""The consume loop under ``Guarantee.EXACTLY_ONCE``: per input partition, one
transaction at a time, taking in the chunks fetched until its interval has passed, and
holding their outputs and the input offset after the last of them.

The fetcher readies the partitions that were assigned (fencing, see
:mod:`stream.kafka._transactions`), fetches, and hands each partition's chunk to that
partition's lane (:mod:`stream.kafka._partition_lanes`), then fetches again. A lane runs
the handler over its chunks in turn (at most ``concurrency`` handlers at a time over all
lanes), begins a transaction on the partition's own producer with the first, and sends
every chunk's outputs and dead letters into it. Once ``transaction_interval`` has passed
since it began (or at once on a revocation, a stop, a pause, an outage) it adds the
offset after its last chunk, waits for the outputs' acks and commits. So the commit round
trips are paid once per interval, not once per chunk, and only that partition's next
chunks wait for them (up to ``queued_chunks``; then the fetcher waits too).

How it differs from the at-least-once loop, and why:

* a partition's chunks are never split into key lanes: a producer holds one open
  transaction at a time, so a partition's chunks go in turn; ``concurrency`` runs
  different partitions at once. A transaction spans fetches of one partition, never
  several partitions: each has its own producer (the fencing needs it);
* a failed transaction is not the end: it is aborted, the partition is fenced again
  and rewound to its committed offset, and everything since is handled again (bounded;
  after ``max_failures`` in a row the subscription stops). Chunks fetched before the
  rewind are dropped. Outputs that cannot be sent at all (too large, a partition that
  does not exist) stop the subscription at once; once the retries are spent, a transient
  error (the broker is away) only interrupts the loop until it is back, as
  :mod:`stream.kafka._outage` says;
* a handler that raises with no dead-letter topic stops the subscription: the open
  transactions commit what was handled before it, and nothing after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import Any

import anyio
from anyio.abc import TaskGroup

from stream.core.transport import Record, RecordHandler, Subscription, TransportObserver
from stream.kafka._loop import ConsumeLoop, messages_of
from stream.kafka._offsets import Chunk
from stream.kafka._partition_lanes import Lane, OpenTransaction
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
        transaction_interval: Seconds a partition's transaction stays open for more
            chunks before it commits (``0``: one per chunk).
        queued_chunks: Fetched chunks that may wait for their partition's turn.
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
        transaction_interval: float,
        queued_chunks: int,
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
        self._interval = transaction_interval
        self._depth = max(1, queued_chunks)
        self._limiter = anyio.CapacityLimiter(subscription.options.concurrency)
        self._lanes: dict[Any, Lane] = {}
        self._lane_group: TaskGroup | None = None
        self._holds = 0  # counts lanes holding their records back for a pause
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
            async with anyio.create_task_group() as self._lane_group:
                try:
                    await self._fetch_loop()
                finally:
                    # Each lane drops what still waits in it and commits its open transaction.
                    for lane in self._lanes.values():
                        lane.outbox.close()
        finally:
            self._lane_group = None
            self._lanes.clear()
            with anyio.CancelScope(shield=True):
                await self._producers.close()

    async def _partitions_assigned(self, assigned: Collection[Any]) -> None:
        # Newly assigned partitions wait to be fenced and rewound before their records count.
        self._producers.assign(assigned)

    def _partitions_revoking(self, revoked: Collection[Any]) -> None:
        # Commit what was handled now, while the partitions are still this member's.
        for tp in revoked:
            lane = self._lanes.get(tp)
            if lane is not None:
                lane.revoking = True
                lane.commit_soon()

    async def _partitions_revoked(self, revoked: Collection[Any]) -> None:
        # In-flight work had its chance to finish; what still runs must not commit under
        # the new owner: cancel it and close the partitions' producers.
        for tp in revoked:
            lane = self._lanes.pop(tp, None)
            if lane is not None:
                lane.outbox.close()
                lane.scope.cancel()
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

    async def _fetch_loop(self) -> None:
        producers = self._producers
        listener = self._listener
        tracker = self._tracker
        while not self._stopping:
            holds = self._holds  # a lane holding records back after this makes them stale
            batches = await self._fetch()
            if batches is None:
                break
            epoch = listener.epoch
            for tp, records in batches.items():
                if self._stopping or listener.epoch != epoch:
                    break  # never handed over; fetched again from the committed offset
                sender = producers.sender(tp)
                if sender is None:
                    # Fetched before the partition was fenced and rewound: maybe from a
                    # stale offset. The seek in prepare() fetches them again.
                    producers.dropped(tp, records[0].offset)
                    continue
                self._first_fetch(tp, records)
                messages = messages_of(records)
                if self._observers:
                    self._received(tp, len(messages))
                chunk = tracker.open(tp, records[-1].offset + 1)
                try:
                    # Waits only while this partition's lane is full.
                    await self._lane(tp).outbox.send((messages, sender, chunk, holds))
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    tracker.finish(tp, chunk)  # revoked meanwhile: its new owner has it

    def _lane(self, tp: Any) -> Lane:
        lane = self._lanes.get(tp)
        if lane is None:
            assert self._lane_group is not None
            lane = self._lanes[tp] = Lane(tp, self._depth)
            self._lane_group.start_soon(
                self._run_lane, lane, name=handler_task_name(self.subscription.name)
            )
        return lane

    async def _run_lane(self, lane: Lane) -> None:
        with lane.scope:
            async with lane.inbox:
                while True:
                    try:
                        work = await lane.next(self._interval)
                    except anyio.EndOfStream:
                        break
                    if work is None:
                        await self._commit(lane)  # due: its interval passed, or revoked
                    else:
                        await self._take(lane, *work)
                # The loop winds down. At a stop (or a failure elsewhere) what was handled
                # commits; in an outage the broker is away: the producers' close aborts
                # it, and the recovery rewinds to the committed offsets.
                if self.interruption is None:
                    await self._commit(lane)

    async def _take(
        self,
        lane: Lane,
        messages: list[Record],
        sender: TransactionalSender,
        chunk: Chunk,
        holds: int,
    ) -> None:
        """Handles one chunk into the lane's open transaction (beginning one if needed),
        and commits the transaction if it is due."""
        tp = lane.tp
        if (
            self._stopping
            or lane.revoking
            or holds < lane.held_at
            or sender is not self._producers.sender(tp)
        ):
            # Not handled here: a new owner, a stopped loop's restart, a rewind after a
            # failed transaction or the end of a pause fetches it again. "Finished" only
            # says nothing of it is in flight any more; its offset commits with nothing.
            self._tracker.finish(tp, chunk)
            return
        if self.partitions.hold(tp, messages):
            # Paused, maybe by the handler of the chunk just before: every chunk already
            # fetched goes back, and what was handled commits now.
            self._holds += 1
            lane.held_at = self._holds
            self._tracker.finish(tp, chunk)
            await self._commit(lane)
            return
        try:
            async with self._limiter:
                outputs = await self._outputs(messages)
        except Exception as error:  # no dead-letter topic: stop; commit what came before
            self._fail(error)
            return
        transaction = lane.transaction
        try:
            if transaction is None:
                await sender.begin()
                transaction = lane.transaction = OpenTransaction(
                    sender, messages[0].offset, time.monotonic()
                )
            if outputs:
                transaction.deliveries.extend(await sender.send_all(outputs))
        except ValueError as error:
            # A partition that does not exist: no retry can send it. Never committed: the
            # producers' close aborts the transaction, with what it already holds.
            lane.transaction = None
            self._fail(error)
            return
        except Exception as error:
            await self._abort(lane, error, messages[0].offset)
            return
        transaction.chunks.append(chunk)
        if (
            lane.seconds_left(self._interval) == 0
            or lane.revoking
            or self._stopping
            or tp in self.partitions.paused  # no more chunks until it is resumed
        ):
            await self._commit(lane)

    async def _commit(self, lane: Lane) -> None:
        """Commits the lane's open transaction, if any: its outputs, and the offset after
        its last chunk; a failure aborts it and has everything since handled again."""
        transaction = lane.transaction
        if transaction is None:
            return
        tp = lane.tp
        end = transaction.end
        try:
            await self._transact(transaction, tp, end)
        except ValueError as error:
            # Too large, or a partition that does not exist: no retry can send it.
            lane.transaction = None
            self._fail(error)
            return
        except Exception as error:
            await self._abort(lane, error, transaction.first)
            return
        lane.transaction = None
        self._transactions += 1
        self._committer.committed[tp] = end
        self._producers.committed(tp)
        for chunk in transaction.chunks:
            self._tracker.finish(tp, chunk)

    async def _transact(self, transaction: OpenTransaction, tp: Any, end: int) -> None:
        sender = transaction.sender
        try:
            # Sent while the outputs are on the wire: the coordinator takes one at a time.
            await sender.send_offsets({tp: end}, self.subscription.group_id)
            for delivery in transaction.deliveries:
                # aiokafka would commit a transaction that lost a failed batch: check first.
                await delivery.wait()
        except BaseException:
            # A fenced or failed transaction fails its batches too; nobody waits for them.
            transaction.abandon()
            raise
        began = time.perf_counter()
        try:
            await sender.commit()
        finally:
            self._committer.took(time.perf_counter() - began)

    async def _abort(self, lane: Lane, error: Exception, first: int) -> None:
        # The partition is fenced and rewound to its committed offset: everything handled
        # since (this transaction's chunks, and those queued behind them) comes again.
        transaction, lane.transaction = lane.transaction, None
        if transaction is not None:
            transaction.abandon()
            first = transaction.first
        self._tracker.forget((lane.tp,))
        if not await self._producers.failed(self._consumer, lane.tp, first, error):
            self._interrupt(error)
