"""Codecs on both backends: JSON by default, MessagePack when asked, and the
``content-type`` header that says which, on outputs and checked on inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import msgpack
import pytest
from pydantic import BaseModel

from stream.core import (
    DeliveryPolicy,
    Message,
    MsgPackCodec,
    Response,
    Retry,
    Service,
    consume,
    produce,
)
from tests.behaviour.backends import Backend, running, unique

pytestmark = pytest.mark.anyio

FAST_RETRY = DeliveryPolicy(retry=Retry(attempts=3, backoff=0.01))


class Reading(BaseModel):
    seq: int = 0
    data: float = 0.0


class Frame(BaseModel):
    """What JSON cannot carry as it is: bytes, an aware datetime, a UUID, a decimal."""

    seq: int
    blob: bytes
    at: datetime
    id: UUID
    price: Decimal


FRAME = Frame(
    seq=1,
    blob=b"\x00\xff raw",
    at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    id=UUID(int=7),
    price=Decimal("9.99"),
)


async def test_outputs_name_their_content_type(backend: Backend) -> None:
    source, models, texts, raw = unique("in"), unique("models"), unique("texts"), unique("raw")

    class Labelled(Service):
        @produce(models, headers={"stage": "one"})
        @consume(source)
        async def as_model(self, msg: Reading) -> Reading:
            return Reading(seq=msg.seq + 1)

        @produce(texts)
        @consume(source)
        async def as_text(self, msg: Reading) -> str:
            return f"reading {msg.seq}"

        @produce(raw)
        @consume(source)
        async def as_bytes(self, msg: Reading) -> bytes:
            return b"\x00\x01"

    async with running(Labelled(), backend) as service:
        await service.publish(Reading(seq=1), source)
        [model] = await backend.read(models, 1)
        [text] = await backend.read(texts, 1)
        [opaque] = await backend.read(raw, 1)
    # A FastStream consumer reads it by this header; the user's own headers follow.
    assert model.headers == (("content-type", b"application/json"), ("stage", b"one"))
    assert text.header("content-type") == b"text/plain"
    assert (text.value, opaque.value) == (b"reading 1", b"\x00\x01")
    assert opaque.header("content-type") is None  # raw bytes: nothing is claimed


async def test_a_msgpack_service_round_trips_what_json_cannot_carry(backend: Backend) -> None:
    source, target = unique("in"), unique("out")
    received: list[Frame] = []

    class Packed(Service):
        codec = MsgPackCodec()

        @produce(target)
        @consume(source)
        async def next_frame(self, msg: Frame) -> Frame:
            received.append(msg)
            return msg.model_copy(update={"seq": msg.seq + 1})

    async with running(Packed(), backend) as service:
        await service.publish(FRAME, source)
        [sent_in] = await backend.read(source, 1)
        [output] = await backend.read(target, 1)
    assert received == [FRAME]
    assert sent_in.header("content-type") == b"application/msgpack"
    assert output.header("content-type") == b"application/msgpack"
    assert output.value is not None
    # Any MessagePack reader gets native bytes and a Timestamp, not base64 and ISO text.
    unpacked = msgpack.unpackb(output.value, timestamp=3)
    assert unpacked["blob"] == FRAME.blob
    assert unpacked["at"] == FRAME.at
    assert Frame.model_validate(unpacked) == FRAME.model_copy(update={"seq": 2})


async def test_a_handler_codec_reads_and_writes_msgpack_in_a_json_service(
    backend: Backend,
) -> None:
    source, target, plain = unique("in"), unique("out"), unique("plain")

    class Mixed(Service):
        @produce(target)
        @consume(source, codec=MsgPackCodec())
        async def packed(self, msg: Reading) -> Response[Reading]:
            return Response(body=Reading(seq=msg.seq + 1), key="k")

        @produce(plain)
        @consume(target)
        async def json_side(self, msg: Reading) -> Reading:
            return msg  # a JSON handler: a msgpack input is not one of its

    async with running(Mixed(), backend) as service:
        await service.publish(msgpack.packb({"seq": 1, "data": 0.5}), source)
        [output] = await backend.read(target, 1)
        [letter] = await backend.read(f"{target}.dlq", 1)
    assert output.header("content-type") == b"application/msgpack"
    assert msgpack.unpackb(output.value or b"") == {"seq": 2, "data": 0.0}
    assert letter.value == output.value
    assert letter.header("stream.error.type") == b"stream.core.DecodeError"
    assert b"content-type is 'application/msgpack', but the handler reads application/json" in (
        letter.header("stream.error.message") or b""
    )


async def test_an_input_s_content_type_must_be_the_handler_s(backend: Backend) -> None:
    source, target = unique("in"), unique("out")
    seen: list[tuple[int, bytes | None]] = []

    class Reader(Service):
        @produce(target)
        @consume(source, delivery=FAST_RETRY)
        async def read(self, msg: Reading, message: Message) -> Reading:
            seen.append((msg.seq, message.header("content-type")))
            return msg

    body = b'{"seq": %d}'
    # An empty label is FastStream's for a bytes body: taken as no label. JSON published
    # as a str is labelled text/plain.
    labels = [
        None,
        "application/xml",
        "",
        "text/plain",
        "application/json",
        "Application/CloudEvents+JSON; x=1",
    ]
    async with running(Reader(), backend) as service:
        for seq, label in enumerate(labels, start=1):
            # One key, so one partition: the handler sees them in this order.
            headers = {"content-type": label} if label is not None else None
            await service.publish(body % seq, source, key="same", headers=headers)
        await backend.read(target, 5)
        [letter] = await backend.read(f"{source}.dlq", 1)
    assert seen == [
        (1, None),
        (3, b""),
        (4, b"text/plain"),
        (5, b"application/json"),
        (6, b"Application/CloudEvents+JSON; x=1"),
    ]
    assert letter.value == body % 2
    assert letter.header("stream.attempts") == b"1"  # refused at once, never retried
    assert letter.header("stream.source.offset") == b"1"
    assert (letter.header("stream.error.message") or b"").endswith(
        b"@1 as Reading: DecodeError: its content-type is 'application/xml', but the handler "
        b"reads application/json (JsonCodec()); publish it as application/json, or give "
        b"the handler a codec for that type with @consume(codec=...)"
    )


async def test_a_raw_handler_takes_any_content_type(backend: Backend) -> None:
    source, target = unique("in"), unique("out")

    class Raw(Service):
        @produce(target)
        @consume(source)
        async def copy(self, msg: bytes) -> bytes:
            return msg

    async with running(Raw(), backend) as service:
        await service.publish(b"\x91\x01", source, key="k", headers={"content-type": "x/y"})
        await service.publish(Reading(seq=1), source, key="k")
        outputs = await backend.read(target, 2)
    assert [m.value for m in outputs] == [b"\x91\x01", b'{"seq":1,"data":0.0}']
