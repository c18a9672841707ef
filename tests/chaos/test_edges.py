"""Bad input at the edges a user can cause, on a real broker: a handler that hangs, a
handler that blocks the event loop, an output that cannot be serialized."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from stream.core import DeliveryPolicy, Guarantee, Retry, Service, consume, produce
from stream.kafka import ConsumerOptions, KafkaBroker
from tests.kafka.conftest import Kafka

pytestmark = [pytest.mark.anyio, pytest.mark.kafka, pytest.mark.chaos]


class Reading(BaseModel):
    data: float


class Loose(BaseModel):
    """An output whose ``value`` may hold anything, also what JSON cannot say."""

    value: Any


@pytest.fixture
def kafka(kafka_bootstrap: str) -> Kafka:
    return Kafka(kafka_bootstrap)


@pytest.mark.parametrize("guarantee", [Guarantee.AT_LEAST_ONCE, Guarantee.EXACTLY_ONCE])
async def test_a_hanging_handler_times_out_is_retried_then_dead_lettered(
    kafka: Kafka, guarantee: Guarantee
) -> None:
    source = await kafka.create_topic("hang-in")
    target = await kafka.create_topic("hang-out")
    group = kafka.unique("group")
    policy = DeliveryPolicy(guarantee=guarantee, timeout=0.3, retry=Retry(attempts=2, backoff=0.01))

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, delivery=policy)
        async def on_reading(self, msg: Reading) -> Reading:
            if msg.data == 1:
                await anyio.sleep_forever()  # a call that never answers
            return msg

    async with Svc():
        await kafka.produce(source, (b"a", b'{"data": 1}'), (b"a", b'{"data": 2}'))
        (letter,) = await kafka.read(source + ".dlq", 1)
        (output,) = await kafka.read(target, 1)
        await kafka.wait_committed(group, source, [2])
    headers = dict(letter.headers)
    assert headers["stream.error.type"] == b"builtins.TimeoutError"
    assert headers["stream.attempts"] == b"2"
    assert letter.value == b'{"data": 1}'
    assert json.loads(output.value) == {"data": 2.0}  # the partition went on


async def test_a_handler_blocking_the_loop_is_named_in_a_warning(
    kafka: Kafka, caplog: pytest.LogCaptureFixture
) -> None:
    source = await kafka.create_topic("block-in")
    done = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap, block_warning=0.3)

        @consume(source, group_id=kafka.unique("group"))
        async def on_reading(self, msg: Reading) -> None:
            if msg.data == 1:
                time.sleep(1.0)  # noqa: ASYNC251 - the mistake under test
            done.add(msg.data)

    caplog.set_level(logging.WARNING, logger="stream.kafka")
    async with Svc():
        await kafka.produce(source, (None, b'{"data": 1}'), (None, b'{"data": 2}'))
        await done.wait_for(2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    (blocking,) = [w for w in warnings if "is blocking the event loop" in w]
    assert "handler Svc.on_reading" in blocking
    assert "test_edges.py:" in blocking  # the line it is stuck on
    assert "anyio.to_thread.run_sync" in blocking  # what to do instead
    (blocked,) = [w for w in warnings if "blocked the event loop for" in w]
    assert float(blocked.rsplit(" ", 1)[1].rstrip("s")) >= 0.9


@pytest.mark.parametrize("guarantee", [Guarantee.AT_LEAST_ONCE, Guarantee.EXACTLY_ONCE])
async def test_an_output_that_cannot_be_serialized_is_dead_lettered(
    kafka: Kafka, guarantee: Guarantee
) -> None:
    source = await kafka.create_topic("encode-in")
    target = await kafka.create_topic("encode-out")
    group = kafka.unique("group")

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, delivery=DeliveryPolicy(guarantee=guarantee))
        async def on_reading(self, msg: Reading) -> Loose:
            return Loose(value=object() if msg.data == 1 else msg.data)

    async with Svc():
        await kafka.produce(source, (None, b'{"data": 1}'), (None, b'{"data": 2}'))
        (letter,) = await kafka.read(source + ".dlq", 1)
        (output,) = await kafka.read(target, 1)
        await kafka.wait_committed(group, source, [2])
    headers = dict(letter.headers)
    assert headers["stream.error.type"] == b"stream.core.EncodeError"
    assert b"cannot encode a Loose" in headers["stream.error.message"]
    assert headers["stream.attempts"] == b"1"  # encoding is not retried: it cannot change
    assert json.loads(output.value) == {"value": 2.0}


async def test_a_rebalance_waits_for_a_handler_slower_than_the_session_timeout(
    kafka: Kafka,
) -> None:
    # The member being asked to give partitions up finishes its handler first (up to
    # shutdown_timeout); the group must wait for it that long, or it drops the member
    # and hands its partitions over while the handler still runs: a duplicate.
    source = await kafka.create_topic("slow-in", partitions=2)
    target = await kafka.create_topic("slow-out", partitions=2)
    group = kafka.unique("group")
    entered = anyio.Event()

    def service() -> Service:
        class Svc(Service):
            broker = KafkaBroker(
                kafka.bootstrap,
                consumer=ConsumerOptions(session_timeout_ms=2000, heartbeat_interval_ms=300),
            )

            @produce(target)
            @consume(source, group_id=group)
            async def on_reading(self, msg: Reading) -> Reading:
                if msg.data == 1 and not entered.is_set():
                    entered.set()
                    await anyio.sleep(4.0)  # slower than the 2 s session timeout
                return msg

        return Svc()

    async with service():
        await kafka.produce_to(source, (None, b'{"data": 1}', 0), (None, b'{"data": 0}', 1))
        with anyio.fail_after(kafka.wait):
            await entered.wait()
        async with service():  # joins: a rebalance while the slow handler runs
            await kafka.wait_committed(group, source, [1, 1])
            await kafka.produce_to(source, (None, b'{"data": 2}', 0), (None, b'{"data": 3}', 1))
            await kafka.wait_committed(group, source, [2, 2])
    outputs = await _all(kafka, target)
    assert sorted(json.loads(r.value)["data"] for r in outputs) == [0.0, 1.0, 2.0, 3.0]


async def _all(kafka: Kafka, topic: str) -> list[Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(2)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        with anyio.fail_after(kafka.wait):
            for tp, end in ends.items():
                while await consumer.position(tp) < end:
                    for batch in (await consumer.getmany(tp, timeout_ms=200)).values():
                        records.extend(batch)
    finally:
        await consumer.stop()
    return records
