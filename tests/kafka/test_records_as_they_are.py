"""The Kafka loop hands the core aiokafka's own records: no second object per record.

A ``ConsumerRecord`` has every field of the core's ``Record``, so copying each one into a
``Message`` (built to be read once, then thrown away) is work per message for nothing. A
fake consumer (no broker) gives real ``ConsumerRecord``s; the handler must receive those
very objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import anyio
import anyio.lowlevel
import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from stream.core.transport import ConsumeOptions, OutgoingMessage, Subscription
from stream.kafka._sender import Sender
from stream.kafka._subscriber import Subscriber

pytestmark = pytest.mark.anyio

TP = TopicPartition("in", 0)
RECORDS = [
    ConsumerRecord("in", 0, offset, 0, 0, None, b"{}", None, -1, 2, (("h", b"v"),))
    for offset in range(5)
]


class OneFetchConsumer:
    """Hands out ``RECORDS`` in one fetch, then nothing."""

    def __init__(self) -> None:
        self.committed = anyio.Event()
        self._fetched = False

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    async def position(self, tp: TopicPartition) -> int:
        return len(RECORDS) if self._fetched else 0

    def highwater(self, tp: TopicPartition) -> int:
        return len(RECORDS)

    async def getmany(self, *partitions: TopicPartition, **_: Any) -> dict[Any, list[Any]]:
        await anyio.lowlevel.checkpoint()
        if self._fetched:
            return {}
        self._fetched = True
        return {TP: list(RECORDS)}

    async def commit(self, offsets: dict[Any, int]) -> None:
        if offsets.get(TP) == len(RECORDS):
            self.committed.set()

    async def stop(self) -> None:
        pass


class Handler:
    def __init__(self) -> None:
        self.received: list[Any] = []

    async def __call__(self, records: Sequence[Any]) -> list[OutgoingMessage]:
        self.received.extend(records)
        return []


class NoSender:
    async def send_all(self, outputs: list[OutgoingMessage]) -> list[Any]:
        assert not outputs
        return []


async def test_the_handler_gets_aiokafkas_records_themselves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer, handler = OneFetchConsumer(), Handler()

    async def open_consumer(*args: Any) -> OneFetchConsumer:
        return consumer

    monkeypatch.setattr("stream.kafka._loop.open_consumer", open_consumer)
    loop = Subscriber(
        Subscription(name="S.on_in", group_id="group", options=ConsumeOptions(topics=("in",))),
        cast(Any, handler),
        cast(Sender, NoSender()),
        max_unacked_batches=4,
        rebalance_timeout=5.0,
    )
    await loop.start({}, {})
    async with anyio.create_task_group() as group:
        group.start_soon(loop.run)
        with anyio.fail_after(10):
            await consumer.committed.wait()
        loop.request_stop()

    assert loop.failure is None
    assert len(handler.received) == len(RECORDS)
    assert all(got is sent for got, sent in zip(handler.received, RECORDS, strict=True))
