"""A fetch that fails to decode a record after it drained other partitions loses nothing.

aiokafka's ``getmany`` moves each partition it drains before it unpacks the next, so when
a later partition's record cannot be decoded the call raises with the earlier partitions
already moved on and their records thrown away. A fake consumer reproduces that order
exactly (on real Kafka the order varies: tests/kafka/test_undecodable_records.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import anyio
import anyio.lowlevel
import pytest
from aiokafka import TopicPartition

from stream.core.transport import (
    ConsumeOptions,
    DeadLetterMessage,
    Message,
    OutgoingMessage,
    Subscription,
)
from stream.kafka._sender import Delivery, Sender
from stream.kafka._subscriber import Subscriber

pytestmark = pytest.mark.anyio

DRAINED_FIRST = TopicPartition("in", 1)
FAILING = TopicPartition("in", 0)
BAD_OFFSET = 5
COUNT = 10


class FailingConsumer:
    """Ten records on each of two partitions; record 5 of partition 0 cannot be decoded.

    ``getmany`` drains partition 1 before partition 0 and, like aiokafka, moves a
    partition's position as soon as it drained it, before it raises for the next.
    """

    def __init__(self) -> None:
        self.commits: dict[Any, int] = {}
        self.all_committed = anyio.Event()
        self._position = {FAILING: 0, DRAINED_FIRST: 0}

    def assignment(self) -> set[TopicPartition]:
        return set(self._position)

    async def position(self, tp: TopicPartition) -> int:
        return self._position[tp]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._position[tp] = offset

    def highwater(self, tp: TopicPartition) -> int:
        return COUNT

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int, max_records: int | None = None
    ) -> dict[Any, list[Any]]:
        await anyio.lowlevel.checkpoint()
        drained: dict[Any, list[Any]] = {}
        for tp in partitions or (DRAINED_FIRST, FAILING):
            start = self._position[tp]
            end = COUNT if max_records is None else min(COUNT, start + max_records)
            if tp == FAILING and start <= BAD_OFFSET < end:
                raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
            if start < end:
                drained[tp] = [_Record(tp, offset) for offset in range(start, end)]
                self._position[tp] = end
        return drained

    async def commit(self, offsets: dict[Any, int]) -> None:
        self.commits.update(offsets)
        if self.commits == {FAILING: COUNT, DRAINED_FIRST: COUNT}:
            self.all_committed.set()

    async def stop(self) -> None:
        pass


class _Record:
    def __init__(self, tp: TopicPartition, offset: int) -> None:
        self.topic, self.partition, self.offset = tp.topic, tp.partition, offset
        self.key, self.value, self.headers, self.timestamp = None, b"{}", (), 0


class Handler:
    def __init__(self) -> None:
        self.handled: list[tuple[int, int]] = []

    async def __call__(self, messages: list[Message]) -> list[OutgoingMessage]:
        self.handled.extend((m.partition, m.offset) for m in messages)
        return []


class LetterSender:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def queue(self, outputs: list[OutgoingMessage]) -> list[Delivery]:
        self.sent.extend(outputs)
        acked = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return [Delivery(output.topic, 0, acked) for output in outputs]


async def test_partitions_drained_before_the_failing_one_lose_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer, handler, sender = FailingConsumer(), Handler(), LetterSender()

    async def open_consumer(*args: Any) -> FailingConsumer:
        return consumer

    monkeypatch.setattr("stream.kafka._loop.open_consumer", open_consumer)
    loop = Subscriber(
        Subscription(name="S.on_in", group_id="group", options=ConsumeOptions(topics=("in",))),
        cast(Any, handler),
        cast(Sender, sender),
        max_unacked_batches=4,
        rebalance_timeout=5.0,
    )
    await loop.start({}, {})
    async with anyio.create_task_group() as group:
        group.start_soon(loop.run)
        with anyio.fail_after(10):
            await consumer.all_committed.wait()
        loop.request_stop()

    assert loop.failure is None
    assert [o for p, o in handler.handled if p == 1] == list(range(COUNT))
    assert [o for p, o in handler.handled if p == 0] == [o for o in range(COUNT) if o != 5]
    [letter] = sender.sent
    assert isinstance(letter, DeadLetterMessage)
    assert letter.topic == "in.dlq"
    assert dict(letter.headers)["stream.source.offset"] == b"5"
