"""Interop with FastStream 0.7 on real Kafka: each reads what the other writes.

FastStream labels what it publishes with a ``content-type`` header (``application/json``
for models, ``text/plain`` for ``str``, an empty one for ``bytes``) and decodes by it;
stream writes the same header, so neither side needs a custom decoder for JSON. For a
content type it does not know (``application/msgpack``) FastStream hands the handler
the raw bytes: a FastStream subscriber reads stream's MessagePack with a ``decoder=``.
"""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import msgpack
import pytest
from faststream.kafka import KafkaBroker as FastStreamBroker
from faststream.kafka import KafkaMessage
from pydantic import BaseModel

from stream.core import Message, MsgPackCodec, Service, consume, produce
from stream.kafka import KafkaBroker

pytestmark = [pytest.mark.kafka, pytest.mark.anyio]

COUNT = 5


class Reading(BaseModel):
    sensor: str
    data: float


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


class Collected:
    """What a FastStream subscriber received, with a way to wait for it."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.items: list[tuple[Any, str | None]] = []
        self.done = anyio.Event()

    def add(self, body: Any, content_type: str | None) -> None:
        self.items.append((body, content_type))
        if len(self.items) == self.count:
            self.done.set()

    async def wait(self) -> list[tuple[Any, str | None]]:
        with anyio.fail_after(60):
            await self.done.wait()
        return self.items


def doubler(bootstrap: str, source: str, target: str, **service: Any) -> Service:
    class Doubler(Service):
        broker = KafkaBroker(bootstrap)
        codec = service.get("codec", Service.codec)

        @produce(target)
        @consume(source)
        async def double(self, msg: Reading) -> Reading:
            return Reading(sensor=msg.sensor, data=msg.data * 2)

    return Doubler()


async def test_a_faststream_subscriber_reads_a_stream_output(kafka_bootstrap: str) -> None:
    source, target = unique("fs-in"), unique("fs-out")
    collected = Collected(COUNT)
    faststream = FastStreamBroker(kafka_bootstrap, logger=None)

    @faststream.subscriber(target, group_id=unique("fs"), auto_offset_reset="earliest")
    async def on_reading(msg: Reading, message: KafkaMessage) -> None:
        collected.add(msg, message.content_type)

    async with doubler(kafka_bootstrap, source, target) as service, faststream:
        await faststream.start()
        for n in range(COUNT):
            await service.publish(Reading(sensor=f"s{n}", data=n), source, key=f"s{n}")
        found = await collected.wait()

    # FastStream parsed stream's JSON by its content-type header into its own model.
    assert sorted(found, key=lambda item: item[0].sensor) == [
        (Reading(sensor=f"s{n}", data=n * 2), "application/json") for n in range(COUNT)
    ]


async def test_a_stream_handler_reads_a_faststream_publisher(kafka_bootstrap: str) -> None:
    source = unique("fs-in")
    seen: list[tuple[Reading, bytes | None]] = []
    done = anyio.Event()

    class Reader(Service):
        broker = KafkaBroker(kafka_bootstrap)

        @consume(source)
        async def read(self, msg: Reading, message: Message) -> None:
            seen.append((msg, message.header("content-type")))
            if len(seen) == 2:
                done.set()

    faststream = FastStreamBroker(kafka_bootstrap, logger=None)
    async with faststream:
        await faststream.start()
        # A model goes as JSON labelled application/json; bytes go with an empty label.
        await faststream.publish(Reading(sensor="a", data=1), source, key=b"k")
        await faststream.publish(b'{"sensor": "b", "data": 2}', source, key=b"k")
    async with Reader():
        with anyio.fail_after(60):
            await done.wait()
    assert seen == [
        (Reading(sensor="a", data=1), b"application/json"),
        (Reading(sensor="b", data=2), b""),
    ]


async def test_faststream_hands_msgpack_over_as_bytes_unless_given_a_decoder(
    kafka_bootstrap: str,
) -> None:
    source, target = unique("fs-in"), unique("fs-out")
    as_bytes, decoded = Collected(COUNT), Collected(COUNT)
    faststream = FastStreamBroker(kafka_bootstrap, logger=None)

    @faststream.subscriber(target, group_id=unique("fs-raw"), auto_offset_reset="earliest")
    async def raw(msg: bytes, message: KafkaMessage) -> None:
        # FastStream knows no msgpack: the handler gets the bytes as they were sent.
        as_bytes.add(msgpack.unpackb(msg), message.content_type)

    async def unpack(message: KafkaMessage) -> Any:
        return msgpack.unpackb(message.body)

    @faststream.subscriber(
        target, group_id=unique("fs-packed"), auto_offset_reset="earliest", decoder=unpack
    )
    async def packed(msg: Reading, message: KafkaMessage) -> None:
        decoded.add(msg, message.content_type)

    service = doubler(kafka_bootstrap, source, target, codec=MsgPackCodec())
    async with service, faststream:
        await faststream.start()
        for n in range(COUNT):
            await service.publish(Reading(sensor=f"s{n}", data=n), source, key=f"s{n}")
        raw_found, decoded_found = await as_bytes.wait(), await decoded.wait()

    expected = [Reading(sensor=f"s{n}", data=n * 2) for n in range(COUNT)]
    assert sorted(raw_found, key=lambda item: item[0]["sensor"]) == [
        (reading.model_dump(), "application/msgpack") for reading in expected
    ]
    assert sorted(decoded_found, key=lambda item: item[0].sensor) == [
        (reading, "application/msgpack") for reading in expected
    ]
