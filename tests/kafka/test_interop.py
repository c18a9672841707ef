"""Interop with a client we did not write: confluent-kafka (librdkafka) on both ends."""

from __future__ import annotations

import json
import uuid

import anyio
import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from pydantic import BaseModel

from stream.core import Message, Service, consume, produce
from stream.kafka import KafkaBroker

pytestmark = [pytest.mark.kafka, pytest.mark.anyio]


class Reading(BaseModel):
    sensor: str
    data: float


def produce_with_librdkafka(bootstrap: str, topic: str, count: int) -> None:
    # librdkafka's default partitioner is consistent_random (crc32), not murmur2: choose
    # murmur2_random so keys land where Java clients (and stream) would put them.
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    for n in range(count):
        producer.produce(
            topic,
            key=f"sensor-{n % 3}",
            value=json.dumps({"sensor": f"sensor-{n % 3}", "data": n}).encode(),
            headers=[("trace-id", f"t{n}".encode()), ("source", b"librdkafka")],
        )
    assert producer.flush(30) == 0


def consume_with_librdkafka(
    bootstrap: str, topic: str, count: int
) -> list[tuple[bytes, dict[str, object], list[tuple[str, bytes]]]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    found: list[tuple[bytes, dict[str, object], list[tuple[str, bytes]]]] = []
    try:
        for _ in range(600):  # bounded: 600 polls of at most 0.1 s
            record = consumer.poll(0.1)
            if record is None:
                if len(found) == count:
                    break
                continue
            error = record.error()
            if error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                continue  # the service has not sent its first output yet: the topic is coming
            assert error is None, error
            found.append((record.key(), json.loads(record.value()), list(record.headers() or [])))
            if len(found) == count:
                break
    finally:
        consumer.close()
    return found


async def test_records_from_librdkafka_round_trip_through_a_service(kafka_bootstrap: str) -> None:
    source, target = f"interop-in-{uuid.uuid4().hex[:8]}", f"interop-out-{uuid.uuid4().hex[:8]}"
    seen: list[tuple[bytes | None, bytes | None]] = []
    count = 9

    class Doubler(Service):
        broker = KafkaBroker(kafka_bootstrap)

        @produce(target, headers={"stage": "doubled"})
        @consume(source)
        async def double(self, msg: Reading, message: Message) -> Reading:
            seen.append((message.key, message.header("trace-id")))
            return Reading(sensor=msg.sensor, data=msg.data * 2)

    await anyio.to_thread.run_sync(produce_with_librdkafka, kafka_bootstrap, source, count)
    async with Doubler():
        found = await anyio.to_thread.run_sync(
            consume_with_librdkafka, kafka_bootstrap, target, count
        )

    assert sorted(seen) == sorted(
        (f"sensor-{n % 3}".encode(), f"t{n}".encode()) for n in range(count)
    )
    assert len(found) == count
    for key, value, headers in found:
        assert value["sensor"] == key.decode()
        assert headers == [("content-type", b"application/json"), ("stage", b"doubled")]
    assert sorted(float(value["data"]) for _, value, _ in found) == [n * 2.0 for n in range(count)]
