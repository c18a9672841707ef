"""Commits come at the documented interval under steady load, not at every idle moment.

docs/delivery.md: the finished prefix is committed every 0.25 s while messages keep
coming, plus the final commit at a stop or revocation. Each commit is a replicated write
to ``__consumer_offsets``, so committing at every pause of the acker (issue 11, #5: 213
commits/s at 2,000 msg/s on four partitions) costs the cluster for nothing.

A fake consumer stands in for Kafka: it hands out a steady stream and counts commits,
each taking a 2 ms round trip.
"""

from __future__ import annotations

import time
from typing import Any, cast

import anyio
import pytest
from aiokafka import TopicPartition

from stream.core.transport import ConsumeOptions, Message, OutgoingMessage, Subscription
from stream.kafka._rebalance import COMMIT_INTERVAL
from stream.kafka._sender import Sender
from stream.kafka._subscriber import Subscriber

pytestmark = pytest.mark.anyio

PARTITIONS = [TopicPartition("in", p) for p in range(4)]
LOAD = 2.0
"""Seconds of steady load."""


class Record:
    def __init__(self, tp: TopicPartition, offset: int) -> None:
        self.topic, self.partition, self.offset = tp.topic, tp.partition, offset
        self.key, self.value, self.headers, self.timestamp = b"k", b"{}", (), 0


class SteadyConsumer:
    """One record per partition every 2 ms (2,000 msg/s on four partitions)."""

    def __init__(self) -> None:
        self.commits: list[dict[Any, int]] = []
        self._next = dict.fromkeys(PARTITIONS, 0)

    def assignment(self) -> set[TopicPartition]:
        return set(PARTITIONS)

    async def position(self, tp: TopicPartition) -> int:
        return self._next[tp]

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[Record]]:
        await anyio.sleep(0.002)  # the stream's pace: a record per partition per 2 ms
        batches = {}
        for tp, offset in self._next.items():
            batches[tp] = [Record(tp, offset)]
            self._next[tp] = offset + 1
        return batches

    async def commit(self, offsets: dict[Any, int]) -> None:
        await anyio.sleep(0.002)  # a commit's round trip
        self.commits.append(dict(offsets))

    async def stop(self) -> None:
        pass


class Handler:
    """Notes the offset after the last message handled, per partition."""

    def __init__(self) -> None:
        self.handled: dict[Any, int] = {}

    async def __call__(self, messages: list[Message]) -> list[OutgoingMessage]:
        last = messages[-1]
        self.handled[TopicPartition(last.topic, last.partition)] = last.offset + 1
        return []


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_commits_under_steady_load_come_at_the_documented_interval(
    concurrency: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = SteadyConsumer()
    handler = Handler()

    async def open_consumer(*args: Any) -> SteadyConsumer:
        return consumer

    monkeypatch.setattr("stream.kafka._loop.open_consumer", open_consumer)
    options = ConsumeOptions(topics=("in",), concurrency=concurrency)
    loop = Subscriber(
        Subscription(name="S.on_in", group_id="group", options=options),
        cast(Any, handler),
        cast(Sender, None),  # the handler sends nothing
        max_unacked_batches=4,
        rebalance_timeout=5.0,
    )
    await loop.start({}, {})
    began = time.monotonic()
    async with anyio.create_task_group() as group:
        group.start_soon(loop.run)
        await anyio.sleep(LOAD)  # the length of the load, not a wait for a message
        loop.request_stop()
    elapsed = time.monotonic() - began
    # Every interval while busy, and the final commit at the stop.
    assert 1 < len(consumer.commits) <= elapsed / COMMIT_INTERVAL + 2
    committed: dict[Any, int] = {}
    for commit in consumer.commits:
        committed.update(commit)
    assert committed == handler.handled  # the stop committed everything handled
