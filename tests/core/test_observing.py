"""The seam for operators: a transport's status and observers, a middleware per handler."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from stream.core import CallNext, Message, Middleware, Service, consume
from stream.core.transport import ConsumerSpec, PartitionStatus, TransportObserver
from stream.testing import MemoryBroker, TestBroker

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


class Watcher(Middleware, TransportObserver):
    """A service middleware that is also an observer, as a metrics package would be."""

    def __init__(self) -> None:
        self.received_counts: list[tuple[str, str, int, int]] = []
        self.commits: list[str] = []
        self.bound: list[str] = []

    def for_handler(self, handler: ConsumerSpec) -> Middleware:
        self.bound.append(handler.qualname)
        return Labelled(handler.qualname, self.bound)

    def received(self, subscription: str, topic: str, partition: int, count: int) -> None:
        self.received_counts.append((subscription, topic, partition, count))

    def committed(self, subscription: str, seconds: float) -> None:
        assert seconds >= 0
        self.commits.append(subscription)


class Labelled(Middleware):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
        self.log.append(f"{self.name} handles {message.topic}@{message.offset}")
        return await call_next()


async def test_a_service_middleware_that_observes_is_told_of_batches_and_commits() -> None:
    watcher = Watcher()

    class S(Service):
        middlewares = (watcher,)

        @consume("in")
        async def take(self, msg: Reading) -> None: ...

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in")
        await service.publish(Reading(data=2), "in")
    assert watcher.bound == ["S.take", "S.take handles in@0", "S.take handles in@1"]
    assert watcher.received_counts == [("S.take", "in", 0, 1), ("S.take", "in", 0, 1)]
    assert watcher.commits == ["S.take", "S.take"]


async def test_the_memory_broker_reports_each_subscriptions_partitions_and_offsets() -> None:
    class S(Service):
        @consume("in")
        async def take(self, msg: Reading) -> None: ...

    broker = MemoryBroker(partitions=2)
    assert broker.status().running is False
    async with TestBroker(S(), broker=broker) as service:
        await service.publish(Reading(data=1), "in", key="a")
        status = broker.status()
    assert status.running
    [subscription] = status.subscriptions
    assert subscription.name == "S.take"
    assert subscription.joined
    assert subscription.in_flight == 0
    assert {p.partition: p.lag for p in subscription.partitions} == {0: 0, 1: 0}
    assert sum(p.end or 0 for p in subscription.partitions) == 1


def test_lag_is_unknown_until_both_offsets_are_known() -> None:
    assert PartitionStatus(topic="t", partition=0, committed=3, end=10).lag == 7
    assert PartitionStatus(topic="t", partition=0, committed=None, end=10).lag is None
    assert PartitionStatus(topic="t", partition=0, committed=3, end=None).lag is None
