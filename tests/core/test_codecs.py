"""Codecs in the core: choosing one, its mistakes, its errors, and writing one's own."""

from __future__ import annotations

import base64
import math
import sys
from typing import Any

import msgpack
import pytest
from pydantic import BaseModel, TypeAdapter

from stream.core import (
    BindError,
    Codec,
    JsonCodec,
    MsgPackCodec,
    Response,
    Service,
    consume,
    outgoing,
    produce,
)
from stream.testing import MemoryBroker, TestBroker, records, sent

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    seq: int = 0
    data: float = 0.0


class Opaque:
    """Neither MessagePack nor pydantic knows how to write it."""


class Base64Json(Codec):
    """A codec of one's own: JSON, base64-armoured (for a transport that takes text)."""

    content_type = "application/x-base64-json"

    def encode(self, body: Any) -> bytes:
        return base64.b64encode(JsonCodec().encode(body))

    def decode(self, data: bytes, adapter: TypeAdapter[Any]) -> Any:
        return adapter.validate_json(base64.b64decode(data, validate=True))


async def test_a_codec_of_ones_own_encodes_decodes_and_labels() -> None:
    class Armoured(Service):
        codec = Base64Json()

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return Reading(seq=msg.seq + 1)

    async with TestBroker(Armoured()) as service:
        await service.publish(Reading(seq=1), "in")
        [output] = records(service, "out")
    assert output.value == base64.b64encode(b'{"seq":2,"data":0.0}')
    assert output.header("content-type") == b"application/x-base64-json"


async def test_sent_reads_msgpack_outputs_as_python_data() -> None:
    class Packed(Service):
        codec = MsgPackCodec()

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return Reading(seq=msg.seq + 1, data=0.5)

    async with TestBroker(Packed()) as service:
        await service.publish(Reading(seq=1), "in")
        assert sent(service, "out") == [{"seq": 2, "data": 0.5}]
        service.handle.mock.assert_called_once_with({"seq": 1, "data": 0.0})


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"\x91" * 5000 + b"\xc0", "MessagePack nested too deeply to be read"),
        (msgpack.packb({"seq": 1}) + b"\x01", "unpack(b) received extra data"),
        (msgpack.packb({"seq": 1, "data": math.inf}), "data is not a finite number"),
        (msgpack.packb({"seq": "x"}), "1 validation error for Reading: seq:"),
    ],
)
async def test_bad_msgpack_is_dead_lettered_with_why(bad: bytes, reason: str) -> None:
    class Packed(Service):
        codec = MsgPackCodec()

        @consume("in")
        async def handle(self, msg: Reading) -> None: ...

    broker = MemoryBroker(raise_handler_errors=False)
    service = Packed()
    await service.start(broker)
    try:
        await service.publish(bad, "in")
    finally:
        await service.stop()
    [letter] = broker.messages("in.dlq")
    assert letter.value == bad
    assert reason in (letter.header("stream.error.message") or b"").decode()


async def test_what_msgpack_cannot_encode_is_dead_lettered_with_its_input() -> None:
    class Packed(Service):
        codec = MsgPackCodec()

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> dict[str, Any]:
            return {"value": Opaque()}

    broker = MemoryBroker(raise_handler_errors=False)
    service = Packed()
    await service.start(broker)
    try:
        await service.publish(Reading(seq=3), "in")
    finally:
        await service.stop()
    assert broker.messages("out") == []
    [letter] = broker.messages("in.dlq")
    assert letter.header("stream.error.type") == b"stream.core.EncodeError"
    assert (letter.header("stream.error.message") or b"").startswith(
        b"cannot encode a dict as application/msgpack with MsgPackCodec(): "
    )


async def test_a_response_s_own_content_type_replaces_the_codec_s() -> None:
    class Relabel(Service):
        @produce("out", headers={"stage": "1"})
        @consume("in")
        async def handle(self, msg: Reading) -> Response[Reading]:
            return Response(body=msg, headers={"content-type": "application/vnd.reading+json"})

    async with TestBroker(Relabel()) as service:
        await service.publish(Reading(seq=1), "in")
        [output] = records(service, "out")
    assert output.headers == (
        ("stage", b"1"),
        ("content-type", b"application/vnd.reading+json"),
    )


def test_outgoing_labels_by_codec_and_keeps_a_users_label() -> None:
    packed = outgoing(Reading(seq=1), "t", codec=MsgPackCodec())
    assert packed.value == msgpack.packb({"seq": 1, "data": 0.0})
    assert packed.headers == (("content-type", b"application/msgpack"),)
    assert outgoing(Reading(), "t").headers == (("content-type", b"application/json"),)
    own = outgoing(Reading(), "t", headers={"content-type": "application/vnd.x+json"})
    assert own.headers == (("content-type", b"application/vnd.x+json"),)
    assert outgoing(b"raw", "t").headers == ()
    assert outgoing(None, "t").headers == ()


async def test_a_codec_class_instead_of_an_instance_is_a_bind_error() -> None:
    class Packed(Service):
        codec = MsgPackCodec  # type: ignore[assignment]

        @consume("in")
        async def handle(self, msg: Reading) -> None: ...

    class PerHandler(Service):
        @consume("in", codec="msgpack")  # type: ignore[arg-type]
        async def handle(self, msg: Reading) -> None: ...

    with pytest.raises(BindError) as caught:
        Packed.handlers()
    assert str(caught.value) == (
        "Packed.codec: MsgPackCodec is a class; give an instance, MsgPackCodec()"
    )
    with pytest.raises(BindError) as caught:
        PerHandler.handlers()
    assert str(caught.value) == (
        "PerHandler.handle: @consume(codec=...): 'msgpack' is not a Codec; use JsonCodec(), "
        "MsgPackCodec() or a subclass of stream.core.Codec"
    )


def test_msgpack_without_its_library_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "msgpack", None)  # as if it were not installed
    with pytest.raises(ImportError) as caught:
        MsgPackCodec()
    assert str(caught.value) == (
        "MsgPackCodec needs the msgpack library, which is not installed: "
        "pip install 'stream-core[msgpack]'"
    )
