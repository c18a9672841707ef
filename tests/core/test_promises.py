"""Surprises removed: policies that contradict each other, groups that move, types that
mean something else, patterns that feed on their own dead letters."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel

from stream.core import (
    BindError,
    DeliveryPolicy,
    Guarantee,
    OutgoingMessage,
    Retry,
    Service,
    consume,
    produce,
)
from stream.core.transport import ConsumerSpec
from stream.kafka import KafkaBroker
from stream.testing import MemoryBroker, TestBroker, records

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


def test_at_most_once_tries_a_handler_once_and_refuses_retries() -> None:
    assert DeliveryPolicy(guarantee=Guarantee.AT_MOST_ONCE).retry.attempts == 1
    assert DeliveryPolicy().retry.attempts == 3
    with pytest.raises(ValueError, match="at-most-once never runs a handler twice"):
        DeliveryPolicy(guarantee=Guarantee.AT_MOST_ONCE, retry=Retry(attempts=3))


async def test_at_most_once_does_not_repeat_a_failing_handler() -> None:
    calls = []

    class S(Service):
        @consume("in", delivery=DeliveryPolicy(guarantee=Guarantee.AT_MOST_ONCE))
        async def handle(self, msg: Reading) -> None:
            calls.append(msg)
            raise RuntimeError("side effect done, then failed")

    async with TestBroker(S(), broker=MemoryBroker(raise_handler_errors=False)) as service:
        await service.publish(Reading(data=1), "in")
        [letter] = records(service, "in.dlq")
    assert len(calls) == 1
    assert letter.header("stream.attempts") == b"1"


class Payments(Service):
    @consume("payments")
    async def on_payment(self, msg: Reading) -> None: ...


class ProdPayments(Payments):
    pass


class Named(Service):
    name = "billing"

    @consume("payments")
    async def on_payment(self, msg: Reading) -> None: ...


class NamedChild(Named):
    pass


def group_of(service: type[Service]) -> str:
    [spec] = [s for s in service.handlers() if isinstance(s, ConsumerSpec)]
    return spec.group_id


def test_the_default_group_is_stable_across_subclasses_and_can_be_named() -> None:
    assert group_of(Payments) == "Payments.on_payment"
    assert group_of(ProdPayments) == "Payments.on_payment"  # not ProdPayments.on_payment
    assert group_of(Named) == "billing.on_payment"
    assert group_of(NamedChild) == "billing.on_payment"


async def test_the_group_is_logged_at_start(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with TestBroker(ProdPayments()):
        pass
    assert "payments | on_payment waiting for messages (group Payments.on_payment)" in [
        r.getMessage() for r in caplog.records
    ]


def test_the_default_shutdown_timeout_leaves_room_in_kubernetes_grace_period() -> None:
    assert KafkaBroker("localhost:9092").shutdown_timeout < 30


async def test_optional_raw_bodies_are_raw_and_tombstones_are_none() -> None:
    seen: list[object] = []

    class S(Service):
        @consume("bytes")
        async def raw(self, msg: bytes | None) -> None:
            seen.append(msg)

        @consume("text")
        async def text(self, msg: str | None) -> None:
            seen.append(msg)

    async with TestBroker(S()) as service:
        await service.publish(b"not json", "bytes")
        await service.publish(None, "bytes")
        await service.publish(b"plain text", "text")
        await service.publish(None, "text")
    assert seen == [b"not json", None, "plain text", None]


def test_returning_an_outgoing_message_is_refused_at_bind_time() -> None:
    class S(Service):
        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> OutgoingMessage:
            return OutgoingMessage("out", b"x")

    with pytest.raises(BindError, match=r"S\.handle: returns a OutgoingMessage"):
        S.handlers()


async def test_an_outgoing_message_returned_anyway_is_dead_lettered_not_sent_as_json() -> None:
    class S(Service):
        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> object:
            return OutgoingMessage("elsewhere", b"x")

    async with TestBroker(S(), broker=MemoryBroker(raise_handler_errors=False)) as service:
        await service.publish(Reading(data=1), "in")
        assert records(service, "out") == []
        [letter] = records(service, "in.dlq")
    assert letter.header("stream.error.type") == b"stream.core.EncodeError"


async def test_a_pattern_never_consumes_its_own_dead_letter_topics() -> None:
    class S(Service):
        @consume(pattern=r"orders\..*")
        async def handle(self, msg: Reading) -> None: ...

    broker = MemoryBroker(raise_handler_errors=False)
    async with TestBroker(S(), broker=broker) as service:
        await service.publish(b"poison", "orders.eu")
        assert len(records(service, "orders.eu.dlq")) == 1
        assert broker.messages("orders.eu.dlq.dlq") == []
        await service.publish(Reading(data=1), "orders.us")  # the pattern still matches
    assert broker.committed("S.handle", "orders.us") == 1


async def test_a_dead_letter_too_large_to_send_is_truncated_and_flagged_not_stopping() -> None:
    class S(Service):
        @consume("in")
        async def handle(self, msg: Reading) -> None: ...

    body = b"x" * 1990  # fits the broker's 2,000 bytes; with the error headers it does not
    broker = MemoryBroker(raise_handler_errors=False, max_message_bytes=2000)
    async with TestBroker(S(), broker=broker) as service:
        await service.publish(body, "in", headers={"big": b"h" * 5})
        await service.publish(Reading(data=1), "in")  # the partition moves on
        [letter] = records(service, "in.dlq")
    assert letter.value == b""
    assert letter.header("stream.dlq.truncated") == b"value,key,headers"
    assert letter.header("stream.source.offset") == b"0"
    assert letter.header("stream.error.type") == b"pydantic_core._pydantic_core.ValidationError"
    assert letter.header("big") is None
    assert broker.committed("S.handle", "in") == 2
