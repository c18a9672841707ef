"""One subscription's consume loop: fetch, handle, send, await acks, commit in order.

(At-least-once and at-most-once; ``EXACTLY_ONCE`` runs the loop of
:mod:`stream.kafka._exactly_once`, which shares its consumer, offsets and committer through
:class:`~stream.kafka._loop.ConsumeLoop`.)

Tasks of one subscription, in one anyio task group:

* the fetcher: ``getmany`` → one chunk of records per partition → the handler, inline
  when ``concurrency`` is 1, else split into lanes (by partition, and within a
  partition by key) that run the handler in parallel;
* lanes (``concurrency > 1``): each handles its units in order, so per-key order holds;
* the acker: awaits the delivery futures of each handled unit, marks it finished in
  the :class:`OffsetTracker`, and commits the done prefix of every partition.

Handling and sending never wait for acks, so while the acks of one batch are on the
wire the next batch is already being handled (at most ``max_unacked_batches`` ahead;
with lanes, that many chunks' worth of units). A handled unit's outputs join the open
record batch of their partition, shared with every other unit's (see
:mod:`stream.kafka._accumulator`): no lane waits for the network unless that window is
full, and the acker waits for the batches that hold a unit's outputs.
An offset is committed only after its handler returned and all its outputs were
acknowledged; a handler that raises (no dead-letter topic) or an output that cannot be
sent stops the subscription with nothing committed past it. A send, ack or commit that
fails on a transient broker outage only interrupts it (see :mod:`stream.kafka._outage`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from stream.core import Guarantee
from stream.core.transport import Record, RecordHandler, Subscription, TransportObserver
from stream.kafka._key_lanes import KeyLanes
from stream.kafka._loop import ConsumeLoop, messages_of
from stream.kafka._offsets import Chunk
from stream.kafka._outage import is_transient
from stream.kafka._sender import Delivery, Sender
from stream.kafka._watchdog import handler_task_name

__all__ = ("Subscriber",)

logger = logging.getLogger("stream.kafka")

# A handled unit, for the acker: its partition, its chunk, its outputs' deliveries.
_Acked = tuple[Any, Chunk, list[Delivery]]
# A unit of work, for a lane: partition, its messages for that lane, their chunk.
_Unit = tuple[Any, list[Record], Chunk]


class Subscriber(ConsumeLoop):
    """Runs one at-least-once or at-most-once subscription on its own ``AIOKafkaConsumer``.

    Args:
        subscription: What to consume and how.
        handler: The core's handler for it.
        sender: The broker's producer.
        max_unacked_batches: How far handling may run ahead of acks.
        rebalance_timeout: The longest a rebalance waits for work on revoked partitions.
        outage_timeout: The longest a transient broker outage is ridden out.
        observers: Told of the records handed to the handler and of each commit.
    """

    def __init__(
        self,
        subscription: Subscription,
        handler: RecordHandler,
        sender: Sender,
        *,
        max_unacked_batches: int,
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
        self._sender = sender
        self._depth = max(1, max_unacked_batches)
        self._at_most_once = subscription.options.delivery.guarantee is Guarantee.AT_MOST_ONCE
        self._key_lanes = KeyLanes(subscription.options.concurrency)

    async def run(self) -> None:
        """Consumes until :meth:`request_stop` or a failure, then commits what finished."""
        # The window counts chunks: a chunk is one unit, or up to one unit per lane.
        window = self._depth * max(1, self.subscription.options.concurrency)
        acks_in, acks_out = anyio.create_memory_object_stream[_Acked](window)
        lanes: list[MemoryObjectSendStream[_Unit]] = []
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._ack_loop, acks_out)
                if self.subscription.options.concurrency > 1:
                    for _ in range(self.subscription.options.concurrency):
                        lane_in, lane_out = anyio.create_memory_object_stream[_Unit](self._depth)
                        lanes.append(lane_in)
                        group.start_soon(
                            self._lane_loop,
                            lane_out,
                            acks_in.clone(),
                            name=handler_task_name(self.subscription.name),
                        )
                try:
                    await self._fetch_loop(lanes, acks_in)
                finally:
                    for lane in lanes:
                        lane.close()
                    acks_in.close()
        finally:
            # Also after a hard cancel (shutdown timeout): commit what did finish. Bounded,
            # as aiokafka retries a commit for as long as the coordinator is unreachable.
            with anyio.move_on_after(self._commit_timeout, shield=True):
                await self._committer.commit()

    async def _fetch_loop(
        self, lanes: Sequence[MemoryObjectSendStream[_Unit]], acks: MemoryObjectSendStream[_Acked]
    ) -> None:
        split_keys = not self.subscription.options.batch
        tracker = self._tracker
        listener = self._listener
        partitions = self.partitions
        while not self._stopping:
            batches = await self._fetch()
            if batches is None:
                break
            # aiokafka returns no records while a rebalance is in progress, so these belong
            # to the current assignment; a revocation while they are handed over makes the
            # rest stale.
            epoch = listener.epoch
            for tp, records in batches.items():
                if self._stopping or listener.epoch != epoch:
                    # Never handed over, so never committed. The new assignment starts every
                    # partition from its committed offset, here or at its new owner.
                    break
                if partitions.paused and partitions.hold(tp, records):
                    continue  # paused, maybe by the handler of the records just before
                messages = messages_of(records)
                self._first_fetch(tp, records)
                if self._observers:
                    self._received(tp, len(messages))
                end = records[-1].offset + 1
                if self._at_most_once and not await self._commit_first(tp, end):
                    break
                if not lanes:
                    await self._handle(tp, messages, tracker.open(tp, end), acks)
                elif split_keys:
                    await self._split(tp, messages, end, lanes)
                else:
                    await lanes[hash(tp) % len(lanes)].send((tp, messages, tracker.open(tp, end)))

    async def _commit_first(self, tp: Any, end: int) -> bool:
        try:
            await self._committer.commit_now({tp: end})
        except Exception as error:
            # Handling it uncommitted could repeat it after a crash: at-most-once forbids.
            self._interrupt(error)
            return False
        return True

    async def _split(
        self,
        tp: Any,
        messages: list[Record],
        end: int,
        lanes: Sequence[MemoryObjectSendStream[_Unit]],
    ) -> None:
        # Same key → same lane, so a key's messages stay in order; keyless messages of a
        # partition share one lane, so they keep the partition's order among themselves.
        keyless = hash(tp) % len(lanes)
        lane_of = self._key_lanes.lane_of
        parts: dict[int, list[Record]] = {}
        for message in messages:
            key = message.key
            lane = keyless if key is None else lane_of(key)
            part = parts.get(lane)
            if part is None:
                parts[lane] = [message]
            else:
                part.append(message)
        chunk = self._tracker.open(tp, end, len(parts))
        for lane, part in parts.items():
            await lanes[lane].send((tp, part, chunk))

    async def _lane_loop(
        self, units: MemoryObjectReceiveStream[_Unit], acks: MemoryObjectSendStream[_Acked]
    ) -> None:
        async with units, acks:
            async for tp, messages, chunk in units:
                # Queued units are finished at a graceful stop: another lane may have
                # handled (and sent) its part of the same chunk, and a chunk left half
                # done is not committed, so that part would be sent again after a restart.
                # After a failure or an interruption nothing more past it may commit
                # anyway: skip them.
                if not self._broken:
                    await self._handle(tp, messages, chunk, acks)

    async def _handle(
        self, tp: Any, messages: list[Record], chunk: Chunk, acks: MemoryObjectSendStream[_Acked]
    ) -> None:
        try:
            outputs = await self._outputs(messages)
        except Exception as error:  # no dead-letter topic: stop, nothing committed past it
            self._fail(error)
            return
        try:
            deliveries = await self._sender.queue(outputs) if outputs else []
        except Exception as error:
            self._interrupt(error)
            return
        for delivery in deliveries:
            # The acker takes units in order, and may be waiting on an older batch that
            # aiokafka retries through an outage: a newer one that fails on it (no turn
            # to send in time) starts the outage path now.
            delivery.future.add_done_callback(self._note_outage)
        await acks.send((tp, chunk, deliveries))

    def _note_outage(self, future: asyncio.Future[Any]) -> None:
        error = None if future.cancelled() else future.exception()
        if isinstance(error, Exception) and is_transient(error):
            self._interrupt(error)

    async def _ack_loop(self, acks: MemoryObjectReceiveStream[_Acked]) -> None:
        tracker = self._tracker
        committer = self._committer
        async with acks:
            while True:
                try:
                    tp, chunk, deliveries = acks.receive_nowait()
                except anyio.WouldBlock:
                    received = await self._next_ack_committing_when_due(acks)
                    if received is None:
                        break
                    tp, chunk, deliveries = received
                except anyio.EndOfStream:
                    break
                if await self._acked(deliveries):
                    tracker.finish(tp, chunk)
                    await committer.commit_if_due()

    async def _next_ack_committing_when_due(
        self, acks: MemoryObjectReceiveStream[_Acked]
    ) -> _Acked | None:
        # Idle: commit only once the interval has passed. Committing at every idle moment
        # (the acker idles between units even under steady load) cost a replicated write
        # to __consumer_offsets every few messages: 213 commits/s at 2,000 msg/s.
        committer = self._committer
        while True:
            await committer.commit_if_due()
            with anyio.move_on_after(committer.seconds_until_due()):
                try:
                    return await acks.receive()
                except anyio.EndOfStream:
                    return None

    async def _acked(self, deliveries: list[Delivery]) -> bool:
        for delivery in deliveries:
            if delivery.acked():
                continue  # usual by the time the acker looks: no await needed
            try:
                await delivery.wait()
            except Exception as error:
                self._interrupt(error)
                return False
        return True
