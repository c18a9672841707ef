"""The per-message path's shape: what stands between a transport's record and the
handler, and what is built per message (issue 13). Cost is never timed here; these pin
the design that keeps it low: ``python -m bench.permsg`` measures it."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter
from tests.fakes import CapturingTransport

from stream.core import (
    CallNext,
    JsonCodec,
    Message,
    Middleware,
    OutgoingMessage,
    Service,
    consume,
    produce,
)
from stream.core._finite import non_finite_finder

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A transport's own record type (as aiokafka's ConsumerRecord is): the fields of a
    Message, none of its methods."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int
    timestamp_type: int = 0


def record(offset: int = 0, value: bytes = b'{"data": 1.0}') -> ClientRecord:
    return ClientRecord("in", 0, offset, b"k", value, (("trace", b"t"),), 0)


async def handled(service: Service, *records: ClientRecord) -> list[OutgoingMessage]:
    transport = CapturingTransport()
    await service.start(transport)
    try:
        [handler] = transport.handlers
        return await handler(records)
    finally:
        await service.stop()


def test_the_json_codec_decodes_with_pydantic_cores_validator_itself() -> None:
    # TypeAdapter.validate_json only forwards its defaults to this, once per message.
    adapter = TypeAdapter(Reading)
    assert JsonCodec().decoder(adapter) == adapter.validator.validate_json


def test_a_models_fields_to_check_for_non_finite_numbers_are_found_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    finder = non_finite_finder(TypeAdapter(Reading).core_schema)
    assert finder is not None

    def looked_up_per_message(model: type[BaseModel]) -> tuple[str, ...]:
        raise AssertionError("looked up per message: it is known when the handler binds")

    monkeypatch.setattr("stream.core._finite._fields_to_check", looked_up_per_message)
    assert finder(Reading(data=1.0)) is None
    assert finder(Reading.model_construct(data=math.inf)) == "message.data"


async def test_a_bare_handler_is_awaited_straight_from_the_dispatchers_loop() -> None:
    callers: list[str] = []

    class Bare(Service):
        @produce("out")
        @consume("in")
        async def on_in(self, msg: Reading) -> Reading:
            callers.append(sys._getframe(1).f_code.co_qualname)
            return Reading(data=msg.data + 1)

    [output] = await handled(Bare(), record())
    assert output.value == b'{"data":2.0}'
    assert callers == ["Dispatcher.__call__"]  # no coroutine of ours per message between


async def test_middlewares_around_a_plain_handler_are_called_straight_from_the_loop() -> None:
    # With middlewares, as without: no coroutine of ours per message before the chain, and
    # a one-target output goes through the publishing chain without a list of outputs.
    callers: list[tuple[str, str]] = []

    class Watch(Middleware):
        async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
            callers.append(("handle", sys._getframe(1).f_code.co_qualname))
            return await call_next()

        def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
            callers.append(("publish", sys._getframe(1).f_code.co_qualname))
            return record

    class Watched(Service):
        middlewares = (Watch(),)

        @produce("out")
        @consume("in")
        async def on_in(self, msg: Reading) -> Reading:
            return Reading(data=msg.data + 1)

    [output] = await handled(Watched(), record())
    assert output.value == b'{"data":2.0}'
    assert callers == [("handle", "Dispatcher.__call__"), ("publish", "Dispatcher._produce")]


async def test_a_transports_own_records_are_handled_as_they_are() -> None:
    class Bare(Service):
        @produce("out")
        @consume("in")
        async def on_in(self, msg: Reading) -> Reading:
            return Reading(data=msg.data + 1)

    good, bad = record(0), record(1, b"not json")
    outputs = await handled(Bare(), good, bad)
    assert [(o.topic, o.key, o.value) for o in outputs] == [
        ("out", b"k", b'{"data":2.0}'),
        ("in.dlq", b"k", b"not json"),
    ]
    letter = dict(outputs[1].headers)
    assert (letter["trace"], letter["stream.source.offset"]) == (b"t", b"1")


async def test_filters_middlewares_and_an_injected_message_share_one_message_per_record() -> None:
    seen: list[tuple[str, Any]] = []

    class Watch(Middleware):
        async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
            seen.append(("handle", message))
            return await call_next()

        def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
            seen.append(("publish", source))
            return record

    def accept(message: Message) -> bool:
        seen.append(("filter", message))
        return message.header("trace") == b"t"

    class Injected(Service):
        middlewares = (Watch(),)

        @produce("out")
        @consume("in", group_id="g", filter=accept)
        async def on_in(self, msg: Reading, message: Message) -> Reading:
            seen.append(("handler", message))
            return Reading(data=msg.data + 1)

        @consume("in", group_id="g")
        async def rest(self, msg: Reading) -> None:
            raise AssertionError("the filter took every record")

    outputs = await handled(Injected(), record())
    assert len(outputs) == 1
    assert [kind for kind, _ in seen] == ["filter", "handle", "handler", "publish"]
    assert len({id(message) for _, message in seen}) == 1  # one per record, for everyone
    for _, message in seen:
        assert isinstance(message, Message)
        assert (message.topic, message.offset, message.key) == ("in", 0, b"k")
