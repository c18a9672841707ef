"""Middlewares: one shape around handling a message and publishing a record."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pydantic import BaseModel

from stream.core import (
    CallNext,
    DeliveryPolicy,
    Message,
    Middleware,
    OutgoingMessage,
    Retry,
    Service,
    consume,
    produce,
)
from stream.core.transport import ConsumerSpec
from stream.testing import MemoryBroker, TestBroker, records

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


class Recorder(Middleware):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
        self.log.append(f"{self.name} in {message.topic}@{message.offset} {body!r}")
        try:
            result = await call_next()
        except Exception as error:
            self.log.append(f"{self.name} saw {type(error).__name__}")
            raise
        self.log.append(f"{self.name} out {result!r}")
        return result


class Stamp(Middleware):
    def __init__(self, name: str) -> None:
        self.name = name

    def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        origin = b"-" if source is None else f"{source.topic}@{source.offset}".encode()
        return replace(record, headers=(*record.headers, (self.name, origin)))


async def test_service_then_handler_middlewares_wrap_each_attempt_in_order() -> None:
    log: list[str] = []
    attempts = 0

    class S(Service):
        middlewares = (Recorder("outer", log),)

        @produce("out")
        @consume(
            "in",
            delivery=DeliveryPolicy(retry=Retry(attempts=2, backoff=0)),
            middlewares=[Recorder("inner", log)],
        )
        async def handle(self, msg: Reading) -> Reading:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise RuntimeError("first try fails")
            return Reading(data=msg.data + 1)

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in")
    body = "Reading(data=1.0)"
    assert log == [
        f"outer in in@0 {body}",
        f"inner in in@0 {body}",
        "inner saw RuntimeError",
        "outer saw RuntimeError",
        f"outer in in@0 {body}",
        f"inner in in@0 {body}",
        "inner out Reading(data=2.0)",
        "outer out Reading(data=2.0)",
    ]


async def test_publish_middlewares_stamp_outputs_dead_letters_and_publishes() -> None:
    class S(Service):
        middlewares = (Stamp("service"),)

        @produce("out")
        @consume("in", middlewares=[Stamp("handler")])
        async def handle(self, msg: Reading) -> Reading:
            return msg

    broker = MemoryBroker(raise_handler_errors=False)
    async with TestBroker(S(), broker=broker) as service:
        await service.publish(Reading(data=1), "in")
        await service.publish(b"not json", "in")
        [published, _bad] = records(service, "in")
        [output] = records(service, "out")
        [letter] = records(service, "in.dlq")
    assert published.header("service") == b"-"  # sent from outside a handler
    assert output.header("service") == b"in@0"
    assert output.header("handler") == b"in@0"
    assert [n for n, _ in output.headers][-2:] == ["service", "handler"]  # in order
    assert letter.header("handler") == b"in@1"
    assert letter.header("stream.error.type") is not None  # still a dead letter


async def test_a_middleware_may_refuse_a_message_which_takes_the_retry_path() -> None:
    class Refuse(Middleware):
        async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
            raise PermissionError("not for this tenant")

    called = False

    class S(Service):
        middlewares = (Refuse(),)

        @consume("in", delivery=DeliveryPolicy(retry=Retry(attempts=2, backoff=0)))
        async def handle(self, msg: Reading) -> None:
            nonlocal called
            called = True

    async with TestBroker(S(), broker=MemoryBroker(raise_handler_errors=False)) as service:
        await service.publish(Reading(data=1), "in")
        [letter] = records(service, "in.dlq")
    assert not called
    assert letter.header("stream.attempts") == b"2"
    assert letter.header("stream.error.type") == b"builtins.PermissionError"


async def test_a_service_without_middlewares_calls_its_handler_directly() -> None:
    from stream.core._routing import SubscriptionHandler

    class S(Service):
        @consume("in")
        async def handle(self, msg: Reading) -> None: ...

    broker = MemoryBroker()
    async with TestBroker(S(), broker=broker):
        [member] = broker._members
        assert isinstance(member.handler, SubscriptionHandler)
        # One handler, no filter: no routing, and no chain, no extra call per message.
        dispatcher = member.handler._only
        assert dispatcher is not None
        assert dispatcher._plain_call


async def test_each_handler_gets_the_middleware_for_handler_made_for_it() -> None:
    class Named(Middleware):
        def __init__(self, group: str = "") -> None:
            self.group = group

        def for_handler(self, spec: ConsumerSpec) -> Middleware:
            return Named(spec.group_id)

        def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
            return replace(record, headers=(*record.headers, ("group", self.group.encode())))

    class S(Service):
        middlewares = (Named(),)

        @produce("out-a")
        @consume("in", group_id="a")
        async def first(self, msg: Reading) -> Reading:
            return msg

        @produce("out-b")
        @consume("in", group_id="b")
        async def second(self, msg: Reading) -> Reading:
            return msg

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in")
        [published] = records(service, "in")
        [a] = records(service, "out-a")
        [b] = records(service, "out-b")
    assert (a.header("group"), b.header("group")) == (b"a", b"b")
    assert published.header("group") == b""  # the service's publisher: the middleware as set
