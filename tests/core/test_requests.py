"""Request/reply details the behaviour suite does not cover: what a handler answers."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from stream.core import Response, Service, consume
from stream.testing import TestBroker, records

pytestmark = pytest.mark.anyio


class Order(BaseModel):
    id: str


class Orders(Service):
    @consume("orders")
    async def store(self, msg: Order) -> Response[str] | None:
        if msg.id == "quiet":
            return None
        return Response(body=f"stored {msg.id}", headers={"store": "eu"})


async def test_a_handler_without_produce_still_replies_with_its_response() -> None:
    async with TestBroker(Orders()) as service:
        reply = await service.request(Order(id="a1"), "orders")
    assert (reply.value, reply.header("store")) == (b"stored a1", b"eu")


async def test_a_handler_returning_none_replies_with_an_empty_body() -> None:
    async with TestBroker(Orders()) as service:
        reply = await service.request(Order(id="quiet"), "orders", timeout=1)
    assert reply.value is None


async def test_a_reply_to_that_is_no_stream_reply_topic_is_not_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Else any producer could have a handler write its results to a topic it names.
    async with TestBroker(Orders()) as service:
        await service.publish(Order(id="a1"), "orders", headers={"reply_to": "payments"})
        assert records(service, "payments") == []
    assert "not replying to reply_to='payments'" in caplog.text


async def test_in_test_broker_a_failing_handler_raises_its_own_error_from_request() -> None:
    class Failing(Service):
        @consume("in")
        async def fail(self, msg: Order) -> str:
            raise LookupError(msg.id)

    async with TestBroker(Failing()) as service:
        with pytest.raises(LookupError, match="a1"):
            await service.request(Order(id="a1"), "in")
