"""A record aiokafka cannot decode (a header name that is not UTF-8) is dead-lettered by
its coordinates and skipped; every other record is handled, in order, and committed."""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.record.util import calc_crc32c
from pydantic import BaseModel

from stream.core import DeliveryPolicy, Guarantee, Message, Retry, Service, consume
from stream.kafka import KafkaBroker

if TYPE_CHECKING:
    from .conftest import Kafka

pytestmark = [pytest.mark.kafka, pytest.mark.anyio]

PER_PARTITION = 10
# Partition 0's records go in three producer batches; the bad header name is the first
# record of the middle one, so aiokafka cannot read 6 and 7 either.
BATCHES = (range(5), range(5, 8), range(8, 10))
BAD_OFFSET = 5
UNREADABLE = [5, 6, 7]


class Reading(BaseModel):
    data: int


async def produce_with_a_bad_header_name(bootstrap: str, topic: str) -> None:
    """Partition 0 gets records 0-9 in :data:`BATCHES`, record 5 with a header name that
    is not UTF-8; partition 1 gets ten good ones in one batch.

    librdkafka (and kcat) send header names as raw bytes; the Python clients only take
    ``str`` names (confluent-kafka writes ``str(name)``), so the bad name is written over a
    placeholder of the same length in the built batch, whose CRC is then computed again.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition, batches in ((0, BATCHES), (1, (range(PER_PARTITION),))):
            for numbers in batches:
                batch = producer.create_batch()
                for n in numbers:
                    bad = partition == 0 and n == BAD_OFFSET
                    name = PLACEHOLDER if bad else "trace"
                    value = json.dumps({"data": n}).encode()
                    batch.append(key=None, value=value, timestamp=None, headers=[(name, b"t")])
                if partition == 0 and BAD_OFFSET in numbers:
                    _rename_header(batch)
                await (await producer.send_batch(batch, topic, partition=partition))
    finally:
        await producer.stop()


PLACEHOLDER = "XXtrace"
NOT_UTF8 = b"\xff\xfetrace"
CRC_AT = 17  # base offset (8), length (4), leader epoch (4), magic (1): then the CRC


def _rename_header(batch: Any) -> None:
    # aiokafka builds a batch once and keeps the buffer: patch that buffer before sending.
    buffer = batch._build()
    at = bytes(buffer).index(PLACEHOLDER.encode())
    buffer[at : at + len(NOT_UTF8)] = NOT_UTF8
    # The CRC-32C covers everything after itself (attributes to the last record).
    struct.pack_into(">I", buffer, CRC_AT, calc_crc32c(bytes(buffer[CRC_AT + 4 :])))


@pytest.mark.parametrize(
    "guarantee", [Guarantee.AT_LEAST_ONCE, Guarantee.AT_MOST_ONCE, Guarantee.EXACTLY_ONCE]
)
async def test_a_record_with_a_header_name_that_is_not_utf8_is_dead_lettered_and_skipped(
    kafka: Kafka, guarantee: Guarantee
) -> None:
    source = await kafka.create_topic("undecodable", partitions=2)
    group = kafka.unique("group")
    seen = kafka.seen()
    delivery = DeliveryPolicy(guarantee=guarantee, retry=Retry(attempts=1))

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group, delivery=delivery)
        async def on_reading(self, msg: Reading, message: Message) -> None:
            seen.add((message.partition, msg.data))

    # Everything is there before the service starts, so one fetch may drain partition 1
    # before the bad record's decoding fails (test_undecodable_fetch.py pins that order).
    await produce_with_a_bad_header_name(kafka.bootstrap, source)
    async with Svc():
        await kafka.wait_committed(group, source, [PER_PARTITION, PER_PARTITION])
        # The subscription goes on: a record sent afterwards is handled too.
        await kafka.produce_to(source, (None, b'{"data": 10}', 0))
        await seen.wait_for(2 * PER_PARTITION + 1 - len(UNREADABLE))
        await kafka.wait_committed(group, source, [PER_PARTITION + 1, PER_PARTITION])

    by_partition = {p: [n for q, n in seen.items if q == p] for p in (0, 1)}
    assert by_partition[0] == [n for n in range(PER_PARTITION + 1) if n not in UNREADABLE]
    assert by_partition[1] == list(range(PER_PARTITION))
    letters = await kafka.read(source + ".dlq", len(UNREADABLE))
    assert sorted(int(dict(r.headers)["stream.source.offset"]) for r in letters) == UNREADABLE
    for letter in letters:
        headers = dict(letter.headers)
        assert headers["stream.error.type"] == b"stream.kafka.UndecodableRecordError"
        assert headers["stream.source.topic"] == source.encode()
        assert headers["stream.source.partition"] == b"0"
        assert letter.value is None
