"""Lanes and record batches: the real ``Subscriber`` and ``Sender`` against a simulated aiokafka.

Issue 13's outside review: a producer that follows aiokafka's sender rules (one request
in flight per broker, one batch per partition per request, ``send_batch`` waiting while
the partition still has a batch no request carried yet, acks a round trip later) and a
consumer that always has records (64 keys, one input partition per fetch of
``max_records``). The handler turns each input into one output of the same key, on an
8-partition topic, either at once (``noop``) or after 1 ms of I/O per message (``io``).

Prints msg/s (inputs handled and committed) and the output records per record batch for
each round trip, handler and concurrency. ``python -m bench.lanes`` (``--seconds`` per
row, ``--rtt-ms`` to pick round trips).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast
from unittest import mock

import anyio
from aiokafka import TopicPartition
from aiokafka.producer.message_accumulator import BatchBuilder

from stream.core.transport import ConsumeOptions, Message, OutgoingMessage, Subscription
from stream.kafka import ProducerOptions
from stream.kafka._sender import Sender
from stream.kafka._subscriber import Subscriber

__all__ = ("FakeConsumer", "FakeProducer", "LaneRun", "run_lanes")

KEYS = 64
OUTPUT_PARTITIONS = 8
INPUT_PARTITIONS = [TopicPartition("in", p) for p in range(8)]
MAX_UNACKED_BATCHES = 4
_BATCH_SIZE = ProducerOptions().max_batch_size


class FakeProducer:
    """aiokafka's ``AIOKafkaProducer`` as far as the sender uses it, on one broker.

    ``send_batch`` waits while the partition has a batch not yet in a request; the
    broker's connection carries one request at a time, holding one batch per partition,
    acknowledged ``rtt`` seconds later. While ``fail`` is set, it fails every batch of
    the requests answered.
    """

    def __init__(self, rtt: float, partitions: int = OUTPUT_PARTITIONS, keep: bool = False) -> None:
        self.rtt = rtt
        self.keep = keep
        self.partitions = partitions
        self.batches = 0
        self.records = 0
        self.fail: Exception | None = None
        self.answering = asyncio.Event()
        """Cleared: requests get no answer until it is set again."""
        self.answering.set()
        self.sent: dict[int, list[Any]] = {p: [] for p in range(partitions)}
        """With ``keep``: the records acknowledged, per partition, in the order stored."""
        self._pending: dict[int, tuple[BatchBuilder, asyncio.Future[None]]] = {}
        self._drained: dict[int, asyncio.Event] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._connection())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(_BATCH_SIZE, 0)

    async def send_batch(
        self, batch: BatchBuilder, topic: str, *, partition: int
    ) -> asyncio.Future[None]:
        while partition in self._pending:
            drained = self._drained.get(partition)
            if drained is None:
                drained = self._drained[partition] = asyncio.Event()
            await drained.wait()
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[partition] = batch, acked
        self._wake.set()
        return acked

    async def _connection(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            request, self._pending = self._pending, {}
            for partition in request:
                drained = self._drained.pop(partition, None)
                if drained is not None:
                    drained.set()
            await asyncio.sleep(self.rtt)
            await self.answering.wait()
            for partition, (batch, acked) in request.items():
                if self.fail is not None:
                    acked.set_exception(self.fail)
                    continue
                self.batches += 1
                self.records += batch.record_count()
                if self.keep:
                    self.sent[partition].extend(_records_of(batch))
                acked.set_result(None)


def _records_of(batch: BatchBuilder) -> list[tuple[bytes | None, bytes | None]]:
    from aiokafka.record.default_records import DefaultRecordBatch

    return [(r.key, r.value) for r in DefaultRecordBatch(bytearray(batch._build()))]


class _Record:
    __slots__ = ("headers", "key", "offset", "partition", "timestamp", "topic", "value")

    def __init__(self, tp: TopicPartition, offset: int) -> None:
        self.topic, self.partition, self.offset = tp.topic, tp.partition, offset
        self.key = b"k%d" % (offset % KEYS)
        self.value = b"%d:%d" % (tp.partition, offset)
        self.headers, self.timestamp = (), 0


class FakeConsumer:
    """Always has records: each fetch hands out ``max_records`` of the next partition,
    in turn; a commit takes a round trip. ``limit`` records per partition, if given."""

    def __init__(self, rtt: float, limit: int | None = None) -> None:
        self.rtt = rtt
        self.limit = limit
        self.committed: dict[Any, int] = {}
        self._next = dict.fromkeys(INPUT_PARTITIONS, 0)
        self._turn = 0

    def assignment(self) -> set[TopicPartition]:
        return set(INPUT_PARTITIONS)

    async def position(self, tp: TopicPartition) -> int:
        return self._next[tp]

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[_Record]]:
        await asyncio.sleep(0)
        for _ in INPUT_PARTITIONS:
            self._turn += 1
            tp = INPUT_PARTITIONS[self._turn % len(INPUT_PARTITIONS)]
            first = self._next[tp]
            last = (
                first + max_records if self.limit is None else min(self.limit, first + max_records)
            )
            if last > first:
                self._next[tp] = last
                return {tp: [_Record(tp, offset) for offset in range(first, last)]}
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def commit(self, offsets: dict[Any, int]) -> None:
        await asyncio.sleep(self.rtt)
        self.committed.update(offsets)

    async def stop(self) -> None:
        pass


class Handler:
    """One output per input, same key and value; after ``io`` seconds per message."""

    def __init__(self, io: float) -> None:
        self.io = io
        self.handled = 0

    async def __call__(self, messages: Sequence[Message], /) -> list[OutgoingMessage]:
        outputs: list[OutgoingMessage] = []
        for message in messages:
            if self.io:
                await asyncio.sleep(self.io)
            outputs.append(OutgoingMessage("out", message.value, message.key))
        self.handled += len(messages)
        return outputs


class LaneRun:
    """One row: what a subscription with ``concurrency`` lanes did in ``seconds``."""

    def __init__(
        self,
        rtt: float,
        io: float,
        concurrency: int,
        limit: int | None = None,
        max_unacked_batches: int = MAX_UNACKED_BATCHES,
        request_timeout: float = 40.0,
    ) -> None:
        self.max_unacked_batches = max_unacked_batches
        self.request_timeout = request_timeout
        self.producer = FakeProducer(rtt, keep=limit is not None)
        self.consumer = FakeConsumer(rtt, limit)
        self.handler = Handler(io)
        self.concurrency = concurrency

    async def run(self, seconds: float) -> tuple[float, float]:
        """Runs for ``seconds``; returns the committed msg/s and the process's CPU
        microseconds per committed message (the machine may be shared: CPU time is the
        steadier figure)."""
        began, cpu = time.perf_counter(), time.process_time()
        async with self.running():
            await anyio.sleep(seconds)
        committed = max(1, sum(self.consumer.committed.values()))
        elapsed = time.perf_counter() - began
        return committed / elapsed, (time.process_time() - cpu) * 1e6 / committed

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Subscriber]:
        """The subscription, consuming until the block ends (then it stops, commits
        what finished and closes)."""
        consumer, producer = self.consumer, self.producer

        async def open_consumer(*args: Any) -> FakeConsumer:
            return consumer

        options = ConsumeOptions(topics=("in",), concurrency=self.concurrency)
        with (
            mock.patch("stream.kafka._loop.open_consumer", open_consumer),
            mock.patch("stream.kafka._sender.AIOKafkaProducer", return_value=producer),
        ):
            sender = Sender(
                {},
                {
                    "max_request_size": 1_048_576,
                    "request_timeout_ms": int(self.request_timeout * 1000),
                },
            )
            await sender.start()
            loop = Subscriber(
                Subscription(name="S.on_in", group_id="group", options=options),
                cast(Any, self.handler),  # only called: no partition hooks run here
                sender,
                max_unacked_batches=self.max_unacked_batches,
                rebalance_timeout=5.0,
            )
            await loop.start({}, {})
            async with anyio.create_task_group() as group:
                group.start_soon(loop.run)
                try:
                    yield loop
                finally:
                    loop.request_stop()
            await loop.close()
            await sender.stop()

    @property
    def records_per_batch(self) -> float:
        return self.producer.records / max(1, self.producer.batches)


def run_lanes(rtts: Sequence[float], seconds: float) -> list[str]:
    """The table's rows, as markdown."""
    rows = [
        "| RTT | handler | concurrency | msg/s | CPU µs/msg | records per batch |",
        "|---|---|---|---|---|---|",
    ]
    for rtt in rtts:
        for name, io in (("noop", 0.0), ("io 1 ms", 0.001)):
            for concurrency in (1, 8):
                lane = LaneRun(rtt, io, concurrency)
                rate, cpu = asyncio.run(lane.run(seconds))
                rows.append(
                    f"| {rtt * 1000:g} ms | {name} | {concurrency} | {rate:,.0f} | {cpu:.1f} "
                    f"| {lane.records_per_batch:.1f} |"
                )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[2.0, 3.0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per row")
    args = parser.parse_args(argv)
    for row in run_lanes([r / 1000 for r in args.rtt_ms], args.seconds):
        print(row, flush=True)


if __name__ == "__main__":
    main()
