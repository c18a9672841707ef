"""A transient broker outage does not stop a subscription, whatever its guarantee (issue 11, #3).

The broker of this module is its own (the test takes it down); the outage outlasts the
producer's request timeout, so outputs in flight fail with ``KafkaTimeoutError`` while
it lasts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel
from tests.chaos.checker import order_violations
from tests.kafka.conftest import Kafka

from stream.core import DeliveryPolicy, Guarantee, Service, consume, produce
from stream.kafka import KafkaBroker, ProducerOptions
from stream.kafka_local import LocalKafka, LocalKafkaConfig

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]

RECORDS = 2000
KEYS = 10
GATE = 20
OUTAGE = 8.0
"""Seconds the broker is away: twice the producer's request timeout below, so every send
in flight when it went times out at least once while it is away."""


class Item(BaseModel):
    key: str
    seq: int


ITEMS = [Item(key=f"k{n % KEYS}", seq=n // KEYS) for n in range(RECORDS)]


@pytest.fixture(scope="module")
def own_kafka() -> Iterator[LocalKafka]:
    """A broker this module may take down; never the session's."""
    kafka = LocalKafka(LocalKafkaConfig(partitions=2))
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


def pipeline(
    kafka: KafkaBroker,
    source: str,
    target: str,
    guarantee: Guarantee,
    gate: tuple[anyio.Event, anyio.Event],
) -> Service:
    """Echoes every item; from seq ``GATE`` of each key on, only once the broker is down
    (``gate``: reached, then opened), so the outage finds outputs to send."""
    reached, down = gate

    class Echo(Service):
        broker = kafka

        @produce(target)
        @consume(
            source,
            group_id=f"group-{source}",
            concurrency=2,
            delivery=DeliveryPolicy(guarantee=guarantee),
        )
        async def on_item(self, item: Item) -> Item:
            if item.seq >= GATE:
                reached.set()
                await down.wait()
            return item

    return Echo()


async def read_committed(bootstrap: str, topic: str, until: int, timeout: float) -> list[Item]:
    """Every committed record of ``topic`` once ``until`` distinct items are there."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    items: list[Item] = []
    try:
        with anyio.fail_after(timeout):
            while len({(i.key, i.seq) for i in items}) < until:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    items.extend(Item.model_validate_json(r.value) for r in batch)
    finally:
        await consumer.stop()
    return items


async def outage(kafka: LocalKafka, seconds: float, down: anyio.Event) -> None:
    """The broker gone (killed, data kept) for ``seconds``, then back on the same data."""
    await anyio.to_thread.run_sync(kafka.kill)
    down.set()
    await anyio.sleep(seconds)  # the outage's length, not a wait for a message
    await anyio.to_thread.run_sync(kafka.start)


@pytest.mark.timeout(240)
async def test_a_broker_outage_longer_than_the_request_timeout_stops_no_subscription(
    own_kafka: LocalKafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "stream.kafka")
    kafka = Kafka(own_kafka.bootstrap_servers)
    runs: list[tuple[Guarantee, KafkaBroker, Service, str]] = []
    down = anyio.Event()
    reached: list[anyio.Event] = []
    for guarantee in (Guarantee.AT_LEAST_ONCE, Guarantee.EXACTLY_ONCE):
        source = await kafka.create_topic("in", partitions=2)
        target = await kafka.create_topic("out", partitions=2)
        await kafka.produce(
            source, *((item.key.encode(), item.model_dump_json().encode()) for item in ITEMS)
        )
        broker = KafkaBroker(
            kafka.bootstrap,
            producer=ProducerOptions(request_timeout_ms=4000),
            shutdown_timeout=10.0,
        )
        reached.append(anyio.Event())
        service = pipeline(broker, source, target, guarantee, (reached[-1], down))
        runs.append((guarantee, broker, service, target))
    for _, _, service, _ in runs:
        await service.start()
    try:
        # Mid-stream: handlers hold outputs that go out once the broker is down.
        with anyio.fail_after(60):
            for event in reached:
                await event.wait()
        await outage(own_kafka, OUTAGE, down)
        outputs = [await read_committed(kafka.bootstrap, t, RECORDS, 120) for *_, t in runs]
        for (guarantee, broker, _, _), items in zip(runs, outputs, strict=True):
            assert broker.failure is None, guarantee  # it never stopped
            assert {(i.key, i.seq) for i in items} == {(i.key, i.seq) for i in ITEMS}  # lost 0
            by_key = sorted(items, key=lambda i: i.key)  # stable: each key's partition order
            assert order_violations((i.key, i.seq) for i in by_key) == 0, guarantee
            if guarantee is Guarantee.EXACTLY_ONCE:
                assert len(items) == RECORDS  # duplicates 0
    finally:
        for _, _, service, _ in runs:
            await service.stop()
    assert "Kafka is not answering" in caplog.text
