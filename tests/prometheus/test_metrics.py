"""stream.prometheus on the in-memory broker: every message is counted once, by outcome."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from stream.core import (
    DeliveryPolicy,
    OutgoingMessage,
    Publisher,
    Retry,
    Service,
    consume,
    outgoing,
    produce,
)
from stream.prometheus import Metrics
from stream.testing import MemoryBroker, TestBroker
from tests.prometheus.scrape import scrape, total

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


def flaky_service(metrics: Metrics) -> Service:
    failed_once: set[float] = set()

    class Flaky(Service):
        middlewares = (metrics,)

        @produce("out")
        @consume("in", delivery=DeliveryPolicy(retry=Retry(attempts=3, backoff=0)))
        async def handle(self, msg: Reading, publisher: Publisher) -> Reading:
            if msg.data == 2:
                raise ValueError("never works")
            if msg.data == 1 and msg.data not in failed_once:
                failed_once.add(msg.data)
                raise ValueError("works the second time")
            await publisher.publish({"seen": msg.data}, "audit")
            return Reading(data=msg.data + 1)

    return Flaky()


async def test_every_received_message_is_handled_or_dead_lettered_once() -> None:
    registry = CollectorRegistry()
    service = flaky_service(Metrics(registry=registry))
    broker = MemoryBroker(raise_handler_errors=False, partitions=2)
    async with TestBroker(service, broker=broker):
        for data in (0, 1, 2, 3):
            await service.publish(Reading(data=data), "in", key=str(data))
        await service.publish(b"not json", "in")
        samples = scrape(registry)

    on = {"handler": "Flaky.handle", "topic": "in"}
    received = total(samples, "stream_messages_received_total", **on)
    handled = total(samples, "stream_messages_handled_total", **on)
    dead = total(samples, "stream_messages_dead_lettered_total", **on)
    assert (received, handled, dead) == (5, 3, 2)  # 2 never works; the bad JSON never decodes
    assert total(samples, "stream_messages_failed_total", **on) == 1 + 3
    assert total(samples, "stream_messages_retried_total", **on) == 1 + 2
    assert total(samples, "stream_handler_duration_seconds_count", **on) == 3 + 4
    published = {"handler": "Flaky.handle"}
    assert total(samples, "stream_messages_published_total", topic="out", **published) == 3
    assert total(samples, "stream_messages_published_total", topic="in.dlq", **published) == 2
    assert total(samples, "stream_messages_published_total", topic="audit", handler="") == 3
    assert total(samples, "stream_messages_published_total", topic="in", handler="") == 5
    assert total(samples, "stream_commit_duration_seconds_count", handler="Flaky.handle") == 5
    lag = [v for (n, _), v in samples.items() if n == "stream_consumer_lag"]
    assert lag == [0, 0]  # both partitions, all committed
    assert total(samples, "stream_assigned_partitions", handler="Flaky.handle") == 2
    assert total(samples, "stream_consumer_joined", handler="Flaky.handle") == 1


async def test_a_batch_handler_counts_messages_not_batches() -> None:
    registry = CollectorRegistry()

    class Batches(Service):
        middlewares = (Metrics(registry=registry),)

        @consume("in", batch=True, max_records=10)
        async def handle(self, msgs: list[Reading]) -> None: ...

    broker = MemoryBroker(raise_handler_errors=False)
    async with TestBroker(Batches(), broker=broker) as service:
        await service.publisher.publish_many(
            [outgoing_reading(n) for n in range(4)] + [outgoing_bad()]
        )
        samples = scrape(registry)
    on = {"handler": "Batches.handle", "topic": "in"}
    assert total(samples, "stream_messages_received_total", **on) == 5
    assert total(samples, "stream_messages_handled_total", **on) == 4
    assert total(samples, "stream_messages_dead_lettered_total", **on) == 1
    assert total(samples, "stream_handler_duration_seconds_count", **on) == 1


def outgoing_reading(n: int) -> OutgoingMessage:
    return outgoing(Reading(data=n), "in")


def outgoing_bad() -> OutgoingMessage:
    return outgoing(b"{", "in")


async def test_two_services_in_one_process_share_the_registry() -> None:
    registry = CollectorRegistry()
    first, second = (
        flaky_service(Metrics(registry=registry)),
        flaky_service(Metrics(registry=registry)),
    )
    type(second).__name__ = "Other"
    for service in (first, second):
        async with TestBroker(service, broker=MemoryBroker(raise_handler_errors=False)):
            await service.publish(Reading(data=0), "in")
    samples = scrape(registry)
    assert total(samples, "stream_messages_handled_total", handler="Flaky.handle") == 1
    assert total(samples, "stream_messages_handled_total", handler="Other.handle") == 1
