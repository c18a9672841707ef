"""stream.prometheus on a real Kafka broker: counts add up and the lag drains to zero."""

from __future__ import annotations

import anyio
import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from stream.core import DeliveryPolicy, Retry, Service, consume, produce
from stream.kafka import KafkaBroker
from stream.prometheus import Metrics
from tests.kafka.conftest import Kafka
from tests.prometheus.scrape import Samples, scrape, total

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]

GOOD, POISON, BROKEN = 300, 5, 4


class Reading(BaseModel):
    data: float


@pytest.fixture
def kafka(kafka_bootstrap: str) -> Kafka:
    return Kafka(kafka_bootstrap)


async def test_received_is_handled_plus_dead_lettered_and_lag_reaches_zero(
    kafka: Kafka,
) -> None:
    source = await kafka.create_topic("metrics-in", partitions=3)
    target = kafka.unique("metrics-out")
    registry = CollectorRegistry()

    class Counted(Service):
        middlewares = (Metrics(registry=registry),)

        @produce(target)
        @consume(
            source,
            group_id=kafka.unique("metrics"),
            auto_offset_reset="earliest",
            delivery=DeliveryPolicy(retry=Retry(attempts=2, backoff=0)),
        )
        async def handle(self, msg: Reading) -> Reading:
            if msg.data < 0:
                raise ValueError("poison")
            return Reading(data=msg.data + 1)

    records = [(str(n).encode(), b'{"data": %d}' % n) for n in range(GOOD)]
    records += [(b"p%d" % n, b'{"data": -1}') for n in range(POISON)]
    records += [(b"b%d" % n, b"not json") for n in range(BROKEN)]
    await kafka.produce(source, *records)

    on = {"handler": "Counted.handle", "topic": source}
    service = Counted()
    await service.start(KafkaBroker(kafka.bootstrap))
    try:
        samples = await scrape_until(registry, lambda s: finished(s, on) == len(records))
        samples = await scrape_until(registry, lambda s: lags(s) == [0, 0, 0])
    finally:
        await service.stop()

    received = total(samples, "stream_messages_received_total", **on)
    handled = total(samples, "stream_messages_handled_total", **on)
    dead = total(samples, "stream_messages_dead_lettered_total", **on)
    assert (received, handled, dead) == (len(records), GOOD, POISON + BROKEN)
    assert total(samples, "stream_messages_retried_total", **on) == POISON
    assert total(samples, "stream_messages_published_total", topic=target) == GOOD
    assert total(samples, "stream_commit_duration_seconds_count", handler="Counted.handle") > 0
    assert total(samples, "stream_in_flight_units", handler="Counted.handle") == 0
    assert total(samples, "stream_assigned_partitions", handler="Counted.handle") == 3
    assert total(samples, "stream_consumer_joined", handler="Counted.handle") == 1


def finished(samples: Samples, on: dict[str, str]) -> float:
    return total(samples, "stream_messages_handled_total", **on) + total(
        samples, "stream_messages_dead_lettered_total", **on
    )


def lags(samples: Samples) -> list[float]:
    return [v for (name, _), v in sorted(samples.items()) if name == "stream_consumer_lag"]


async def scrape_until(registry: CollectorRegistry, done: object, timeout: float = 60) -> Samples:
    """Scrapes every 0.2 s, as a (fast) Prometheus would, until ``done(samples)``."""
    assert callable(done)
    with anyio.fail_after(timeout):
        while True:
            samples = scrape(registry)
            if done(samples):
                return samples
            await anyio.sleep(0.2)
